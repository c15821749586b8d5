"""Benchmark: batch grading (``grade_many``) vs the reference-style loop, on realistic n=32 samples.

    python -m tools.bench_grader [--problems 63] [--n 32] [--runs 25] [--workers 2] [--reference <entropy_math dir>]
    python -m tools.bench_grader --store DIR [--runs 25]   # the same samples as stored generations, for eval.audit

Samples are built from the grader fixture (answers derived from the authors' benchmarks) the way sampling
n=32 responses per prompt looks: per-problem accuracies spread from 0 to 1, correct answers in a few
favourite notations, wrong answers repeating with a long tail, a few cut-off responses (see build_samples).
The baseline grades every response one after another in this process with the same pipeline the reference
runs per item (extract, exact, sympy, math_verify, with its stage time budgets); ``--reference`` also times
the real entropy_math grader from a checkout (not part of this project).
Both must give identical verdicts; the command prints both rates (grades/s) and their ratio.

Default size: one paper evaluation grades 49,504 responses (six benchmarks, 1,547 problems x n=32); the
fixture has 63 problems, so the default grades 25 independent sampling runs of them (63 x 32 x 25 = 50,400
responses) in one call. That is the shape of what ``eval.regrade`` grades in one call after a sweep: the same
problems sampled again at other temperatures or checkpoints, so answers also repeat across runs. At ~2k
responses (``--runs 1``) the workers' start-up (~1 s of imports and parser warm-up each) is a large part of
our time. A single evaluation of 1,547 *distinct* problems repeats answers only within a problem, as
``--runs 1`` does, so its speed-up is close to that of ``--runs 1`` with the start-up amortised. The other way
round, the fixture's problems were picked for notation coverage: 11 of the 63 (17%) have a plain-number ground
truth against 913 of the 1,547 (59%), and wrong answers to those are settled by string checks alone, so this
mix leaves more answers to sympy/math_verify than a real evaluation does.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from eval import grader
from eval.grader import grade_many, last_boxed
from eval.store import run_keys, write_generations

DEFAULT_FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "eval" / "grader_pairs.jsonl"


def build_samples(fixture: Path, problems: int, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``problems`` x ``n`` (response, ground truth) pairs sampled like a model at n samples per prompt.

    Per problem: an accuracy drawn from Beta(0.6, 0.9) (most problems nearly always or nearly never
    solved); a correct sample writes one of the fixture's correct answer forms, a wrong one an answer from
    a per-problem pool (the fixture's wrong answers plus numeric perturbations of the right one), both with
    frequencies ~ 1/rank, since models repeat their favourite forms and mistakes; 4% are cut off unboxed.
    """
    by_problem = fixture_problems(fixture)
    if len(by_problem) < problems:
        raise SystemExit(f"{fixture} has {len(by_problem)} problems; ask for at most that many (--problems)")
    rng = random.Random(seed)
    samples = []
    for records in list(by_problem.values())[:problems]:
        boxed = [(last_boxed(r["response"]), r["verdicts"]["sept"]) for r in records]
        right = [answer for answer, verdict in boxed if answer is not None and verdict == 1.0]
        wrong = [answer for answer, verdict in boxed if answer is not None and verdict == 0.0]
        wrong += [_perturb(right[0], rng) for _ in range(12)] if right else []
        accuracy = rng.betavariate(0.6, 0.9)
        for sample in range(n):
            text = f"Sample {sample}: we start from the given conditions and simplify step by step.\n\n"
            if rng.random() < 0.04 or not (right or wrong):
                samples.append((text + "Continuing the computation, the next term is", records[0]["ground_truth"]))
                continue
            pool = right if right and (rng.random() < accuracy or not wrong) else wrong
            answer = rng.choices(pool, [1 / (rank + 1) for rank in range(len(pool))])[0]
            samples.append((text + f"Therefore the answer is $\\boxed{{{answer}}}$.", records[0]["ground_truth"]))
    return samples


