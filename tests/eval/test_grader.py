"""eval.grader reproduces the SePT authors' entropy_math verdicts, and grades safely from threads."""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from eval import grader
from eval.grader import GraderPool, compute_score, grade_answer, grade_many, last_boxed
from tests.helpers import shared_reference

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "eval" / "grader_pairs.jsonl"
BENCHMARKS = ("sept-authors-data", "data", "benchmarks")  # under ../shared/reference
# Workers in these tests get 10x the reference's stage budgets: the verdicts must not depend on how busy the
# test machine is (the fixture holds no pair near a budget; see the pool test for the real budgets' effect).
SCALE = 10.0


@pytest.fixture(autouse=True)
def _no_remembered_verdicts(monkeypatch):
    """Each test starts without verdicts remembered from another: a test about workers must reach them."""
    monkeypatch.setattr(grader, "_VERDICTS", grader._VerdictCache(1 << 16))


def _fixture() -> tuple[dict, list[dict]]:
    lines = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    return lines[0]["_meta"], lines[1:]


def _in_process(response: str, truth: str) -> tuple[bool, str]:
    pred = last_boxed(response)
    return (False, "no_boxed") if pred is None else grade_answer(pred, truth)


def test_fixture_is_large_real_and_covers_the_required_shapes():
    meta, pairs = _fixture()
    assert len(pairs) >= 200 and meta["pairs"] == len(pairs)
    assert set(meta["references"]) == {"sept", "verl"}
    categories = {p["category"] for p in pairs}
    for needed in (
        "fraction",
        "dfrac",
        "decimal",
        "percent",
        "degrees",
        "units_text",
        "interval",
        "set",
        "tuple",
        "matrix",
        "several_boxed_last_right",
        "several_boxed_last_wrong",
        "no_boxed",
        "odd_spacing",
        "dollar_wrapped",
        "e_notation",
        "e_notation_latex",
    ):
        assert needed in categories, needed
    verdicts = Counter(p["verdicts"]["sept"] for p in pairs)
    assert verdicts[1.0] >= 60 and verdicts[0.0] >= 60  # both outcomes well represented
    assert sum(p["ground_truth"].startswith("$") for p in pairs) >= 20
    assert sum("e" in p["ground_truth"] and p["data_source"] == "minerva" for p in pairs) >= 10


def test_fixture_pairs_are_rebuilt_exactly_from_the_authors_benchmarks():
    """The committed pairs are what `python -m tools.grader_fixture` builds from the benchmark parquets."""
    from tools.grader_fixture import build_pairs, load_truths

    stored = [{k: v for k, v in pair.items() if k != "verdicts"} for pair in _fixture()[1]]
    assert build_pairs(load_truths(shared_reference(*BENCHMARKS))) == stored


def test_every_reference_verdict_is_reproduced_in_process():
    mismatches = []
    for pair in _fixture()[1]:
        acc, reason = _in_process(pair["response"], pair["ground_truth"])
        if float(acc) != pair["verdicts"]["sept"] or pair["verdicts"]["verl"] != pair["verdicts"]["sept"]:
            mismatches.append((pair["id"], pair["category"], reason, pair["verdicts"]))
    assert mismatches == []


def test_batch_grading_through_worker_processes_gives_the_same_verdicts_and_reasons():
    _, pairs = _fixture()
    results = grade_many([(p["response"], p["ground_truth"]) for p in pairs], workers=2, budget_scale=SCALE)
    assert [r["score"] for r in results] == [p["verdicts"]["sept"] for p in pairs]
    assert [r["reason"] for r in results] == [_in_process(p["response"], p["ground_truth"])[1] for p in pairs]
    reasons = Counter(r["reason"] for r in results)
    assert {"correct_exact", "correct_sympy", "correct_math_verify", "mismatch", "no_boxed"} <= set(reasons)
    assert all(r["reason"] != "mismatch" or r["score"] == 0.0 for r in results)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
        ("\\boxed{1} then \\boxed{\\{a, \\{b\\}\\}}", "\\{a, \\{b\\}\\}"),  # the last box, braces balanced
        ("\\boxed{2} and finally \\boxed {3}", None),  # the last \boxed is not followed by "{"
        ("\\boxed{\\frac{1}{2}", None),  # unclosed
        ("\\fbox{4}", None),
        ("no box at all", None),
        ("\\boxed{}", ""),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    ("pred", "truth", "verdict"),
    [
        ("4.5e33", "4.5e33", (True, "correct_exact")),
        ("4.5 \\times 10^{33}", "4.5e33", (False, "mismatch")),  # math_verify reads 4.5e33 as 4.5*e*33
        ("2/4", "\\frac{1}{2}", (True, "correct_math_verify")),  # the sympy stage refuses unreduced fractions
        ("1,999.99999999", "1999", (True, "correct_exact")),  # near-integers are truncated, not rounded
        ("1,999.99999999", "2000", (False, "mismatch")),
        ("240", "204", (False, "mismatch")),  # the integer shortcut
        ("x+t", "x + a", (True, "correct_exact")),  # single-letter unit words: both normalise to "x+"
        ("x^2+2x+1", "(x+1)^2", (True, "correct_sympy")),
        ("\\{1,2\\}", "\\{2,1\\}", (True, "correct_math_verify")),
        ("7", "\\boxed{7", (False, "invalid_ground_truth")),
        ("7", "the answer is \\boxed{7}", (True, "correct_exact")),
    ],
)
def test_documented_quirks(pred, truth, verdict):
    assert grade_answer(pred, truth) == verdict


