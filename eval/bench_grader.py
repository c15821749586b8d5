"""Benchmark: batch grading (``grade_many``) vs the reference-style loop, on realistic n=32 samples.

    python -m eval.bench_grader [--problems 63] [--n 32] [--workers 2] [--fixture tests/fixtures/eval/grader_pairs.jsonl]

Samples are built from the grader fixture (answers derived from the authors' benchmarks): for each problem,
n responses whose final answers are drawn from that problem's answer variants with skewed frequencies
(the first, usually the canonical answer, most often), each wrapped in its own reasoning text, as sampling
at n=32 produces. The baseline grades every response one after another in this process with the same
pipeline the reference runs per item (extract, exact, sympy, math_verify, with its stage time budgets).
Both must give identical verdicts; the command prints both rates (grades/s) and their ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

from eval import grader
from eval.grader import grade_many, last_boxed

DEFAULT_FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "eval" / "grader_pairs.jsonl"


def build_samples(fixture: Path, problems: int, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``problems`` x ``n`` (response, ground truth) pairs with answer frequencies ~ 1/rank."""
    variants: dict[tuple, list[dict]] = defaultdict(list)
    with fixture.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if "_meta" not in record:
                variants[(record["data_source"], record["row"])].append(record)
    if len(variants) < problems:
        raise SystemExit(f"{fixture} has {len(variants)} problems; ask for at most that many (--problems)")
    rng = random.Random(seed)
    samples = []
    for key in list(variants)[:problems]:
        pool = variants[key]
        weights = [1 / (rank + 1) for rank in range(len(pool))]
        for sample in range(n):
            record = rng.choices(pool, weights)[0]
            preamble = f"Sample {sample}: we start from the given conditions and simplify step by step.\n\n"
            samples.append((preamble + record["response"], record["ground_truth"]))
    return samples


def reference_style_grade(pred: str, truth: str) -> bool:
    """The reference's per-item order: exact, sympy, math_verify, each normalisation recomputed (no caches,
    no integer shortcut), with the same stage time budgets (this runs in the main thread)."""
    mathd, prm = grader._mathd_normalize.__wrapped__, grader._normalize.__wrapped__
    resolved = grader._resolve_truth(truth)
    if resolved is None:
        return False
    if mathd(pred) == mathd(resolved) or prm(pred) == prm(resolved):
        return True
    return grader._sympy_stage(prm(pred), prm(resolved), 1.0) or grader._math_verify_stage(pred, resolved, 1.0)


def reference_style(samples: list[tuple[str, str]]) -> list[bool]:
    """One item after another in this process, every stage run for every item (no dedup, no pool)."""
    verdicts = []
    for response, truth in samples:
        pred = last_boxed(response)
        verdicts.append(pred is not None and reference_style_grade(pred, truth))
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixture", type=Path, default=DEFAULT_FIXTURE)
    parser.add_argument("--problems", type=int, default=63)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    samples = build_samples(args.fixture, args.problems, args.n, args.seed)
    unique = len(set((last_boxed(r), t) for r, t in samples))

    started = time.perf_counter()
    ours = [result["acc"] for result in grade_many(samples, workers=args.workers)]
    ours_s = time.perf_counter() - started

    started = time.perf_counter()
    baseline = reference_style(samples)
    baseline_s = time.perf_counter() - started

    differing = sum(a != b for a, b in zip(ours, baseline))
    print(f"{len(samples)} responses ({args.problems} problems x n={args.n}), {unique} unique (answer, truth) pairs")
    print(f"reference-style single process: {baseline_s:7.2f} s  {len(samples) / baseline_s:8.1f} grades/s")
    print(f"grade_many ({args.workers} workers):      {ours_s:7.2f} s  {len(samples) / ours_s:8.1f} grades/s")
    print(f"speed-up: {baseline_s / ours_s:.1f}x; verdicts differing: {differing}; accuracy {sum(ours) / len(ours):.3f}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
