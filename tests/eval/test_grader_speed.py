"""eval.grader's speed-ups keep the verdicts: the plain-number shortcut, remembered verdicts, the shared pool."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from eval import grader
from eval.grader import GraderPool, compute_score, grade_answer, grade_many
from tools import bench_grader

SCALE = 10.0  # load-proof stage budgets, as in test_grader


@pytest.fixture(autouse=True)
def _fresh_state(monkeypatch):
    """No verdicts remembered from other tests and no shared workers left over; ours are stopped afterwards."""
    monkeypatch.setattr(grader, "_VERDICTS", grader._VerdictCache(1 << 16))
    grader.close_shared_pools()
    yield
    grader.close_shared_pools()


def _decimal_neighbours(seed: int, count: int) -> list[tuple[str, str]]:
    """Wrong numeric answers a model writes: 1e-4 off, x10, /10, sign flips, integer vs decimal."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        places = rng.choice([0, 1, 2, 4])
        truth = Decimal(rng.randrange(-(10**6), 10**6)).scaleb(-places)
        step = Decimal(1).scaleb(-max(places, 1))
        for pred in (truth + step, truth - step, truth * 10, truth / 10, -truth, truth.to_integral_value()):
            pairs.append((format(pred.normalize(), "f"), format(truth, "f")))
    return pairs


def test_plain_number_shortcut_only_claims_what_sympy_and_math_verify_both_reject():
    edges = [("1.0001", "1.0002"), ("-0.0001", "0.0001"), ("999999999.9999", "999999999.9998")]
    pairs = _decimal_neighbours(0, 40) + edges
    claimed = [(p, t) for p, t in pairs if grader._distinct_plain_numbers(p, t)]
    assert len(claimed) > 150
    for pred, truth in claimed:
        assert not grader._sympy_stage(grader._normalize(pred), grader._normalize(truth), None), (pred, truth)
        assert not grader._math_verify_stage(pred, truth, None), (pred, truth)


@pytest.mark.parametrize(
    ("pred", "truth", "verdict"),
    [
        ("0.1000001", "0.1", (True, "correct_math_verify")),  # within math_verify's rounding: too many decimals
        ("0.10", "0.1", (True, "correct_sympy")),  # the same value written differently is never claimed
        ("5{,}88", "588", (False, "mismatch")),  # not a plain number: a worker decides
    ],
)
def test_numbers_outside_the_shortcut_go_through_the_full_pipeline(pred, truth, verdict):
    assert grader.cheap_verdict(pred, truth) is None
    assert grade_answer(pred, truth) == verdict


def test_plain_number_mismatches_are_decided_without_a_worker():
    assert grader.cheap_verdict("1.52", "1.25") == (False, "mismatch")
    assert grader.cheap_verdict("240", "204") == (False, "mismatch")
    assert grader.cheap_verdict("3", "3.5") == (False, "mismatch")


def _count_worker_answers(monkeypatch) -> list[tuple[str, str]]:
    sent: list[tuple[str, str]] = []
    real_grade_group = GraderPool.grade_group

    def counting_grade_group(self, truth, preds, rules=frozenset()):
        sent.extend((pred, truth) for pred in preds)
        return real_grade_group(self, truth, preds, rules)

    monkeypatch.setattr(GraderPool, "grade_group", counting_grade_group)
    return sent


def test_worker_verdicts_are_remembered_across_calls(monkeypatch):
    sent = _count_worker_answers(monkeypatch)
    pairs = [("\\boxed{x^2+2x+1}", "(x+1)^2"), ("\\boxed{\\{1,2\\}}", "\\{2,1\\}"), ("\\boxed{2x}", "(x+1)^2")]
    first = grade_many(pairs, workers=2, budget_scale=SCALE)
    assert len(sent) == 3
    assert grade_many(pairs, workers=2, budget_scale=SCALE) == first
    assert len(sent) == 3  # nothing new went to a worker
    assert [r["reason"] for r in first] == ["correct_sympy", "correct_math_verify", "mismatch"]
    # another budget is another verdict: not taken from what was remembered under SCALE
    assert grade_many(pairs[:1], workers=1, budget_scale=SCALE * 2)[0]["reason"] == "correct_sympy"
    assert len(sent) == 4


