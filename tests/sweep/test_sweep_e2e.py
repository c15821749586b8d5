"""An evaluation sweep through the real stack on the tiny CPU model: ``python -m sweep checkpoints`` restores the
SePT e2e run's saved FSDP checkpoint through verl's resume and evaluates it, validation-only, at tau = 0 (greedy,
n = 1) and tau = 1 (n = 2) in one launch. tau = 0 is already stored, as after an interrupted sweep, so only tau = 1
is sampled. (The demo's e2e covers a sweep inside a training launch, several temperatures in one validation pass,
regrading and the report.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from eval.store import Record, RunKey, read_generations, write_generations
from tests.helpers import REPO

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def checkpoint_sweep(sept_run, tmp_path_factory):
    inputs, _, _, _ = sept_run
    tmp = tmp_path_factory.mktemp("sweep")
    gens = tmp / "gens"
    # As after an interrupted sweep: tau = 0 of step 3 is stored already.
    stored = [Record("synthetic_arith", i, f"q{i}", "1", [r"\boxed{1}"], ["stop"], [4]) for i in range(8)]
    write_generations(gens, RunKey("tiny", "step3", "question", 0.0, 1, 42, "synthetic_arith"), stored)
    probe = tmp / "probe.jsonl"
    env = {**os.environ, "VERL_USE_EXTERNAL_MODULES": "smoke.vllm_probe", "SEPT_TEST_VLLM_PROBE": str(probe)}
    cmd = [
        sys.executable,
        "-m",
        "sweep",
        "checkpoints",
        "--run-dir",
        str(inputs.workdir / "checkpoints"),
        "--steps",
        "3",
        "--temps",
        "0,1",
        "--model",
        str(inputs.model),
        "--name",
        "tiny",
        "--val-files",
        str(inputs.val_file),
        "--out",
        str(gens),
        "--n",
        "2",
        "--config-name",
        "sept_cpu",
        "--timeout",
        "900",
    ]
    log = tmp / "sweep.log"
    with open(log, "w") as out:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=1000)
    assert proc.returncode == 0, "\n".join(log.read_text().splitlines()[-40:])
    requests = [json.loads(line)["temperature"] for line in probe.read_text().splitlines()]
    return gens, requests


def test_only_the_missing_temperature_is_sampled(checkpoint_sweep):
    _, requests = checkpoint_sweep
    # 8 validation prompts x n = 2 at tau = 1; nothing at tau = 0 (stored), nothing else (validation only).
    assert requests == [1.0] * 16


def test_the_restored_checkpoint_is_stored_complete_under_its_step(checkpoint_sweep):
    gens, _ = checkpoint_sweep
    key, records = read_generations(gens / "tiny/step3/question/tau1/n2_seed42/synthetic_arith.jsonl")
    assert (key.checkpoint, key.tau, key.n) == ("step3", 1.0, 2)
    assert sorted(r.index for r in records) == list(range(8))
    assert all(len(r.responses) == 2 and r.ground_truth.isdigit() for r in records)
    # The stored tau = 0 file was kept as it was.
    _, greedy = read_generations(gens / "tiny/step3/question/tau0/n1_seed42/synthetic_arith.jsonl")
    assert [r.responses for r in greedy] == [[r"\boxed{1}"]] * 8
