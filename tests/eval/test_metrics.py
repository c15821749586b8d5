"""eval.metrics against values computed by hand."""

from __future__ import annotations

import math

import pytest

from eval.metrics import (
    ProblemSamples,
    avg_score,
    benchmark_metrics,
    bootstrap_ci,
    length_stats,
    macro_mean,
    maj_at_k,
    majority_correct,
    mean_at_n,
    mean_pass_at_k,
    pass_at_k,
)


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (4, 1, 1, 0.25),  # pass@1 = c/n
        (32, 1, 1, 1 / 32),
        (4, 0, 3, 0.0),
        (4, 2, 3, 1.0),  # n - c < k: every 3-subset holds a correct sample
        (32, 1, 32, 1.0),
        (10, 3, 4, 1 - 35 / 210),  # C(7,4)=35, C(10,4)=210
    ],
)
def test_pass_at_k_hand_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_product_form_agrees_with_binomials_where_they_are_exact():
    for n in (1, 2, 7, 32, 64):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1 - math.comb(n - c, k) / math.comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12), (n, c, k)


def test_pass_at_k_rejects_impossible_requests():
    with pytest.raises(ValueError, match="k must be in 1..n"):
        pass_at_k(8, 2, 16)
    with pytest.raises(ValueError, match="0 <= c <= n"):
        pass_at_k(4, 5, 1)
    with pytest.raises(TypeError):
        pass_at_k(4, 1.0, 1)


def test_means_over_problems():
    counts = [(4, 1), (4, 4), (4, 0)]
    assert mean_pass_at_k(counts, 2) == pytest.approx((0.5 + 1 + 0) / 3)
    assert mean_at_n(counts) == pytest.approx((0.25 + 1 + 0) / 3)
    assert avg_score({1: 0.2, 8: 0.5, 32: 0.8, 2: 0.9}) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="missing pass@\\[32\\]"):
        avg_score({1: 0.2, 8: 0.5})
    assert macro_mean({"a": {1: 0.2, 8: 0.4}, "b": {1: 0.4, 8: 0.8, 32: 0.9}}) == pytest.approx({1: 0.3, 8: 0.6})


def test_majority_vote():
    assert majority_correct(["3", "3", "4"], [True, True, False]) is True
    assert majority_correct(["4", "3", "3", "4"], [False, True, True, False]) is False  # tie: first seen wins
    assert majority_correct([None, None, "5"], [False, False, True]) is True  # unanswered samples do not vote
    assert majority_correct([None], [False]) is False
    assert maj_at_k(["3", "3", "4"], [True, True, False], 3) == 1.0
    # k=1 over keys [a, b]: each draw picks one sample; half the draws pick the correct one
    assert maj_at_k(["a", "b"], [True, False], 1, draws=2000, seed=1) == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError, match="k must be in 1..n"):
        maj_at_k(["a"], [True], 2)


def test_bootstrap_interval():
    assert bootstrap_ci([0.5, 0.5, 0.5]) == pytest.approx((0.5, 0.5))
    low, high = bootstrap_ci([0.0, 1.0] * 50, n_boot=2000, seed=3)
    assert low < 0.5 < high and high - low == pytest.approx(0.2, abs=0.06)  # ~ 2 * 1.96 * sqrt(.25/100)


def test_benchmark_metrics_of_a_small_benchmark():
    problems = [
        ProblemSamples(
            0, [True, False, False, False], ["1", "2", "2", "2"], [10, 20, 30, 40], ["stop"] * 3 + ["length"]
        ),
        ProblemSamples(1, [True, True, True, True], ["5"] * 4, [5, 5, 5, 5], ["stop"] * 4),
    ]
    out = benchmark_metrics(problems, ks=(1, 2, 4, 8), maj_ks=(4,), n_boot=200)
    assert out["n"] == 4 and out["problems"] == 2
    assert out["pass"] == pytest.approx({1: (0.25 + 1) / 2, 2: (0.5 + 1) / 2, 4: 1.0})  # k=8 > n is left out
    assert out["mean@n"] == pytest.approx(0.625)
    assert out["avg"] is None  # needs pass@8 and pass@32
    assert out["maj"] == {4: 0.5}  # problem 0 votes "2" (wrong), problem 1 votes "5" (right)
    assert (out["length_mean"], out["length_max"], out["cutoff_ratio"]) == (15.0, 40, 1 / 8)
    assert out["correct_counts"] == {0: 1, 1: 4}
    with pytest.raises(ValueError, match="different sample counts"):
        benchmark_metrics([problems[0], ProblemSamples(2, [True])])


def test_length_stats_without_lengths():
    assert length_stats([ProblemSamples(0, [True])]) == {"length_mean": None, "length_max": None, "cutoff_ratio": None}
