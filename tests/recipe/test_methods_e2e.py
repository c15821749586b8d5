"""Baselines and ablations through the same entry point, 2 steps each on the CPU preset, real stack.

Three launches (each ~2 min of start-up):
  grpo            method=grpo: verl's GRPO, G = 8 at tau = 1, PPO-clip loss on the grader's reward;
  emft            method=emft: minimise the token entropy of own samples, coupled at tau = 1;
  coupled_kl_g4   SePT with tau_t = tau_s (coupled), a KL to the reference at that tau_t, and G = 4.
"""

from __future__ import annotations

import pytest

from smoke.checks import train_temperatures
from tests.launch import launch, make_inputs

pytestmark = pytest.mark.e2e

PROMPTS = 8
COMMON = [
    f"data.train_batch_size={PROMPTS}",
    f"actor_rollout_ref.actor.ppo_mini_batch_size={PROMPTS}",
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=8",
    "trainer.total_training_steps=2",
    "trainer.save_freq=-1",
    "trainer.test_freq=-1",
    "trainer.val_before_train=false",
    "trainer.resume_mode=disable",
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("variants")
    make_inputs(tmp)
    return tmp


def test_grpo_runs_with_g8_at_tau_1(inputs):
    run = launch(inputs, "grpo", ["method=grpo", *COMMON])
    assert train_temperatures(run["probe"]) == [1.0] * (2 * PROMPTS * 8)
    for step in (1, 2):
        metrics = run["train"][step]
        # GRPO keeps verl's metric names: its loss is a clipped policy gradient, not SePT's NLL.
        assert "actor/pg_loss" in metrics and "sept/nll" not in metrics
        assert metrics["timing_s/old_log_prob"] > 0 and "critic/score/mean" in metrics


def test_emft_minimises_entropy(inputs):
    run = launch(inputs, "emft", ["method=emft", *COMMON])
    assert train_temperatures(run["probe"]) == [1.0] * (2 * PROMPTS)
    for step in (1, 2):
        metrics = run["train"][step]
        assert metrics["sept/tau_t"] == metrics["sept/tau_s"] == 1.0
        # The whole loss is the token-mean entropy at tau_t; the policy term, zero by construction, is not logged.
        assert "actor/pg_loss" not in metrics
        assert metrics["actor/loss"] == pytest.approx(metrics["sept/entropy"], rel=1e-3)


def test_coupled_sept_with_kl_and_four_rollouts(inputs):
    overrides = [
        "sept.tau_t_mode=coupled",
        "sept.tau_s.start=0.5",
        "sept.tau_s.end=1.0",
        "sept.tau_s.duration=1",
        "sept.tau_s.unit=step",
        "actor_rollout_ref.rollout.n=4",
        "actor_rollout_ref.actor.use_kl_loss=true",
        "actor_rollout_ref.actor.kl_loss_coef=0.1",
        "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=8",
        *COMMON,
    ]
    run = launch(inputs, "coupled_kl_g4", overrides)
    assert train_temperatures(run["probe"]) == [0.5] * (PROMPTS * 4) + [1.0] * (PROMPTS * 4)
    first, second = run["train"][1], run["train"][2]
    for metrics in (first, second):
        # Coupled: the loss temperature is the sampling temperature, so the trainer's NLL is vLLM's.
        assert metrics["sept/tau_t"] == metrics["sept/tau_s"]
        assert metrics["sept/nll"] == pytest.approx(metrics["sept/rollout_nll"], rel=0.02)
        assert metrics["timing_s/ref"] > 0
    # The reference is the initial model: no divergence before the first update, some after it.
    assert abs(first["actor/kl_loss"]) < 1e-3 < abs(second["actor/kl_loss"])
