"""eval.store: the stored format round-trips, resumes, and rejects bad files loudly."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from eval.store import (
    GenerationsError,
    ReadReport,
    Record,
    RunKey,
    discover,
    is_complete,
    path_for,
    read_generations,
    write_generations,
)

KEY = RunKey("qwen-math-7b", "base", "reasoning", 0.6, 2, 0, "math500")


def _record(index: int, **changes) -> dict:
    row = {
        "data_source": "math500",
        "index": index,
        "prompt": f"Q{index}",
        "ground_truth": "3",
        "responses": ["so \\boxed{3}", ""],
        "finish_reasons": ["stop", "length"],
        "lengths": [12, 4096],
    }
    row.update(changes)
    return row


def test_round_trip_resume_and_atomicity(tmp_path):
    assert not is_complete(tmp_path, KEY)
    path = write_generations(tmp_path, KEY, [_record(0), Record(**_record(1))])
    assert path == tmp_path / "qwen-math-7b/base/reasoning/tau0.6/n2_seed0/math500.jsonl"
    assert is_complete(tmp_path, KEY)
    assert [p.name for p in path.parent.iterdir()] == ["math500.jsonl"]  # no temp file left behind
    report = ReadReport()
    key, records = read_generations(path, report=report)
    assert key == KEY and [r.index for r in records] == [0, 1] and records[1].lengths == [12, 4096]
    assert (report.records, report.empty_responses, report.skipped) == (2, 2, [])
    assert list(discover(tmp_path)) == [(KEY, path)]


def test_a_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(GenerationsError, match=r"record to write\):3: field 'lengths' has 1 entries"):
        write_generations(tmp_path, KEY, [_record(0), _record(1, lengths=[3])])
    assert not is_complete(tmp_path, KEY)
    assert list(tmp_path.rglob("*")) == [] or all(p.is_dir() for p in tmp_path.rglob("*"))


def _write_raw(tmp_path: Path, lines: list[str]) -> Path:
    path = path_for(tmp_path, KEY)
    path.parent.mkdir(parents=True)
    header = json.dumps(
        {
            "_header": {
                "model": KEY.model,
                "checkpoint": "base",
                "style": "reasoning",
                "tau": 0.6,
                "n": 2,
                "seed": 0,
                "benchmark": "math500",
            }
        }
    )
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (json.dumps(_record(1))[:40], r":3: malformed JSON .*truncated write"),
        (json.dumps({k: v for k, v in _record(1).items() if k != "prompt"}), r":3: missing field 'prompt'"),
        (json.dumps(_record(1, data_source="gsm8k")), r":3: unknown data_source 'gsm8k'"),
        (json.dumps(_record(0)), r":3: duplicate index 0"),
        (json.dumps(_record(1, responses=["a"])), r":3: field 'responses' has 1 entries, but the header says n=2"),
        (json.dumps(_record(1, lengths=[1.5, 2])), r":3: length 1.5 is not a token count"),
        (json.dumps(_record(1, finish_reasons=["stop", "eos"])), r":3: finish reason 'eos'"),
        (json.dumps(_record(1, responses=[None, "x"])), r":3: every response must be a string"),
        (json.dumps(_record(1)).replace("12", "NaN"), r":3: .*NaN is not allowed"),
    ],
)
def test_bad_lines_name_the_file_line_and_problem(tmp_path, line, message):
    path = _write_raw(tmp_path, [json.dumps(_record(0)), line])
    with pytest.raises(GenerationsError, match=message) as error:
        read_generations(path)
    assert str(path) in str(error.value)
    report = ReadReport()
    _, records = read_generations(path, on_bad="skip", report=report)
    assert [r.index for r in records] == [0]
    assert [(file, number) for file, number, _ in report.skipped] == [(str(path), 3)]


def test_headers_and_locations_must_agree(tmp_path):
    path = _write_raw(tmp_path, [json.dumps(_record(0))])
    moved = tmp_path / "qwen-math-7b/base/reasoning/tau1/n2_seed0/math500.jsonl"
    moved.parent.mkdir(parents=True)
    path.rename(moved)
    with pytest.raises(GenerationsError, match="does not match its location"):
        list(discover(tmp_path))
    moved.write_text("not json\n", encoding="utf-8")
    with pytest.raises(GenerationsError, match=r":1: missing or bad header"):
        read_generations(moved)
    with pytest.raises(GenerationsError, match="not <model>/<checkpoint>"):
        RunKey.from_relpath(Path("a/b/c.jsonl"))


@pytest.mark.parametrize("bad", [{"model": "a/b"}, {"tau": math.nan}, {"n": 0}, {"benchmark": ""}])
def test_run_keys_reject_unusable_values(bad):
    fields = {"model": "m", "checkpoint": "base", "style": "s", "tau": 1.0, "n": 1, "seed": 0, "benchmark": "aime"}
    with pytest.raises(GenerationsError, match=next(iter(bad))):
        RunKey(**{**fields, **bad})
