"""The paper's main effect at CPU scale, through the one-command pipeline (``python -m lab.repro``).

One shortened invocation (one seed, SePT only, the base model evaluated at τ = 1 only) builds the tiny arithmetic
base model and the data, sweeps the base model, trains SePT for the preset's 48 steps, regrades and writes the
report. The check is the direction the theory predicts (SePT's pass@1 at τ = 1 above the base model's at τ = 1,
paired over the same held-out questions), not a size; the size on this machine is in the README.
"""

import subprocess
import sys

import numpy as np
import pytest

from eval.metrics import bootstrap_ci
from eval.tables import load_metrics, seed_runs
from tests.helpers import REPO

pytestmark = pytest.mark.e2e

PIPELINE_TIMEOUT_S = 1800


def test_sept_beats_the_base_model_at_tau_1(tmp_path):
    out = tmp_path / "repro"
    cmd = [
        sys.executable, "-m", "lab.repro", "--out", str(out), "--seeds", "0", "--methods", "sept",
        "--temps", "1", f"actor_rollout_ref.model.path={tmp_path / 'base'}",
        f"data.train_files={tmp_path / 'data' / 'train.parquet'}", f"data.val_files={tmp_path / 'data' / 'val.parquet'}",
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=PIPELINE_TIMEOUT_S)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    runs = load_metrics(out / "generations" / "metrics.json")
    (base,) = seed_runs(runs, "base", "base", 1.0)
    (sept,) = seed_runs(runs, "sept", "step48", 1.0)
    before = base["benchmarks"]["synthetic_arith"]
    after = sept["benchmarks"]["synthetic_arith"]
    assert before["n"] == after["n"] == 32 and set(before["correct_counts"]) == set(after["correct_counts"])
    # Paired over questions: per-question change of the fraction of correct samples.
    gains = [(after["correct_counts"][q] - before["correct_counts"][q]) / 32 for q in before["correct_counts"]]
    low, _ = bootstrap_ci(gains)
    assert np.mean(gains) > 0 and low > 0, (base["mean"]["pass"]["1"], sept["mean"]["pass"]["1"], low)

    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Table 1 shape" in report and "| SePT | 1 |" in report and "Base model (τ=1)" in report
    assert (out / "tau_sweep.png").stat().st_size > 0 and (out / "tables" / "table1_main.csv").is_file()
    assert "base_model:" in proc.stdout and "sept-s0:" in proc.stdout and "regrade:" in proc.stdout
