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
