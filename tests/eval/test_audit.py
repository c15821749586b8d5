"""eval.audit compares the grading modes on stored generations; regrade and the reports record and check the mode."""

from __future__ import annotations

import csv
import json

import pytest

from eval import audit, grader, report
from eval.grader import grade_many
from eval.regrade import main as regrade_main
from eval.regrade import regrade
from eval.store import RunKey, write_generations
from eval.tables import ReportError, load_metrics, modes_table

LOAD_PROOF = ["--budget-scale", "10"]  # stage budgets x10: verdicts independent of the machine's load


@pytest.fixture(autouse=True)
def _own_workers(monkeypatch):
    monkeypatch.setattr(grader, "_VERDICTS", grader._VerdictCache(1 << 16))
    yield
    grader.close_shared_pools()


def _record(index: int, truth: str, responses: list[str], source: str) -> dict:
    return {
        "data_source": source,
        "index": index,
        "prompt": f"problem {index}",
        "ground_truth": truth,
        "responses": responses,
        "finish_reasons": ["stop"] * len(responses),
        "lengths": [10] * len(responses),
    }


def _store(root):
    """Two benchmarks, n = 4: Minerva answers strict accepts (sci_notation, comma_rounding), a MATH answer it
    rejects (unit_letters)."""
    key = {"model": "m", "checkpoint": "base", "style": "question", "tau": 1.0, "n": 4, "seed": 0}
    boxed = [f"so \\boxed{{{a}}}" for a in ("4.5 \\times 10^{33}", "4.5e33", "5")] + ["no box"]
    commas = [f"\\boxed{{{a}}}" for a in ("1,999.99999999", "1,999.99999999", "2000", "1999")]
    minerva = [_record(0, "4.5e33", boxed, "minerva"), _record(1, "2000", commas, "minerva")]
    write_generations(root, RunKey(**key, benchmark="minerva"), minerva)
    letters = [f"\\boxed{{{a}}}" for a in ("x+t", "x + a", "x", "2x")]
    write_generations(root, RunKey(**key, benchmark="math500"), [_record(0, "x + a", letters, "math500")])
    return root


def _rows(path) -> dict[str, dict]:
    with path.open(encoding="utf-8") as handle:
        return {row["benchmark"]: row for row in csv.DictReader(handle)}


def test_audit_counts_changed_verdicts_by_rule_and_the_change_in_pass_at_k(tmp_path, capsys):
    root = _store(tmp_path / "gen")
    assert audit.main([str(root), "--out", str(tmp_path / "out"), "--workers", "1", *LOAD_PROOF]) == 0
    rows = _rows(tmp_path / "out" / "audit.csv")
    minerva, math500, mean = rows["minerva"], rows["math500"], rows["mean"]
    assert (minerva["differing"], minerva["strict accepts"], minerva["strict rejects"]) == ("3", "3", "0")
    assert (minerva["by sci_notation"], minerva["by comma_rounding"]) == ("1", "2")
    assert (float(minerva["pass@1 faithful"]), float(minerva["pass@1 strict"])) == (25.0, 62.5)
    assert float(minerva["pass@1 Δ"]) == 37.5
    assert (math500["differing"], math500["strict rejects"], math500["by unit_letters"]) == ("1", "1", "1")
    assert (float(math500["pass@1 faithful"]), float(math500["pass@1 strict"])) == (50.0, 25.0)
    assert mean["differing"] == "4" and float(mean["pass@1 Δ"]) == pytest.approx((37.5 - 25.0) / 2)
    assert minerva["AVG faithful"] == ""  # n = 4: no pass@32, so no AVG (the Markdown shows "–")
    markdown = (tmp_path / "out" / "audit.md").read_text(encoding="utf-8")
    assert "`4.5 \\times 10^{33}` | `4.5e33` | 1 | mismatch | correct_numeric | sci_notation |" in markdown
    assert "`x+t` | `x + a` | 1 | correct_exact | mismatch | unit_letters |" in markdown
    with (tmp_path / "out" / "audit_differences.csv").open(encoding="utf-8") as handle:
        differences = list(csv.DictReader(handle))
    assert [(d["pred"], d["count"]) for d in differences][0] == ("1,999.99999999", "2")
    assert "4 verdicts differ (3 distinct answers), 0 more only by a stage budget" in capsys.readouterr().out


