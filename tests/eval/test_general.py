"""Table 3 through lm-eval, without a model: task configuration (lm-eval's own YAMLs, local-data overrides, NLTK
data), the results store, the table and the bad-input errors. The real run is tests/eval/test_general_e2e.py."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import pytest

from eval import general, general_report
from eval.general_store import GeneralStoreError, check_reusable, read_stored, task_dir, task_score, write_task
from eval.general_tasks import (
    TASKS,
    GeneralTaskError,
    check_local_data,
    export_hub_data,
    leaderboard_dir,
    leaf_tasks,
    resolve_tasks,
    write_override_yamls,
    write_punkt_tab,
)
from eval.tables import general_side_by_side, general_table, read_paper_general
from tests.eval.general_fixtures import GPQA_ROWS, write_fixture_data, write_jsonl
from tests.helpers import shared_reference

PAPER_TABLE3 = Path(__file__).resolve().parents[1] / "fixtures" / "eval" / "paper_tables" / "table3_general_domain.csv"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("general_data")
    write_fixture_data(root)
    return root


# --------------------------------------------------------------------------------------------------------------
# Task configuration


def test_tasks_default_to_the_papers_columns_and_unknown_names_fail():
    assert [t.label for t in resolve_tasks(None)] == ["IFEval", "BBH", "GPQA", "MuSR", "MMLU-Pro"]
    assert [t.key for t in resolve_tasks(["gpqa", "bbh", "gpqa"])] == ["gpqa", "bbh"]
    with pytest.raises(GeneralTaskError, match=r"unknown task\(s\) \['mmlu'\].*'mmlu_pro'"):
        resolve_tasks(["bbh", "mmlu"])


def test_leaf_tasks_and_splits_come_from_lm_evals_leaderboard_yamls():
    bbh = leaf_tasks(TASKS["bbh"])
    assert len(bbh) == 24 and {(x.dataset_path, x.splits) for x in bbh} == {("SaylorTwift/bbh", ("test",))}
    assert "leaderboard_bbh_navigate" in {x.name for x in bbh}
    gpqa = {x.name: (x.dataset_path, x.dataset_name, x.splits) for x in leaf_tasks(TASKS["gpqa"])}
    assert gpqa["leaderboard_gpqa_main"] == ("Idavidrein/gpqa", "gpqa_main", ("train",))
    # MMLU-Pro is 5-shot from its validation split; BBH's 3 shots are in its YAMLs, so no split for them
    (mmlu,) = leaf_tasks(TASKS["mmlu_pro"])
    assert (mmlu.dataset_path, mmlu.splits) == ("TIGER-Lab/MMLU-Pro", ("test", "validation"))
    assert {x.splits for x in leaf_tasks(TASKS["musr"])} == {
        ("murder_mysteries",),
        ("object_placements",),
        ("team_allocation",),
    }
    (ifeval,) = leaf_tasks(TASKS["ifeval"])
    assert (ifeval.name, ifeval.splits) == ("leaderboard_ifeval", ("train",))


def test_local_data_is_checked_for_files_and_columns_before_a_run(data_dir, tmp_path):
    files = check_local_data(TASKS["mmlu_pro"], data_dir)
    assert files["leaderboard_mmlu_pro"]["validation"] == data_dir / "TIGER-Lab/MMLU-Pro/default/validation.jsonl"
    with pytest.raises(
        GeneralTaskError, match=r"leaderboard_gpqa_diamond.*Idavidrein/gpqa.*gpqa_diamond.*train\.jsonl"
    ):
        check_local_data(TASKS["gpqa"], tmp_path)
    broken = [{k: v for k, v in row.items() if k != "Correct Answer"} for row in GPQA_ROWS]
    write_jsonl(tmp_path / "Idavidrein/gpqa/gpqa_diamond/train.jsonl", broken)
    with pytest.raises(
        GeneralTaskError,
        match=r"gpqa_diamond/train\.jsonl: task leaderboard_gpqa_diamond .*missing \['Correct Answer'\]",
    ):
        check_local_data(TASKS["gpqa"], tmp_path)


def test_override_yamls_point_lm_evals_own_tasks_at_the_local_files(data_dir, tmp_path):
    from lm_eval.tasks import TaskManager

    write_override_yamls(TASKS["gpqa"], check_local_data(TASKS["gpqa"], data_dir), tmp_path)
    manager = TaskManager(include_path=[str(leaderboard_dir()), str(tmp_path)], include_defaults=False)
    loaded = manager.load(["leaderboard_gpqa"])["tasks"]
    assert sorted(loaded) == ["leaderboard_gpqa_diamond", "leaderboard_gpqa_extended", "leaderboard_gpqa_main"]
    docs = list(loaded["leaderboard_gpqa_main"].validation_docs())
    # lm-eval's own process_docs ran on our rows: the four answers shuffled into choice1..4, the answer a letter
    assert len(docs) == len(GPQA_ROWS)
    assert {docs[1][f"choice{i}"] for i in range(1, 5)} == {"5", "4", "6", "23"}
    assert docs[1][f"choice{ord(docs[1]['answer'][1]) - 64}"] == "5"


def test_punkt_tab_is_written_locally_and_nltk_reads_it(tmp_path):
    import nltk
    from nltk.tokenize.punkt import PunktTokenizer

    root = write_punkt_tab(tmp_path / "nltk_data")
    english = root / "tokenizers" / "punkt_tab" / "english"
    assert {p.name for p in english.iterdir()} >= {"abbrev_types.txt", "collocations.tab", "sent_starters.txt"}
    nltk.data.path.insert(0, str(root))
    try:
        assert nltk.data.find("tokenizers/punkt_tab") == nltk.data.find(str(Path("tokenizers", "punkt_tab")))
        sentences = PunktTokenizer("english").tokenize("Dr. Smith met Mr. Jones at 5 p.m. on Jan. 3. They talked.")
        assert sentences == ["Dr. Smith met Mr. Jones at 5 p.m. on Jan. 3.", "They talked."]
    finally:
        nltk.data.path.remove(str(root))


def test_export_writes_the_layout_the_runs_read(tmp_path):
    """The export's only Hub call is ``load``; here it reads the fixture rows, so the layout round-trips."""
    from datasets import Dataset

    calls = []

    def load(path, name, split):
        calls.append((path, name, split))
        return Dataset.from_list(GPQA_ROWS)

    written = export_hub_data([TASKS["gpqa"]], tmp_path, load=load)
    assert len(written) == 3 and ("Idavidrein/gpqa", "gpqa_main", "train") in calls
    assert check_local_data(TASKS["gpqa"], tmp_path)["leaderboard_gpqa_main"]["train"] in written
    assert export_hub_data([TASKS["gpqa"]], tmp_path, load=load) == []  # present files are kept

    def gated(path, name, split):
        raise PermissionError(f"Dataset '{path}' is a gated dataset on the Hub")

    with pytest.raises(GeneralTaskError, match=r"leaderboard_gpqa_diamond.*gated.*accepted on the Hub"):
        export_hub_data([TASKS["gpqa"]], tmp_path / "other", load=gated)