def test_compute_score_contract_for_verl():
    result = compute_score(
        "math500",
        "Thus $\\boxed{\\dfrac{14}{3}}$.",
        "\\frac{14}{3}",
        extra_info={"index": 2},
        reward_router_address=None,
    )
    assert result == {"score": 1.0, "acc": True, "pred": "\\dfrac{14}{3}", "reason": "correct_exact"}
    assert compute_score("synthetic_arith", "\\boxed{42}", 42)["acc"] is True  # int ground truth
    assert compute_score("some_new_source", "\\boxed{3}", ["2", "3"])["reason"] == "correct_exact"  # any of a list
    assert compute_score("aime", "I think 204.", "204") == {
        "score": 0.0,
        "acc": False,
        "pred": None,
        "reason": "no_boxed",
    }
    assert compute_score("aime", "\\boxed{204}", {"bad": 1})["reason"] == "invalid_ground_truth"
    with pytest.raises(TypeError, match="solution_str must be str"):
        compute_score("aime", None, "204")


def test_grader_loads_by_file_path_like_verl_custom_reward_functions():
    spec = importlib.util.spec_from_file_location("custom_module", REPO / "eval" / "grader.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # needs a worker process: sympy decides this one
    assert module.compute_score("minerva", "\\boxed{x^2+2x+1}", "(x+1)^2")["reason"] == "correct_sympy"


def test_compute_score_from_threads_scores_sympy_and_math_verify_answers(monkeypatch):
    """The reference's signal.alarm raises outside the main thread and scores these 0; ours must not."""
    monkeypatch.setattr(grader, "_shared", {})  # a shared pool of its own, with load-proof budgets
    monkeypatch.setattr(grader, "DEFAULT_BUDGET_SCALE", SCALE)
    cases = [
        ("\\boxed{x^2+2x+1}", "(x+1)^2"),
        ("\\boxed{\\{1,2\\}}", "\\{2,1\\}"),
        ("\\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{1}{\\sqrt{2}}"),
    ]
    results: list[dict] = []
    lock = threading.Lock()

    def work(response: str, truth: str) -> None:
        result = compute_score("math500", response, truth)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=work, args=case) for case in cases * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    grader.close_shared_pools()
    assert len(results) == 12 and all(r["score"] == 1.0 for r in results), results


def test_pathological_input_costs_at_most_the_timeout_and_is_counted():
    before = grader.grader_stats()
    with GraderPool(workers=1, timeout=1.5) as pool:
        pool.wait_ready()
        started = time.monotonic()
        # sympy computes 99999999! in C, where no signal can interrupt it: only killing the worker helps
        assert pool.grade("99999999!*x", "x") == (False, "timeout")
        assert time.monotonic() - started < 1.5 + 1.0  # the deadline, plus killing and starting a replacement
        assert pool.grade("x^2+2x+1", "(x+1)^2") == (True, "correct_sympy")  # a fresh worker took over
    after = grader.grader_stats()
    assert after.get("worker_timeouts", 0) == before.get("worker_timeouts", 0) + 1
    assert after.get("worker_restarts", 0) == before.get("worker_restarts", 0) + 1


def test_grade_many_deduplicates_and_only_sends_undecided_pairs_to_workers(monkeypatch):
    sent: list[tuple[str, list[str]]] = []
    real_grade_group = GraderPool.grade_group

    def counting_grade_group(self, truth, preds, rules=frozenset()):
        sent.append((truth, list(preds)))
        return real_grade_group(self, truth, preds, rules)

    monkeypatch.setattr(GraderPool, "grade_group", counting_grade_group)
    pairs = [(f"Attempt {i}: so \\boxed{{x^2+2x+1}}", "(x+1)^2") for i in range(40)]  # one unique answer
    pairs += [("\\boxed{204}", "204")] * 30 + [("\\boxed{205}", "204")] * 30 + [("no box", "204")] * 5
    pairs += [("\\boxed{1.52}", "1.25")] * 10  # a plain-number mismatch
    results = grade_many(pairs, workers=2, budget_scale=SCALE)
    assert sent == [("(x+1)^2", ["x^2+2x+1"])]
    assert Counter(r["reason"] for r in results) == {
        "correct_sympy": 40,
        "correct_exact": 30,
        "mismatch": 40,
        "no_boxed": 5,
    }


def _adjacent_suffix_lcp_sum(text: str) -> int:
    """The reference's definition, computed naively: sort the suffixes, sum the LCPs of neighbours."""
    suffixes = sorted(text[i:] for i in range(len(text)))
    return sum(len(os.path.commonprefix([left, right])) for left, right in zip(suffixes, suffixes[1:]))


@pytest.mark.parametrize("text", ["abab", "banana", "aaaa", "mississippi", "\\frac{1}{2}\\frac{1}{2}", "xyz"])
def test_suffix_automaton_count_matches_the_suffix_array_definition(text):
    n = len(text)
    assert n * (n + 1) // 2 - grader._distinct_substrings(text) == _adjacent_suffix_lcp_sum(text)


def test_repetitive_answers_are_detected_like_the_reference():
    import hashlib

    assert grader._is_repetitive("ab" * 80)
    assert grader._is_repetitive("a" * 129)
    varied = "".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(4))
    assert not grader._is_repetitive(varied)
    assert grader._distinct_substrings("abab") == 7  # a, b, ab, ba, aba, bab, abab


def test_a_crashed_worker_scores_error_and_is_replaced():
    with GraderPool(workers=1, timeout=30) as pool:
        pool.wait_ready()
        (worker,) = pool._all
        worker.proc.kill()  # as if the OS had killed it (out of memory, segfault in a C extension)
        worker.proc.wait()
        assert pool.grade("x^2+2x+1", "(x+1)^2") == (False, "error")
        assert pool.grade("x^2+2x+1", "(x+1)^2") == (True, "correct_sympy")
