"""The demo's pure parts: progress lines from verl's metrics rows, the outcome from regraded runs, the summary."""

from __future__ import annotations

import pytest

from lab.demo import Demo, DemoError, Outcome, measure, progress_lines, stored_timings, summary_line


def _run(checkpoint: str, tau: float, counts: dict[str, int], n: int) -> dict:
    pass1 = sum(counts.values()) / (n * len(counts))
    return {
        "checkpoint": checkpoint,
        "tau": tau,
        "benchmarks": {"arith": {"correct_counts": counts, "n": n, "pass": {"1": pass1}}},
    }


def test_a_test_freq_row_prints_the_step_and_the_evaluation_after_it():
    row = {
        "step": 10,
        "data": {
            "sept/tau_s": 0.6375,
            "sept/nll": 0.069,
            "critic/score/mean": 0.41,
            "val-sweep/tau1/val-passk/mean/pass@1": 0.228,
            "val-sweep/tau1/val-passk/mean/pass@16": 0.828,
        },
    }
    step, evaluation = progress_lines(row, 40, started=0.0)
    assert step.startswith("[demo] step  10/40  τs 0.637  NLL 0.069  sample accuracy 0.41")
    assert evaluation.startswith("[demo] evaluation after step 10: tau1: pass@1 0.228")
    assert progress_lines({"step": 3, "data": {"timing_s/gen": 1.0}}, 40, 0.0) == []


def test_the_outcome_pairs_base_and_last_evaluation_per_question():
    base = _run("base", 1.0, {"0": 2, "1": 0, "2": 4, "3": 1}, 4)  # pass@1 7/16
    greedy = _run("base", 0.0, {"0": 1, "1": 0, "2": 1, "3": 1}, 1)  # 3/4
    middle = _run("step10", 1.0, {"0": 3, "1": 1, "2": 4, "3": 1}, 4)
    last = _run("step20", 1.0, {"0": 4, "1": 2, "2": 4, "3": 2}, 4)  # 12/16
    outcome = measure([last, greedy, base, middle], "arith")
    assert (outcome.before, outcome.after) == (7 / 16, 12 / 16)
    # Per-question changes 2/4, 2/4, 0, 1/4: mean 5/16; every resample of them is >= 0.
    assert outcome.gain == pytest.approx(5 / 16) and 0 <= outcome.low <= outcome.gain <= outcome.high <= 0.5
    assert outcome.curve == [(0, 7 / 16), (10, 9 / 16), (20, 12 / 16)]
    assert outcome.base_by_tau == {1.0: 7 / 16, 0.0: 3 / 4} and outcome.best_tau == 0.0
    with pytest.raises(DemoError, match="τ = 1 evaluation"):
        measure([base, greedy], "arith")


def test_the_summary_line_says_what_happened():
    outcome = Outcome(0.41, 0.55, 0.14, 0.08, 0.2, [(0, 0.41), (48, 0.55)], {1.0: 0.41}, 1.0)
    assert (
        summary_line(outcome, 48, 250.4)
        == "pass@1 at τ=1: 0.41 → 0.55 (+0.14, 95% CI +0.08..+0.20) in 48 steps, 4 min 10 s"
    )


def test_stage_times_survive_a_rerun_and_an_unreadable_file_only_loses_them(tmp_path, capsys):
    out = tmp_path / "demo"
    first = Demo(out, [], tmp_path / "base", tmp_path / "data", 32, 16, 0, "demo", "question", out, out)
    first.record("launch", 612.0)
    first.record("regrade", 3.0)
    again = stored_timings(out / "timings.json")
    assert again == {"launch": 612.0, "regrade": 3.0} and [f.name for f in out.iterdir()] == ["timings.json"]
    (out / "timings.json").write_text('["not", "a mapping"]')
    assert stored_timings(out / "timings.json") == {}
    assert "timings.json is unreadable" in capsys.readouterr().out


def test_composing_the_preset_prints_nothing_on_the_first_screen():
    """The demo's process imports verl to compose its preset; verl's accelerator probe ("No supported accelerator
    detected ... Falling back to 'nvidia'", printed when verl is imported without a platform named) and its engine
    notices must not reach the newcomer's screen."""
    import subprocess
    import sys

    from tests.helpers import REPO

    code = (
        "from lab.demo import quiet_imports; quiet_imports(); from lab.inputs import compose; compose('sept_cpu_demo')"
    )
    quiet = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    assert (quiet.stdout, quiet.stderr) == ("", "")