# --------------------------------------------------------------------------------------------------------------
# Store

SETTINGS = {"lm_eval_version": version("lm_eval"), "backend": "hf", "chat_template": False, "limit": None}


def _results(group: str, metrics: dict[str, float]) -> dict:
    """The shape of simple_evaluate's return value that the store and the table read."""
    return {
        "results": {group: {"alias": group, **metrics}},
        "configs": {group: {"task": group}},
        "samples": {group: [{"doc_id": 0, "doc": {"q": "x"}, "resps": [["A"]], "acc": 1.0}]},
    }


def _store(root: Path, checkpoint: str, scores: dict[str, float], settings: dict = SETTINGS) -> None:
    for key, value in scores.items():
        task = TASKS[key]
        header = {**settings, "model": "m", "checkpoint": checkpoint, "task": key}
        write_task(
            task_dir(root, "m", checkpoint, key), header, _results(task.group, dict.fromkeys(task.metrics, value))
        )


def test_a_stored_task_is_reused_and_keeps_lm_evals_results_and_samples(tmp_path):
    folder = task_dir(tmp_path, "m", "base", "gpqa")
    assert check_reusable(folder, SETTINGS) is False
    write_task(folder, {**SETTINGS, "task": "gpqa"}, _results("leaderboard_gpqa", {"acc_norm,none": 0.25}))
    assert check_reusable(folder, SETTINGS) is True
    stored = read_stored(folder)
    assert stored["sept"]["samples"] == {"leaderboard_gpqa": 1} and "samples" not in stored["lm_eval"]
    sample = json.loads((folder / "samples" / "leaderboard_gpqa.jsonl").read_text())
    assert sample["resps"] == [["A"]]
    assert task_score(stored, "leaderboard_gpqa", ("acc_norm,none",)) == 25.0
    assert [p.name for p in folder.parent.iterdir()] == ["gpqa"]  # no partial folder left behind
    with pytest.raises(GeneralStoreError, match="appeared while this task ran"):
        write_task(folder, SETTINGS, _results("leaderboard_gpqa", {"acc_norm,none": 0.5}))
    assert task_score(read_stored(folder), "leaderboard_gpqa", ("acc_norm,none",)) == 25.0


def test_results_of_another_lm_eval_version_or_settings_are_refused_and_kept(tmp_path):
    folder = task_dir(tmp_path, "m", "base", "bbh")
    write_task(folder, {**SETTINGS, "lm_eval_version": "0.4.8"}, _results("leaderboard_bbh", {"acc_norm,none": 0.4}))
    before = (folder / "results.json").read_text()
    with pytest.raises(GeneralStoreError, match=rf"written by lm-eval 0\.4\.8; this is lm-eval {version('lm_eval')}"):
        check_reusable(folder, SETTINGS)
    with pytest.raises(GeneralStoreError, match=r"chat_template: stored False, requested True"):
        check_reusable(folder, {**SETTINGS, "lm_eval_version": "0.4.8", "chat_template": True})
    (task_dir(tmp_path, "m", "base", "musr") / "results.json").parent.mkdir(parents=True)
    (task_dir(tmp_path, "m", "base", "musr") / "results.json").write_text("{not json")
    with pytest.raises(GeneralStoreError, match=r"musr/results\.json: not a results file"):
        check_reusable(task_dir(tmp_path, "m", "base", "musr"), SETTINGS)
    assert (folder / "results.json").read_text() == before