def test_a_difference_that_generous_budgets_remove_is_the_loads_not_a_rules():
    """A stage that ran out of time in one pass only (here: faithful's, as if on a loaded machine) makes the modes
    differ; graded again with 10x budgets both agree, so no rule is credited and both use the settled verdict."""
    pairs = [("so \\boxed{x^2+2x+1}", "(x+1)^2"), ("\\boxed{4.5 \\times 10^{33}}", "4.5e33")]
    first_faithful = [{"acc": False, "pred": "x^2+2x+1", "reason": "mismatch"}, grade_many(pairs[1:])[0]]
    first_strict = grade_many(pairs, mode="strict", budget_scale=10.0)
    settled = audit._settle(pairs, first_faithful, first_strict, {"timeout": 30, "workers": 1, "budget_scale": 1.0})
    before, after, rules = settled[("x^2+2x+1", "(x+1)^2")]
    assert (before["reason"], after["reason"], rules) == ("correct_sympy", "correct_sympy", [])
    assert settled[("4.5 \\times 10^{33}", "4.5e33")][2] == ["sci_notation"]


def test_audit_refuses_a_folder_with_nothing_graded(tmp_path, capsys):
    assert audit.main([str(tmp_path)]) == 2
    assert f"{tmp_path}: no generation files" in capsys.readouterr().err
    key = RunKey("m", "base", "question", 1.0, 4, 0, "minerva")
    write_generations(tmp_path, key, [])  # a header and no records
    assert audit.main([str(tmp_path)]) == 2
    assert "hold no responses, so there is nothing to audit" in capsys.readouterr().err


def test_regrade_records_its_mode_and_reports_refuse_mixed_modes(tmp_path, capsys):
    root = _store(tmp_path / "gen")
    assert regrade_main([str(root), "--out", str(tmp_path / "f.json"), "--n-boot", "10", *LOAD_PROOF]) == 0
    assert regrade_main([str(root), "--out", str(tmp_path / "s.json"), "--grader-mode", "strict", *LOAD_PROOF]) == 0
    faithful, strict = (json.loads((tmp_path / name).read_text()) for name in ("f.json", "s.json"))
    assert faithful["grader_mode"] == "faithful" and {r["grader_mode"] for r in strict["runs"]} == {"strict"}
    assert faithful["runs"][0]["benchmarks"]["minerva"]["pass"]["1"] == 0.25
    assert strict["runs"][0]["benchmarks"]["minerva"]["pass"]["1"] == 0.625
    assert [r["grader_mode"] for r in load_metrics(tmp_path / "s.json", tmp_path / "s.json")] == ["strict"] * 2
    with pytest.raises(ReportError, match=r"different grader modes .*faithful: .*f\.json .*strict: .*s\.json"):
        load_metrics(tmp_path / "f.json", tmp_path / "s.json")
    capsys.readouterr()
    assert report.main([str(tmp_path / "f.json"), str(tmp_path / "s.json"), "--model", "m"]) == 2
    assert "regrade the generations with one" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        regrade_main([str(root), "--grader-mode", "lenient"])
    assert "invalid choice: 'lenient'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown grader mode 'lenient'"):
        regrade(root, mode="lenient")


def test_metrics_files_from_before_grading_modes_count_as_faithful(tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"runs": [{"model": "m", "checkpoint": "base", "style": "q", "tau": 1.0, "n": 1,
                                         "seed": 0, "benchmarks": {}, "mean": {"pass": {}, "avg": None}}]}))  # fmt: skip
    assert [r["grader_mode"] for r in load_metrics(old)] == ["faithful"]


