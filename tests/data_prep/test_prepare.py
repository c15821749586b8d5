"""``prepare`` on small local files shaped exactly like the hub datasets (tests/fixtures/data_prep/hub_shaped)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import data_prep.schema as schema
from data_prep import DataPrepError
from data_prep.cli import main
from data_prep.prepare import MANIFEST, Options, prepare
from data_prep.schema import REASONING_PROMPT, RL_SCHEMA, sha256_file
from data_prep.sources import SOURCES

REPO = Path(__file__).resolve().parents[2]
HUB_SHAPED = REPO / "tests" / "fixtures" / "data_prep" / "hub_shaped"
QUIET = {"log": lambda line: None}


def _prepare(out: Path, **overrides) -> dict:
    options = {"out_dir": out, "local_dir": HUB_SHAPED, "allow_hub": False, **overrides}
    return prepare(Options(**options), **QUIET)


def _rows(out: Path, relative: str) -> list[dict]:
    return pq.read_table(out / relative).to_pylist()


def _answers(out: Path, relative: str) -> list[str]:
    return [row["reward_model"]["ground_truth"] for row in _rows(out, relative)]


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("prepared")
    _prepare(folder)
    return folder


def test_every_dataset_in_every_style_is_written_and_listed(out):
    manifest = json.loads((out / MANIFEST).read_text())
    assert len(manifest["files"]) == 8 * 3
    for entry in manifest["files"]:
        path = out / entry["path"]
        assert pq.read_schema(path).remove_metadata() == RL_SCHEMA
        assert pq.read_metadata(path).num_rows == entry["rows"]
        assert sha256_file(path) == entry["sha256"]
        assert entry["source"]["kind"] == "local" and len(entry["source"]["sha256"]) == 64
    styles = {entry["path"]: entry["style"] for entry in manifest["files"]}
    assert styles["train/reasoning/otm.parquet"] == "reasoning"
    assert not list(out.rglob("*.tmp"))


def test_training_sets_drop_and_count_empty_and_repeated_questions(out):
    counts = {e["dataset"]: e["counts"] for e in json.loads((out / MANIFEST).read_text())["files"]}
    assert counts["dsr"] == {
        "rows_read": 7,
        "skipped_by_filter": 0,
        "dropped_empty_question": 1,
        "dropped_empty_answer": 1,
        "dropped_duplicate": 1,
        "rows_kept": 4,
    }
    assert counts["otm"] == {
        "rows_read": 7,
        "skipped_by_filter": 2,
        "dropped_empty_question": 0,
        "dropped_empty_answer": 1,
        "dropped_duplicate": 1,
        "rows_kept": 3,
    }
    dsr = _rows(out, "train/question/dsr.parquet")
    assert [row["extra_info"]["index"] for row in dsr] == [0, 1, 2, 3]
    assert [row["extra_info"]["id"] for row in dsr] == ["0", "1", "5", "6"]  # position in the source file
    assert {row["data_source"] for row in dsr} == {"deepscaler"}


def test_openthoughts_rows_take_the_question_and_the_boxed_answer_of_the_conversation(out):
    rows = _rows(out, "train/reasoning/otm.parquet")
    assert rows[0]["prompt"] == [
        {"role": "user", "content": "Find the remainder when $2^{10}$ is divided by $7$. " + REASONING_PROMPT}
    ]
    assert [row["reward_model"]["ground_truth"] for row in rows] == ["2", "x+1", "70"]
    assert {row["data_source"] for row in rows} == {"open-thoughts/OpenThoughts3-1.2M"}


def test_source_specific_answer_rules(out):
    assert _answers(out, "benchmarks/question/olympiadbench.parquet") == ["2", "$69$,$84$", "$2^{1009}$"]
    assert _answers(out, "benchmarks/question/amc23.parquet") == ["27", "-1"]  # hub numbers 27.0, -1.0
    assert _answers(out, "benchmarks/question/aime.parquet") == ["204", "315"]  # from the boxed solution
    assert _answers(out, "benchmarks/question/minerva.parquet") == ["4.5e33", "np.arcsin(10/13)", "1.6"]
    questions = [row["prompt"][0]["content"] for row in _rows(out, "benchmarks/question/amc23.parquet")]
    assert questions[1].endswith("one? ")  # benchmark text is never stripped: the authors kept it as is


def test_a_second_run_is_byte_identical(out, tmp_path):
    _prepare(tmp_path)
    again = json.loads((tmp_path / MANIFEST).read_text())
    first = json.loads((out / MANIFEST).read_text())
    assert [(e["path"], e["sha256"]) for e in again["files"]] == [(e["path"], e["sha256"]) for e in first["files"]]
    _prepare(tmp_path)  # over its own output: same bytes, no temporary files left
    assert (tmp_path / MANIFEST).read_bytes() == json.dumps(again, indent=2, sort_keys=True).encode() + b"\n"
    assert not list(tmp_path.rglob("*.tmp"))


def test_decontamination_reports_exact_and_normalised_overlaps(tmp_path):
    manifest = _prepare(tmp_path, datasets=("dsr", "otm"), styles=("question",), decontaminate="report")
    report = json.loads((tmp_path / "reports" / "decontamination.json").read_text())
    found = {(o["train_set"], o["train_row"], o["benchmark"], o["match"]) for o in report["overlaps"]}
    assert found == {("dsr", 1, "math500", "exact"), ("dsr", 6, "math500", "normalized"), ("otm", 7, "aime25", "exact")}
    assert [entry["rows"] for entry in manifest["files"]] == [4, 3]  # report only: nothing removed
    assert manifest["datasets"] == ["dsr", "otm"]  # the benchmarks were read for the check, not written
    assert not (tmp_path / "benchmarks").exists()


def test_decontamination_drop_removes_and_counts_overlaps(tmp_path):
    manifest = _prepare(tmp_path, datasets=("dsr", "otm"), styles=("question",), decontaminate="drop")
    counts = {entry["dataset"]: entry["counts"] for entry in manifest["files"]}
    assert (counts["dsr"]["dropped_contaminated"], counts["dsr"]["rows_kept"]) == (2, 2)
    assert (counts["otm"]["dropped_contaminated"], counts["otm"]["rows_kept"]) == (1, 2)
    questions = [row["prompt"][0]["content"] for row in _rows(tmp_path, "train/question/dsr.parquet")]
    assert questions == ["Let $x^2 = 4$ and $x > 0$. Find $x$.", "Compute $\\binom{5}{2}$."]


def test_parquet_and_csv_inputs_give_the_same_files_as_jsonl(tmp_path):
    rows = [json.loads(line) for line in (HUB_SHAPED / "olympiadbench.jsonl").read_text().splitlines()]
    pd.DataFrame(rows).to_parquet(tmp_path / "olympiadbench.parquet")
    csv_rows = [
        dict(row, final_answer=json.dumps(row["final_answer"]), solution=json.dumps(row["solution"])) for row in rows
    ]
    pd.DataFrame(csv_rows).to_csv(tmp_path / "olympiadbench.csv", index=False)
    hashes = set()
    for source_file in ("olympiadbench.parquet", "olympiadbench.csv", HUB_SHAPED / "olympiadbench.jsonl"):
        manifest = prepare(
            Options(
                out_dir=tmp_path / "out",
                datasets=("olympiadbench",),
                styles=("question",),
                inputs={"olympiadbench": tmp_path / source_file},
                allow_hub=False,
            ),
            **QUIET,
        )
        hashes.add(manifest["files"][0]["sha256"])
    assert len(hashes) == 1


def test_hub_loading_asks_for_the_pinned_dataset_and_streams_it(tmp_path, monkeypatch):
    import datasets

    real_load = datasets.load_dataset
    calls = []

    def fake_hub(path, name=None, **kwargs):
        calls.append((path, name, kwargs))
        local = HUB_SHAPED / f"{next(s.name for s in SOURCES.values() if s.hub_id == path)}.jsonl"
        return real_load("json", data_files=str(local), split="train", streaming=True)

    monkeypatch.setattr(datasets, "load_dataset", fake_hub)
    manifest = prepare(Options(out_dir=tmp_path, datasets=("olympiadbench", "aime24"), styles=("question",)), **QUIET)
    assert calls == [
        (
            "Hothan/OlympiadBench",
            "OE_TO_maths_en_COMP",
            {"split": "train", "revision": "3b426ee1d587c71b495146dde9f3e995ee7ac59f", "streaming": True},
        ),
        (
            "math-ai/aime24",
            None,
            {"split": "test", "revision": "83a7f387baaa524a8bda0022eac0541582297103", "streaming": True},
        ),
    ]
    assert manifest["files"][0]["source"]["kind"] == "hub"
    assert _answers(tmp_path, "benchmarks/question/olympiadbench.parquet") == ["2", "$69$,$84$", "$2^{1009}$"]


def test_an_interrupted_write_leaves_neither_a_half_file_nor_a_temporary(tmp_path, monkeypatch):
    def write_then_die(table, path, **kwargs):
        Path(path).write_bytes(b"PAR1 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(schema.pq, "write_table", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        _prepare(tmp_path, datasets=("minerva",), styles=("question",))
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_cli_prepare_and_its_exit_status_on_bad_input(tmp_path, capsys):
    status = main(
        [
            "prepare",
            "--out",
            str(tmp_path / "ok"),
            "--local-dir",
            str(HUB_SHAPED),
            "--no-hub",
            "--datasets",
            "aime25,dsr",
            "--styles",
            "system",
        ]
    )
    assert status == 0
    assert "wrote train/system/dsr.parquet" in capsys.readouterr().out
    assert json.loads((tmp_path / "ok" / MANIFEST).read_text())["styles"] == ["system"]
    failed = subprocess.run(
        [
            sys.executable,
            "-m",
            "data_prep",
            "prepare",
            "--out",
            str(tmp_path / "bad"),
            "--no-hub",
            "--datasets",
            "aime25",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 2
    assert "no local file for 'aime25'" in failed.stderr and "Traceback" not in failed.stderr
    assert not (tmp_path / "bad").exists()


def test_long_reads_print_progress_lines(tmp_path, monkeypatch):
    import data_prep.loading as loading

    monkeypatch.setattr(loading, "HEARTBEAT_ROWS", 3)
    lines = []
    prepare(
        Options(out_dir=tmp_path, datasets=("otm",), styles=("question",), local_dir=HUB_SHAPED, allow_hub=False),
        log=lines.append,
    )
    assert lines[0] == "      otm: 3 rows read, 1 kept so far"
    assert lines[1] == "      otm: 6 rows read, 2 kept so far"
    assert lines[2].split()[:4] == ["read", "otm", "3", "rows"]
    assert lines[3].startswith("wrote train/question/otm.parquet") and lines[3].endswith(" s")


def test_sources_command_lists_every_pinned_dataset(capsys):
    assert main(["sources"]) == 0
    listing = capsys.readouterr().out
    for source in SOURCES.values():
        assert f"{source.hub_id}" in listing and f"revision={source.revision}" in listing


def test_an_unreachable_hub_is_a_clear_error_that_points_to_local_files(tmp_path, monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("no route to huggingface.co")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataPrepError, match=r"could not read math-ai/minervamath .*no route.*--input NAME=FILE"):
        prepare(Options(out_dir=tmp_path / "out", datasets=("minerva",)), **QUIET)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("so $\\boxed{\\frac{1}{2}}$", "\\frac{1}{2}"),
        ("first \\boxed{1}, then \\boxed{x^{2}+1}", "x^{2}+1"),
        ("\\fbox{7}", "7"),
        ("no box", ""),
        ("cut off \\boxed{\\frac{1}{2}", ""),
    ],
)
def test_last_boxed_takes_the_last_balanced_box(text, expected):
    from data_prep.sources import last_boxed

    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("$2^{1009}$", "2^{1009}"),
        ("$69$,$84$", "69,84"),
        ("$(1,8,19), (2,7,13)$", "(1,8,19), (2,7,13)"),
        ("4.5e33", "4.5 \\times 10^{33}"),
        ("-2.7778e-6", "-2.7778 \\times 10^{-6}"),
        ("$221,$8$", "$221,$8$"),  # malformed: left alone rather than guessed
        ("(1 - 3e^{-2t}) u(t)", "(1 - 3e^{-2t}) u(t)"),
        ("204", "204"),
    ],
)
def test_answer_normalisation_rules(answer, expected):
    from data_prep.answers import normalize_answer

    assert normalize_answer(answer) == expected