def test_ifeval_scores_the_leaderboards_mean_of_strict_accuracies(tmp_path):
    _store(tmp_path, "base", {"ifeval": 0.0})
    stored = read_stored(task_dir(tmp_path, "m", "base", "ifeval"))
    stored["lm_eval"]["results"]["leaderboard_ifeval"]["prompt_level_strict_acc,none"] = 0.2
    assert task_score(stored, "leaderboard_ifeval", TASKS["ifeval"].metrics) == pytest.approx(10.0)
    with pytest.raises(GeneralStoreError, match=r"no \['acc,none'\] for 'leaderboard_ifeval'"):
        task_score(stored, "leaderboard_ifeval", ("acc,none",))


# --------------------------------------------------------------------------------------------------------------
# Table


def test_the_papers_table3_csv_is_read_despite_its_short_header():
    committed = read_paper_general(PAPER_TABLE3, "Qwen2.5-Math-7B")
    assert committed["SePT"] == {"IFEval": 23.6, "BBH": 47.3, "GPQA": 30.6, "MuSR": 41.5, "MMLU-Pro": 32.2}
    assert (
        read_paper_general(shared_reference("paper-tables", "table3_general_domain.csv"), "Qwen2.5-Math-7B")
        == committed
    )


def test_general_table_has_deltas_vs_base_and_the_papers_numbers_beside():
    base = {"IFEval": 20.0, "BBH": 40.0, "GPQA": 25.0, "MuSR": 30.0, "MMLU-Pro": 10.0}
    sept = {**base, "IFEval": 21.5, "MMLU-Pro": 9.0}
    table = general_side_by_side(general_table([("Base", base), ("SePT", sept)]), PAPER_TABLE3, "Qwen2.5-Math-7B")
    assert table.columns[:7] == ["method", "IFEval", "BBH", "GPQA", "MuSR", "MMLU-Pro", "ΔIFEval"]
    assert table.columns[-1] == "paper MMLU-Pro"
    assert table.render("md").splitlines()[3] == (
        "| SePT | 21.5 | 40.0 | 25.0 | 30.0 | 9.0 | +1.5 | +0.0 | +0.0 | +0.0 | -1.0 | 23.6 | 47.3 | 30.6 | 41.5 | 32.2 |"
    )
    assert table.render("csv").splitlines()[1].startswith("Base,20.0,40.0,25.0,30.0,10.0,+0.0")
    latex = table.render("latex")
    assert r"$\Delta$IFEval" in latex and r"\begin{tabular}{l" + "r" * 15 + "}" in latex


def test_report_cli_prints_stored_runs_and_refuses_unlike_rows(tmp_path, capsys):
    _store(tmp_path, "base", {"ifeval": 0.2, "bbh": 0.4, "gpqa": 0.25, "musr": 0.3, "mmlu_pro": 0.1})
    _store(tmp_path, "step2", {"ifeval": 0.3, "bbh": 0.45})
    argv = [str(tmp_path), "--method", "Base=m/base", "--method", "SePT=m/step2", "--format", "csv"]
    assert general_report.main([*argv, "--paper", str(PAPER_TABLE3), "--paper-model", "Qwen2.5-Math-7B"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "SePT,30.0,45.0,-,-,-,+10.0,+5.0,-,-,-,23.6,47.3,30.6,41.5,32.2"
    assert general_report.main([str(tmp_path), "--method", "Base=m/none"]) == 2
    assert "nothing stored under" in capsys.readouterr().err
    _store(tmp_path, "chat", {"bbh": 0.5}, settings={**SETTINGS, "chat_template": True})
    assert general_report.main([str(tmp_path), "--method", "Base=m/base", "--method", "C=m/chat"]) == 2
    assert "different chat_template (m/base/bbh: False" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------------------
# Run CLI: bad input fails before any model is loaded


def test_run_cli_names_bad_input(tmp_path, capsys):
    assert general.main(["--model", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    assert f"--model {tmp_path / 'missing'}: no such folder" in capsys.readouterr().err
    assert general.main(["--model", str(tmp_path), "--tasks", "hellaswag", "--out", str(tmp_path)]) == 2
    assert "unknown task(s) ['hellaswag']" in capsys.readouterr().err
    assert general.main(["--model", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "folder has no config.json" in capsys.readouterr().err


def test_chat_template_follows_the_leaderboards_rule_for_chat_models():
    assert general.use_chat_template("auto", "Qwen/Qwen2.5-7B-Instruct", "Qwen2.5-7B-Instruct") is True
    assert general.use_chat_template("auto", "/ckpt/qwen2.5-math-7b", "qwen2.5-math-7b") is False
    assert general.use_chat_template("on", "/ckpt/qwen2.5-math-7b", "qwen2.5-math-7b") is True