def test_the_grader_benchmark_samples_are_stored_as_generations_the_audit_reads(tmp_path):
    from eval.regrade import load_generations, response_pairs
    from tools import bench_grader

    assert bench_grader.main(["--store", str(tmp_path), "--problems", "6", "--n", "4", "--runs", "2"]) == 0
    loaded, _ = load_generations(tmp_path)
    assert {key.seed for key, _ in loaded} == {0, 1} and {key.benchmark for key, _ in loaded} == {
        "aime",
        "aime25",
        "amc23",
    }
    samples = bench_grader.build_samples(bench_grader.DEFAULT_FIXTURE, 6, 4, 0) + bench_grader.build_samples(
        bench_grader.DEFAULT_FIXTURE, 6, 4, 1
    )
    assert sorted(response_pairs(loaded)) == sorted(samples)


def test_audit_writes_both_modes_metrics_and_the_report_prints_a_table_in_both(tmp_path, capsys):
    root, out = _store(tmp_path / "gen"), tmp_path / "out"
    assert audit.main([str(root), "--out", str(out), "--workers", "1", "--n-boot", "10", *LOAD_PROOF]) == 0
    faithful, strict = (json.loads((out / f"metrics_{mode}.json").read_text()) for mode in ("faithful", "strict"))
    assert (faithful["grader_mode"], strict["grader_mode"]) == ("faithful", "strict")
    assert faithful["runs"][0]["benchmarks"]["minerva"]["pass"]["1"] == 0.25
    assert strict["runs"][0]["benchmarks"]["minerva"]["pass"]["1"] == 0.625
    assert "--other-mode" in capsys.readouterr().out  # the audit names the command that prints both modes
    both = [str(out / "metrics_faithful.json"), "--other-mode", str(out / "metrics_strict.json")]
    table = ["--model", "m", "--baseline-tau", "1", "--table", "benchmark", "--format", "csv"]
    assert report.main([*both, *table]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    by_benchmark = {row["benchmark"]: row for row in rows}
    minerva, math500 = by_benchmark["Minerva"], by_benchmark["MATH-500"]
    assert (minerva["pass@1 faithful"], minerva["pass@1 strict"], minerva["pass@1 Δ"]) == ("25.0", "62.5", "+37.5")
    assert (math500["pass@1 faithful"], math500["pass@1 strict"], math500["pass@1 Δ"]) == ("50.0", "25.0", "-25.0")
    assert minerva["pass@8 faithful"] == "-" and minerva["pass@8 Δ"] == "-"  # n = 4: no pass@8 in either mode
    # The strict file first: the table still puts faithful before strict.
    assert (
        report.main([str(out / "metrics_strict.json"), "--other-mode", str(out / "metrics_faithful.json"), *table]) == 0
    )
    assert {r["benchmark"]: r["pass@1 Δ"] for r in csv.DictReader(capsys.readouterr().out.splitlines())} == {
        "Minerva": "+37.5", "MATH-500": "-25.0"}  # fmt: skip


def test_a_table_in_both_modes_needs_one_file_set_of_each_mode(tmp_path, capsys):
    root, out = _store(tmp_path / "gen"), tmp_path / "out"
    assert audit.main([str(root), "--out", str(out), "--workers", "1", "--n-boot", "10", *LOAD_PROOF]) == 0
    capsys.readouterr()
    same = [str(out / "metrics_faithful.json"), "--other-mode", str(out / "metrics_faithful.json")]
    assert report.main([*same, "--model", "m", "--baseline-tau", "1"]) == 2
    assert "--other-mode needs one faithful and one strict metrics set; got ['faithful']" in capsys.readouterr().err
    paper = ["--paper", "x.csv", "--paper-model", "X"]
    both = [str(out / "metrics_faithful.json"), "--other-mode", str(out / "metrics_strict.json")]
    assert report.main([*both, "--model", "m", "--baseline-tau", "1", *paper]) == 2
    assert "--paper and --other-mode" in capsys.readouterr().err
    one = report._table(load_metrics(out / "metrics_faithful.json"), _args(table="mean"))
    two = report._table(load_metrics(out / "metrics_strict.json"), _args(table="benchmark"))
    with pytest.raises(ReportError, match="different columns or rows"):
        modes_table(one, two)


def _args(**overrides):
    import argparse

    fields = {"model": "m", "baseline_tau": 1.0, "method": [], "table": "mean"}
    return argparse.Namespace(**{**fields, **overrides})
