"""Baselines and ablations through the same entry point, 2 steps each on the CPU preset, real stack.

Three launches (each ~2 min of start-up):
  grpo            method=grpo: verl's GRPO, G = 8 at tau = 1, PPO-clip loss on the grader's reward, with the
                  hostile answers of tools/hostile_answers.py graded inside its first step;
  emft            method=emft: minimise the token entropy of own samples, coupled at tau = 1;
  coupled_kl_g4   SePT with tau_t = tau_s (coupled), a KL to the reference at that tau_t, and G = 4.
"""

from __future__ import annotations

import json
from statistics import median

import pytest

from eval.grader import REASONS_CORRECT, REASONS_WRONG
from smoke.checks import train_temperatures
from tests.launch import launch, make_inputs
from tests.recipe.hostile_reward import NORMAL_BEFORE, RECORD_ENV
from tools.hostile_answers import HOSTILE

pytestmark = pytest.mark.e2e

PROMPTS = 8
# The grader's limits in the GRPO launch, as in tests/eval/test_grader_hostile.py: a hostile item's bound is its
# deadline plus a killed worker's replacement start-up (~10 s on 2 loaded cores).
HOSTILE_TIMEOUT_S = 4.0
HOSTILE_RESTART_S = 10.0
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


def test_grpo_runs_with_g8_at_tau_1_and_survives_hostile_answers(inputs):
    """GRPO's reward is graded in verl's reward loop: this launch also grades the hostile answers there, inside
    its first step (``tests/recipe/hostile_reward.py``), with the unit test's short grader limits."""
    record = inputs / "hostile_grpo.jsonl"
    reward = ["reward.custom_reward_function.path=pkg://tests.recipe.hostile_reward"]
    limits = {"SEPT_GRADER_TIMEOUT": str(HOSTILE_TIMEOUT_S), "SEPT_GRADER_BUDGET_SCALE": "0.3"}
    run = launch(inputs, "grpo", ["method=grpo", *COMMON, *reward], env={RECORD_ENV: str(record), **limits})
    assert train_temperatures(run["probe"]) == [1.0] * (2 * PROMPTS * 8)
    for step in (1, 2):
        metrics = run["train"][step]
        # GRPO keeps verl's metric names: its loss is a clipped policy gradient, not SePT's NLL.
        assert "actor/pg_loss" in metrics and "sept/nll" not in metrics
        assert metrics["timing_s/old_log_prob"] > 0 and "critic/score/mean" in metrics
    calls = sorted((json.loads(line) for line in record.read_text().splitlines()), key=lambda c: c["call"])
    assert [c["call"] for c in calls] == list(range(2 * PROMPTS * 8))  # every sample of both steps graded once
    hostile = {c["hostile"]: c for c in calls if c["hostile"]}
    assert sorted(hostile) == sorted(HOSTILE) and max(c["call"] for c in hostile.values()) < PROMPTS * 8  # step 1
    for name, call in hostile.items():
        assert call["reason"] in REASONS_CORRECT + REASONS_WRONG, (name, call)
        assert call["seconds"] < HOSTILE_TIMEOUT_S + HOSTILE_RESTART_S, (name, call)  # bounded, then the run goes on
    before = median(c["seconds"] for c in calls if c["call"] < NORMAL_BEFORE)
    after = median(c["seconds"] for c in calls if c["call"] >= PROMPTS * 8)  # step 2: the model's own samples
    assert after < 2 * before + 0.5, (before, after)  # no grader worker left stuck or slowed down


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
