"""Math answer grader giving the verdicts of the SePT authors' ``entropy_math`` grader (run with ``fast=False``).

Reference: ``sept/verl/utils/reward_score/entropy_math/__init__.py`` in github.com/ElementQi/SePT (commit 0db9b6dd),
the same rules as verl's ``recipe/entropy/reward_score/entropy_math`` (volcengine/verl, last at 8542554b). This
file is an independent implementation of those rules; ``tests/fixtures/eval/grader_pairs.jsonl`` stores the
reference's own verdicts on 200+ benchmark-derived pairs and the tests check that every one is reproduced.

Pipeline for one (response, ground truth) pair; the first stage that says "equal" decides:

0. ``pred`` = content of the *last* ``\\boxed{...}`` of the response (brace-balanced); none -> score 0.
   A ground truth that itself contains ``\\boxed`` is replaced by its last boxed content.
1. exact: the Hendrycks-MATH normalisation (units, ``\\text{}``, ``\\dfrac``, ``a/b``, ``x=`` prefix...) of both
   sides is equal, or the PRM800K-style normalisation (``_normalize``) is equal.
2. sympy: both normalised strings are split into tuple/interval elements; each element pair must be equal:
   two plain fractions by string, integer vs non-integer never, otherwise ``simplify(gt - pred) == 0``.
3. math_verify: ``verify(parse($gt$), parse($pred$))`` (math-verify 0.9.0).

Two modes (``GRADER_MODES``): ``faithful``, the default, keeps the quirks below on purpose, because they decide
the paper's numbers; ``strict`` fixes them, one named rule per fix (``STRICT_RULES``; docs/grader.md has the
pairs each rule changes). Quirks of the faithful mode:

* ``4.5e33`` (58 Minerva answers) is read by math_verify as ``4.5*e*33`` and by the sympy stage as an
  integer; only a prediction written ``4.5e33`` (or normalising to the same string) is graded correct,
  ``4.5 \\times 10^{33}`` is not.
* The sympy stage refuses exponents with two or more digits (``10^{33}``), ``^{``, ``^(`` and expressions with
  more than two distinct letters; a ground-truth integer only matches an integer-valued prediction; two
  fractions ``a/b`` only match as identical strings there (``2/4`` vs ``1/2`` then passes via math_verify).
* A near-integer with thousands commas is truncated, not rounded: ``1,999.99999999`` normalises to ``1999``
  (without commas it is rounded first: ``2.99999999`` -> ``3``).
* The unit word list keeps the reference typo ``m sqaure`` (verl later fixed it to ``m square``) and its
  duplicates, applied twice in order; single letters ``a t h c o l s d g m`` are unit words, so the
  Hendrycks normalisation turns ``x + a`` and ``x+t`` into ``x+`` (so these two are "equal") and ``3 t``
  into ``3``.
* math_verify runs with ``extraction_mode=["first_match"]`` in the reference: a list never equals the
  string ``"first_match"``, so it behaves as ``"any_match"``; we pass ``"any_match"``.
* The reference's ``given_answer.replace("\\n", "")`` discards its result: newlines are not removed before
  math_verify.
* Answers longer than 128 characters whose suffix-LCP repetitiveness exceeds 0.2 are never accepted by the
  math_verify stage.
* Stage time budgets match the reference: 5 s per sympy element comparison, 1 s for the math_verify
  pre-check and 1 s for each math_verify parse/compare; a stage that runs out says "not equal".

Deliberate differences (none changes a verdict on the fixture or on 34,000 fuzzed benchmark pairs, except
one pair whose math_verify parse takes ~1 s, where the reference itself flips with machine load):

* a pair that the reference would grade forever (e.g. ``99999999!`` is computed in C, where no signal can
  interrupt it) gets ``timeout`` after the per-item deadline; a worker is capped at 4 GiB of address space
  (``SEPT_GRADER_MEMORY_MB``), so an expansion needing more is "not equal" instead of exhausting the machine;
* normalisations are memoised, so are worker verdicts that no time limit decided (bounded, reused across
  calls), and two different plain numbers (integers, short decimals) skip sympy and math_verify (both
  provably say "not equal"): speed only.

Threads: the reference times stages with ``signal.alarm``, which raises in any non-main thread, so under
verl's threaded reward loop its correct answers silently score 0. Here every non-trivial comparison runs in
a worker *process* (``python <this file>`` over pipes, JSON lines); stage budgets use signals only inside the
worker's main thread, and the caller enforces a per-item deadline by killing and restarting the worker. A
pathological pair costs at most that deadline, gets reason ``timeout`` and is counted in ``grader_stats()``.

Entry points (each takes the mode): ``compute_score`` (verl custom reward function; ``grader_mode`` comes from
``reward_kwargs``), ``grade_many`` (batch, deduplicated),
``grade_answer`` (the in-process pipeline on an extracted answer), ``last_boxed``, ``answer_key``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import logging
import math
import os
import queue
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import sympy
from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
from pylatexenc.latex2text import LatexNodes2Text
from sympy.parsing import sympy_parser

_log = logging.getLogger(__name__)

REASONS_CORRECT = ("correct_exact", "correct_numeric", "correct_sympy", "correct_math_verify")
REASONS_WRONG = ("no_boxed", "invalid_ground_truth", "mismatch", "timeout", "error")

DEFAULT_TIMEOUT_S = float(os.environ.get("SEPT_GRADER_TIMEOUT", "30"))
# Multiplies the reference's stage budgets (1.0 = identical); raise it only to make verdicts robust to a
# heavily loaded machine, where the reference itself would time out more often.
DEFAULT_BUDGET_SCALE = float(os.environ.get("SEPT_GRADER_BUDGET_SCALE", "1"))
# Per process that grades (each verl reward worker has its own pool); most answers never reach a worker.
DEFAULT_WORKERS = int(os.environ.get("SEPT_GRADER_WORKERS", str(min(2, os.cpu_count() or 1))))
# Longer answers skip the in-process exact path: their regex/latex normalisation cost is not bounded,
# so they go to a worker whose deadline bounds it.
INLINE_MAX_CHARS = 512

# A worker's start-up (imports, parser warm-up: ~1 s of CPU) costs about as much as grading 100 answers, so
# grade_many starts one worker per this many answers waiting for one, up to ``workers``.
ANSWERS_PER_WORKER = 50

SYMPY_BUDGET_S = 5.0
MATH_VERIFY_PRECHECK_BUDGET_S = 1.0
MATH_VERIFY_OP_TIMEOUT_S = 1

# --------------------------------------------------------------------------------------------------------------
# Grading modes: ``faithful`` (the reference's verdicts, quirks included) and ``strict`` (every rule below on).
# Each rule fixes one quirk of the reference on purpose; docs/grader.md lists them with the pairs they change.

STRICT_RULES = {
    "sci_notation": "numbers in e-notation and in LaTeX scientific notation are compared by exact decimal value "
    "(4.5e33 = 4.5 \\times 10^{33}; math_verify reads 4.5e33 as 4.5*e*33)",
    "comma_rounding": "a near-integer with thousands commas is rounded like one without (1,999.99999999 -> 2000, "
    "not 1999)",
    "unit_letters": "single letters are unit words only right after a number (5 m), never variables (x + a is not "
    "x + t); the unit list's typo 'm sqaure' reads 'm square'",
    "integer_guard": "the sympy stage also compares an integer ground truth with a non-integer expression",
    "repetitive_answers": "answers over 128 characters that repeat themselves (large matrices, long tuples) still "
    "reach math_verify",
}
GRADER_MODES = {"faithful": frozenset(), "strict": frozenset(STRICT_RULES)}
DEFAULT_MODE = "faithful"


def mode_rules(mode: str) -> frozenset[str]:
    """The strict rules a grading mode applies; an unknown mode is an error naming it."""
    rules = GRADER_MODES.get(mode) if isinstance(mode, str) else None
    if rules is None:
        raise ValueError(f"unknown grader mode {mode!r}: use one of {', '.join(GRADER_MODES)} (default faithful)")
    return rules


def check_rules(rules: Iterable[str]) -> frozenset[str]:
    """``rules`` as a frozenset, each a name of ``STRICT_RULES``."""
    rules = frozenset(rules)
    unknown = sorted(rules - set(STRICT_RULES))
    if unknown:
        raise ValueError(f"unknown strict grading rule(s) {unknown}: known are {', '.join(STRICT_RULES)}")
    return rules


# --------------------------------------------------------------------------------------------------------------
# Answer extraction


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` in ``text``, or None.

    Only the last ``\\boxed`` counts. Braces are counted from there; the box ends at the first ``}`` that brings
    the depth back to zero. ``\\boxed 5`` (no brace right after ``\\boxed``) or an unclosed box gives None.
    """
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    depth = 0
    for brace in re.finditer(r"[{}]", text[start:]):
        depth += 1 if brace.group() == "{" else -1
        if brace.group() == "}" and depth == 0:
            box = text[start : start + brace.end()]
            return box[len("\\boxed{") : -1] if box.startswith("\\boxed{") else None
    return None


