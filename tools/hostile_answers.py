"""Hostile answers to the grader, and the worst-case grading seconds per item (issue 13, item 5).

    python -m tools.hostile_answers [--timeout 30] [--budget-scale 1]

Grades each answer of ``HOSTILE`` through the recipe's reward function (the path of verl's reward loop), one at a
time, in both grading modes, with the grader's default settings (``SEPT_GRADER_TIMEOUT``,
``SEPT_GRADER_BUDGET_SCALE``) or the ones given, and prints seconds and reason per item and the worst case.
``tests/eval/test_grader_hostile.py`` grades the same answers with short limits.
"""

from __future__ import annotations

import argparse
import sys
import time

# (response, ground truth): what each answer provokes in the pipeline is in its name.
HOSTILE = {
    "boxed_100k_chars": ("\\boxed{" + "1+" * 50_000 + "1}", "100001"),
    "braces_5000_deep": ("\\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}", "1"),
    "power_tower": ("\\boxed{10^{10^{10}}}", "10"),
    "factorial_99999999": ("\\boxed{99999999!}", "42"),
    "factorial_times_x": ("\\boxed{99999999!*x}", "x"),  # computed in C by sympy: only the deadline stops it
    "nested_factorial": ("\\boxed{(10^{6})!!}", "x"),
    "fractions_1000_deep": ("\\boxed{" + "\\frac{1}{1+" * 1000 + "2" + "}" * 1000 + "}", "\\frac{1}{2}"),
    "null_bytes": ("\\boxed{4\x002}", "42"),
    "odd_unicode": ("\\boxed{\u202e٤٢\u200b\ufeff\U0001f600\ud800}", "42"),
    "boxed_10000_times": (" ".join(f"\\boxed{{{i}}}" for i in range(10_000)), "9999"),
}


def time_reward_function(modes=("faithful", "strict")) -> dict[tuple[str, str], tuple[float, str]]:
    """(mode, name) -> (seconds, reason) of one reward-function call per hostile answer, nothing remembered."""
    from eval import grader
    from recipe.sept import reward

    timings = {}
    for mode in modes:
        grader._VERDICTS.clear()
        for name, (response, truth) in HOSTILE.items():
            started = time.perf_counter()
            result = reward.compute_score("math500", response, truth, extra_info={}, grader_mode=mode)
            timings[(mode, name)] = (time.perf_counter() - started, result["reason"])
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, help="per-item deadline in seconds (default SEPT_GRADER_TIMEOUT)")
    parser.add_argument("--budget-scale", type=float, help="stage budgets x this (default SEPT_GRADER_BUDGET_SCALE)")
    args = parser.parse_args(argv)
    from eval import grader

    grader.DEFAULT_TIMEOUT_S = args.timeout or grader.DEFAULT_TIMEOUT_S
    grader.DEFAULT_BUDGET_SCALE = args.budget_scale or grader.DEFAULT_BUDGET_SCALE
    grader.shared_pool().wait_ready()  # start-up is not grading time
    timings = time_reward_function()
    print(f"deadline {grader.DEFAULT_TIMEOUT_S:g} s, stage budgets x{grader.DEFAULT_BUDGET_SCALE:g}")
    for (mode, name), (seconds, reason) in timings.items():
        print(f"{mode:<9} {name:<22} {seconds:7.2f} s  {reason}")
    for mode in ("faithful", "strict"):
        name = max((key for key in timings if key[0] == mode), key=lambda key: timings[key][0])[1]
        print(f"worst case {mode}: {timings[(mode, name)][0]:.2f} s ({name})")
    grader.close_shared_pools()
    return 0


if __name__ == "__main__":
    sys.exit(main())
