"""Evaluation sweeps through the real stack on the tiny CPU model: stored generations, resume, regrade, report.

Launch 1 evaluates the base model at tau = 0 (greedy, n = 1) and tau = 1 (n = 2) in one validation-only launch.
Launch 2 is a checkpoint sweep of the SePT e2e run's saved FSDP checkpoint (restored through verl's resume) at the
same two temperatures, one of which is already stored, as after an interrupted sweep: only the other is sampled.
Regrading and the report read the stored files only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import REPO
from tests.launch import make_inputs

pytestmark = pytest.mark.e2e


def _sweep(tmp, args, tag, model=None):
    probe = tmp / f"probe_{tag}.jsonl"
    env = {**os.environ, "VERL_USE_EXTERNAL_MODULES": "smoke.vllm_probe", "SEPT_TEST_VLLM_PROBE": str(probe)}
    cmd = [sys.executable, "-m", "sweep", *args, "--model", str(model or tmp / "model"), "--name", "tiny",
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
    return tmp, first, files


def test_one_launch_sweeps_both_temperatures(sweep):
    _, first, files = sweep
    # The base model's validation pass runs once per temperature: 4 prompts greedy, then 4 prompts x n = 2.
    assert first == [0.0] * 4 + [1.0] * 8
    assert [str(f) for f in files] == [
        "tiny/base/question/tau0/n1_seed42/synthetic_arith.jsonl",
        "tiny/base/question/tau1/n2_seed42/synthetic_arith.jsonl",
    ]


def test_stored_generations_are_complete(sweep):
    from eval.store import read_generations

    tmp, _, files = sweep
    key, records = read_generations(tmp / "gens" / files[1])
    assert (key.tau, key.n, key.benchmark) == (1.0, 2, "synthetic_arith")
    assert sorted(r.index for r in records) == [0, 1, 2, 3]
    assert all(len(r.responses) == 2 and r.ground_truth.isdigit() for r in records)


def test_regrade_and_report_read_only_stored_files(sweep):
    tmp, _, _ = sweep
    regrade = subprocess.run([sys.executable, "-m", "eval.regrade", str(tmp / "gens")], cwd=REPO,
                             capture_output=True, text=True, timeout=300)
    assert regrade.returncode == 0, regrade.stderr
    metrics = tmp / "gens" / "metrics.json"
    report = subprocess.run([sys.executable, "-m", "eval.report", str(metrics), "--model", "tiny", "--baseline-tau", "0",
                             "--method", "tau1=tiny/base@1", "--plot-tau", str(tmp / "tau.png")], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    assert "Baseline (τ=0)" in report.stdout and "| tau1 |" in report.stdout
    assert (tmp / "tau.png").stat().st_size > 0
    # n = 2 has no AVG: the paper's best-τ-by-AVG selection refuses and says how to proceed.
    refused = subprocess.run([sys.executable, "-m", "eval.report", str(metrics), "--model", "tiny"], cwd=REPO,
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "--baseline-tau" in refused.stderr


def test_checkpoint_sweep_evaluates_a_saved_fsdp_checkpoint_and_skips_what_is_stored(sept_run, sweep):
    from eval.store import RunKey, read_generations, write_generations

    inputs, _, _, _ = sept_run
    tmp, _, _ = sweep
    # As after an interrupted sweep: tau = 0 of step 3 is stored already (its content is the base model's).
    _, greedy = read_generations(tmp / "gens" / "tiny/base/question/tau0/n1_seed42/synthetic_arith.jsonl")
    write_generations(tmp / "gens", RunKey("tiny", "step3", "question", 0.0, 1, 42, "synthetic_arith"), greedy)
    args = ["checkpoints", "--run-dir", str(inputs.workdir / "checkpoints"), "--steps", "3", "--temps", "0,1"]
    requests = _sweep(tmp, args, "ckpt", model=inputs.model)
    # Only tau = 1 was sampled: 4 prompts x n = 2.
    assert requests == [1.0] * 8
    key, records = read_generations(tmp / "gens" / "tiny/step3/question/tau1/n2_seed42/synthetic_arith.jsonl")
    assert key.checkpoint == "step3" and len(records) == 4
