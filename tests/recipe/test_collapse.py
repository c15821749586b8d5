"""Collapse warning: the detector against hand-computed histories, its knobs, and the trainer hook without Ray."""

import logging
from dataclasses import replace

import pytest

from recipe.sept.collapse import CollapseStatus, detect_collapse
from recipe.sept.config import CollapseConfig, SePTConfigError, parse_sept_config
from tests.helpers import compose_preset

# The thresholds the hand-computed histories below are worked out for.
THRESHOLDS = CollapseConfig(enabled=True, reference_steps=3, window=5, entropy_fraction=0.25, accuracy_drop=0.5)
STABLE_ENTROPY = [2.0, 2.1, 1.9, 2.0, 1.8, 1.9, 2.0]
STABLE_ACCURACY = [0.5, 0.55, 0.5, 0.6, 0.5, 0.55, 0.5]
# Reference median(2, 2, 2) = 2; medians of the last 5 steps: step 5: 2, 6: 1.6, 7: 1.2, 8: 0.8, 9: 0.4 < 0.25 * 2.
COLLAPSING_ENTROPY = [2.0, 2.0, 2.0, 1.6, 1.2, 0.8, 0.4, 0.3, 0.2, 0.1]
# Medians of the last 5 steps: step 5..7: 0.5 (the best), 8: 0.3 (60 %), 9: 0.2 (40 % < half of the best).
DROPPING_ACCURACY = [0.5, 0.6, 0.5, 0.6, 0.5, 0.3, 0.2, 0.1, 0.1, 0.0]


def first_firing_step(entropy, accuracy, thresholds=THRESHOLDS):
    """The 1-based step at which the detector first fires on the history up to that step, or None."""
    for step in range(1, max(len(entropy), len(accuracy)) + 1):
        if detect_collapse(entropy[:step], accuracy[:step], thresholds).fired:
            return step
    return None


def test_stable_run_does_not_fire():
    status = detect_collapse(STABLE_ENTROPY, STABLE_ACCURACY, THRESHOLDS)
    # Entropy: reference median(2.0, 2.1, 1.9) = 2.0, now median(1.9, 2.0, 1.8, 1.9, 2.0) = 1.9.
    # Accuracy: window medians 0.5, 0.55, 0.5 -> best 0.55, now 0.5.
    assert status == CollapseStatus((), 1.9, 2.0, 0.5, 0.55)
    assert first_firing_step(STABLE_ENTROPY, STABLE_ACCURACY) is None


def test_entropy_collapse_fires_at_step_9():
    accuracy = [0.5] * len(COLLAPSING_ENTROPY)
    assert first_firing_step(COLLAPSING_ENTROPY, accuracy) == 9
    status = detect_collapse(COLLAPSING_ENTROPY[:9], accuracy[:9], THRESHOLDS)
    assert (status.signals, status.entropy, status.entropy_reference) == (("entropy",), 0.4, 2.0)
    assert status.describe() == "sept/entropy 0.4 is 20% of its starting 2 (medians over recent steps)"


def test_accuracy_drop_fires_at_step_9():
    entropy = [2.0] * len(DROPPING_ACCURACY)
    assert first_firing_step(entropy, DROPPING_ACCURACY) == 9
    status = detect_collapse(entropy[:9], DROPPING_ACCURACY[:9], THRESHOLDS)
    assert status.signals == ("accuracy",)
    assert (status.accuracy, status.accuracy_best) == pytest.approx((0.2, 0.5))
    assert "critic/score/mean 0.2 is 40% of its best 0.5" in status.describe()


def test_both_signals():
    status = detect_collapse(COLLAPSING_ENTROPY, DROPPING_ACCURACY, THRESHOLDS)
    assert status.signals == ("entropy", "accuracy")
    assert status.describe().count(";") == 1


def test_a_single_noisy_step_does_not_fire():
    entropy = [2.0, 2.0, 2.0, 2.0, 0.1, 2.0, 2.0]
    accuracy = [0.5, 0.5, 0.5, 0.5, 0.0, 0.5, 0.5]
    assert first_firing_step(entropy, accuracy) is None
    # Without the median window the same step fires: the window is what ignores it.
    unsmoothed = replace(THRESHOLDS, window=1)
    assert detect_collapse(entropy[:5], accuracy[:5], unsmoothed).signals == ("entropy", "accuracy")


def test_missing_score_metric_uses_entropy_alone():
    assert first_firing_step(COLLAPSING_ENTROPY, []) == 9
    status = detect_collapse(COLLAPSING_ENTROPY, [], THRESHOLDS)
    assert status.signals == ("entropy",) and status.accuracy is None and status.accuracy_best is None
    assert first_firing_step(STABLE_ENTROPY, []) is None


def test_short_history_is_not_judged():
    # Fewer steps than the window: no medians yet, even for a collapsed-looking history.
    assert detect_collapse([2.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], THRESHOLDS) == CollapseStatus()


def test_thresholds_of_0_and_1_turn_the_signals_off():
    off = replace(THRESHOLDS, entropy_fraction=0.0, accuracy_drop=1.0)
    assert first_firing_step([2.0] * 3 + [0.0] * 7, [1.0] * 5 + [0.0] * 5, off) is None