# --------------------------------------------------------------------------------------------------------------
# Stage 1a: Hendrycks MATH normalisation (with the MathQA unit words)

# Order matters: each word is removed in turn (twice over the whole list), duplicates included.
_MATHQA_UNITS = (
    "east", "degree", "mph", "kmph", "ft", "m sqaure", " m east", "sq m", "deg", "mile", "q .", "monkey",
    "prime", "ratio", "profit of rs", "rd", "o", "gm", "p . m", "lb", "tile", "per", "dm", "lt", "gain", "ab",
    "way", "west", "a .", "b .", "c .", "d .", "e .", "f .", "g .", "h .", "t", "a", "h", "no change", "men",
    "soldier", "pie", "bc", "excess", "st", "inches", "noon", "percent", "by", "gal", "kmh", "c", "acre", "rise",
    "a . m", "th", "π r 2", "sq", "mark", "l", "toy", "coin", "sq . m", "gallon", "° f", "profit", "minw", "yr",
    "women", "feet", "am", "pm", "hr", "cu cm", "square", "v â € ™", "are", "rupee", "rounds", "cubic", "cc",
    "mtr", "s", "ohm", "number", "kmph", "day", "hour", "minute", "min", "second", "man", "woman", "sec", "cube",
    "mt", "sq inch", "mp", "∏ cm ³", "hectare", "more", "sec", "unit", "cu . m", "cm 2", "rs .", "rs", "kg", "g",
    "month", "km", "m", "cm", "mm", "apple", "liter", "loss", "yard", "pure", "year", "increase", "decrease", "d",
    "less", "Surface", "litre", "pi sq m", "s .", "metre", "meter", "inch",
)  # fmt: skip
# The words are regex sources, as in the reference ("q ." matches "q" + space + any character).
_UNIT_WORDS = _MATHQA_UNITS + tuple(word + "s" for word in _MATHQA_UNITS)
# (literal or None, pattern): a word without regex metacharacters cannot match unless it occurs literally,
# which lets most of the 528 substitutions per string be skipped with a substring test.
_UNIT_WORD_RES = [
    (None if re.search(r"[.^$*+?{}\[\]\\|()]", word) else word, re.compile(r"(^|\W)" + word + r"($|\W)"))
    for word in _UNIT_WORDS
]


def _strict_unit_word_re(word: str, faithful: re.Pattern) -> tuple[str | None, re.Pattern]:
    """Rule unit_letters: a single letter (or one of "a .", "b ."...) is a unit word only after a number and a
    space ("5 m"), so strict removes a subset of what faithful removes; the typo "m sqaure" reads "m square"."""
    if word == "m sqaure":
        return "m square", re.compile(r"(^|\W)m square($|\W)")
    if re.fullmatch(r"[a-z]( \.)?", word):
        return (word if len(word) == 1 else None), re.compile(r"(\d(?:\s|\\,|~)+)" + word + r"($|\W)")
    return (None if re.search(r"[.^$*+?{}\[\]\\|()]", word) else word), faithful


_UNIT_WORD_RES_STRICT = [_strict_unit_word_re(word, word_re) for word, (_, word_re) in zip(_UNIT_WORDS, _UNIT_WORD_RES)]
_TEXT_WRAPPED = re.compile(r"^\\text\{(?P<text>.+?)\}$")


class _Unnormalisable(Exception):
    """The reference's normalisation crashes on this string (e.g. a trailing ``\\sqrt``): it keeps it raw."""


@functools.lru_cache(maxsize=1 << 16)
def _mathd_normalize(answer: str, unit_letters: bool = False) -> str:
    """Hendrycks' ``mathd`` answer normalisation; on a string its rules cannot handle, the stripped input.
    ``unit_letters``: the strict rule of that name."""
    answer = answer.strip()
    wrapped = _TEXT_WRAPPED.search(answer)
    if wrapped is not None:
        answer = wrapped.group("text").strip()
    try:
        return _hendrycks_strip(answer, unit_letters)
    except _Unnormalisable:
        return answer


