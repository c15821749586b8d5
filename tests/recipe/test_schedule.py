"""τs schedule against hand-computed values."""

import math

import pytest

from recipe.sept.schedule import anneal_progress, duration_in_steps, tau_s_at


def test_paper_linear_schedule_over_two_of_three_epochs():
    # 10 steps/epoch, anneal over 2 epochs = 20 steps: step 1 -> 0.6, step 11 -> 0.8, step 21 -> 1.0, held after.
    d = duration_in_steps(2, "epoch", 10)
    assert d == 20
    assert tau_s_at(1, "linear", 0.6, 1.0, d) == pytest.approx(0.6)
    assert tau_s_at(6, "linear", 0.6, 1.0, d) == pytest.approx(0.7)
    assert tau_s_at(11, "linear", 0.6, 1.0, d) == pytest.approx(0.8)
    assert tau_s_at(21, "linear", 0.6, 1.0, d) == pytest.approx(1.0)
    assert tau_s_at(30, "linear", 0.6, 1.0, d) == pytest.approx(1.0)


def test_cosine_schedule_values():
    # p = 0 -> start, p = 1/2 -> midpoint, p = 1/4 -> end + (start-end)(1+cos(pi/4))/2.
    assert tau_s_at(1, "cosine", 0.5, 1.0, 4) == pytest.approx(0.5)
    assert tau_s_at(3, "cosine", 0.5, 1.0, 4) == pytest.approx(0.75)
    assert tau_s_at(2, "cosine", 0.5, 1.0, 4) == pytest.approx(1.0 - 0.5 * (1 + math.cos(math.pi / 4)) / 2)
    assert tau_s_at(9, "cosine", 0.5, 1.0, 4) == pytest.approx(1.0)


def test_constant_and_step_units():
    assert tau_s_at(7, "constant", 0.7, 1.0, 3) == 0.7
    assert duration_in_steps(5, "step", 123) == 5
    assert anneal_progress(1, 0) == 1.0  # zero-length anneal: already at `end`
    assert tau_s_at(1, "linear", 0.6, 1.0, 0) == pytest.approx(1.0)


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="schedule='exp'"):
        tau_s_at(1, "exp", 0.6, 1.0, 3)
    with pytest.raises(ValueError, match="unit='minute'"):
        duration_in_steps(1, "minute", 3)