@pytest.mark.parametrize(
    "override, key",
    [
        ("sept.collapse.enabled=maybe", "sept.collapse.enabled"),
        ("sept.collapse.reference_steps=0", "sept.collapse.reference_steps"),
        ("sept.collapse.window=2.5", "sept.collapse.window"),
        ("sept.collapse.window=true", "sept.collapse.window"),
        ("sept.collapse.entropy_fraction=1", "sept.collapse.entropy_fraction"),
        ("sept.collapse.entropy_fraction=-0.1", "sept.collapse.entropy_fraction"),
        ("sept.collapse.accuracy_drop=0", "sept.collapse.accuracy_drop"),
        ("sept.collapse.accuracy_drop=1.5", "sept.collapse.accuracy_drop"),
        ("sept.collapse.accuracy_drop=high", "sept.collapse.accuracy_drop"),
        ("+sept.collapse.patience=3", "sept.collapse.patience"),
    ],
)
def test_bad_collapse_settings_name_the_key(override, key):
    with pytest.raises(SePTConfigError) as err:
        parse_sept_config(compose_preset("sept_cpu", [override]))
    assert str(err.value).startswith(key + " = ")


def test_collapse_settings_parse():
    overrides = [
        "sept.collapse.enabled=false",
        "sept.collapse.window=3",
        "sept.collapse.entropy_fraction=0",
        "sept.collapse.accuracy_drop=1",
    ]
    collapse = parse_sept_config(compose_preset("sept_cpu", overrides)).collapse
    values = (collapse.enabled, collapse.window, collapse.entropy_fraction, collapse.accuracy_drop)
    assert values == (False, 3, 0.0, 1.0)


@pytest.fixture
def make_trainer(monkeypatch):
    """A SePTTrainer without Ray: verl's own metric computation is replaced by copying the step's verl-named
    metrics from ``batch``, so the hook sees exactly what verl would hand it."""
    from verl.trainer.ppo.v1 import PPOTrainerSync

    from recipe.sept.trainer import SePTTrainer

    def verl_metrics(self, batch, metrics, timing_raw, global_steps, epoch):
        metrics.update(batch)

    monkeypatch.setattr(PPOTrainerSync, "_compute_metrics", verl_metrics)
    monkeypatch.setattr(SePTTrainer, "_rollout_nll", lambda self, batch: 0.0)

    def make(overrides=()):
        config = compose_preset("sept_cpu", list(overrides))
        trainer = SePTTrainer.__new__(SePTTrainer)
        trainer.config = config
        trainer._init_sept()
        trainer.tau_s = trainer.tau_t = 1.0
        return trainer

    return make


def run_steps(trainer, entropy, accuracy):
    """Feed per-step verl metrics through the hook; returns each step's logged metrics."""
    logged = []
    for step, (ent, acc) in enumerate(zip(entropy, accuracy, strict=True), start=1):
        metrics = {}
        trainer._compute_metrics({"actor/entropy_loss": ent, "critic/score/mean": acc}, metrics, {}, step, 0)
        logged.append(metrics)
    return logged


def test_trainer_warns_once_per_onset(make_trainer, caplog):
    trainer = make_trainer()
    # Entropy collapses (fires at steps 9 and 10), recovers at step 13 (median of 2, 2, 2, 0.2, 0.1 = 2), and
    # collapses again from step 18 on: two onsets, two warnings.
    entropy = COLLAPSING_ENTROPY + [2.0] * 5 + [0.1] * 5
    with caplog.at_level(logging.WARNING, logger="recipe.sept.trainer"):
        logged = run_steps(trainer, entropy, [0.5] * len(entropy))
    firing = [step for step, m in enumerate(logged, start=1) if m["sept/collapse_warning"] == 1.0]
    assert firing == [9, 10, 11, 12, 18, 19, 20]
    assert all(m["sept/collapse_warning"] == 0.0 for m in logged[:8])
    assert logged[8]["sept/entropy"] == 0.2 and "actor/entropy_loss" not in logged[8]
    warnings = [r.getMessage() for r in caplog.records if "looks collapsed" in r.getMessage()]
    assert len(warnings) == 2
    assert warnings[0].startswith("sept: step 9: the run looks collapsed (entropy): sept/entropy 0.4 is 20% of")
    assert "lower actor_rollout_ref.actor.optim.lr (now 0.001)" in warnings[0]
    assert warnings[1].startswith("sept: step 18: ")


def test_trainer_without_monitoring_uses_entropy_alone(make_trainer):
    trainer = make_trainer(["sept.monitor_reward=false"])
    logged = run_steps(trainer, COLLAPSING_ENTROPY, DROPPING_ACCURACY)
    assert "critic/score/mean" not in logged[-1] and trainer._collapse.accuracy == []
    assert [m["sept/collapse_warning"] for m in logged] == [0.0] * 8 + [1.0, 1.0]


def test_trainer_accuracy_drop(make_trainer, caplog):
    trainer = make_trainer()
    with caplog.at_level(logging.WARNING, logger="recipe.sept.trainer"):
        logged = run_steps(trainer, [2.0] * len(DROPPING_ACCURACY), DROPPING_ACCURACY)
    assert [m["sept/collapse_warning"] for m in logged] == [0.0] * 8 + [1.0, 1.0]
    assert "sept: step 9: the run looks collapsed (accuracy): critic/score/mean 0.2 is 40% of its best" in caplog.text


def test_trainer_switch_off(make_trainer, caplog):
    trainer = make_trainer(["sept.collapse.enabled=false"])
    with caplog.at_level(logging.WARNING, logger="recipe.sept.trainer"):
        logged = run_steps(trainer, COLLAPSING_ENTROPY, DROPPING_ACCURACY)
    assert all("sept/collapse_warning" not in m for m in logged)
    assert "looks collapsed" not in caplog.text