def _hendrycks_strip(s: str, unit_letters: bool) -> str:
    s = s.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    s = re.sub(r"\\begin\{array\}\{.*?\}", r"\\begin{pmatrix}", s)
    s = re.sub(r"\\end\{array\}", r"\\end{pmatrix}", s).replace("bmatrix", "pmatrix")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\neq", "\\ne").replace("\\leq", "\\le").replace("\\geq", "\\ge")
    s = s.replace("\\left", "").replace("\\right", "")
    without_text_tail = re.sub(r"\\text{.*?}$", "", s).strip()
    if without_text_tail not in ("", s):
        s = without_text_tail
    s = _drop_unit_words(s, _UNIT_WORD_RES_STRICT if unit_letters else _UNIT_WORD_RES)
    s = s.replace("^{\\circ}", "").replace("^\\circ", "").replace("\\$", "")
    if "\\text{ " in s:  # "\text{ " introduces a unit; two of them is more than the rules handle
        parts = s.split("\\text{ ")
        if len(parts) != 2:
            raise _Unnormalisable
        s = parts[0]
    s = s.replace("\\%", "").replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:  # "k = 5" -> "5"
        s = sides[1]
    s = _brace_sqrt_argument(s).replace(" ", "")
    s = _brace_frac_arguments(s)
    if s == "0.5":
        return "\\frac{1}{2}"
    return _slash_to_frac(s)


def _drop_unit_words(s: str, unit_word_res: list[tuple[str | None, re.Pattern]]) -> str:
    for _ in range(2):
        for literal, word_re in unit_word_res:
            if literal is not None and literal not in s:
                continue
            dropped = word_re.sub(r"\1\2", s)
            if dropped:
                s = dropped
    return s


def _brace_sqrt_argument(s: str) -> str:
    """``\\sqrt3`` -> ``\\sqrt{3}`` (one character)."""
    head, *rest = s.split("\\sqrt")
    for piece in rest:
        if not piece:
            raise _Unnormalisable
        head += "\\sqrt" + (piece if piece[0] == "{" else "{" + piece[0] + "}" + piece[1:])
    return head


def _brace_frac_arguments(s: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1{72}`` -> ``\\frac{1}{72}``; a one-character tail: unchanged."""
    head, *rest = s.split("\\frac")
    for piece in rest:
        if not piece:
            raise _Unnormalisable
        head += "\\frac"
        if piece[0] == "{":
            head += piece
        elif len(piece) < 2:
            return s
        elif piece[1] != "{":
            head += "{" + piece[0] + "}{" + piece[1] + "}" + piece[2:]
        else:
            head += "{" + piece[0] + "}" + piece[1:]
    return head


def _slash_to_frac(s: str) -> str:
    """``3/4`` -> ``\\frac{3}{4}`` when both sides are plain integers written canonically."""
    parts = s.split("/")
    if len(parts) != 2:
        return s
    try:
        num, den = int(parts[0]), int(parts[1])
    except ValueError:
        return s
    return f"\\frac{{{num}}}{{{den}}}" if s == f"{num}/{den}" else s


# --------------------------------------------------------------------------------------------------------------
# Stage 1b: PRM800K-style normalisation (also the input of the sympy stage)

_LENGTH_UNITS = (
    "degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour", "day", "week", "month", "year",
    "foot", "feet", "inch", "yard",
)  # fmt: skip
_LENGTH_UNIT_RES = [re.compile(unit + r"(es)?(s)? *(\^[0-9]+)?") for unit in _LENGTH_UNITS]
_THOUSANDS_COMMA = re.compile(r"(\d)(,)(\d\d\d)($|\D)")
_latex_to_text = LatexNodes2Text()


@functools.lru_cache(maxsize=1 << 16)
def _normalize(expr: str, comma_rounding: bool = False) -> str:
    """PRM800K answer normalisation: units and ``$``/``%`` dropped, LaTeX to text, spaces/braces gone, lower case.
    ``comma_rounding``: the strict rule of that name."""
    wrapped = _TEXT_WRAPPED.search(expr)
    if wrapped is not None:
        expr = wrapped.group("text")
    expr = expr.replace("\\%", "%").replace("\\$", "$").replace("$", "").replace("%", "")
    expr = expr.replace(" or ", " , ").replace(" and ", " , ")
    expr = expr.replace("million", "*10^6").replace("billion", "*10^9").replace("trillion", "*10^12")
    for unit_re in _LENGTH_UNIT_RES:
        expr = unit_re.sub("", expr)
    expr = re.sub(r"\^ *\\circ", "", expr)
    if expr[:1] == "{" and expr[-1:] == "}":
        expr = expr[1:-1]
    expr = re.sub(r",\\! *", "", expr)
    if _float_or_none(expr) is not None and _near_int(float(expr)):
        expr = str(int(round(float(expr))))
    if "\\" in expr:
        with contextlib.suppress(Exception):  # pylatexenc gives up on some inputs; the reference keeps the raw text
            expr = _latex_as_text(expr)
    expr = re.sub("- *", "-", expr)
    expr = re.sub("([0-9]) +([0-9])", "\\1+\\2", expr)  # mixed number "7 3/4" -> "7+3/4"
    expr = expr.replace(" ", "").replace("{", "").replace("}", "").lower()
    if _str_is_int(expr):
        value = float(expr.replace(",", ""))
        expr = str(int(round(value)) if comma_rounding else int(value))  # int() truncates, as in the reference
    return expr


def _latex_as_text(expr: str) -> str:
    expr = expr.replace("\\tfrac", "\\frac").replace("\\dfrac", "\\frac").replace("\\frac", " \\frac")
    expr = _latex_to_text.latex_to_text(expr)
    for symbol, word in (("√", "sqrt"), ("π", "pi"), ("∞", "inf"), ("∪", "U"), ("·", "*"), ("×", "*")):
        expr = expr.replace(symbol, word)
    return expr.strip()


def _float_or_none(text: str) -> float | None:
    """``float(text)`` with Python's grammar (so ``1e5``, ``1_000``, ``inf``, `` 7 `` parse), else None."""
    try:
        return float(text)
    except ValueError:
        return None


def _near_int(x: float) -> bool:
    """Within 1e-7 of an integer (inf and nan are not)."""
    return math.isfinite(x) and abs(x - int(round(x))) <= 1e-7


def _strip_thousands_commas(expr: str) -> str:
    while True:
        stripped = _THOUSANDS_COMMA.sub("\\1\\3\\4", expr)
        if stripped == expr:
            return expr
        expr = stripped


def _str_is_int(text: str) -> bool:
    value = _float_or_none(_strip_thousands_commas(text))
    return value is not None and _near_int(value)


# --------------------------------------------------------------------------------------------------------------
# Stage 2: element-wise sympy equality

_TUPLE_CHARS = "()[]"
_FRACTION = re.compile(r"^-?[0-9]+.?/0*[1-9][0-9]*.?$")
# sympy can hang on these; the reference refuses to evaluate them
_SYMPY_REFUSED_SUBSTRINGS = ("^{", "^(")
_SYMPY_REFUSED_RES = (re.compile(r"\^[0-9]+\^"), re.compile(r"\^[0-9][0-9]+"))
_SYMPY_TRANSFORMS = sympy_parser.standard_transformations + (sympy_parser.implicit_multiplication_application,)


def _split_elements(expr: str) -> list[str]:
    """Elements of a flat tuple/interval ``(a,b)``/``[a,b)``; anything else is one element."""
    expr = _strip_thousands_commas(expr)
    if not expr:
        return []
    inner = expr[1:-1]
    if (
        len(expr) > 2
        and expr[0] in _TUPLE_CHARS
        and expr[-1] in _TUPLE_CHARS
        and not any(c in inner for c in _TUPLE_CHARS)
    ):
        return [element.strip() for element in inner.split(",")]
    return [expr]


def _sympy_stage(pred_norm: str, truth_norm: str, budgets: float | None, rules: frozenset[str] = frozenset()) -> bool:
    """Equal element by element; ``*_norm`` are ``_normalize`` outputs already known to differ."""
    if not pred_norm:
        return False
    truth_elems, pred_elems = _split_elements(truth_norm), _split_elements(pred_norm)
    if len(truth_elems) > 1 and (truth_norm[0] != pred_norm[0] or truth_norm[-1] != pred_norm[-1]):
        return False  # "(1,2)" never matches "[1,2]"
    if len(truth_elems) != len(pred_elems):
        return False
    for truth_elem, pred_elem in zip(truth_elems, pred_elems):
        if _FRACTION.search(truth_elem) and _FRACTION.search(pred_elem):
            equal = truth_elem == pred_elem  # unreduced fractions must not pass via simplify
        elif "integer_guard" not in rules and _str_is_int(truth_elem) != _str_is_int(pred_elem):
            equal = False
        else:
            equal = _sympy_difference_is_zero(truth_elem, pred_elem, budgets)
        if not equal:
            return False
    return True


def _sympy_difference_is_zero(truth: str, pred: str, budgets: float | None) -> bool:
    expr = f"({truth})-({pred})"
    if not _sympy_may_evaluate(expr):
        return False
    try:
        with _stage_budget(SYMPY_BUDGET_S * budgets if budgets else None):
            diff = sympy_parser.parse_expr(expr.replace("^", "**"), transformations=_SYMPY_TRANSFORMS)
            return sympy.simplify(diff) == 0
    except (Exception, _StageTimeout):  # unparsable or too slow: "not equal", as in the reference
        return False


def _sympy_may_evaluate(expr: str) -> bool:
    letters = {c for c in expr.replace("sqrt", "").replace("frac", "") if c.isalpha()}
    if len(letters) > 2:
        return False
    if any(bad in expr for bad in _SYMPY_REFUSED_SUBSTRINGS):
        return False
    return not any(bad.search(expr) for bad in _SYMPY_REFUSED_RES)


# --------------------------------------------------------------------------------------------------------------
# Stage 3: math_verify

_MV_CONFIG = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())


