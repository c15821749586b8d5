"""The strict grading mode: one rule per quirk of the faithful grader, each on hand-made pairs, and sound on the
benchmark-derived fixture (it accepts nothing there that is a wrong answer)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sympy
from latex2sympy2_extended import latex2sympy

from eval import grader
from eval.grader import STRICT_RULES, compute_score, grade_answer, grade_many, last_boxed, mode_rules

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "eval" / "grader_pairs.jsonl"
# Derived facts: the fixture pairs strict accepts and faithful rejects, with the value both sides denote.
STRICT_ONLY = REPO / "tests" / "fixtures" / "eval" / "strict_only_accepts.jsonl"
SCALE = 10.0  # load-proof stage budgets, as in test_grader
STRICT = mode_rules("strict")


def _matrix(entry: str) -> str:
    row = " & ".join([entry] * 4)
    return "\\begin{pmatrix} " + " \\\\ ".join([row] * 4) + " \\end{pmatrix}"


TWELVE_HALVES = "+".join(["\\frac{1}{2}"] * 12)

# (rule, pred, truth, faithful acc, strict acc): each rule's fix, the verdict it changes, and verdicts it keeps.
RULE_CASES = [
    ("sci_notation", "4.5 \\times 10^{33}", "4.5e33", False, True),  # math_verify reads 4.5e33 as 4.5*e*33
    ("sci_notation", "4.5\\times10^{33} \\text{ erg/s}", "4.5e33", False, True),
    ("sci_notation", "3.83 \\cdot 10^{35}", "3.83e35", False, True),
    ("sci_notation", "4.5 \\times 10^{32}", "4.5e33", False, False),  # a wrong exponent stays wrong
    ("sci_notation", "4.6e33", "4.5e33", False, False),
    ("comma_rounding", "1,999.99999999", "2000", False, True),  # faithful truncates to 1999
    ("comma_rounding", "1,999.99999999", "1999", True, False),
    ("comma_rounding", "2.99999999", "3", True, True),  # without commas both round
    ("unit_letters", "x+t", "x + a", True, False),  # faithful drops both letters as unit words
    ("unit_letters", "y = x + s", "y=x+c", True, False),
    ("unit_letters", "5 m", "5", True, True),  # a letter after a number is still a unit
    ("unit_letters", "3 \\text{ m}", "3", True, True),
    ("integer_guard", "3 \\times 10^6", "3e6", False, True),  # sympy: 3*10^6 - 3000000 = 0
    ("integer_guard", "3 \\times 10^5", "3e6", False, False),
    ("repetitive_answers", _matrix("\\frac{1}{2}"), _matrix("0.5"), False, True),  # 254 repetitive characters
    ("repetitive_answers", _matrix("\\frac{1}{3}"), _matrix("0.5"), False, False),
    ("repetitive_answers", ", ".join(["\\frac{1}{2}"] * 12), ", ".join(["0.5"] * 12), False, True),
]


@pytest.mark.parametrize(("rule", "pred", "truth", "faithful", "strict"), RULE_CASES)
def test_each_rule_fixes_its_quirk_alone_and_strict_includes_it(rule, pred, truth, faithful, strict):
    budgets = SCALE  # in this process: a main thread, so the stage budgets may use signals
    assert grade_answer(pred, truth, budgets=budgets)[0] is faithful
    assert grade_answer(pred, truth, budgets=budgets, rules=frozenset([rule]))[0] is strict
    assert grade_answer(pred, truth, budgets=budgets, rules=STRICT)[0] is strict


def test_rules_that_need_several_fixes_only_pass_together():
    # integer guard and repetitiveness both block this sum in faithful mode; either fix alone lets sympy decide
    assert grade_answer(TWELVE_HALVES, "6", budgets=SCALE) == (False, "mismatch")
    assert grade_answer(TWELVE_HALVES, "6", budgets=SCALE, rules=STRICT) == (True, "correct_sympy")
    assert grade_answer(TWELVE_HALVES, "7", budgets=SCALE, rules=STRICT) == (False, "mismatch")


def test_modes_and_rules_are_named_and_unknown_names_fail_naming_them():
    assert mode_rules("faithful") == frozenset() and mode_rules("strict") == frozenset(STRICT_RULES)
    with pytest.raises(ValueError, match="unknown grader mode 'lenient'.*faithful, strict"):
        mode_rules("lenient")
    with pytest.raises(ValueError, match="unknown grader mode 'Strict'"):
        grade_many([("\\boxed{1}", "1")], mode="Strict")
    with pytest.raises(ValueError, match="unknown grader mode 'loose'"):
        compute_score("math500", "\\boxed{1}", "1", grader_mode="loose")
    with pytest.raises(ValueError, match=r"unknown strict grading rule\(s\) \['sci'\]"):
        grade_many([("\\boxed{1}", "1")], rules=["sci"])


def test_strict_reaches_the_workers_and_faithful_stays_the_default():
    pairs = [
        ("\\boxed{4.5 \\times 10^{33}}", "4.5e33"),
        ("so \\boxed{1,999.99999999}", "2000"),
        ("\\boxed{x+t}", "x + a"),
    ]
    default = grade_many(pairs, workers=1, budget_scale=SCALE)
    assert [r["acc"] for r in default] == [False, False, True]
    assert grade_many(pairs, workers=1, budget_scale=SCALE, mode="faithful") == default
    strict = grade_many(pairs, workers=1, budget_scale=SCALE, mode="strict")
    assert [(r["acc"], r["reason"]) for r in strict] == [
        (True, "correct_numeric"),
        (True, "correct_exact"),
        (False, "mismatch"),
    ]
    assert compute_score("minerva", pairs[0][0], "4.5e33", grader_mode="strict")["acc"] is True
    grader.close_shared_pools()


def _fixture_pairs() -> list[dict]:
    return [p for p in map(json.loads, FIXTURE.read_text(encoding="utf-8").splitlines()) if "_meta" not in p]


def _value(latex: str) -> sympy.Expr:
    """The number a LaTeX answer denotes, by latex2sympy (not by the grader), text units dropped."""
    without_units = latex.split("\\text")[0]
    return sympy.nsimplify(latex2sympy(without_units).doit(), rational=True)


def test_strict_is_sound_on_the_benchmark_derived_fixture():
    """Every fixture pair whose verdict strict changes is listed in the derived facts; each is accepted (strict
    rejects nothing faithful accepts there), none is a pair built as a wrong answer, and the answer denotes the
    ground truth's value exactly (checked by latex2sympy and sympy, outside the grader)."""
    pairs = _fixture_pairs()
    responses = [(p["response"], p["ground_truth"]) for p in pairs]
    faithful = grade_many(responses, workers=2, budget_scale=SCALE, mode="faithful")
    strict = grade_many(responses, workers=2, budget_scale=SCALE, mode="strict")
    grader.close_shared_pools()
    assert [r["score"] for r in faithful] == [p["verdicts"]["sept"] for p in pairs]  # faithful: unchanged
    changed = {p["id"]: (p, s["acc"]) for p, f, s in zip(pairs, faithful, strict) if f["acc"] != s["acc"]}
    facts = {fact["id"]: fact for fact in map(json.loads, STRICT_ONLY.read_text(encoding="utf-8").splitlines())}
    assert set(changed) == set(facts)
    for pair_id, (pair, accepted) in changed.items():
        fact = facts[pair_id]
        assert accepted and not pair["category"].endswith("_wrong"), pair
        assert (last_boxed(pair["response"]), pair["ground_truth"]) == (fact["pred"], fact["ground_truth"])
        value = sympy.Rational(fact["value"])
        assert _value(fact["pred"]) == value and sympy.Rational(fact["ground_truth"]) == value, fact
