"""Storage of sampled generations, so metrics and tables can be recomputed without sampling again.

Layout (one JSONL file per run key; a sweep skips keys whose file exists, since files appear atomically)::

    <root>/<model>/<checkpoint>/<style>/tau<τ>/n<n>_seed<seed>/<benchmark>.jsonl

``checkpoint`` is ``base`` for the untrained model or ``step<k>``/``final``; ``style`` is the prompt style
(``question``/``reasoning``...). Line 1 is ``{"_header": {...the key...}}``; every other line is one prompt::

    {"data_source": "math500", "index": 0, "prompt": "...", "ground_truth": "...",
     "responses": ["...", ...], "finish_reasons": ["stop", "length", ...], "lengths": [512, 1024, ...]}

``responses``, ``finish_reasons`` and ``lengths`` (tokens) have one entry per sample, n in all.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from data_prep.schema import atomic_write

KNOWN_SOURCES = ("aime", "aime25", "amc23", "amc", "math500", "minerva", "olympiadbench", "synthetic_arith")
FINISH_REASONS = ("stop", "length", "abort")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_RECORD_FIELDS = {
    "data_source": str,
    "index": int,
    "prompt": str,
    "ground_truth": str,
    "responses": list,
    "finish_reasons": list,
    "lengths": list,
}


class GenerationsError(ValueError):
    """A generations file or key is unusable; the message names the file, line and field and what to do."""


@dataclass(frozen=True, order=True)
class RunKey:
    """What identifies one stored file: which model/checkpoint sampled which benchmark, how."""

    model: str
    checkpoint: str
    style: str
    tau: float
    n: int
    seed: int
    benchmark: str

    def __post_init__(self) -> None:
        for name in ("model", "checkpoint", "style", "benchmark"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _SLUG.match(value):
                raise GenerationsError(f"RunKey.{name}={value!r}: use letters, digits and . _ + - only (no '/')")
        if not (isinstance(self.tau, (int, float)) and math.isfinite(self.tau) and self.tau >= 0):
            raise GenerationsError(f"RunKey.tau={self.tau!r}: must be a finite temperature >= 0")
        if not (isinstance(self.n, int) and self.n >= 1 and isinstance(self.seed, int)):
            raise GenerationsError(f"RunKey n={self.n!r}, seed={self.seed!r}: n must be an int >= 1, seed an int")

    @property
    def run(self) -> tuple:
        """The key without the benchmark: one evaluated configuration."""
        return (self.model, self.checkpoint, self.style, self.tau, self.n, self.seed)

    def relpath(self) -> Path:
        return Path(
            self.model,
            self.checkpoint,
            self.style,
            f"tau{self.tau:g}",
            f"n{self.n}_seed{self.seed}",
            f"{self.benchmark}.jsonl",
        )

    @classmethod
    def from_relpath(cls, relpath: Path) -> RunKey:
        parts = relpath.parts
        match = re.fullmatch(r"n(\d+)_seed(-?\d+)", parts[4]) if len(parts) == 6 else None
        if match is None or not parts[3].startswith("tau") or relpath.suffix != ".jsonl":
            raise GenerationsError(
                f"{relpath}: not <model>/<checkpoint>/<style>/tau<τ>/n<n>_seed<seed>/<benchmark>.jsonl"
            )
        try:
            tau = float(parts[3][3:])
        except ValueError:
            raise GenerationsError(f"{relpath}: temperature directory {parts[3]!r} is not tau<number>") from None
        return cls(parts[0], parts[1], parts[2], tau, int(match[1]), int(match[2]), relpath.stem)


@dataclass
class Record:
    data_source: str
    index: int
    prompt: str
    ground_truth: str
    responses: list[str]
    finish_reasons: list[str]
    lengths: list[int]


@dataclass
class ReadReport:
    """What reading skipped (only with ``on_bad="skip"``) and what it noticed, per file."""

    records: int = 0
    skipped: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, why)
    empty_responses: int = 0


def path_for(root: Path, key: RunKey) -> Path:
    return Path(root) / key.relpath()


def is_complete(root: Path, key: RunKey) -> bool:
    """A sweep's resume test: files only ever appear complete (atomic rename), so existence suffices."""
    return path_for(root, key).is_file()


def run_keys(names: dict, tau: float, n: int, seed: int, benchmarks) -> list[RunKey]:
    """The keys of one evaluated configuration (one per benchmark); ``names``: model, checkpoint, style."""
    return [RunKey(tau=float(tau), n=n, seed=seed, benchmark=b, **names) for b in sorted(benchmarks)]


def all_stored(root: Path, keys: list[RunKey]) -> bool:
    """Whether every file of ``keys`` is stored complete (a sweep then skips that configuration)."""
    return bool(keys) and all(is_complete(root, key) for key in keys)


