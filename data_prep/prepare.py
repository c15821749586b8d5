"""Prepare every parquet file the paper uses, in each prompt style, with a manifest.

Output layout under ``out_dir`` (style folders: ``question`` is the authors' ``data/``, ``reasoning`` their
``data_user_reasoning/``, ``system`` the reasoning prompt as a system message)::

    benchmarks/<style>/{math500,aime,aime25,amc23,minerva,olympiadbench}.parquet
    train/<style>/{dsr,otm}.parquet
    reports/decontamination.json        (with --decontaminate)
    reports/answer_normalization.json   (with --normalize-answers)
    manifest.json                       (written last: a folder without it is an unfinished run)

All inputs are read and checked before anything is written, so bad input leaves the folder untouched; each
file is written atomically, and the same inputs give byte-identical files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from data_prep.answers import normalize_answer
from data_prep.decontam import BenchmarkIndex
from data_prep.errors import DataPrepError
from data_prep.loading import Loaded, find_local_file, load_source
from data_prep.schema import PROMPT_STYLES, atomic_write, check_style, make_row, sha256_file, write_rows
from data_prep.sources import BENCHMARKS, SOURCES, get_source

DECONTAMINATION_MODES = ("off", "report", "drop")
MANIFEST = "manifest.json"


@dataclass
class Options:
    """What to prepare and from where; every field has the paper's default."""

    out_dir: Path
    datasets: tuple[str, ...] = tuple(SOURCES)
    styles: tuple[str, ...] = PROMPT_STYLES
    inputs: dict[str, Path] = field(default_factory=dict)  # dataset name -> local file
    local_dir: Path | None = None  # folder of <name>.<ext> files, used where ``inputs`` has no entry
    allow_hub: bool = True
    decontaminate: str = "off"
    normalize_answers: bool = False


def _check_options(options: Options) -> None:
    for name in (*options.datasets, *options.inputs):
        get_source(name)
    for style in options.styles:
        check_style(style)
    if options.decontaminate not in DECONTAMINATION_MODES:
        raise DataPrepError(
            f"unknown decontamination mode {options.decontaminate!r}",
            fix=f"Use one of: {', '.join(DECONTAMINATION_MODES)}",
        )


def _input_path(name: str, options: Options) -> Path | None:
    """The local file for ``name``, or None to use the hub (refused when the hub is not allowed)."""
    path = options.inputs.get(name)
    if path is None and options.local_dir is not None:
        path = find_local_file(name, Path(options.local_dir))
    if path is None and not options.allow_hub:
        raise DataPrepError(
            f"no local file for {name!r} and hub downloads are off",
            fix=f"Pass --input {name}=FILE, put {name}.<parquet|jsonl|json|csv> in --local-dir, or allow the hub",
        )
    return path


def _load_all(options: Options, log: Callable[[str], None]) -> dict[str, Loaded]:
    """Every dataset needed: the selected ones, plus all benchmarks when decontamination needs them."""
    needed = list(options.datasets)
    if options.decontaminate != "off" and any(SOURCES[name].role == "train" for name in needed):
        needed += [name for name in BENCHMARKS if name not in needed]
    loaded = {}
    for name in needed:
        started = time.perf_counter()
        loaded[name] = load_source(SOURCES[name], _input_path(name, options), log)
        origin = loaded[name].origin
        where = origin.get("path") or f"hub {origin['id']}@{origin['revision']}"
        log(f"read  {name:<14}{len(loaded[name].records):>8} rows {time.perf_counter() - started:7.1f} s  {where}")
    return loaded


def _decontaminate(loaded: dict[str, Loaded], mode: str) -> list[dict]:
    """Find (and with mode "drop", remove) training rows that repeat a benchmark question."""
    index = BenchmarkIndex({name: item.records for name, item in loaded.items() if name in BENCHMARKS})
    overlaps = []
    for name, item in loaded.items():
        if item.source.role != "train":
            continue
        found = [(record, index.find(name, record)) for record in item.records]
        hits = [overlap for _, overlap in found if overlap is not None]
        overlaps += [hit.as_dict() for hit in hits]
        item.counts["benchmark_overlaps"] = len(hits)
        if mode == "drop":
            item.records = [record for record, overlap in found if overlap is None]
            item.counts["dropped_contaminated"] = len(hits)
            item.counts["rows_kept"] = len(item.records)
    return overlaps


def _normalize(loaded: dict[str, Loaded]) -> list[dict]:
    """Apply normalize_answer to every record; returns the changes made."""
    changes = []
    for name, item in loaded.items():
        changed = 0
        for record in item.records:
            new = normalize_answer(record.answer)
            if new != record.answer:
                changes.append({"dataset": name, "id": record.row_id, "before": record.answer, "after": new})
                record.answer, changed = new, changed + 1
        item.counts["answers_normalized"] = changed
    return changes


def write_json(path: Path, payload) -> None:
    """Write JSON atomically with sorted keys, so equal content gives equal bytes."""
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _write_file(item: Loaded, style: str, out_dir: Path) -> dict:
    """Write one dataset in one style; returns its manifest entry."""
    source = item.source
    folder = "benchmarks" if source.role == "benchmark" else "train"
    relative = Path(folder) / style / f"{source.file_name}.parquet"
    split = "test" if source.role == "benchmark" else "train"
    rows = (
        make_row(
            data_source=source.data_source,
            question=record.question,
            answer=record.answer,
            style=style,
            index=index,
            row_id=record.row_id,
            split=split,
        )
        for index, record in enumerate(item.records)
    )
    count = write_rows(rows, out_dir / relative)
    return {
        "path": relative.as_posix(),
        "dataset": source.name,
        "data_source": source.data_source,
        "style": style,
        "rows": count,
        "sha256": sha256_file(out_dir / relative),
        "source": item.origin,
        "counts": item.counts,
    }


def _write_all(loaded: dict[str, Loaded], options: Options, log: Callable[[str], None]) -> list[dict]:
    entries = []
    for name in options.datasets:
        for style in options.styles:
            started = time.perf_counter()
            entries.append(_write_file(loaded[name], style, Path(options.out_dir)))
            log(f"wrote {entries[-1]['path']:<40}{entries[-1]['rows']:>8} rows {time.perf_counter() - started:7.1f} s")
    return entries


def prepare(options: Options, log: Callable[[str], None] = print) -> dict:
    """Prepare the selected datasets in the selected styles under ``options.out_dir``; returns the manifest."""
    _check_options(options)
    out_dir = Path(options.out_dir)
    loaded = _load_all(options, log)
    reports = {}
    if options.decontaminate != "off":
        overlaps = _decontaminate(loaded, options.decontaminate)
        reports["decontamination.json"] = {"mode": options.decontaminate, "overlaps": overlaps}
    if options.normalize_answers:
        reports["answer_normalization.json"] = {"changes": _normalize(loaded)}
    (out_dir / MANIFEST).unlink(missing_ok=True)  # from here until the end the folder is visibly unfinished
    files = _write_all(loaded, options, log)
    for report_name, payload in reports.items():
        write_json(out_dir / "reports" / report_name, payload)
    manifest = {
        "datasets": list(options.datasets),
        "styles": list(options.styles),
        "answer_normalization": options.normalize_answers,
        "decontamination": options.decontaminate,
        "reports": [f"reports/{report_name}" for report_name in reports],
        "files": files,
    }
    write_json(out_dir / MANIFEST, manifest)
    log(f"manifest {out_dir / MANIFEST}: {len(files)} files")
    return manifest
