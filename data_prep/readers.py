"""Raw rows from a local file (parquet, json, jsonl, csv) or from the Hugging Face hub.

Every reader yields ``(row_number, row_dict)`` one row at a time so a large training set never has to sit in
memory whole. Row numbers are what error messages report: the line for jsonl and csv (a csv header is line 1),
the 1-based item or row otherwise.
Only the columns a source needs are read. Missing columns, empty files and non-UTF-8 text raise DataPrepError.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq

from data_prep.errors import DataPrepError

LOCAL_FORMATS = ("parquet", "jsonl", "json", "csv")
Row = tuple[int, dict]


def file_format(path: Path) -> str:
    """The format a local file is read as, from its extension."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in LOCAL_FORMATS:
        raise DataPrepError(
            f"unsupported file type {suffix!r}", file=path, fix=f"Use one of: {', '.join(LOCAL_FORMATS)}"
        )
    return suffix


def read_local(path: Path, columns: tuple[str, ...]) -> Iterator[Row]:
    """Rows of a local file restricted to ``columns``; raises before the first row if a column is missing."""
    path = Path(path)
    if not path.is_file():
        raise DataPrepError("input file does not exist", file=path, fix="Check the path given with --input")
    reader = {"parquet": _read_parquet, "jsonl": _read_jsonl, "json": _read_json, "csv": _read_csv}
    return _nonempty(reader[file_format(path)](path, columns), path)


def _nonempty(rows: Iterator[Row], where) -> Iterator[Row]:
    """Pass rows through, raising at the end if there were none (an empty input is always a mistake)."""
    seen = False
    for row in rows:
        seen = True
        yield row
    if not seen:
        raise DataPrepError("file has no rows", file=where, fix="Pass a file with at least one row")


def _check_columns(path: Path, present, columns: tuple[str, ...], row: int | None = None) -> None:
    missing = [name for name in columns if name not in present]
    if missing:
        raise DataPrepError(
            f"missing column(s) {', '.join(map(repr, missing))}",
            file=path,
            row=row,
            column=missing[0],
            fix=f"The file needs the columns {', '.join(columns)}",
        )


def _read_parquet(path: Path, columns: tuple[str, ...]) -> Iterator[Row]:
    try:
        # pre_buffer=False: otherwise pyarrow keeps every column chunk it has read, i.e. the whole file.
        parquet = pq.ParquetFile(path, pre_buffer=False)
    except Exception as error:  # pyarrow raises several types for a file that is not parquet
        raise DataPrepError(f"not a readable parquet file ({error})", file=path) from error
    _check_columns(path, parquet.schema_arrow.names, columns)
    number = 0
    for batch in parquet.iter_batches(batch_size=2048, columns=list(columns)):
        for row in batch.to_pylist():
            number += 1
            yield number, row


def _decode_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Lines of a text file, each checked to be UTF-8 (so the error names the line)."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise DataPrepError(
                    f"text is not UTF-8 (bad byte at position {error.start})",
                    file=path,
                    row=number,
                    fix="Re-encode the file as UTF-8",
                ) from error


def _read_jsonl(path: Path, columns: tuple[str, ...]) -> Iterator[Row]:
    number = 0
    for line_number, line in _decode_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataPrepError(f"invalid JSON ({error.msg})", file=path, row=line_number) from error
        if not isinstance(row, dict):
            raise DataPrepError("line is not a JSON object", file=path, row=line_number, value=row)
        _check_columns(path, row, columns, row=line_number)
        number = line_number
        yield number, {name: row[name] for name in columns}


def _read_text(path: Path) -> str:
    """A whole file as UTF-8 text; the error names the line holding the first bad byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataPrepError(
            f"text is not UTF-8 (bad byte at offset {error.start})",
            file=path,
            row=line,
            fix="Re-encode the file as UTF-8",
        ) from error


def _read_json(path: Path, columns: tuple[str, ...]) -> Iterator[Row]:
    """A JSON array of objects (DeepScaleR ships ``deepscaler.json`` this way)."""
    try:
        rows = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise DataPrepError(f"invalid JSON ({error.msg} at line {error.lineno})", file=path) from error
    if not isinstance(rows, list):
        raise DataPrepError("JSON file is not an array of objects", file=path, fix="Use a list of row objects")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise DataPrepError("array item is not a JSON object", file=path, row=number, value=row)
        _check_columns(path, row, columns, row=number)
        yield number, {name: row[name] for name in columns}


def _read_csv(path: Path, columns: tuple[str, ...]) -> Iterator[Row]:
    """CSV with a header line; every value arrives as text (list columns must be JSON text)."""
    reader = csv.DictReader(io.StringIO(_read_text(path), newline=""))
    _check_columns(path, reader.fieldnames or (), columns)
    for row in reader:
        yield reader.line_num, {name: row[name] for name in columns}


def read_hub(hub_id: str, config: str | None, split: str, revision: str, columns: tuple[str, ...]) -> Iterator[Row]:
    """Rows of a pinned hub dataset, streamed so OpenThoughts3's 1.2M rows are never held at once."""
    import datasets  # imported here: reading local files does not need the datasets package

    where = f"hf://datasets/{hub_id}@{revision}"
    try:
        stream = datasets.load_dataset(hub_id, config, split=split, revision=revision, streaming=True)
        if stream.column_names is not None:
            _check_columns(where, stream.column_names, columns)
        # Streaming is lazy: network errors can surface on any row, so the whole read sits in the try.
        yield from _nonempty(enumerate(stream.select_columns(list(columns)), start=1), where)
    except DataPrepError:
        raise
    except Exception as error:  # network, auth, missing revision or config
        raise DataPrepError(
            f"could not read {hub_id} (config {config}, split {split}, revision {revision}) from the hub: {error}",
            fix="Check the network, or pass a local copy with --input NAME=FILE",
        ) from error