def _math_verify_stage(pred: str, truth: str, budgets: float | None, rules: frozenset[str] = frozenset()) -> bool:
    if "repetitive_answers" not in rules and _too_repetitive(pred, truth, budgets):
        return False
    # math_verify's own timeouts use signal.alarm, which takes whole seconds
    op_timeout = max(1, round(MATH_VERIFY_OP_TIMEOUT_S * budgets)) if budgets else None
    try:
        gold = parse(_dollar_wrap(truth), _MV_CONFIG, "no_fallback", "any_match", parsing_timeout=op_timeout)
        target = parse(_dollar_wrap(pred), _MV_CONFIG, "no_fallback", "any_match", parsing_timeout=op_timeout)
        return bool(verify(gold, target, timeout_seconds=op_timeout))
    except Exception:
        return False


def _too_repetitive(pred: str, truth: str, budgets: float | None) -> bool:
    """The reference's pre-check: a side over 128 characters that repeats itself (or a check past its budget)."""
    try:
        with _stage_budget(MATH_VERIFY_PRECHECK_BUDGET_S * budgets if budgets else None):
            return (len(pred) > 128 and _is_repetitive(pred)) or (len(truth) > 128 and _is_repetitive(truth))
    except _StageTimeout:
        return True


def _dollar_wrap(text: str) -> str:
    return text if "$" in text else f"${text}$"


def _is_repetitive(text: str) -> bool:
    """Mean suffix-LCP density above 0.2: 2 * sum(LCP of adjacent sorted suffixes) / (n (n+1)) > 0.2.

    sum(LCP) = (number of substring occurrences) - (number of distinct substrings) = n(n+1)/2 - D, and D is
    counted with a suffix automaton in O(n).
    """
    n = len(text)
    lcp_sum = n * (n + 1) // 2 - _distinct_substrings(text)
    return lcp_sum * 2 / (n * (n + 1)) > 0.2


def _distinct_substrings(text: str) -> int:
    """Number of distinct non-empty substrings: sum over suffix-automaton states of len(state) - len(link)."""
    length, link, edges = [0], [-1], [{}]
    last = 0
    for ch in text:
        cur = len(length)
        length.append(length[last] + 1), link.append(-1), edges.append({})
        p = last
        while p != -1 and ch not in edges[p]:
            edges[p][ch] = cur
            p = link[p]
        if p == -1:
            link[cur] = 0
        else:
            q = edges[p][ch]
            if length[p] + 1 == length[q]:
                link[cur] = q
            else:
                clone = len(length)
                length.append(length[p] + 1), link.append(link[q]), edges.append(dict(edges[q]))
                while p != -1 and edges[p].get(ch) == q:
                    edges[p][ch] = clone
                    p = link[p]
                link[q] = link[cur] = clone
        last = cur
    return sum(length[s] - length[link[s]] for s in range(1, len(length)))


# --------------------------------------------------------------------------------------------------------------
# Stage budgets (only inside a worker process's main thread)


class _StageTimeout(BaseException):
    """A stage ran past its budget (a BaseException so library ``except Exception`` blocks cannot hide it)."""


_stage_timeouts = 0  # per worker process; reported back with each verdict