def write_generations(root: Path, key: RunKey, records: Iterable[Record | dict]) -> Path:
    """Validate and write one run file atomically (``data_prep.schema.atomic_write``: temp file in the same
    directory, fsync, rename)."""
    target = path_for(root, key)
    rows = [asdict(r) if isinstance(r, Record) else dict(r) for r in records]
    seen: set[int] = set()
    for number, row in enumerate(rows, start=2):
        _check_record(row, key, seen, f"{target} (record to write)", number)

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"_header": asdict(key)}, allow_nan=False) + "\n")
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")

    # Temp file + rename (a kill leaves no half file a relaunch would trust); out of space, NoSpaceError names
    # the file and the file already there is kept.
    atomic_write(target, write)
    return target


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed (JSON has no NaN/Infinity; a metric upstream went wrong)")


def read_generations(
    path: Path, on_bad: str = "error", report: ReadReport | None = None
) -> tuple[RunKey, list[Record]]:
    """Read and validate one file. ``on_bad="error"`` raises on the first bad line; ``"skip"`` skips bad
    records and lists them in ``report.skipped`` (a bad header always raises: the whole file is unusable)."""
    if on_bad not in ("error", "skip"):
        raise ValueError(f"on_bad must be 'error' or 'skip', got {on_bad!r}")
    report = report if report is not None else ReadReport()
    path = Path(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise GenerationsError(f"{path}: empty file; delete it and let the sweep write it again")
    key = _read_header(path, lines[0])
    records, seen = [], set()
    for number, line in enumerate(lines[1:], start=2):
        try:
            row = json.loads(line, parse_constant=_reject_constant)
            _check_record(row, key, seen, str(path), number)
        except (ValueError, GenerationsError) as exc:
            why = (
                exc.args[0]
                if isinstance(exc, GenerationsError)
                else f"{path}:{number}: malformed JSON ({exc}); truncated write?"
            )
            if on_bad == "error":
                raise GenerationsError(why) from None
            report.skipped.append((str(path), number, why))
            continue
        report.empty_responses += sum(not r.strip() for r in row["responses"])
        records.append(Record(**{name: row[name] for name in _RECORD_FIELDS}))
    report.records += len(records)
    return key, records


def _read_header(path: Path, line: str) -> RunKey:
    try:
        header = json.loads(line, parse_constant=_reject_constant)["_header"]
        key = RunKey(**header)
    except (ValueError, KeyError, TypeError) as exc:
        raise GenerationsError(
            f'{path}:1: missing or bad header line ({exc}); expected {{"_header": {{model, ...}}}}'
        ) from None
    return key


def _check_record(row: object, key: RunKey, seen: set[int], where: str, number: int) -> None:
    at = f"{where}:{number}"
    if not isinstance(row, dict):
        raise GenerationsError(f"{at}: a record must be a JSON object, got {type(row).__name__}")
    for name, kind in _RECORD_FIELDS.items():
        if name not in row:
            raise GenerationsError(f"{at}: missing field {name!r}")
        if not isinstance(row[name], kind) or (kind is int and isinstance(row[name], bool)):
            raise GenerationsError(f"{at}: field {name!r} must be {kind.__name__}, got {row[name]!r:.80}")
    if row["data_source"] not in KNOWN_SOURCES:
        raise GenerationsError(f"{at}: unknown data_source {row['data_source']!r}; known: {', '.join(KNOWN_SOURCES)}")
    if row["index"] in seen:
        raise GenerationsError(f"{at}: duplicate index {row['index']} (each prompt is stored once per file)")
    seen.add(row["index"])
    for name in ("responses", "finish_reasons", "lengths"):
        if len(row[name]) != key.n:
            raise GenerationsError(f"{at}: field {name!r} has {len(row[name])} entries, but the header says n={key.n}")
    if not all(isinstance(r, str) for r in row["responses"]):
        raise GenerationsError(f'{at}: every response must be a string (use "" for an empty generation)')
    bad_reason = next((r for r in row["finish_reasons"] if r not in FINISH_REASONS), None)
    if bad_reason is not None:
        raise GenerationsError(f"{at}: finish reason {bad_reason!r} is not one of {FINISH_REASONS}")
    bad_length = next((v for v in row["lengths"] if not isinstance(v, int) or isinstance(v, bool) or v < 0), None)
    if bad_length is not None:
        raise GenerationsError(f"{at}: length {bad_length!r} is not a token count (int >= 0)")


def discover(root: Path) -> Iterator[tuple[RunKey, Path]]:
    """Every stored file under ``root`` with its key; a file whose path and header disagree is an error."""
    root = Path(root)
    if not root.is_dir():
        raise GenerationsError(f"{root}: no such directory of generations")
    for path in sorted(root.rglob("*.jsonl")):
        key = RunKey.from_relpath(path.relative_to(root))
        with path.open(encoding="utf-8") as handle:
            header_key = _read_header(path, handle.readline())
        if header_key != key:
            raise GenerationsError(f"{path}: header {header_key} does not match its location {key}; move or rewrite it")
        yield key, path
