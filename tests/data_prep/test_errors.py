"""Bad input: every error names the file, row and column it is about, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep import DataPrepError
from data_prep.cli import main
from data_prep.prepare import Options, prepare
from data_prep.sources import get_source

QUIET = {"log": lambda line: None}


def _run(tmp_path: Path, name: str, source_file: Path, **overrides) -> None:
    options = {
        "out_dir": tmp_path / "out",
        "datasets": (name,),
        "styles": ("question",),
        "inputs": {name: source_file},
        "allow_hub": False,
        **overrides,
    }
    prepare(Options(**options), **QUIET)


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _fails(tmp_path: Path, name: str, source_file: Path, *expected: str) -> DataPrepError:
    with pytest.raises(DataPrepError) as caught:
        _run(tmp_path, name, source_file)
    message = str(caught.value)
    for part in expected:
        assert part in message, message
    assert not (tmp_path / "out").exists(), "bad input must leave no output behind"
    return caught.value


GOOD = {"question": "What is 2 + 2?", "answer": "4"}


def test_missing_column_in_parquet_names_file_and_column(tmp_path):
    path = tmp_path / "minerva.parquet"
    pd.DataFrame([{"question": "What is 2 + 2?"}]).to_parquet(path)
    error = _fails(tmp_path, "minerva", path, str(path), "column 'answer'", "missing column")
    assert error.column == "answer"


def test_missing_column_in_jsonl_names_the_line(tmp_path):
    path = _jsonl(tmp_path / "minerva.jsonl", [GOOD, {"question": "What is 3 + 3?"}])
    error = _fails(tmp_path, "minerva", path, "row 2", "column 'answer'")
    assert (error.row, error.column) == (2, "answer")


def test_wrong_type_names_row_column_and_value(tmp_path):
    path = _jsonl(tmp_path / "minerva.jsonl", [GOOD, GOOD, {"question": 12345, "answer": "1"}])
    error = _fails(tmp_path, "minerva", path, "row 3", "column 'question'", "expected text, got int", "12345")
    assert error.value == 12345


def test_a_list_column_that_is_not_a_list_is_a_type_error(tmp_path):
    row = {"id": 1, "question": "Find x.", "final_answer": {"answer": "2"}}
    path = _jsonl(tmp_path / "olympiadbench.jsonl", [row])
    _fails(tmp_path, "olympiadbench", path, "row 1", "column 'final_answer'", "expected a list, got dict")


def test_an_answer_that_is_a_boolean_is_a_type_error(tmp_path):
    path = _jsonl(tmp_path / "dsr.jsonl", [{"problem": "Is 2 prime?", "answer": True}])
    _fails(tmp_path, "dsr", path, "row 1", "column 'answer'", "boolean")


@pytest.mark.parametrize(
    "file_name, content",
    [
        ("minerva.jsonl", b""),
        ("minerva.jsonl", b"\n\n"),
        ("minerva.json", b"[]"),
        ("minerva.csv", b"question,answer\n"),
    ],
)
def test_empty_files_are_refused(tmp_path, file_name, content):
    path = tmp_path / file_name
    path.write_bytes(content)
    _fails(tmp_path, "minerva", path, str(path), "has no rows")


def test_empty_parquet_is_refused(tmp_path):
    path = tmp_path / "minerva.parquet"
    pq.write_table(pa.table({"question": pa.array([], pa.string()), "answer": pa.array([], pa.string())}), path)
    _fails(tmp_path, "minerva", path, "has no rows")


def test_non_utf8_jsonl_names_the_line(tmp_path):
    path = tmp_path / "minerva.jsonl"
    path.write_bytes(json.dumps(GOOD).encode() + b"\n" + b'{"question": "caf\xe9?", "answer": "1"}\n')
    error = _fails(tmp_path, "minerva", path, "row 2", "not UTF-8", "Re-encode")
    assert error.row == 2


def test_non_utf8_csv_names_the_line(tmp_path):
    path = tmp_path / "minerva.csv"
    path.write_bytes(b"question,answer\nWhat is 1?,1\nWhat is \xff?,2\n")
    _fails(tmp_path, "minerva", path, "row 3", "not UTF-8")


def test_non_utf8_bytes_in_a_parquet_cell_name_row_and_column(tmp_path):
    path = tmp_path / "minerva.parquet"
    table = pa.table({"question": pa.array([b"ok?", b"bad \xff?"], pa.binary()), "answer": ["1", "2"]})
    pq.write_table(table, path)
    _fails(tmp_path, "minerva", path, "row 2", "column 'question'", "not UTF-8")


def test_invalid_json_line_is_named(tmp_path):
    path = tmp_path / "minerva.jsonl"
    path.write_text(json.dumps(GOOD) + "\n{not json\n", encoding="utf-8")
    _fails(tmp_path, "minerva", path, "row 2", "invalid JSON")


def test_a_file_that_is_not_parquet_is_named(tmp_path):
    path = tmp_path / "minerva.parquet"
    path.write_text("question,answer\n", encoding="utf-8")
    _fails(tmp_path, "minerva", path, str(path), "not a readable parquet file")


def test_unsupported_extension_and_missing_file(tmp_path):
    path = tmp_path / "minerva.xlsx"
    path.write_text("x", encoding="utf-8")
    _fails(tmp_path, "minerva", path, "unsupported file type 'xlsx'")
    _fails(tmp_path, "minerva", tmp_path / "absent.jsonl", "does not exist")


def test_an_empty_benchmark_question_is_an_error_not_a_skip(tmp_path):
    path = _jsonl(tmp_path / "minerva.jsonl", [GOOD, {"question": "  ", "answer": "1"}])
    _fails(tmp_path, "minerva", path, "row 2", "column 'question'", "empty question in a benchmark row")


def test_a_missing_boxed_answer_in_aime24_is_an_error(tmp_path):
    path = _jsonl(tmp_path / "aime24.jsonl", [{"id": 60, "problem": "Find n.", "solution": "no box here"}])
    _fails(tmp_path, "aime24", path, "row 1", "column 'solution'", "empty answer")


def test_an_error_in_a_later_dataset_leaves_earlier_ones_unwritten(tmp_path):
    good = _jsonl(tmp_path / "minerva.jsonl", [GOOD])
    bad = _jsonl(tmp_path / "aime25.jsonl", [{"problem": "Find n.", "id": "0"}])
    with pytest.raises(DataPrepError, match="column 'answer'"):
        _run(tmp_path, "minerva", good, datasets=("minerva", "aime25"), inputs={"minerva": good, "aime25": bad})
    assert not (tmp_path / "out").exists()


def test_unknown_names_list_the_known_ones(tmp_path, capsys):
    with pytest.raises(DataPrepError, match=r"unknown dataset name 'gsm8k'.*math500, aime24"):
        get_source("gsm8k")
    with pytest.raises(DataPrepError, match="unknown prompt style 'fancy'"):
        _run(tmp_path, "minerva", tmp_path / "x.jsonl", styles=("fancy",))
    with pytest.raises(DataPrepError, match="unknown decontamination mode"):
        _run(tmp_path, "minerva", tmp_path / "x.jsonl", decontaminate="maybe")
    assert main(["prepare", "--out", str(tmp_path / "o"), "--datasets", "gsm8k"]) == 2
    assert capsys.readouterr().err.startswith("data_prep: error: unknown dataset name 'gsm8k'")
    assert not (tmp_path / "o").exists()


def test_two_local_files_for_one_dataset_are_ambiguous(tmp_path):
    _jsonl(tmp_path / "minerva.jsonl", [GOOD])
    pd.DataFrame([GOOD]).to_csv(tmp_path / "minerva.csv", index=False)
    with pytest.raises(DataPrepError, match=r"several input files for 'minerva': minerva\.jsonl, minerva\.csv"):
        prepare(Options(out_dir=tmp_path / "out", datasets=("minerva",), local_dir=tmp_path, allow_hub=False), **QUIET)
    assert not (tmp_path / "out").exists()
