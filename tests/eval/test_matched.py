"""The temperature-matched comparison (eval/matched.py) and the paired bootstrap it uses, against values computed
by hand."""

import pytest

from eval.matched import Match, compare_matched, expected_by_chance, match_temperature
from eval.metrics import paired_bootstrap_ci, per_problem_pass


def test_the_match_interpolates_between_the_swept_temperatures_around_the_target():
    sweep = {0.0: 0.8, 0.5: 0.6, 1.0: 0.4}
    # 0.45 lies between 0.6 (τ 0.5) and 0.4 (τ 1.0), three quarters of the way: τ* = 0.5 + 0.75 · 0.5.
    assert match_temperature(0.45, sweep) == Match(0.875, 0.5, 1.0, pytest.approx(0.75), 1.0, True)
    assert match_temperature(0.6, sweep).tau == pytest.approx(0.5)


def test_a_non_monotone_sweep_matches_at_the_highest_bracketing_temperature():
    # 0.75 lies on both segments (0.7 -> 0.8 and 0.8 -> 0.6); the higher one: τ* = 0.2 + 0.25 · 0.4 = 0.3.
    match = match_temperature(0.75, {0.0: 0.7, 0.2: 0.8, 0.6: 0.6})
    assert (match.lower, match.upper, match.weight) == (0.2, 0.6, pytest.approx(0.25))
    assert match.tau == pytest.approx(0.3) and match.nearest == 0.2 and match.inside


def test_a_target_outside_the_sweep_takes_the_closest_temperature_and_says_so():
    assert match_temperature(0.9, {0.0: 0.8, 1.0: 0.4}) == Match(0.0, 0.0, 0.0, 0.0, 0.0, False)
    assert match_temperature(0.1, {0.0: 0.8, 1.0: 0.4}) == Match(1.0, 1.0, 1.0, 0.0, 1.0, False)
    with pytest.raises(ValueError, match="no swept temperatures"):
        match_temperature(0.5, {})


def test_expected_moves_by_chance_are_binomial():
    # Two samples of a p = 0.5 question land 0.5 away with probability 1/4 + 1/4; a p = 0 question never moves.
    assert expected_by_chance([0.5, 0.0], samples=2, threshold=0.5) == pytest.approx(0.5)
    assert expected_by_chance([0.5], samples=2, threshold=0.6) == 0


def _q(p1, p8, p32):
    return {1: p1, 8: p8, 32: p32}


def test_the_comparison_with_the_matched_base_model_by_hand():
    base = {
        0.5: {"a": _q(1.0, 1.0, 1.0), "b": _q(0.2, 0.6, 0.9)},  # mean pass@1 0.6
        1.0: {"a": _q(0.6, 1.0, 1.0), "b": _q(0.0, 0.2, 0.5)},  # mean pass@1 0.3
    }
    trained = [{"a": _q(0.5, 0.9, 1.0), "b": _q(0.4, 0.8, 1.0)}]  # mean pass@1 0.45: halfway, τ* = 0.75
    result = compare_matched(trained, base, samples=2, n_boot=2000)
    assert result.match.tau == pytest.approx(0.75) and result.match.weight == pytest.approx(0.5)
    # The base model at τ*: a (0.8, 1.0, 1.0), b (0.1, 0.4, 0.7); its mean pass@1 is the trained model's.
    assert result.matched == pytest.approx({"pass@1": 0.45, "pass@8": 0.7, "pass@32": 0.85, "AVG": 2 / 3})
    assert result.trained == pytest.approx({"pass@1": 0.45, "pass@8": 0.85, "pass@32": 1.0, "AVG": (2.4 + 2.2) / 6})
    # pass@8: a -0.1, b +0.4 -> mean +0.15; resampling two questions gives -0.1, +0.15 or +0.4.
    assert result.difference["pass@8"] == pytest.approx((0.15, -0.1, 0.4))
    assert result.difference["pass@1"][0] == pytest.approx(0.0)
    assert result.difference["AVG"][0] == pytest.approx(0.1)
    assert [(s.question, s.trained, s.matched) for s in result.gains] == [("b", 0.4, pytest.approx(0.1))]
    assert [(s.question, s.trained, s.matched) for s in result.losses] == [("a", 0.5, pytest.approx(0.8))]
    # Two samples per question: a (p 0.8) moves >= 0.25 unless both are right (0.64); b (p 0.1) unless both wrong.
    assert result.expected == pytest.approx((1 - 0.64) + (1 - 0.81))
    assert (result.questions, result.seeds) == (2, 1)


def test_the_comparison_refuses_mismatched_questions():
    base = {1.0: {"a": _q(0.5, 1, 1)}}
    with pytest.raises(ValueError, match="covers other questions"):
        compare_matched([{"a": _q(0.5, 1, 1), "b": _q(0.5, 1, 1)}], base)


def test_paired_bootstrap_resamples_seeds_and_problems():
    # One seed, two problems differing by 1 and 0: problem draws give 0, 0.5 or 1.
    assert paired_bootstrap_ci([[[1.0, 0.0]]], [[0.0, 0.0]], n_boot=2000) == (0.0, 1.0)
    # Equal problems, two seeds 1 and 0 apart: seed draws give 0, 0.5 or 1; without seeds it would be 0.5.
    assert paired_bootstrap_ci([[[1.0, 1.0], [0.0, 0.0]]], [[0.0, 0.0]], n_boot=2000) == (0.0, 1.0)
    assert paired_bootstrap_ci([[[0.5, 0.5]]], [[0.25, 0.25]]) == pytest.approx((0.25, 0.25))
    # Two benchmarks weigh equally: differences 1 and 0 always average to 0.5.
    assert paired_bootstrap_ci([[[1.0]], [[0.0, 0.0]]], [[0.0], [0.0, 0.0]]) == (0.5, 0.5)
    with pytest.raises(ValueError, match="seeds, problems"):
        paired_bootstrap_ci([[[1.0, 0.0]]], [[0.0]])
    with pytest.raises(ValueError, match="different seed counts"):
        paired_bootstrap_ci([[[1.0]], [[1.0], [0.0]]], [[0.0], [0.0]])


def test_per_problem_pass_treats_a_greedy_sample_as_any_number():
    assert per_problem_pass({0: 1, 1: 0}, 1, (1, 8), greedy=True) == {0: {1: 1.0, 8: 1.0}, 1: {1: 0.0, 8: 0.0}}
    assert per_problem_pass({0: 2}, 4, (1, 2)) == {0: {1: 0.5, 2: pytest.approx(1 - 1 / 6)}}