@contextlib.contextmanager
def _stage_budget(seconds: float | None) -> Iterator[None]:
    """Raise ``_StageTimeout`` in the block after ``seconds`` (None: no budget). Main thread only."""
    if seconds is None:
        yield
        return

    def _expire(signum, frame):
        global _stage_timeouts
        _stage_timeouts += 1
        raise _StageTimeout

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------------------------------------------
# The pipeline on an extracted answer


def _resolve_truth(truth: str) -> str | None:
    """A ground truth containing ``\\boxed`` is replaced by its last boxed content (None if malformed)."""
    return last_boxed(truth) if "\\boxed" in truth else truth


def cheap_verdict(pred: str, truth: str, rules: frozenset[str] = frozenset()) -> tuple[bool, str] | None:
    """The verdict when string work alone settles it, else None (sympy/math_verify must decide).

    Settled: a malformed boxed ground truth (``invalid_ground_truth``), equal normalised strings
    (``correct_exact``), equal scientific-notation values under rule sci_notation (``correct_numeric``), two
    different plain numbers (``mismatch``, see ``_distinct_plain_numbers``; true in every mode).
    """
    resolved = _resolve_truth(truth)
    if resolved is None:
        return False, "invalid_ground_truth"
    unit_letters, comma_rounding = "unit_letters" in rules, "comma_rounding" in rules
    pred_mathd, truth_mathd = _mathd_normalize(pred, unit_letters), _mathd_normalize(resolved, unit_letters)
    if pred_mathd == truth_mathd or _normalize(pred, comma_rounding) == _normalize(resolved, comma_rounding):
        return True, "correct_exact"
    if "sci_notation" in rules and _same_scientific_value(pred_mathd, truth_mathd):
        return True, "correct_numeric"
    if _distinct_plain_numbers(pred, resolved):
        return False, "mismatch"
    return None


def grade_answer(
    pred: str, truth: str, *, budgets: float | None = None, rules: frozenset[str] = frozenset()
) -> tuple[bool, str]:
    """Grade an extracted answer in this process: ``(acc, reason)``; ``rules``: the strict rules to apply
    (none: the faithful verdict; ``mode_rules("strict")``: the strict one).

    ``budgets`` applies the reference's per-stage time limits times this factor (1.0 = the reference's) with
    SIGALRM; only the worker processes do that (signals work only in a main thread, and would clobber a host's
    own alarm, e.g. pytest-timeout's). Without budgets (None) a pathological input can take unbounded time:
    use ``compute_score``/``grade_many``.
    """
    decided = cheap_verdict(pred, truth, rules)
    if decided is not None:
        return decided
    resolved = _resolve_truth(truth)
    comma_rounding = "comma_rounding" in rules
    if _sympy_stage(_normalize(pred, comma_rounding), _normalize(resolved, comma_rounding), budgets, rules):
        return True, "correct_sympy"
    if _math_verify_stage(pred, resolved, budgets, rules):
        return True, "correct_math_verify"
    return False, "mismatch"


# Rule sci_notation: a (signed) decimal mantissa with an optional exponent written 1e5, 1\times10^{5},
# 1\cdot10^5, or a bare power of ten 10^{-5}; on the Hendrycks-normalised string (spaces and text units gone).
# Exponents of up to 4 digits keep Decimal's arithmetic exact and cheap.
_SCIENTIFIC = re.compile(
    r"(?P<mantissa>-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:[eE](?P<e>[+-]?[0-9]{1,4})|(?:\\times|\\cdot|\*|×)10\^(?:\{(?P<braced>[+-]?[0-9]{1,4})\}|(?P<digit>[0-9])))?"
    r"|(?P<sign>-?)10\^(?:\{(?P<power_braced>[+-]?[0-9]{1,4})\}|(?P<power_digit>[0-9]))"
)


def _scientific_value(text: str) -> Decimal | None:
    """The exact value of ``text`` if it is a number in plain, e- or LaTeX scientific notation, else None."""
    match = _SCIENTIFIC.fullmatch(text)
    if match is None:
        return None
    if match["mantissa"] is None:
        return Decimal(f"{match['sign']}1e{match['power_braced'] or match['power_digit']}")
    exponent = match["e"] or match["braced"] or match["digit"] or "0"
    return Decimal(f"{match['mantissa']}e{exponent}")


def _same_scientific_value(pred: str, truth: str) -> bool:
    """Both numbers (``_scientific_value``), at least one with an exponent, and of equal value."""
    pred_value, truth_value = _scientific_value(pred), _scientific_value(truth)
    if pred_value is None or truth_value is None:
        return False
    has_exponent = any(_PLAIN_DECIMAL.fullmatch(side) is None for side in (pred, truth))
    return has_exponent and pred_value == truth_value


_PLAIN_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


# Integers of up to 12 digits, or decimals below 1e9 with up to 4 decimals: two different values are at least
# 1e-4 apart, far above math_verify's 6-decimal rounding and the float error of such magnitudes.
_PLAIN_NUMBER = re.compile(r"-?[0-9]{1,12}|-?(?:0|[1-9][0-9]{0,8})\.[0-9]{1,4}")


def _distinct_plain_numbers(pred: str, truth: str) -> bool:
    """Both plain numbers (``_PLAIN_NUMBER``) of different value: every later stage says "not equal".

    The exact stage has already failed. The sympy stage then sees an integer against a non-integer (never
    equal there) or two numbers whose difference is a non-zero Integer/Float; math_verify parses two numbers
    that differ after rounding to 6 decimals, and two different strings. Skipping both stages is the biggest
    saving on wrong numeric answers. Checked against the reference on 2,428 integer pairs (x100, /100, x60,
    x3600, x180, negations, up to 12 digits) and ~34,000 decimal pairs (neighbours 1e-4 apart, x10, /10,
    swapped digits, sign flips, integer vs decimal, up to 1e9): no pair the reference grades correct.
    """
    return bool(_PLAIN_NUMBER.fullmatch(pred) and _PLAIN_NUMBER.fullmatch(truth)) and Decimal(pred) != Decimal(truth)


def answer_key(pred: str | None) -> str | None:
    """Canonical form of an extracted answer for majority voting (Hendrycks normalisation)."""
    return None if pred is None else _mathd_normalize(pred)


# --------------------------------------------------------------------------------------------------------------
# Worker processes


class _WorkerDied(Exception):
    pass


_WORKER_BOOT = "import runpy, sys; sys.path.pop(0); runpy.run_path(sys.argv[1], run_name='__sept_grader_worker__')"
_WORKER_START_TIMEOUT_S = 300.0  # importing sympy and math_verify on a loaded machine


