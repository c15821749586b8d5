"""Stored generations of real benchmark prompts -> `python -m eval.regrade` -> `python -m eval.report`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import regrade, report
from eval.metrics import pass_at_k
from eval.store import RunKey, write_generations
from eval.tables import Table, flip_report, load_metrics, select_baseline, side_by_side

# The paper's rows these tests print side by side (a few rows of ../shared/reference/paper-tables, committed).
PAPER_TABLES = Path(__file__).resolve().parents[1] / "fixtures" / "eval" / "paper_tables"
PAPER_TABLE1 = PAPER_TABLES / "table1_mean_passk.csv"
N = 32
# Ground truths of real benchmark rows of the authors' files (data_user_reasoning/benchmarks): MATH-500 rows 3, 5, 2
# and AIME-24 rows 0, 1, 2.
TRUTHS = {"math500": {3: "9", 5: "42", 2: "\\frac{14}{3}"}, "aime": {0: "204", 1: "25", 2: "809"}}
WRONG = {"9": "8", "42": "24", "\\frac{14}{3}": "\\frac{3}{14}", "204": "240", "25": "52", "809": "908"}
# correct samples out of 32 per (checkpoint, tau) and benchmark, in ROWS order
CORRECT = {
    ("base", 0.6): {"math500": [32, 0, 16], "aime": [8, 0, 0]},
    ("base", 1.0): {"math500": [32, 8, 0], "aime": [0, 0, 0]},
    ("step100", 1.0): {"math500": [32, 16, 16], "aime": [0, 1, 0]},
}


@pytest.fixture(scope="module")
def metrics_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("generations")
    for (checkpoint, tau), per_benchmark in CORRECT.items():
        for benchmark, counts in per_benchmark.items():
            records = []
            for (row, truth), correct in zip(TRUTHS[benchmark].items(), counts):
                responses = [f"Step {i}: ... so the answer is $\\boxed{{{truth}}}$." for i in range(correct)]
                responses += [f"Step {i}: ... I get $\\boxed{{{WRONG[truth]}}}$." for i in range(N - correct)]
                if correct < N:
                    responses[-1] = ""  # an empty generation (cut off at the length limit)
                records.append(
                    {
                        "data_source": benchmark,
                        "index": row,
                        "prompt": f"{benchmark} problem {row}",
                        "ground_truth": truth,
                        "responses": responses,
                        "finish_reasons": ["stop"] * (N - 1) + ["length"],
                        "lengths": [100 + i for i in range(N)],
                    }
                )
            write_generations(root, RunKey("qwen-math", checkpoint, "reasoning", tau, N, 0, benchmark), records)
    assert regrade.main([str(root), "--workers", "2", "--n-boot", "200", "--budget-scale", "10"]) == 0
    return root / "metrics.json"


def _mean(per_benchmark: dict, k: int) -> float:
    return sum(sum(pass_at_k(N, c, k) for c in counts) / len(counts) for counts in per_benchmark.values()) / 2


def test_regrade_computes_every_metric_from_stored_generations(metrics_path):
    result = json.loads(metrics_path.read_text())
    assert [(r["checkpoint"], r["tau"]) for r in result["runs"]] == [("base", 0.6), ("base", 1.0), ("step100", 1.0)]
    base = result["runs"][0]
    assert base["benchmarks"]["math500"]["pass"]["1"] == pytest.approx((1 + 0 + 0.5) / 3)  # by hand
    assert base["mean"]["pass"]["32"] == pytest.approx((2 / 3 + 1 / 3) / 2)  # by hand: solved problems
    for run, counts in zip(result["runs"], CORRECT.values()):
        for k in (1, 2, 4, 8, 16, 32):
            assert run["mean"]["pass"][str(k)] == pytest.approx(_mean(counts, k))
        assert run["mean"]["avg"] == pytest.approx(sum(_mean(counts, k) for k in (1, 8, 32)) / 3)
    math500 = base["benchmarks"]["math500"]
    assert math500["correct_counts"] == {"3": 32, "5": 0, "2": 16}
    assert math500["cutoff_ratio"] == pytest.approx(3 / 96) and math500["length_max"] == 131
    assert math500["maj"]["32"] == pytest.approx(2 / 3)  # 32/32 and 16 right vs 15 wrong (+1 empty) win; 0/32 loses
    low, high = math500["ci"]["1"]
    assert low <= math500["pass"]["1"] <= high
    assert result["empty_responses"] == 15 and result["skipped"] == []  # 5 problems per run solved < 32 times
    assert result["grader"]["no_boxed"] == 15 and "timeout" not in result["grader"]


def test_baseline_is_the_untrained_model_at_its_best_tau(metrics_path):
    runs = load_metrics(metrics_path)
    assert select_baseline(runs, "qwen-math")["tau"] == 0.6
    with pytest.raises(ValueError, match="no checkpoint 'base'"):
        select_baseline(runs, "other-model")
    swept = sorted(r["tau"] for r in runs if r["model"] == "qwen-math" and r["checkpoint"] == "base")
    assert select_baseline(runs, "qwen-math", tau=swept[0])["tau"] == swept[0]
    with pytest.raises(ValueError, match="no baseline run of 'qwen-math' at τ=9"):
        select_baseline(runs, "qwen-math", tau=9.0)


def test_report_cli_prints_paper_shaped_tables_plots_and_flips(metrics_path, tmp_path, capsys):
    args = [
        str(metrics_path),
        "--model",
        "qwen-math",
        "--method",
        "SePT=qwen-math/step100@1",
        "--paper",
        str(PAPER_TABLE1),
        "--paper-model",
        "Qwen2.5-Math-7B",
        "--plot-tau",
        str(tmp_path / "tau.png"),
        "--plot-steps",
        str(tmp_path / "steps.png"),
        "--flips",
        "qwen-math/base@0.6",
        "qwen-math/step100@1",
    ]
    assert report.main(args) == 0
    out = capsys.readouterr().out
    base_avg = 100 * sum(_mean(CORRECT[("base", 0.6)], k) for k in (1, 8, 32)) / 3
    sept_avg = 100 * sum(_mean(CORRECT[("step100", 1.0)], k) for k in (1, 8, 32)) / 3
    assert "| method | pass@1 | pass@8 | pass@32 | AVG | ΔAVG | paper pass@1 | paper pass@8 | paper pass@32 |" in out
    assert f"| Baseline (τ=0.6) | {100 * _mean(CORRECT[('base', 0.6)], 1):.1f} |" in out
    assert f"| {base_avg:.1f} | +0.0 | 22.7 | 47.3 | 61.0 |" in out
    assert f"| {sept_avg:.1f} | {sept_avg - base_avg:+.1f} | 39.5 | 57.7 | 67.9 |" in out
    assert "| MATH-500 | 5 | 0 | 16 | fail→pass |" in out and "| AIME-24 | 0 | 8 | 0 | pass→fail |" in out
    for png in ("tau.png", "steps.png"):
        data = (tmp_path / png).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000


def test_benchmark_table_in_csv_and_latex(metrics_path, capsys):
    assert report.main([str(metrics_path), "--model", "qwen-math", "--table", "benchmark", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "method,benchmark,pass@1,pass@2,pass@4,pass@8,pass@16,pass@32,Δpass@1"
    assert lines[1].startswith("Baseline (τ=0.6),AIME-24,8.3,") and lines[1].endswith(",+0.0")
    assert report.main([str(metrics_path), "--model", "qwen-math", "--format", "latex"]) == 0
    latex = capsys.readouterr().out
    assert r"\begin{tabular}{lrrrrr}" in latex and r"Baseline ($\tau$=0.6)" in latex


def test_report_errors_are_clear(metrics_path, capsys):
    assert report.main([str(metrics_path), "--model", "qwen-math", "--method", "X=qwen-math/step999"]) == 2
    assert "matches 0 runs" in capsys.readouterr().err


def test_flip_report_needs_the_same_problems():
    before = {
        "model": "m",
        "checkpoint": "base",
        "style": "s",
        "tau": 1.0,
        "benchmarks": {"aime": {"correct_counts": {"0": 1}}},
    }
    after = {**before, "checkpoint": "step1", "benchmarks": {"aime": {"correct_counts": {"1": 1}}}}
    with pytest.raises(ValueError, match="different problems"):
        flip_report(before, after)
    assert Table(["a"], [[None], [1.25]]).to_markdown().splitlines()[2:] == ["| - |", "| 1.2 |"]


def test_side_by_side_asks_which_paper_row_when_several_match():
    table8 = PAPER_TABLES / "table8_otm_vs_dsr_benchmark_passk.csv"
    ours = Table(
        ["method", "benchmark", "pass@1"], [["SePT", "MATH-500", 70.0], ["Baseline (τ=0.6)", "MATH-500", 50.0]]
    )
    with pytest.raises(ValueError, match=r"2 paper rows for 'SePT'; choose with --paper-where on \['train_data'\]"):
        side_by_side(ours, table8, "Qwen2.5-Math-7B")
    merged = side_by_side(ours, table8, "Qwen2.5-Math-7B", {"train_data": "OTM"})
    assert merged.rows == [["SePT", "MATH-500", 70.0, 78.1], ["Baseline (τ=0.6)", "MATH-500", 50.0, 50.2]]


def test_greedy_runs_count_their_one_sample_for_every_k(tmp_path):
    greedy = {
        "model": "m",
        "checkpoint": "base",
        "style": "q",
        "tau": 0.0,
        "n": 1,
        "seed": 0,
        "benchmarks": {},
        "mean": {"pass": {"1": 0.75}, "avg": None},
    }
    sampled = {**greedy, "tau": 1.0, "mean": {"pass": {"1": 0.4, "8": 0.6}, "avg": None}}
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"runs": [greedy, sampled]}))
    loaded_greedy, loaded_sampled = load_metrics(path)
    assert loaded_greedy["mean"]["avg"] == 0.75
    assert loaded_greedy["mean"]["pass"]["32"] == loaded_greedy["mean"]["pass"]["8"] == 0.75
    assert loaded_sampled == {**sampled, "grader_mode": "faithful"}  # written before modes existed: faithful
