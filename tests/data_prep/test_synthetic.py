"""The seeded arithmetic sets the CPU preset trains and validates on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from data_prep import DataPrepError, write_arithmetic_sets
from data_prep.schema import REASONING_PROMPT, RL_SCHEMA, sha256_file

REPO = Path(__file__).resolve().parents[2]


def _rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def test_same_seed_gives_byte_identical_files(tmp_path):
    first = write_arithmetic_sets(tmp_path / "a", seed=3)
    second = write_arithmetic_sets(tmp_path / "b", seed=3)
    for split in ("train", "val"):
        assert sha256_file(first[split]) == sha256_file(second[split])
    other = write_arithmetic_sets(tmp_path / "c", seed=4)
    assert sha256_file(other["train"]) != sha256_file(first["train"])


def test_schema_counts_and_answers_are_correct(tmp_path):
    paths = write_arithmetic_sets(tmp_path, n_train=50, n_val=10, seed=0, style="question")
    assert pq.read_schema(paths["train"]).remove_metadata() == RL_SCHEMA
    train, val = _rows(paths["train"]), _rows(paths["val"])
    assert (len(train), len(val)) == (50, 10)
    for row in train + val:
        assert row["data_source"] == "synthetic_arith"
        assert row["ability"] == "math"
        assert row["reward_model"]["style"] == "rule"
        (message,) = row["prompt"]
        assert message["role"] == "user" and len(message["content"]) < 60
        expression = message["content"].removeprefix("What is ").removesuffix("?")
        assert str(eval(expression)) == row["reward_model"]["ground_truth"]
    assert [row["extra_info"]["index"] for row in train] == list(range(50))


def test_val_is_disjoint_from_train_and_independent_of_train_size(tmp_path):
    small = write_arithmetic_sets(tmp_path / "s", n_train=10, n_val=20, seed=1)
    large = write_arithmetic_sets(tmp_path / "l", n_train=400, n_val=20, seed=1)
    assert sha256_file(small["val"]) == sha256_file(large["val"])
    questions = lambda path: [r["prompt"][0]["content"] for r in _rows(path)]  # noqa: E731
    train, val = questions(large["train"]), questions(large["val"])
    assert len(set(train)) == len(train)
    assert not set(train) & set(val)


def test_extra_val_questions_leave_both_splits_as_they_were(tmp_path):
    plain = write_arithmetic_sets(tmp_path / "p", n_train=300, n_val=20, seed=1)
    more = write_arithmetic_sets(tmp_path / "m", n_train=300, n_val=20, seed=1, extra_val=30)
    assert sha256_file(plain["train"]) == sha256_file(more["train"])
    val, train = _rows(more["val"]), _rows(more["train"])
    assert len(val) == 50 and val[:20] == _rows(plain["val"])
    assert [row["extra_info"]["index"] for row in val] == list(range(50))
    questions = {row["prompt"][0]["content"] for row in val}
    assert len(questions) == 50 and not questions & {row["prompt"][0]["content"] for row in train}
    with pytest.raises(DataPrepError, match="extra val"):
        write_arithmetic_sets(tmp_path / "x", extra_val=-1)


def test_cli_passes_the_extra_val_rows_on(tmp_path):
    from data_prep.cli import build_parser

    args = build_parser().parse_args(
        ["synthetic", "--out", str(tmp_path), "--train-rows", "5", "--val-rows", "2", "--extra-val-rows", "3"]
    )
    args.run(args)
    assert (len(_rows(tmp_path / "train.parquet")), len(_rows(tmp_path / "val.parquet"))) == (5, 5)


def test_styles_put_the_reasoning_prompt_where_the_paper_does(tmp_path):
    reasoning = _rows(write_arithmetic_sets(tmp_path / "r", 4, 1, style="reasoning")["train"])
    system = _rows(write_arithmetic_sets(tmp_path / "s", 4, 1, style="system")["train"])
    assert reasoning[0]["prompt"][0]["content"].endswith(" " + REASONING_PROMPT)
    assert system[0]["prompt"][0] == {"role": "system", "content": REASONING_PROMPT}
    assert system[0]["prompt"][1]["content"] + " " + REASONING_PROMPT == reasoning[0]["prompt"][0]["content"]


def test_bad_requests_raise_clear_errors(tmp_path):
    with pytest.raises(DataPrepError, match="unknown prompt style 'chatty'"):
        write_arithmetic_sets(tmp_path, style="chatty")
    with pytest.raises(DataPrepError, match="distinct arithmetic questions"):
        write_arithmetic_sets(tmp_path, n_train=10**6)
    assert not list(tmp_path.iterdir())


def test_cli_writes_both_files_and_rejects_bad_counts(tmp_path):
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "data_prep", "synthetic", "--out", str(tmp_path), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    done = run("--train-rows", "8", "--val-rows", "2", "--seed", "5", "--style", "system")
    assert done.returncode == 0, done.stderr
    assert pq.read_metadata(tmp_path / "train.parquet").num_rows == 8
    assert pq.read_metadata(tmp_path / "val.parquet").num_rows == 2
    failed = run("--train-rows", "-1")
    assert failed.returncode == 2
    assert failed.stderr.startswith("data_prep: error:") and "Traceback" not in failed.stderr