def test_timeouts_and_errors_are_not_remembered():
    with GraderPool(workers=1, timeout=1.5) as pool:
        assert pool.grade("99999999!*x", "x") == (False, "timeout")
        assert grader._VERDICTS.get(("99999999!*x", "x", 1.0, frozenset())) is None
        assert pool.grade("x^2+2x+1", "(x+1)^2") == (True, "correct_sympy")
        assert grader._VERDICTS.get(("x^2+2x+1", "(x+1)^2", 1.0, frozenset())) == (True, "correct_sympy")
        (worker,) = pool._all
        worker.proc.kill()
        worker.proc.wait()
        assert pool.grade("2x", "x+x") == (False, "error")
        assert grader._VERDICTS.get(("2x", "x+x", 1.0, frozenset())) is None


def test_a_job_stuck_in_the_middle_costs_one_timeout_and_the_rest_are_graded_by_a_fresh_worker():
    before = grader.grader_stats()
    with GraderPool(workers=1, timeout=1.5) as pool:
        pool.wait_ready()
        verdicts = pool.grade_group("x", ["2x-x", "99999999!*x", "x+0", "3x"])
    assert verdicts == [(True, "correct_sympy"), (False, "timeout"), (True, "correct_sympy"), (False, "mismatch")]
    after = grader.grader_stats()
    assert after.get("worker_timeouts", 0) == before.get("worker_timeouts", 0) + 1
    assert after.get("worker_restarts", 0) == before.get("worker_restarts", 0) + 1


def test_remembered_verdicts_are_bounded_least_recently_used_first():
    cache = grader._VerdictCache(2)
    cache.put(("a", "1", 1.0), (True, "correct_sympy"))
    cache.put(("b", "1", 1.0), (False, "mismatch"))
    assert cache.get(("a", "1", 1.0)) == (True, "correct_sympy")  # now the most recently used
    cache.put(("c", "1", 1.0), (False, "mismatch"))
    assert cache.get(("b", "1", 1.0)) is None
    assert cache.get(("a", "1", 1.0)) == (True, "correct_sympy")


def _shared_workers() -> list[int]:
    return [worker.proc.pid for pool in grader._shared.values() for worker in pool._all]


def test_workers_start_only_when_needed_and_are_reused_across_calls():
    grade_many([("\\boxed{204}", "204"), ("\\boxed{1.5}", "2"), ("no box", "3")], workers=2, budget_scale=SCALE)
    assert _shared_workers() == []  # everything was settled by string checks
    grade_many([("\\boxed{x^2+2x+1}", "(x+1)^2"), ("\\boxed{2x}", "(x+1)^2")], workers=2, budget_scale=SCALE)
    started = _shared_workers()
    assert len(started) == 1  # one ground truth: one job, one worker
    grade_many([("\\boxed{\\{1,2\\}}", "\\{2,1\\}")], workers=2, budget_scale=SCALE)
    assert _shared_workers() == started
    many = [(f"\\boxed{{x^2+{k}x}}", "(x+1)^2") for k in range(grader.ANSWERS_PER_WORKER + 1)]
    assert all(r["reason"] == "mismatch" for r in grade_many(many, workers=2, budget_scale=SCALE))
    assert len(_shared_workers()) == 2 and _shared_workers()[0] == started[0]  # one more for the larger batch


def test_a_list_of_ground_truths_gives_the_first_match_like_compute_score(monkeypatch):
    monkeypatch.setattr(grader, "DEFAULT_BUDGET_SCALE", SCALE)
    truths = ["(x+1)^2", "x^2+2x+1"]  # sympy decides the first, the exact stage the second
    (batch,) = grade_many([("\\boxed{x^2+2x+1}", truths)], workers=1, budget_scale=SCALE)
    assert batch == compute_score("math500", "\\boxed{x^2+2x+1}", truths)
    assert batch["reason"] == "correct_sympy"


def test_benchmark_runs_and_finds_identical_verdicts(capsys):
    assert bench_grader.main(["--problems", "6", "--n", "8", "--runs", "2"]) == 0
    out = capsys.readouterr().out
    assert "96 responses (2 run(s) x 6 problems x n=8)" in out
    assert "verdicts differing: 0" in out and "grades/s" in out and "speed-up" in out


def test_benchmark_names_each_distinct_answer_graded_differently(capsys):
    samples = [("so \\boxed{x^2+2x+1}", "(x+1)^2")] * 3 + [("\\boxed{5}", "5")]
    bench_grader._explain_differences(samples, [True] * 4, [False, False, False, True], 1.0)
    out = capsys.readouterr().out.splitlines()
    assert out == ["  differs x3: pred='x^2+2x+1' truth='(x+1)^2' ours=True with 10x budgets=True"]