class _Worker:
    """One grading process speaking JSON lines: ``{"truth","preds"}`` in, one ``{"acc","reason",...}`` out per
    answer, in order. A whole job goes in one message, so the worker never waits for the next question."""

    def __init__(self, budget_scale: float) -> None:
        self.budget_scale = budget_scale
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER_BOOT, os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            env={**os.environ, "SEPT_GRADER_BUDGET_SCALE": repr(budget_scale)},
        )
        self._buffer = b""
        self._ready = False

    def wait_ready(self) -> None:
        if not self._ready:
            hello = self._read_line(_WORKER_START_TIMEOUT_S)
            if hello is None or not hello.get("ready"):
                self.kill()
                raise RuntimeError(f"grader worker did not start (pid {self.proc.pid}, said {hello!r})")
            self._ready = True

    def send(self, truth: str, preds: Sequence[str], rules: frozenset[str]) -> None:
        """Ask for verdicts of ``preds`` against ``truth`` under ``rules`` (the worker is idle, so it reads this
        at once)."""
        self.wait_ready()
        job = {"truth": truth, "preds": list(preds), "rules": sorted(rules)}
        self.proc.stdin.write((json.dumps(job) + "\n").encode())

    def receive(self, timeout: float) -> dict | None:
        """The next verdict, or None if it took longer than ``timeout`` seconds (the worker is then killed)."""
        reply = self._read_line(timeout)
        if reply is None:
            self.kill()
        return reply

    def _read_line(self, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise _WorkerDied(f"grader worker {self.proc.pid} exited with status {self.proc.poll()}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                pipe.close()


# Answers of common shapes (fractions, roots, tuples, intervals, sets, matrices, powers, functions, text).
_WARM_UP = (
    ("\\frac{1}{2}", "0.5"),
    ("\\dfrac{3\\sqrt{3}}{4}", "\\frac{3}{4}\\sqrt 3"),
    ("(3, \\frac{\\pi}{2})", "\\left( 3, \\pi/2 \\right)"),
    ("(-\\infty, 2) \\cup (3, \\infty)", "(-\\infty,2]"),
    ("\\{1, 2\\}", "\\{2,1\\}"),
    ("x^2+2x+1", "(x+1)^2"),
    ("\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}"),
    ("2^{-2/3}, 8", "8, 2^{-2 / 3}"),
    ("f(x)=x+1", "f(x)=2 x"),
    ("\\sin x \\cdot e^{-t}", "\\cos (2 t)"),
    ("4.5 \\times 10^{33}", "4.5e33"),
    ("\\text{(C)}", "\\text{(E)}"),
    ("1 \\pm \\sqrt{19}", "90^\\circ"),
)
WORKER_MEMORY_MB = int(os.environ.get("SEPT_GRADER_MEMORY_MB", "4096"))


def _limit_memory() -> None:
    """Cap a worker's address space: a runaway sympy expansion raises MemoryError ("not equal") instead of
    exhausting the machine's memory before its deadline kills it."""
    import resource

    cap = WORKER_MEMORY_MB * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


class _LibraryTimeouts(logging.Handler):
    """Counts math_verify's own parse/compare budgets running out (it logs a warning and says "not equal")."""

    def emit(self, record: logging.LogRecord) -> None:
        global _stage_timeouts
        if record.getMessage().startswith("Timeout during"):
            _stage_timeouts += 1


def _serve() -> None:
    """Worker main loop (runs in the worker's main thread, so the stage budgets may use SIGALRM)."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints from libraries go to stderr, never into the protocol stream
    sys.stdout = sys.stderr
    logging.getLogger("pylatexenc").setLevel(logging.ERROR)  # per-answer parse complaints, not grading problems
    logging.getLogger("math_verify").addHandler(_LibraryTimeouts())
    _limit_memory()
    scale = float(os.environ.get("SEPT_GRADER_BUDGET_SCALE", "1"))
    for pred, truth in _WARM_UP:  # antlr builds its parse tables lazily: the first parses are 5-10x slower
        grade_answer(pred, truth, budgets=scale)
    protocol.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        job = json.loads(line)
        rules = frozenset(job["rules"])
        for pred in job["preds"]:  # one line each, flushed, so the caller times every answer
            protocol.write(json.dumps(_reply(pred, job["truth"], scale, rules)) + "\n")


def _reply(pred: str, truth: str, scale: float, rules: frozenset[str]) -> dict:
    before = _stage_timeouts
    try:
        acc, reason = grade_answer(pred, truth, budgets=scale, rules=rules)
        reply = {"acc": acc, "reason": reason}
    except Exception as exc:  # the reference scores any crash 0; say why
        reply = {"acc": False, "reason": "error", "detail": f"{type(exc).__name__}: {exc}"[:500]}
    reply["stage_timeouts"] = _stage_timeouts - before
    return reply


class GraderPool:
    """Up to ``workers`` grading processes, started when first needed and kept; thread-safe; each item is
    bounded by ``timeout`` seconds."""

    def __init__(
        self,
        workers: int = DEFAULT_WORKERS,
        timeout: float = DEFAULT_TIMEOUT_S,
        budget_scale: float = DEFAULT_BUDGET_SCALE,
    ) -> None:
        if workers < 1:
            raise ValueError(f"GraderPool needs at least 1 worker, got workers={workers}")
        if not timeout > 0:
            raise ValueError(f"GraderPool timeout must be > 0 seconds, got {timeout}")
        if not budget_scale > 0:
            raise ValueError(
                f"GraderPool budget_scale must be > 0 (1.0 = the reference's stage budgets), got {budget_scale}"
            )
        self.timeout = timeout
        self.budget_scale = budget_scale
        self.size = workers
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()

    def prestart(self, count: int) -> None:
        """Start workers until ``min(count, size)`` exist. They import in the background (~1-2 s), so a caller
        that starts them as soon as it knows it needs them keeps working meanwhile."""
        with self._lock:
            while len(self._all) < min(count, self.size):
                worker = _Worker(self.budget_scale)
                self._all.append(worker)
                self._idle.put(worker)

    def wait_ready(self) -> None:
        """Start every worker and block until each has imported its libraries."""
        self.prestart(self.size)
        with self._lock:
            workers = list(self._all)
        for worker in workers:
            worker.wait_ready()

    def grade(self, pred: str, truth: str, rules: frozenset[str] = frozenset()) -> tuple[bool, str]:
        return self.grade_group(truth, [pred], rules)[0]

    def grade_group(
        self, truth: str, preds: Sequence[str], rules: frozenset[str] = frozenset()
    ) -> list[tuple[bool, str]]:
        """Verdicts of ``preds`` against one ground truth under the strict ``rules`` (none: faithful), all sent
        to one worker at once: no round trip per answer, and math_verify (which keeps only its last 20 parses)
        parses the truth once."""
        worker = self._checkout()
        verdicts: list[tuple[bool, str]] = []
        try:
            while len(verdicts) < len(preds):  # after a time-out or a crash the rest go to the replacement
                worker = self._run(worker, truth, preds[len(verdicts) :], rules, verdicts)
        except BaseException:  # interrupted mid-job: its late answers must not reach the next caller
            worker.kill()
            raise
        finally:  # a killed or crashed worker is replaced, so the pool never shrinks
            self._idle.put(worker if worker.proc.poll() is None else self._replace(worker))
        return verdicts

    def _checkout(self) -> _Worker:
        """An idle worker, else a new one while fewer than ``size`` exist, else the next one to come back."""
        with self._lock:
            if self._idle.empty() and len(self._all) < self.size:
                self._all.append(_Worker(self.budget_scale))
                return self._all[-1]
        return self._idle.get()

    def _run(self, worker: _Worker, truth: str, preds: Sequence[str], rules: frozenset[str], verdicts: list) -> _Worker:
        """Append verdicts of ``preds`` until done or the worker fails; each answer may take ``timeout``
        seconds from the previous verdict. Returns the worker to go on with."""
        start = len(verdicts)
        try:
            worker.send(truth, preds, rules)
            for pred in preds:
                reply = worker.receive(self.timeout)
                verdicts.append(self._verdict(reply, pred, truth, rules))
                if reply is None:  # killed at the deadline
                    break
        except (_WorkerDied, OSError, ValueError) as exc:  # crashed, or its reply was garbled
            worker.kill()
            failed = {"acc": False, "reason": "error", "detail": f"grader worker failed: {exc}"}
            verdicts.append(self._verdict(failed, preds[len(verdicts) - start], truth, rules))
        return worker if worker.proc.poll() is None else self._replace(worker)

    def _verdict(self, reply: dict | None, pred: str, truth: str, rules: frozenset[str]) -> tuple[bool, str]:
        _count("worker_answers")
        if reply is None:
            _count("worker_timeouts")
            _log.warning(
                "grading took over %.0f s; worker restarted: pred=%.200r truth=%.200r", self.timeout, pred, truth
            )
            return False, "timeout"
        _count("stage_timeouts", reply.get("stage_timeouts", 0))
        if reply["reason"] == "error":
            _log.warning("grading failed (scored 0): %s; pred=%.200r truth=%.200r", reply.get("detail"), pred, truth)
        verdict = bool(reply["acc"]), str(reply["reason"])
        if reply["reason"] != "error" and not reply.get("stage_timeouts"):  # a verdict no time limit decided
            _VERDICTS.put((pred, truth, self.budget_scale, rules), verdict)
        return verdict

    def _replace(self, dead: _Worker) -> _Worker:
        _count("worker_restarts")
        fresh = _Worker(dead.budget_scale)
        with self._lock:
            self._all[self._all.index(dead)] = fresh
        return fresh

    def close(self) -> None:
        with self._lock:
            for worker in self._all:
                worker.kill()
            self._all.clear()
            self._idle = queue.Queue()

    def __enter__(self) -> GraderPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


_VerdictKey = tuple[str, str, float, frozenset]


class _VerdictCache:
    """Worker verdicts by (pred, truth, budget scale, rules), least recently used dropped first; thread-safe."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[_VerdictKey, tuple[bool, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _VerdictKey) -> tuple[bool, str] | None:
        with self._lock:
            verdict = self._items.get(key)
            if verdict is not None:
                self._items.move_to_end(key)
            return verdict

    def put(self, key: _VerdictKey, verdict: tuple[bool, str]) -> None:
        with self._lock:
            self._items[key] = verdict
            self._items.move_to_end(key)
            if len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# Verdicts repeat across calls (validation after validation, a sweep's temperatures); ~300 bytes an entry.
_VERDICTS = _VerdictCache(1 << 16)
_STATS: Counter = Counter()
_stats_lock = threading.Lock()
_shared: dict[tuple, GraderPool] = {}
_shared_lock = threading.Lock()


def _count(key: str, amount: int = 1) -> None:
    with _stats_lock:
        _STATS[key] += amount


def grader_stats() -> dict[str, int]:
    """Counts in this process since import: each returned verdict's reason (``correct_exact``, ``timeout``...),
    ``worker_answers`` (answers a worker graded: sympy/math_verify needed), ``worker_timeouts`` (workers killed
    at the deadline), ``worker_restarts`` and ``stage_timeouts`` (reference-style stage budgets, ours or
    math_verify's, that ran out inside a worker)."""
    with _stats_lock:
        return dict(_STATS)


def shared_pool(
    workers: int | None = None, timeout: float | None = None, budget_scale: float | None = None
) -> GraderPool:
    """The process's pool for these settings (None: the ``DEFAULT_*`` ones), created on first need and kept,
    so later calls skip the workers' start-up; a forked child gets pools of its own."""
    workers = DEFAULT_WORKERS if workers is None else workers
    timeout = DEFAULT_TIMEOUT_S if timeout is None else timeout
    budget_scale = DEFAULT_BUDGET_SCALE if budget_scale is None else budget_scale
    key = (os.getpid(), workers, timeout, budget_scale)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = GraderPool(workers, timeout, budget_scale)
            if len(_shared) == 1:
                atexit.register(close_shared_pools)
        return _shared[key]


def close_shared_pools() -> None:
    """Stop this process's shared workers (a forked child leaves its parent's alone); the next need restarts them."""
    with _shared_lock:
        mine = [key for key in _shared if key[0] == os.getpid()]
        pools = [_shared.pop(key) for key in mine]
    for pool in pools:
        pool.close()


# --------------------------------------------------------------------------------------------------------------
# Public entry points


def _result(acc: bool, pred: str | None, reason: str) -> dict:
    _count(reason)
    return {"score": 1.0 if acc else 0.0, "acc": bool(acc), "pred": pred, "reason": reason}


def _truths(ground_truth: object) -> list[str] | None:
    """Ground truths to try (any match counts), as the reference: str, int/float as str, or a list of them."""
    if isinstance(ground_truth, str):
        return [ground_truth]
    if isinstance(ground_truth, (int, float)):
        return [str(ground_truth)]
    if isinstance(ground_truth, (list, tuple)) or type(ground_truth).__name__ == "ndarray":
        items = list(ground_truth)
        return [str(t) for t in items] if items and all(isinstance(t, (str, int, float)) for t in items) else None
    return None


def _without_worker(pred: str, truth: str, budget_scale: float, rules: frozenset[str]) -> tuple[bool, str] | None:
    """The verdict when string work settles it or a worker already gave it, else None."""
    if max(len(pred), len(truth)) <= INLINE_MAX_CHARS:
        decided = cheap_verdict(pred, truth, rules)
        if decided is not None:
            return decided
    return _VERDICTS.get((pred, truth, budget_scale, rules))


def _any_match(verdicts: Iterable[tuple[bool, str]]) -> tuple[bool, str]:
    """The first correct verdict over the ground truths (consumed lazily); if none, the most telling failure."""
    reasons = []
    for acc, reason in verdicts:
        if acc:
            return True, reason
        reasons.append(reason)
    severity = ("timeout", "error", "invalid_ground_truth", "mismatch")
    return False, min(reasons, key=severity.index)


def _grade_pred(pred: str, truths: Sequence[str], rules: frozenset[str]) -> tuple[bool, str]:
    """Any-match over ground truths, through the shared pool with the default settings when needed."""

    def verdict(truth: str) -> tuple[bool, str]:
        decided = _without_worker(pred, truth, DEFAULT_BUDGET_SCALE, rules)
        return decided if decided is not None else shared_pool().grade(pred, truth, rules)

    return _any_match(verdict(truth) for truth in truths)


def compute_score(
    data_source, solution_str, ground_truth, extra_info=None, grader_mode: str = DEFAULT_MODE, **kwargs
) -> dict:
    """verl custom reward function: ``{"score": 0/1, "acc", "pred", "reason"}``; safe to call from threads.

    ``data_source`` does not change the rules: the six benchmarks, ``synthetic_arith`` and unknown sources are
    graded alike. ``grader_mode``: ``faithful`` (the reference's verdicts) or ``strict`` (``STRICT_RULES``).
    Other ``kwargs`` (verl passes e.g. ``reward_router_address``) are accepted and ignored.
    """
    rules = mode_rules(grader_mode)
    if not isinstance(solution_str, str):
        raise TypeError(f"compute_score: solution_str must be str, got {type(solution_str).__name__} ({data_source=})")
    truths = _truths(ground_truth)
    pred = last_boxed(solution_str)
    if pred is None:
        return _result(False, None, "no_boxed")
    if truths is None:
        return _result(False, pred, "invalid_ground_truth")
    acc, reason = _grade_pred(pred, truths, rules)
    return _result(acc, pred, reason)


def grade_many(
    pairs: Iterable[tuple[str, object]],
    timeout: float = DEFAULT_TIMEOUT_S,
    workers: int = DEFAULT_WORKERS,
    budget_scale: float = DEFAULT_BUDGET_SCALE,
    mode: str = DEFAULT_MODE,
    rules: Iterable[str] | None = None,
) -> list[dict]:
    """Grade (response, ground truth) pairs; results in input order, each as ``compute_score`` returns.

    ``mode``: ``faithful`` or ``strict``; ``rules`` (names of ``STRICT_RULES``), when given, replaces the mode's
    rules (``eval.audit`` grades with one rule at a time to say which rule changed a verdict).

    The verdict depends only on (last boxed answer, ground truth), so each such pair is graded once; the
    string-only exact stage and earlier worker verdicts settle most here, and the rest go, grouped by ground
    truth, to the shared pool of ``workers`` processes, each answer bounded by ``timeout`` seconds.
    """
    rules = mode_rules(mode) if rules is None else check_rules(rules)
    keyed: list[tuple[str | None, tuple[str, ...] | None]] = []
    for response, ground_truth in pairs:
        if not isinstance(response, str):
            raise TypeError(f"grade_many: response must be str, got {type(response).__name__}: {response!r:.80}")
        truths = _truths(ground_truth)
        keyed.append((last_boxed(response), None if truths is None else tuple(truths)))
    asked = dict.fromkeys((pred, truth) for pred, truths in keyed if pred is not None for truth in truths or ())
    verdicts = _grade_unique(asked, timeout, workers, budget_scale, rules)
    results = []
    for pred, truths in keyed:
        if pred is None:
            results.append(_result(False, None, "no_boxed"))
        elif truths is None:
            results.append(_result(False, pred, "invalid_ground_truth"))
        else:
            acc, reason = _any_match(verdicts[(pred, truth)] for truth in truths)
            results.append(_result(acc, pred, reason))
    return results


def _grade_unique(
    pairs: Iterable[tuple[str, str]], timeout: float, workers: int, budget_scale: float, rules: frozenset[str]
) -> dict[tuple[str, str], tuple[bool, str]]:
    """Verdicts of distinct (pred, truth) pairs: here when possible, else by the shared pool's workers, which
    are started as soon as the answers waiting for them call for it, so they import while this loop runs."""
    verdicts: dict[tuple[str, str], tuple[bool, str]] = {}
    by_truth: dict[str, list[str]] = defaultdict(list)
    waiting, pool = 0, None
    for pred, truth in pairs:
        decided = _without_worker(pred, truth, budget_scale, rules)
        if decided is not None:
            verdicts[(pred, truth)] = decided
            continue
        by_truth[truth].append(pred)
        waiting += 1
        pool = pool or shared_pool(workers, timeout, budget_scale)
        pool.prestart(math.ceil(waiting / ANSWERS_PER_WORKER))
    if pool is not None:
        parallel = min(workers, math.ceil(waiting / ANSWERS_PER_WORKER))
        verdicts.update(_grade_by_workers(by_truth, pool, parallel, rules))
    return verdicts


def _grade_by_workers(
    by_truth: dict[str, list[str]], pool: GraderPool, parallel: int, rules: frozenset[str]
) -> dict[tuple[str, str], tuple[bool, str]]:
    """Jobs of up to ``ANSWERS_PER_WORKER`` answers to one ground truth, ``parallel`` at a time."""
    jobs = [
        (truth, preds[start : start + ANSWERS_PER_WORKER])
        for truth, preds in by_truth.items()
        for start in range(0, len(preds), ANSWERS_PER_WORKER)
    ]
    jobs.sort(key=lambda job: -len(job[1]))  # largest first, so no worker is left with a long one at the end
    with ThreadPoolExecutor(max_workers=parallel) as threads:
        graded = threads.map(lambda job: pool.grade_group(*job, rules), jobs)
        return {
            (pred, truth): verdict
            for (truth, preds), verdicts in zip(jobs, graded)
            for pred, verdict in zip(preds, verdicts)
        }


if __name__ == "__sept_grader_worker__":
    _serve()
