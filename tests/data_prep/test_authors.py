"""The six benchmarks prepared by data_prep equal the authors' files row for row.

The authors' parquet files (../shared/reference/sept-authors-data, never copied into git) are turned back into
the raw shape of each pinned hub dataset, written as local files, prepared, and compared with both of the
authors' prompt styles: prompt messages, data_source and ground truth, in order.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from data_prep.prepare import Options, prepare
from data_prep.schema import REASONING_PROMPT
from data_prep.sources import BENCHMARKS, SOURCES
from tests.helpers import shared_reference

STYLE_FOLDERS = {"question": "data", "reasoning": "data_user_reasoning"}
ROWS = {"math500": 500, "aime24": 30, "aime25": 30, "amc23": 40, "minerva": 272, "olympiadbench": 675}


def _authors(name: str, style: str = "question") -> pd.DataFrame:
    return pd.read_parquet(
        shared_reference("sept-authors-data")
        / STYLE_FOLDERS[style]
        / "benchmarks"
        / f"{SOURCES[name].file_name}.parquet"
    )


def _question(row) -> str:
    (message,) = row["prompt"]
    return message["content"]


def _answer(row) -> str:
    return row["reward_model"]["ground_truth"]


# Each function rebuilds one raw hub row (the hub dataset's own columns) from an authors' row.
def _math500(row):
    return {
        "problem": _question(row),
        "solution": "",
        "answer": _answer(row),
        "subject": "",
        "level": 1,
        "unique_id": row["id"],
    }


def _aime24(row):
    return {"id": int(row["id"]), "problem": _question(row), "solution": f"\\boxed{{{_answer(row)}}}", "url": ""}


def _aime25(row):
    return {"problem": _question(row), "answer": _answer(row), "id": row["id"]}


def _amc23(row):
    # The hub stores AMC answers as numbers; all forty are integers.
    return {"id": int(row["id"]), "question": _question(row), "answer": float(_answer(row)), "url": row["url"]}


def _minerva(row):
    return {"question": _question(row), "answer": _answer(row)}


def _olympiadbench(row):
    return {
        "id": int(row["id"]),
        "question": _question(row),
        "solution": list(row["solution"]),
        "final_answer": [_answer(row)],
        "context": None,
        "is_multiple_answer": bool(row["is_multiple_answer"]),
        "unit": row["unit"] if isinstance(row["unit"], str) else None,
        "answer_type": row["answer_type"],
        "subfield": row["subfield"],
        "language": "English",
    }


# Mixed formats on purpose: the real sources are jsonl (MATH-500, AIME-25) and parquet (the rest).
HUB_SHAPE = {
    "math500": (_math500, "jsonl"),
    "aime24": (_aime24, "parquet"),
    "aime25": (_aime25, "jsonl"),
    "amc23": (_amc23, "parquet"),
    "minerva": (_minerva, "parquet"),
    "olympiadbench": (_olympiadbench, "parquet"),
}


def _write_hub_shaped(folder: Path) -> None:
    folder.mkdir()
    for name, (to_hub, extension) in HUB_SHAPE.items():
        rows = [to_hub(row) for _, row in _authors(name).iterrows()]
        path = folder / f"{name}.{extension}"
        if extension == "jsonl":
            path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        else:
            pd.DataFrame(rows).to_parquet(path)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("authors")
    _write_hub_shaped(root / "hub")
    prepare(
        Options(out_dir=root / "out", datasets=BENCHMARKS, local_dir=root / "hub", allow_hub=False),
        log=lambda line: None,
    )
    return root / "out"


def _ours(out: Path, name: str, style: str) -> list[dict]:
    return pq.read_table(out / "benchmarks" / style / f"{SOURCES[name].file_name}.parquet").to_pylist()


@pytest.mark.parametrize("style", sorted(STYLE_FOLDERS))
@pytest.mark.parametrize("name", BENCHMARKS)
def test_prepared_benchmark_equals_the_authors_file(prepared, name, style):
    ours, theirs = _ours(prepared, name, style), _authors(name, style)
    assert len(ours) == len(theirs) == ROWS[name]
    for mine, (_, their) in zip(ours, theirs.iterrows(), strict=True):
        assert mine["prompt"] == [{"role": m["role"], "content": m["content"]} for m in their["prompt"]]
        assert mine["data_source"] == their["data_source"]
        assert mine["reward_model"] == {"ground_truth": _answer(their), "style": "rule"}
        assert mine["ability"] == their["ability"]
        if "id" in theirs.columns:
            assert mine["extra_info"]["id"] == their["id"]


def test_system_style_puts_the_reasoning_prompt_in_a_system_message(prepared):
    for name in BENCHMARKS:
        for mine, (_, their) in zip(_ours(prepared, name, "system"), _authors(name).iterrows(), strict=True):
            assert mine["prompt"] == [
                {"role": "system", "content": REASONING_PROMPT},
                {"role": "user", "content": _question(their)},
            ]


def test_ground_truths_keep_the_paper_quirks_by_default(prepared):
    olympiad = [row["reward_model"]["ground_truth"] for row in _ours(prepared, "olympiadbench", "question")]
    minerva = [row["reward_model"]["ground_truth"] for row in _ours(prepared, "minerva", "question")]
    assert sum("$" in answer for answer in olympiad) == 266
    assert sum(pd.Series(minerva).str.fullmatch(r"[+-]?\d+(\.\d+)?e[+-]?\d+")) == 58
    assert "np.arcsin(10/13)" in minerva


def test_answer_normalisation_is_opt_in_and_reported(prepared, tmp_path):
    options = Options(
        out_dir=tmp_path,
        datasets=("minerva", "olympiadbench"),
        styles=("question",),
        local_dir=prepared.parent / "hub",
        allow_hub=False,
        normalize_answers=True,
    )
    manifest = prepare(options, log=lambda line: None)
    counts = {entry["dataset"]: entry["counts"]["answers_normalized"] for entry in manifest["files"]}
    assert counts == {"minerva": 58, "olympiadbench": 263}
    changes = json.loads((tmp_path / "reports" / "answer_normalization.json").read_text())["changes"]
    assert len(changes) == 58 + 263
    assert {"dataset": "minerva", "id": "1", "before": "4.5e33", "after": "4.5 \\times 10^{33}"} in changes