def fixture_problems(fixture: Path) -> dict[tuple[str, int], list[dict]]:
    """The fixture's records by problem (data_source, row), in fixture order."""
    by_problem: dict[tuple, list[dict]] = defaultdict(list)
    with fixture.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if "_meta" not in record:
                by_problem[(record["data_source"], record["row"])].append(record)
    return by_problem


def write_store(root: Path, fixture: Path, problems: int, n: int, runs: int, seed: int = 0) -> int:
    """``build_samples`` of ``runs`` seeds stored as generations (model ``fixture``, checkpoint ``base``, τ = 1,
    one file per seed and benchmark), the layout ``eval.regrade`` and ``eval.audit`` read; returns the responses."""
    keys = list(fixture_problems(fixture))[:problems]
    for run in range(runs):
        samples = build_samples(fixture, problems, n, seed + run)
        by_benchmark: dict[str, list[dict]] = defaultdict(list)
        for number, (source, row) in enumerate(keys):
            group = samples[number * n : (number + 1) * n]
            cut = [not response.endswith("$.") for response, _ in group]
            by_benchmark[source].append(
                {"data_source": source, "index": row, "prompt": f"{source} problem {row}", "ground_truth": group[0][1],
                 "responses": [response for response, _ in group], "finish_reasons": ["length" if c else "stop" for c in cut],
                 "lengths": [len(response) // 4 for response, _ in group]}
            )  # fmt: skip
        names = {"model": "fixture", "checkpoint": "base", "style": "question"}
        for key in run_keys(names, 1.0, n, seed + run, by_benchmark):
            write_generations(root, key, by_benchmark[key.benchmark])
    return runs * problems * n


def _perturb(answer: str, rng: random.Random) -> str:
    """A plausible wrong answer: one number in ``answer`` changed (or a sign flipped if it has none)."""
    numbers = list(re.finditer(r"[0-9]+", answer))
    if not numbers:
        return "-" + answer
    chosen = rng.choice(numbers)
    replacement = str(int(chosen.group()) + rng.choice([-3, -2, -1, 1, 2, 3, 7, 10]))
    return answer[: chosen.start()] + replacement.lstrip("-") + answer[chosen.end() :]


def reference_style_grade(pred: str, truth: str, budgets: float = 1.0) -> bool:
    """The reference's per-item order: exact, sympy, math_verify, each normalisation recomputed (no caches,
    no number shortcut), with the same stage time budgets (this runs in the main thread)."""
    mathd, prm = grader._mathd_normalize.__wrapped__, grader._normalize.__wrapped__
    resolved = grader._resolve_truth(truth)
    if resolved is None:
        return False
    if mathd(pred) == mathd(resolved) or prm(pred) == prm(resolved):
        return True
    return grader._sympy_stage(prm(pred), prm(resolved), budgets) or grader._math_verify_stage(pred, resolved, budgets)


def reference_style(samples: list[tuple[str, str]], budgets: float = 1.0) -> list[bool]:
    """One item after another in this process, every stage run for every item (no dedup, no pool)."""
    verdicts = []
    for response, truth in samples:
        pred = last_boxed(response)
        verdicts.append(pred is not None and reference_style_grade(pred, truth, budgets))
    return verdicts


def _grade_many_cold(samples: list[tuple[str, str]], workers: int, budgets: float) -> list[bool]:
    """``grade_many`` as a fresh process runs it: no workers yet and no remembered verdicts; its workers are
    stopped at the end so that their CPU time is counted."""
    grader.close_shared_pools()
    grader._VERDICTS.clear()
    verdicts = [r["acc"] for r in grade_many(samples, workers=workers, budget_scale=budgets)]
    grader.close_shared_pools()
    return verdicts


def _explain_differences(samples: list[tuple[str, str]], ours: list[bool], theirs: list[bool], budgets: float) -> None:
    """Print the distinct answers graded differently, with the pipeline's verdict at 10x the stage budgets: on a
    loaded machine a stage can run out of time on one side only (the reference's budgets are wall-clock)."""
    differing = Counter((last_boxed(r), t) for (r, t), a, b in zip(samples, ours, theirs) if a != b)
    ours_by_pair = {(last_boxed(r), t): a for (r, t), a in zip(samples, ours)}
    for (pred, truth), count in differing.most_common():
        print(
            f"  differs x{count}: pred={pred!r:.60} truth={truth!r:.60} ours={ours_by_pair[(pred, truth)]}"
            f" with 10x budgets={reference_style_grade(pred, truth, 10 * budgets)}"
        )


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the grading workers, once their pool closed)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(work):
    wall, cpu = time.perf_counter(), _cpu_seconds()
    result = work()
    return result, time.perf_counter() - wall, _cpu_seconds() - cpu


def _rate(label: str, seconds: float, cpu: float, items: int) -> str:
    return f"{label:<50} {seconds:6.2f} s wall {cpu:6.2f} s CPU {items / seconds:7.1f} grades/s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixture", type=Path, default=DEFAULT_FIXTURE)
    parser.add_argument("--problems", type=int, default=63)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--runs", type=int, default=25, help="independent sampling runs graded in one batch (a sweep)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--budget-scale", type=float, default=1.0, help="stage time budgets x this, both sides")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference", type=Path, help="also time the real entropy_math grader from this directory")
    parser.add_argument(
        "--store", type=Path, help="only write the samples as generations under this directory (for eval.audit)"
    )
    args = parser.parse_args(argv)
    if args.store:
        count = write_store(args.store, args.fixture, args.problems, args.n, args.runs, args.seed)
        print(f"wrote {count} responses ({args.runs} run(s) x {args.problems} problems x n={args.n}) to {args.store}")
        return 0
    samples = []
    for run in range(args.runs):
        samples += build_samples(args.fixture, args.problems, args.n, args.seed + run)
    unique = len(set((last_boxed(r), t) for r, t in samples))
    print(f"{len(samples)} responses ({args.runs} run(s) x {args.problems} problems x n={args.n}), {unique} unique")

    before = grader.grader_stats()
    ours, ours_s, ours_cpu = _timed(lambda: _grade_many_cold(samples, args.workers, args.budget_scale))
    after = grader.grader_stats()
    baseline, baseline_s, baseline_cpu = _timed(lambda: reference_style(samples, args.budget_scale))
    print(_rate("reference-style pipeline, single process:", baseline_s, baseline_cpu, len(samples)))
    if args.reference:
        from tools.grader_fixture import load_reference, reference_score

        module = load_reference(args.reference, "bench")
        real, real_s, real_cpu = _timed(lambda: [reference_score(module, r, t) == 1.0 for r, t in samples])
        print(_rate("real entropy_math (--reference), single process:", real_s, real_cpu, len(samples)))
    print(_rate(f"grade_many ({args.workers} worker processes):", ours_s, ours_cpu, len(samples)))
    sent, ran_out = (after.get(k, 0) - before.get(k, 0) for k in ("worker_answers", "stage_timeouts"))
    print(
        f"  {sent} distinct answers needed sympy/math_verify in a worker ({ran_out} stage budgets ran out there),"
        " the rest string checks only"
    )
    ratios = f"speed-up vs reference-style: {baseline_s / ours_s:.1f}x wall, {baseline_cpu / ours_cpu:.1f}x CPU"
    if args.reference:
        ratios += f"; vs real entropy_math: {real_s / ours_s:.1f}x wall, {real_cpu / ours_cpu:.1f}x CPU"
    differing = sum(a != b for a, b in zip(ours, baseline))
    print(f"{ratios}; verdicts differing: {differing}; accuracy {sum(ours) / len(ours):.3f}")
    _explain_differences(samples, ours, baseline, args.budget_scale)
    if args.reference:
        differing += sum(a != b for a, b in zip(ours, real))
        print(f"verdicts differing from the real entropy_math: {sum(a != b for a, b in zip(ours, real))}")
        _explain_differences(samples, ours, real, args.budget_scale)
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
