"""Regenerate ``tests/fixtures/eval/grader_pairs.jsonl``: benchmark-derived pairs plus the reference verdicts.

The pairs are built deterministically from the authors' benchmark parquets: for each ground truth chosen
below, realistic final answers a model writes (same value in another notation, a near miss, a wrong
answer), wrapped in short solution texts, plus format cases (no box, several boxes, odd spacing). Each
pair is then graded by the *reference* grader loaded from a checkout that is not part of this project:

    git -C <ElementQi/SePT clone> archive 0db9b6dd sept/verl/utils/reward_score/entropy_math | tar -x -C /tmp/sept-ref
    git -C <volcengine/verl clone> archive 8542554b recipe/entropy/reward_score/entropy_math | tar -x -C /tmp/verl-ref
    python -m tools.grader_fixture \\
        --benchmarks ../shared/reference/sept-authors-data/data/benchmarks \\
        --reference sept=/tmp/sept-ref/sept/verl/utils/reward_score/entropy_math \\
        --reference verl=/tmp/verl-ref/recipe/entropy/reward_score/entropy_math \\
        --source sept=ElementQi/SePT@0db9b6dd9e0b2453374f2b50a877906fdf7e7644 \\
        --source verl=volcengine/verl@8542554b086cc0a25832105ec0ec8c1dbf0ab7d0 \\
        --out tests/fixtures/eval/grader_pairs.jsonl

The reference runs in this process's main thread (its ``signal.alarm`` timeouts need that), exactly as the
authors call it: ``entropy_math.compute_score(solution_str, ground_truth)`` (fast=False). Each record keeps
``verdicts[name]`` = that call's score; ``eval.grader`` must reproduce the ``sept`` one.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import time
from pathlib import Path

import pandas as pd

SOURCES = ("aime", "aime25", "amc23", "math500", "minerva", "olympiadbench")

# (data_source, row) -> [(category, final answer as a model writes it inside \boxed{})]
ANSWERS: dict[tuple[str, int], list[tuple[str, str]]] = {
    ("aime", 0): [
        ("integer", "204"),
        ("integer_text_unit", r"204 \text{ minutes}"),
        ("integer_wrong", "240"),
        ("integer_float", "204.0"),
    ],
    ("aime", 1): [("integer", "25"), ("equation_prefix", "xy = 25"), ("integer_wrong", "52")],
    ("aime25", 0): [("integer", "70"), ("integer_wrong", "17"), ("odd_spacing", "  70 ")],
    ("aime25", 1): [("integer", "588"), ("integer_commas", "5{,}88"), ("integer_wrong", "585")],
    ("amc23", 0): [("integer", "27"), ("integer_text_unit", r"27\text{ miles}"), ("integer_wrong", "18")],
    ("amc23", 3): [("integer_commas", "3,159"), ("integer_commas", r"3{,}159"), ("integer", "3159")],
    ("math500", 0): [
        ("tuple", r"\left(3, \frac{\pi}{2}\right)"),
        ("tuple", r"(3,\pi/2)"),
        ("tuple_decimal", "(3, 1.5708)"),
        ("tuple_wrong", r"(3, \pi)"),
        ("tuple", r"(3, \dfrac{\pi}{2})"),
    ],
    ("math500", 2): [
        ("fraction", r"\frac{14}{3}"),
        ("dfrac", r"\dfrac{14}{3}"),
        ("slash_fraction", "14/3"),
        ("decimal_of_fraction", "4.67"),
        ("mixed_number", r"4\frac{2}{3}"),
        ("fraction_unreduced", r"\frac{28}{6}"),
    ],
    ("math500", 4): [("text", r"\text{Evelyn}"), ("text", "Evelyn"), ("text_wrong", r"\text{Bob}")],
    ("math500", 7): [
        ("degrees", r"90^\circ"),
        ("degrees", "90"),
        ("degrees", r"90^{\circ}"),
        ("degrees_word", "90 degrees"),
        ("degrees_wrong", r"45^\circ"),
    ],
    ("math500", 8): [
        ("sqrt", r"3\sqrt{13}"),
        ("sqrt", r"3 \sqrt{13}"),
        ("sqrt", r"\sqrt{117}"),
        ("sqrt_wrong", r"13\sqrt{3}"),
    ],
    ("math500", 15): [("complex", "6 - 5i"), ("complex", "6-5i"), ("complex_wrong", "6+5i")],
    ("math500", 23): [("equation", "x=5"), ("equation", "5"), ("equation_wrong", "x=-5")],
    ("math500", 25): [("list", "1,-2"), ("list", "-2, 1"), ("list", "1, -2"), ("list_wrong", "1")],
    ("math500", 30): [("base", "52_8"), ("base", "52"), ("base_wrong", "42_8")],
    ("math500", 31): [("sqrt", r"11\sqrt2"), ("sqrt", r"11\sqrt{2}"), ("sqrt_decimal", "15.556")],
    ("math500", 44): [
        ("decimal", "1.25"),
        ("decimal_fraction", r"\frac{5}{4}"),
        ("decimal_trailing_zero", "1.250"),
        ("decimal_dollar", r"\$1.25"),
        ("decimal_wrong", "1.52"),
    ],
    ("math500", 51): [
        ("polynomial", "x^5 - x^4 + x^3 - x^2 + x - 1"),
        ("polynomial", "x^5-x^4+x^3-x^2+x-1"),
        ("polynomial_wrong", "x^5 + x^4 + x^3 + x^2 + x + 1"),
    ],
    ("math500", 53): [
        ("fraction_pi", r"-\frac{\pi}{6}"),
        ("fraction_pi", r"-\pi/6"),
        ("fraction_pi_wrong", r"\frac{\pi}{6}"),
    ],
    ("math500", 54): [
        ("decimal", "0.15"),
        ("decimal", ".15"),
        ("decimal_percent", r"15\%"),
        ("decimal_fraction", r"\frac{3}{20}"),
    ],
    ("math500", 60): [
        ("tuple", "(6,31,-1)"),
        ("tuple", "(6, 31, -1)"),
        ("tuple_unparenthesised", "6, 31, -1"),
        ("tuple_wrong", "(6,-31,1)"),
    ],
    ("math500", 66): [("polynomial", "x^3+3x-6"), ("polynomial", "x^3 + 3x - 6"), ("polynomial_wrong", "x^3-3x+6")],
    ("math500", 73): [
        ("fraction_sqrt", r"\frac{3\sqrt{3}}{4}"),
        ("fraction_sqrt", r"\dfrac{3 \sqrt 3}{4}"),
        ("fraction_sqrt", r"\frac{3}{4}\sqrt{3}"),
        ("fraction_sqrt_decimal", "1.299"),
    ],
    ("math500", 74): [("trig", r"\cot x"), ("trig", r"\frac{\cos x}{\sin x}"), ("trig_wrong", r"\tan x")],
    ("math500", 96): [
        ("plus_minus", r"1 \pm \sqrt{19}"),
        ("plus_minus", r"1\pm\sqrt{19}"),
        ("plus_minus_split", r"1+\sqrt{19}, 1-\sqrt{19}"),
    ],
    ("math500", 99): [
        ("matrix", r"\begin{pmatrix} -1/3 \\ 2/3 \\ 5/3 \end{pmatrix}"),
        ("matrix", r"\begin{pmatrix} -\frac{1}{3} \\ \frac{2}{3} \\ \frac{5}{3} \end{pmatrix}"),
        ("matrix_bmatrix", r"\begin{bmatrix} -1/3 \\ 2/3 \\ 5/3 \end{bmatrix}"),
        ("matrix_wrong", r"\begin{pmatrix} 1/3 \\ 2/3 \\ 5/3 \end{pmatrix}"),
    ],
    ("math500", 103): [("interval", "(3,4]"), ("interval", "(3, 4]"), ("interval_wrong_bracket", "[3,4]")],
    ("math500", 106): [("fraction_short", r"\frac43"), ("fraction_short", r"\frac{4}{3}"), ("fraction_short", "4/3")],
    ("math500", 162): [
        ("dfrac", r"\dfrac{17}{50}"),
        ("dfrac", r"\frac{17}{50}"),
        ("dfrac_decimal", "0.34"),
        ("dfrac_wrong", r"\frac{17}{25}"),
    ],
    ("math500", 166): [
        ("fraction_degrees", r"\frac{270}{7}"),
        ("fraction_degrees", r"\frac{270}7\text{ degrees}"),
        ("fraction_degrees", r"\frac{270}{7}^\circ"),
        ("fraction_degrees_decimal", "38.57"),
    ],
    ("math500", 176): [
        ("decimal_leading_dot", ".0000672"),
        ("decimal_leading_dot", "0.0000672"),
        ("decimal_scientific", r"6.72 \times 10^{-5}"),
        ("decimal_scientific", "6.72e-5"),
    ],
    ("math500", 179): [
        ("plane", "5x - 7y + 11z + 4 = 0"),
        ("plane", "5x-7y+11z+4=0"),
        ("plane_scaled", "-5x + 7y - 11z - 4 = 0"),
    ],
    ("math500", 184): [
        ("interval_infinity", r"(2,\infty)"),
        ("interval_infinity", r"(2, \infty)"),
        ("interval_infinity_wrong", r"[2,\infty)"),
    ],
    ("math500", 198): [
        ("thousands", r"10,\!080"),
        ("thousands", "10080"),
        ("thousands", "10,080"),
        ("thousands_wrong", "10800"),
    ],
    ("math500", 217): [
        ("thousands", "11111111100"),
        ("thousands", r"11,\!111,\!111,\!100"),
        ("thousands", "11,111,111,100"),
    ],
    ("math500", 242): [
        ("currency", r"\$32,\!348"),
        ("currency", "32348"),
        ("currency", r"\$32{,}348"),
        ("currency_wrong", "32,384"),
    ],
    ("math500", 248): [
        ("matrix_2x2", r"\begin{pmatrix} -1 & 0 \\ 0 & -1 \end{pmatrix}"),
        ("matrix_2x2", r"\begin{pmatrix}-1&0\\0&-1\end{pmatrix}"),
        ("matrix_2x2_bmatrix", r"\begin{bmatrix} -1 & 0 \\ 0 & -1 \end{bmatrix}"),
        ("matrix_2x2_wrong", r"\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}"),
    ],
    ("math500", 257): [
        ("units_squared", "864"),
        ("units_squared", r"864 \text{ inches}^2"),
        ("units_squared_wrong", "846"),
    ],
    ("math500", 264): [("mixed_number", r"1\frac{4}{5}"), ("mixed_number", r"\frac{9}{5}"), ("mixed_number", "1.8")],
    ("math500", 284): [("plus_minus", r"3 \pm 2 \sqrt{2}"), ("plus_minus", r"3\pm2\sqrt2")],
    ("math500", 301): [("units_text", r"5.4 \text{ cents}"), ("units_text", "5.4"), ("units_text_wrong", "54")],
    ("math500", 380): [
        ("interval_union", r"(0,9) \cup (9,36)"),
        ("interval_union", r"(0, 9) \cup (9, 36)"),
        ("interval_union_wrong", r"(0,36)"),
    ],
    ("math500", 422): [
        ("set", r"\{1\pm\sqrt{5},-2\}"),
        ("set", r"\{-2, 1+\sqrt{5}, 1-\sqrt{5}\}"),
        ("set_unbraced", r"-2, 1+\sqrt{5}, 1-\sqrt{5}"),
    ],
    ("math500", 435): [
        ("interval_union", r"(-\infty, 2) \cup (3, \infty)"),
        ("interval_union", r"(-\infty,2)\cup(3,\infty)"),
        ("interval_union_wrong", r"(2, 3)"),
    ],
    ("minerva", 0): [
        ("decimal", "1.6"),
        ("decimal_unit", r"1.6 \text{ cm}"),
        ("decimal_rounded", "1.57"),
        ("decimal_unit", r"1.6~\mathrm{cm}"),
    ],
    ("minerva", 1): [
        ("e_notation", "4.5e33"),
        ("e_notation_latex", r"4.5 \times 10^{33}"),
        ("e_notation_latex", r"4.5\times10^{33} \text{ erg/s}"),
        ("e_notation_wrong", "4.5e32"),
    ],
    ("minerva", 5): [
        ("numpy_expression", r"\arcsin(10/13)"),
        ("numpy_expression", "np.arcsin(10/13)"),
        ("numpy_expression_decimal", "0.8776"),
    ],
    ("minerva", 10): [("e_notation", "3.83e35"), ("e_notation_latex", r"3.83 \times 10^{35}")],
    ("minerva", 15): [
        ("e_notation", "4e33"),
        ("e_notation_latex", r"4 \times 10^{33}"),
        ("e_notation_plain", "4000000000000000000000000000000000"),
    ],
    ("minerva", 22): [("e_notation", "3e6"), ("e_notation_latex", r"3 \times 10^6"), ("e_notation_plain", "3000000")],
    ("minerva", 38): [("decimal_dot", "-1./3"), ("decimal_dot", r"-\frac{1}{3}"), ("decimal_dot", "-0.333")],
    ("minerva", 44): [
        ("e_notation_negative", "1e-5"),
        ("e_notation_negative", r"10^{-5}"),
        ("e_notation_negative", "0.00001"),
    ],
    ("minerva", 121): [
        ("decimal_trailing_zero", "0.10"),
        ("decimal_trailing_zero", "0.1"),
        ("decimal_trailing_zero", r"\frac{1}{10}"),
    ],
    ("minerva", 170): [("decimal", "24.310"), ("decimal", "24.31"), ("decimal_rounded", "24.3")],
    ("olympiadbench", 1): [
        ("dollar_wrapped", r"\frac{1}{2 n+2}"),
        ("dollar_wrapped", r"\frac{1}{2(n+1)}"),
        ("dollar_wrapped", r"\dfrac{1}{2n+2}"),
        ("dollar_wrapped_wrong", r"\frac{1}{2n}"),
    ],
    ("olympiadbench", 2): [("dollar_wrapped_power", "2^{1009}"), ("dollar_wrapped_power", "2^{1008}")],
    ("olympiadbench", 5): [
        ("tuples", "(1,8,19), (2,7,13), (4,5,7)"),
        ("tuples", "(1, 8, 19), (2, 7, 13), (4, 5, 7)"),
        ("tuples_partial", "(1,8,19), (2,7,13)"),
    ],
    ("olympiadbench", 13): [
        ("dollar_wrapped_list", "69, 84"),
        ("dollar_wrapped_list", "69,84"),
        ("dollar_wrapped_list", "84"),
    ],
    ("olympiadbench", 15): [
        ("dollar_wrapped_tuple", "(2,4)"),
        ("dollar_wrapped_tuple", "(2, 4)"),
        ("dollar_wrapped_tuple_wrong", "(4,2)"),
    ],
    ("olympiadbench", 76): [
        ("interval_set_union", r"(-\infty, 0) \cup \{1\}"),
        ("interval_set_union", r"(-\infty,0)\cup\{1\}"),
        ("interval_set_union_wrong", r"(-\infty, 0]"),
    ],
    ("olympiadbench", 87): [("list", "2500,7500"), ("list", "2500, 7500"), ("list", "7500, 2500")],
    ("olympiadbench", 104): [("degrees_list", r"90^{\circ}, 60^{\circ}"), ("degrees_list", "90, 60")],
    ("olympiadbench", 139): [
        ("percent", r"62.5\%"),
        ("percent", "62.5"),
        ("percent_fraction", "0.625"),
        ("percent", "62.5%"),
    ],
    ("olympiadbench", 150): [("percent", r"8\%"), ("percent", "8"), ("percent_fraction", "0.08")],
    ("olympiadbench", 161): [
        ("interval_union_sqrt", r"(-\sqrt{11},-2)\cup (\sqrt{11},9)"),
        ("interval_union_sqrt", r"(-\sqrt{11}, -2) \cup (\sqrt{11}, 9)"),
    ],
    ("olympiadbench", 188): [("percent", r"17.5\%"), ("percent", "17.5")],
    ("olympiadbench", 209): [("degrees", r"4^{\circ}"), ("degrees", "4"), ("degrees", r"4^\circ")],
    ("olympiadbench", 235): [
        ("degrees_decimal", r"18.8^{\circ}"),
        ("degrees_decimal", "18.8"),
        ("degrees_decimal", "18.80"),
    ],
    ("olympiadbench", 281): [("dollar_wrapped_list", r"2^{-2/3}, 8"), ("dollar_wrapped_list", r"8, 2^{-2/3}")],
}

# The same value asked for, written the ways models format the whole response (ground truth of the row).
FORMATS = {
    "no_boxed": "So the final answer is {answer}.",
    "no_boxed_bold": "**Final answer:** {answer}",
    "several_boxed_last_right": "At first I got $\\boxed{{{wrong}}}$, but that misses a case. "
    "Redoing it: $\\boxed{{{answer}}}$.",
    "several_boxed_last_wrong": "One might guess $\\boxed{{{answer}}}$, but checking again gives $\\boxed{{{wrong}}}$.",
    "boxed_space_before_brace": "The answer is $\\boxed {{{answer}}}$.",
    "boxed_inner_spaces": "The answer is $\\boxed{{ {answer} }}$.",
    "fbox": "The answer is $\\fbox{{{answer}}}$.",
    "boxed_unclosed": "The answer is $\\boxed{{{answer}$.",
    "boxed_in_display_math": "Therefore\n\\[\n\\boxed{{{answer}}}\n\\]",
    "boxed_answer_prefix": "Hence $\\boxed{{\\text{{The answer is }} {answer}}}$.",
}
FORMAT_ROWS = [
    ("aime", 0),
    ("amc23", 0),
    ("math500", 2),
    ("math500", 44),
    ("minerva", 0),
    ("olympiadbench", 1),
    ("olympiadbench", 5),
    ("math500", 99),
]

TEMPLATES = (
    "Let's work through the problem step by step.\n\nAfter simplifying, we get the result.\n\n"
    "The final answer is $\\boxed{{{answer}}}$.",
    "We set up the equations and solve them.\n\nTherefore, the answer is \\(\\boxed{{{answer}}}\\).",
    "First, note the constraint. Substituting and simplifying:\n\n\\[\n\\boxed{{{answer}}}\n\\]",
    "Step 1: Understand the problem.\nStep 2: Compute.\n\nFinal answer: \\boxed{{{answer}}}",
)


def load_truths(benchmarks: Path) -> dict[tuple[str, int], str]:
    truths = {}
    for source in SOURCES:
        frame = pd.read_parquet(benchmarks / f"{source}.parquet")
        for row, reward in enumerate(frame["reward_model"]):
            truths[(source, row)] = reward["ground_truth"]
    return truths


def build_pairs(truths: dict[tuple[str, int], str]) -> list[dict]:
    pairs = []
    for (source, row), answers in ANSWERS.items():
        for n, (category, answer) in enumerate(answers):
            template = TEMPLATES[(row + n) % len(TEMPLATES)]
            pairs.append(_pair(source, row, category, template.format(answer=answer), truths))
    for source, row in FORMAT_ROWS:
        answer, wrong = ANSWERS[(source, row)][0][1], ANSWERS[(source, row)][-1][1]
        for category, template in FORMATS.items():
            pairs.append(_pair(source, row, category, template.format(answer=answer, wrong=wrong), truths))
    return pairs


def _pair(source: str, row: int, category: str, response: str, truths: dict) -> dict:
    digest = hashlib.sha1(f"{source}/{row}/{category}/{response}".encode()).hexdigest()[:10]
    return {
        "id": f"{source}-{row}-{digest}",
        "data_source": source,
        "row": row,
        "category": category,
        "response": response,
        "ground_truth": truths[(source, row)],
    }


def load_reference(directory: Path, name: str):
    init = directory / "__init__.py"
    if not init.is_file():
        raise SystemExit(
            f"--reference {name}={directory}: no entropy_math __init__.py there; see this module's docstring"
        )
    spec = importlib.util.spec_from_file_location(f"reference_entropy_math_{name}", init)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_score(module, response: str, ground_truth: str) -> float:
    result = module.compute_score(response, ground_truth)  # the authors' call (fast=False)
    return float(result["score"] if isinstance(result, dict) else result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmarks", type=Path, required=True, help="directory with the six benchmark parquets")
    parser.add_argument(
        "--reference",
        action="append",
        required=True,
        metavar="NAME=DIR",
        help="entropy_math directory of a reference checkout (repeatable; 'sept' is required)",
    )
    parser.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME=OWNER/REPO@COMMIT",
        help="where reference NAME's checkout came from, recorded in the fixture",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    references = dict(item.split("=", 1) for item in args.reference)
    sources = dict(item.split("=", 1) for item in args.source)
    if "sept" not in references:
        parser.error("--reference sept=DIR is required: it is the verdict eval.grader must reproduce")
    pairs = build_pairs(load_truths(args.benchmarks))
    meta = {"_meta": {"produced_by": "python -m tools.grader_fixture", "references": {}, "pairs": len(pairs)}}
    for name, directory in references.items():
        module = load_reference(Path(directory), name)
        started = time.perf_counter()
        for pair in pairs:
            pair.setdefault("verdicts", {})[name] = reference_score(module, pair["response"], pair["ground_truth"])
        meta["_meta"]["references"][name] = {
            "source": sources.get(name, "unrecorded"),
            "call": "entropy_math.compute_score(response, ground_truth), fast=False, main thread",
            "seconds": round(time.perf_counter() - started, 1),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as handle:
        for record in [meta, *pairs]:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    agree = sum(len(set(p["verdicts"].values())) == 1 for p in pairs)
    print(f"wrote {len(pairs)} pairs to {args.out}; references agree on {agree}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
