"""Turn a source's raw rows into records: benchmarks kept row for row, training sets filtered and deduplicated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from data_prep.cells import Cells
from data_prep.errors import DataPrepError
from data_prep.readers import LOCAL_FORMATS, read_hub, read_local
from data_prep.schema import sha256_file
from data_prep.sources import Source


@dataclass
class Record:
    """One prepared question before it is rendered in a prompt style."""

    question: str
    answer: str
    row_id: str  # the source's id, or the 0-based position among the source's rows when it has none
    row_number: int  # the row (or line) number error messages and reports use


@dataclass
class Loaded:
    """A source's records, where they came from, and what was dropped on the way."""

    source: Source
    origin: dict
    records: list[Record] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def find_local_file(name: str, folder: Path) -> Path | None:
    """``folder/<name>.<ext>`` for the one supported extension present; None if there is none."""
    found = [folder / f"{name}.{ext}" for ext in LOCAL_FORMATS if (folder / f"{name}.{ext}").is_file()]
    if len(found) > 1:
        raise DataPrepError(
            f"several input files for {name!r}: {', '.join(path.name for path in found)}",
            file=folder,
            fix="Keep one file per dataset in the folder",
        )
    return found[0] if found else None


def _origin(source: Source, path: Path | None) -> dict:
    if path is not None:
        return {"kind": "local", "path": str(Path(path).resolve()), "sha256": sha256_file(path)}
    return {
        "kind": "hub",
        "id": source.hub_id,
        "config": source.config,
        "split": source.split,
        "revision": source.revision,
        "revision_note": source.revision_note,
    }


HEARTBEAT_ROWS = 100_000  # a progress line this often while reading a large source (OpenThoughts3: 1.2M rows)


def load_source(source: Source, path: Path | None, log: Callable[[str], None] = print) -> Loaded:
    """Read ``source`` from ``path`` (or the hub when None) into records."""
    if path is not None:
        rows, where = read_local(path, source.columns), str(path)
    else:
        rows = read_hub(source.hub_id, source.config, source.split, source.revision, source.columns)
        where = f"hf://datasets/{source.hub_id}@{source.revision}"
    loaded = Loaded(source, _origin(source, path))
    counts = {"rows_read": 0, "skipped_by_filter": 0}
    if source.role == "train":
        counts.update(dropped_empty_question=0, dropped_empty_answer=0, dropped_duplicate=0)
    seen: set[str] = set()
    for position, (number, row) in enumerate(rows):
        counts["rows_read"] += 1
        if counts["rows_read"] % HEARTBEAT_ROWS == 0:
            log(f"      {source.name}: {counts['rows_read']} rows read, {len(loaded.records)} kept so far")
        cells = Cells(where, number, row)
        if not source.keep(cells):
            counts["skipped_by_filter"] += 1
            continue
        question, answer, row_id = source.extract(cells)
        record = Record(question, answer, row_id if row_id is not None else str(position), number)
        if source.role == "benchmark":
            _check_benchmark_record(source, cells, record)
        elif not _keep_training_record(record, counts, seen):
            continue
        loaded.records.append(record)
    counts["rows_kept"] = len(loaded.records)
    loaded.counts = counts
    return loaded


def _check_benchmark_record(source: Source, cells: Cells, record: Record) -> None:
    """Benchmarks must match the paper row for row, so an empty cell is an input error, not a skip."""
    for column, text, what in (
        (source.question_column, record.question, "question"),
        (source.answer_column, record.answer, "answer"),
    ):
        if not text.strip():
            raise DataPrepError(
                f"empty {what} in a benchmark row",
                file=cells.where,
                row=cells.number,
                column=column,
                value=cells.row.get(column),
                fix="Benchmarks are kept whole; fix the source row",
            )


def _keep_training_record(record: Record, counts: dict[str, int], seen: set[str]) -> bool:
    """Drop (and count) empty questions, empty answers and repeated questions; first occurrence wins."""
    key = record.question.strip()
    if not key:
        counts["dropped_empty_question"] += 1
        return False
    if not record.answer.strip():
        counts["dropped_empty_answer"] += 1
        return False
    if key in seen:
        counts["dropped_duplicate"] += 1
        return False
    seen.add(key)
    return True
