"""Hostile answers (issue 13, item 5): each is graded in bounded time and memory and given a reason, in both
grading modes, through ``grade_many`` (eval.regrade's path) and through the recipe's reward function (verl's
reward loop); a normal batch afterwards grades as fast as before."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from eval import grader
from eval.grader import REASONS_CORRECT, REASONS_WRONG, grade_many
from tools.hostile_answers import HOSTILE, time_reward_function

# Short limits keep the test fast; the bound they show is the same one the defaults give (30 s, budgets x1).
TIMEOUT_S = 4.0
BUDGET_SCALE = 0.3  # sympy 1.5 s, math_verify 1 s per parse/compare
# A killed worker's replacement imports sympy and math_verify before the next answer: on this 2-core machine
# under load, up to ~10 s. An item's bound is its deadline plus that.
RESTART_S = 10.0

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "eval" / "grader_pairs.jsonl"


@pytest.fixture(autouse=True)
def _short_limits(monkeypatch):
    """The reward function uses the process's shared pool with the DEFAULT_* settings: shorten them, start from
    no remembered verdicts and no workers, and stop ours afterwards."""
    monkeypatch.setattr(grader, "DEFAULT_TIMEOUT_S", TIMEOUT_S)
    monkeypatch.setattr(grader, "DEFAULT_BUDGET_SCALE", BUDGET_SCALE)
    monkeypatch.setattr(grader, "_VERDICTS", grader._VerdictCache(1 << 16))
    grader.close_shared_pools()
    yield
    grader.close_shared_pools()


def _normal_batch() -> list[tuple[str, str]]:
    """The fixture's pairs that need a worker (sympy/math_verify): what throughput depends on."""
    pairs = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()[1:]]
    return [(p["response"], p["ground_truth"]) for p in pairs if "\\boxed{" in p["response"]][:60]


def _seconds_for_normal_batch() -> float:
    grader._VERDICTS.clear()  # every answer goes to a worker again
    started = time.perf_counter()
    results = grade_many(_normal_batch(), timeout=TIMEOUT_S, workers=2, budget_scale=BUDGET_SCALE)
    assert all(r["reason"] in REASONS_CORRECT + REASONS_WRONG for r in results)
    return time.perf_counter() - started


def _worker_memory_caps() -> set[str]:
    caps = set()
    for pool in grader._shared.values():
        for worker in pool._all:
            limits = Path(f"/proc/{worker.proc.pid}/limits").read_text()
            caps |= {line.split()[3] for line in limits.splitlines() if line.startswith("Max address space")}
    return caps


def test_hostile_answers_are_bounded_given_a_reason_and_leave_throughput_unchanged():
    grade_many(_normal_batch()[:2], timeout=TIMEOUT_S, workers=2, budget_scale=BUDGET_SCALE)  # workers started
    before = _seconds_for_normal_batch()
    pairs = list(HOSTILE.values())
    for mode in ("faithful", "strict"):
        started = time.perf_counter()
        results = grade_many(pairs, timeout=TIMEOUT_S, workers=2, budget_scale=BUDGET_SCALE, mode=mode)
        elapsed = time.perf_counter() - started
        assert all(r["reason"] in REASONS_CORRECT + REASONS_WRONG for r in results), (mode, results)
        assert elapsed < len(pairs) * (TIMEOUT_S + RESTART_S), (mode, elapsed)
    assert _worker_memory_caps() == {str(grader.WORKER_MEMORY_MB * 1024 * 1024)}  # a runaway expansion stops there
    timings = time_reward_function()  # the recipe's reward function, the mode from its reward kwarg
    assert all(reason in REASONS_CORRECT + REASONS_WRONG for _, reason in timings.values()), timings
    worst = {key: seconds for key, (seconds, _) in timings.items()}
    slowest = max(worst, key=worst.get)
    print(f"worst-case seconds per hostile item: {worst[slowest]:.2f} ({slowest}); all: {worst}")
    assert worst[slowest] < TIMEOUT_S + RESTART_S, worst
    after = _seconds_for_normal_batch()
    assert after < 2 * before + 2.0, (before, after)  # no worker left stuck or slowed down
