"""Evaluation sweeps through the real stack on the tiny CPU model: stored generations, resume, regrade, report.

Launch 1 evaluates the base model at tau = 0 (greedy, n = 1) and tau = 1 (n = 2) in one validation-only launch.
One temperature's files are then deleted (an interrupted sweep) and launch 2 regenerates only those. A checkpoint
sweep evaluates the SePT e2e run's saved FSDP checkpoint through verl's resume. Regrading and the report read
the stored files only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.e2e.launch import make_inputs
from tests.helpers import REPO

pytestmark = pytest.mark.e2e


def _sweep(tmp, args, tag, model=None):
    probe = tmp / f"probe_{tag}.jsonl"
    env = {**os.environ, "VERL_USE_EXTERNAL_MODULES": "smoke.vllm_probe", "SEPT_TEST_VLLM_PROBE": str(probe),
           "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "eval.sweep", *args, "--model", str(model or tmp / "model"), "--name", "tiny",
           "--val-files", str(tmp / "data" / "val.parquet"), "--out", str(tmp / "gens"), "--n", "2",
           "--config-name", "sept_cpu", "--timeout", "900"]
    log = tmp / f"sweep_{tag}.log"
    with open(log, "w") as out:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=1000)
    assert proc.returncode == 0, "\n".join(log.read_text().splitlines()[-40:])
    return [json.loads(line)["temperature"] for line in probe.read_text().splitlines()] if probe.exists() else []


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    make_inputs(tmp, n_train=8, n_val=4)
    first = _sweep(tmp, ["temperature", "--temps", "0,1"], "first")
    files = sorted(p.relative_to(tmp / "gens") for p in (tmp / "gens").rglob("*.jsonl"))
    for stale in (tmp / "gens").rglob("tau1/**/*.jsonl"):
        stale.unlink()
    second = _sweep(tmp, ["temperature", "--temps", "0,1"], "second")
    return tmp, first, files, second


def test_one_launch_sweeps_both_temperatures(sweep):
    _, first, files, _ = sweep
    # The base model's validation pass runs once per temperature: 4 prompts greedy, then 4 prompts x n = 2.
    assert first == [0.0] * 4 + [1.0] * 8
    assert [str(f) for f in files] == [
        "tiny/base/question/tau0/n1_seed42/synthetic_arith.jsonl",
        "tiny/base/question/tau1/n2_seed42/synthetic_arith.jsonl",
    ]


def test_stored_generations_are_complete(sweep):
    from eval.store import read_generations

    tmp, _, files, _ = sweep
    key, records = read_generations(tmp / "gens" / files[1])
    assert (key.tau, key.n, key.benchmark) == (1.0, 2, "synthetic_arith")
    assert sorted(r.index for r in records) == [0, 1, 2, 3]
    assert all(len(r.responses) == 2 and r.ground_truth.isdigit() for r in records)


def test_interrupted_sweep_resumes_only_the_missing_temperature(sweep):
    tmp, _, files, second = sweep
    assert second == [1.0] * 8
    assert all((tmp / "gens" / f).is_file() for f in files)


def test_regrade_and_report_read_only_stored_files(sweep):
    tmp, _, _, _ = sweep
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    regrade = subprocess.run([sys.executable, "-m", "eval.regrade", str(tmp / "gens")], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300)
    assert regrade.returncode == 0, regrade.stderr
    metrics = tmp / "gens" / "metrics.json"
    report = subprocess.run([sys.executable, "-m", "eval.report", str(metrics), "--model", "tiny", "--baseline-tau", "0",
                             "--method", "tau1=tiny/base@1", "--plot-tau", str(tmp / "tau.png")], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    assert "Baseline (τ=0)" in report.stdout and "| tau1 |" in report.stdout
    assert (tmp / "tau.png").stat().st_size > 0
    # n = 2 has no AVG: the paper's best-τ-by-AVG selection refuses and says how to proceed.
    refused = subprocess.run([sys.executable, "-m", "eval.report", str(metrics), "--model", "tiny"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "--baseline-tau" in refused.stderr


def test_checkpoint_sweep_evaluates_a_saved_fsdp_checkpoint(sept_run, sweep):
    from eval.store import read_generations

    run_tmp, _, _ = sept_run
    tmp, _, _, _ = sweep
    args = ["checkpoints", "--run-dir", str(run_tmp / "checkpoints"), "--steps", "3", "--tau", "1.0"]
    requests = _sweep(tmp, args, "ckpt", model=run_tmp / "model")
    assert requests == [1.0] * 8
    key, records = read_generations(tmp / "gens" / "tiny/step3/question/tau1/n2_seed42/synthetic_arith.jsonl")
    assert key.checkpoint == "step3" and len(records) == 4
