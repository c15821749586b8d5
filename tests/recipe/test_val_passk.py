"""Validation pass@k logged by the trainer, against hand-computed values."""

import pytest

from recipe.sept.trainer import passk_metrics


def test_passk_per_source_and_mean():
    # math500: problem a 1/2 correct, problem b 2/2; aime: problem c 0/2, problem d 1/2.
    sources = ["math500"] * 4 + ["aime"] * 4
    uids = ["a", "a", "b", "b", "c", "c", "d", "d"]
    accs = [1, 0, 1, 1, 0, 0, 0, 1]
    m = passk_metrics(sources, uids, accs)
    # pass@1 = mean c/n; pass@2 with n = 2 is 1 if any correct.
    assert m["val-passk/math500/pass@1"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["val-passk/math500/pass@2"] == pytest.approx(1.0)
    assert m["val-passk/aime/pass@1"] == pytest.approx(0.25)
    assert m["val-passk/aime/pass@2"] == pytest.approx(0.5)
    assert m["val-passk/mean/pass@1"] == pytest.approx((0.75 + 0.25) / 2)
    assert m["val-passk/mean/pass@2"] == pytest.approx(0.75)
    assert "val-passk/mean/pass@4" not in m and "val-passk/mean/avg" not in m


def test_avg_when_32_samples():
    # One problem, 32 samples, 4 correct: pass@1 = 1/8; pass@8 = 1 - C(28,8)/C(32,8); pass@32 = 1.
    m = passk_metrics(["s"] * 32, ["p"] * 32, [1] * 4 + [0] * 28)
    from math import comb

    p8 = 1 - comb(28, 8) / comb(32, 8)
    assert m["val-passk/s/pass@8"] == pytest.approx(p8)
    assert m["val-passk/mean/avg"] == pytest.approx((1 / 8 + p8 + 1.0) / 3)


def test_mean_and_std_without_resampling_by_hand():
    from recipe.sept.trainer import mean_std_metrics

    # math500: a has acc 1, 0 (mean 0.5, std 0.5); b has 1, 1 (mean 1, std 0). The string pred is not a metric.
    infos = {"acc": [1.0, 0.0, 1.0, 1.0], "reward": [1.0, 0.0, 1.0, 1.0], "pred": ["1", "2", "3", "3"]}
    m = mean_std_metrics(["math500"] * 4, ["a", "a", "b", "b"], infos)
    assert m["val-core/math500/acc/mean@2"] == pytest.approx(0.75)
    assert m["val-aux/math500/acc/std@2"] == pytest.approx(0.25)
    assert m["val-aux/math500/reward/mean@2"] == pytest.approx(0.75)
    assert not [k for k in m if "pred" in k or "best@" in k or "maj@" in k]
    # A session of a that never finished counts as acc = 0 (verl's expected_acc_counts): a's acc is then 1, 0, 0.
    # As in verl, means are grouped by N; val-core holds the largest N.
    m = mean_std_metrics(["math500"] * 4, ["a", "a", "b", "b"], infos, {("math500", "a"): 3, ("math500", "b"): 2})
    assert m["val-core/math500/acc/mean@3"] == pytest.approx(1 / 3)
    assert m["val-aux/math500/acc/mean@2"] == pytest.approx(1.0)
    assert m["val-aux/math500/acc_success_only/mean@2"] == pytest.approx(0.75)


def test_mean_and_std_are_verls_own():
    """The same mean@N / std@N values verl's process_validation_metrics computes, with its resamples."""
    import random

    from verl.trainer.ppo.metric_utils import process_validation_metrics

    from recipe.sept.trainer import mean_std_metrics

    rng = random.Random(0)
    n, sources = 4, ["math500"] * 24 + ["aime"] * 8
    uids = [f"{src}-{i // n}" for i, src in enumerate(sources)]
    acc = [float(rng.random() < 0.4) for _ in sources]
    infos = {"acc": acc, "reward": acc, "length": [rng.randint(5, 50) for _ in sources], "pred": ["1"] * len(acc)}
    unfinished = {("math500", uids[0]): n + 2}  # two of its sessions never came back
    ours = mean_std_metrics(sources, uids, infos, unfinished)
    verls = process_validation_metrics(sources, uids, infos, expected_acc_counts=unfinished)
    expected = {
        f"{src}/{var}/{metric}": value
        for src, var2metric in verls.items()
        for var, metric2val in var2metric.items()
        for metric, value in metric2val.items()
        if metric.startswith(("mean@", "std@"))
    }
    assert {k.split("/", 1)[1]: v for k, v in ours.items()} == pytest.approx(expected)
    assert set(ours) >= {"val-core/math500/acc/mean@6", "val-core/aime/acc/mean@4", "val-aux/aime/length/std@4"}
