"""Evaluation metrics over graded samples: unbiased pass@k, mean@n, maj@k, lengths, bootstrap intervals.

Conventions (the paper's): a benchmark score is the mean over its problems; the headline number is the
unweighted mean over benchmarks; AVG = mean(pass@1, pass@8, pass@32). All percentages are left to the
reports; every function here returns fractions in [0, 1].
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

PAPER_KS = (1, 2, 4, 8, 16, 32)
AVG_KS = (1, 8, 32)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem with ``c`` correct out of ``n`` samples: 1 - C(n-c, k) / C(n, k).

    Computed as 1 - prod_{i=n-c+1}^{n} (1 - k/i), which never forms the huge binomials (Chen et al., 2021).
    """
    if not (isinstance(n, int) and isinstance(c, int) and isinstance(k, int)):
        raise TypeError(f"pass_at_k takes integers, got n={n!r}, c={c!r}, k={k!r}")
    if n < 1 or not 0 <= c <= n:
        raise ValueError(f"pass_at_k needs n >= 1 and 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass@{k} is undefined with n={n} samples: k must be in 1..n (sample more, or drop k={k})")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def mean_pass_at_k(counts: Sequence[tuple[int, int]], k: int) -> float:
    """Mean over problems of pass@k; ``counts`` holds one (n, c) per problem."""
    if not counts:
        raise ValueError("mean_pass_at_k: no problems")
    return sum(pass_at_k(n, c, k) for n, c in counts) / len(counts)


def mean_at_n(counts: Sequence[tuple[int, int]]) -> float:
    """mean@n: the mean accuracy of all samples, averaged per problem first (= pass@1)."""
    if not counts:
        raise ValueError("mean_at_n: no problems")
    return sum(c / n for n, c in counts) / len(counts)


def majority_correct(keys: Sequence[str | None], accs: Sequence[bool]) -> bool:
    """Whether the most frequent answer is correct. ``None`` keys (no answer) never win a vote.

    Ties go to the answer seen first. The winning answer's correctness is the majority verdict of its
    samples (they normally agree: the same normalised answer against the same ground truth).
    """
    if len(keys) != len(accs):
        raise ValueError(f"majority_correct: {len(keys)} keys but {len(accs)} verdicts")
    votes = Counter(key for key in keys if key is not None)
    if not votes:
        return False
    top = max(votes.values())
    winner = next(key for key in keys if key is not None and votes[key] == top)
    verdicts = [acc for key, acc in zip(keys, accs) if key == winner]
    return sum(verdicts) * 2 > len(verdicts)


def maj_at_k(keys: Sequence[str | None], accs: Sequence[bool], k: int, draws: int = 200, seed: int = 0) -> float:
    """maj@k of one problem: probability that a majority vote over k of its n samples is correct.

    Exact for k = n; for k < n the mean over ``draws`` seeded random k-subsets (without replacement).
    """
    n = len(keys)
    if not 1 <= k <= n:
        raise ValueError(f"maj@{k} is undefined with n={n} samples: k must be in 1..n")
    if k == n:
        return float(majority_correct(keys, accs))
    rng = random.Random(seed)
    hits = 0
    for _ in range(draws):
        chosen = sorted(rng.sample(range(n), k))
        hits += majority_correct([keys[i] for i in chosen], [accs[i] for i in chosen])
    return hits / draws


def avg_score(pass_k: Mapping[int, float]) -> float:
    """The paper's AVG = mean(pass@1, pass@8, pass@32)."""
    missing = [k for k in AVG_KS if k not in pass_k]
    if missing:
        raise ValueError(f"AVG needs pass@1, pass@8 and pass@32; missing pass@{missing} (evaluate with n >= 32)")
    return sum(pass_k[k] for k in AVG_KS) / len(AVG_KS)


def bootstrap_ci(
    per_problem: Sequence[float], n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-problem values, resampling problems with replacement."""
    values = np.asarray(per_problem, dtype=float)
    if values.size == 0:
        raise ValueError("bootstrap_ci: no problems")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(n_boot, values.size))].mean(axis=1)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def per_problem_pass(correct_counts: Mapping, n: int, ks: Sequence[int], greedy: bool = False) -> dict:
    """Per problem pass@k for ``ks`` from one evaluation's ``correct_counts`` (index → correct of ``n``). A greedy
    evaluation (τ = 0, one sample) stands for any number of samples: its pass@k is its pass@1 for every k."""
    if greedy and n == 1:
        return {q: {k: float(c) for k in ks} for q, c in correct_counts.items()}
    return {q: {k: pass_at_k(n, int(c), k) for k in ks} for q, c in correct_counts.items()}


def paired_bootstrap_ci(
    trained: Sequence[np.ndarray],
    reference: Sequence[np.ndarray],
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(trained) − mean(reference), paired over problems and over seeds.

    ``trained[b]`` is a (seeds × problems) array of per-problem values (e.g. pass@k) of benchmark ``b``, one row per
    training seed; ``reference[b]`` the same problems' values of the model compared with (one evaluation). A draw
    resamples the seeds (the same draw for every benchmark: a seed is one trained model) and, within each
    benchmark, the problems with replacement; its statistic is the unweighted mean over benchmarks of the mean
    over drawn problems of (drawn seeds' mean − reference), as the tables average. With one seed it is the
    interval over problems alone; with several it also covers the spread between seeds.
    """
    if not trained or len(trained) != len(reference):
        raise ValueError(f"paired_bootstrap_ci: {len(trained)} trained and {len(reference)} reference benchmarks")
    seeds = {np.shape(values)[0] for values in trained}
    if len(seeds) != 1:
        raise ValueError(f"paired_bootstrap_ci: benchmarks have different seed counts {sorted(seeds)}")
    (n_seeds,) = seeds
    rng = np.random.default_rng(seed)
    # Seed draws: (n_boot, seeds); a single seed is never resampled (it would only repeat itself).
    seed_draws = rng.integers(0, n_seeds, size=(n_boot, n_seeds)) if n_seeds > 1 else np.zeros((n_boot, 1), int)
    total = np.zeros(n_boot)
    for values, ref in zip(trained, reference):
        values, ref = np.asarray(values, dtype=float), np.asarray(ref, dtype=float)
        if values.ndim != 2 or ref.shape != values.shape[1:] or ref.size == 0:
            raise ValueError(
                f"paired_bootstrap_ci: trained {values.shape} must be (seeds, problems) over the reference's "
                f"{ref.shape} problems"
            )
        # Per draw: the drawn seeds' mean for every problem, minus the reference, then problems resampled.
        differences = values[seed_draws].mean(axis=1) - ref  # (n_boot, problems)
        problems = rng.integers(0, ref.size, size=(n_boot, ref.size))
        total += np.take_along_axis(differences, problems, axis=1).mean(axis=1)
    low, high = np.quantile(total / len(trained), [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def paired_differences(
    before: Mapping[int | str, int], n_before: int, after: Mapping[int | str, int], n_after: int
) -> list[float]:
    """Per-problem change of the fraction of correct samples, c_after / n_after − c_before / n_before, for two
    evaluations of the same problems (``correct_counts`` of two runs: problem index → correct samples). The mean
    is the change of pass@1; ``bootstrap_ci`` of the list is its paired interval over problems."""
    if set(before) != set(after):
        raise ValueError(
            f"paired_differences: the two evaluations cover different problems "
            f"({len(set(before) ^ set(after))} not in both)"
        )
    return [after[q] / n_after - before[q] / n_before for q in sorted(before, key=str)]


@dataclass
class ProblemSamples:
    """The graded samples of one prompt."""

    index: int
    accs: list[bool]
    keys: list[str | None] = field(default_factory=list)  # normalised answers for maj@k ([] if unknown)
    lengths: list[int] = field(default_factory=list)  # response lengths in tokens ([] if unknown)
    finish_reasons: list[str] = field(default_factory=list)  # "stop" / "length" ([] if unknown)

    @property
    def n(self) -> int:
        return len(self.accs)

    @property
    def correct(self) -> int:
        return sum(self.accs)


def benchmark_metrics(
    problems: Sequence[ProblemSamples],
    ks: Sequence[int] = PAPER_KS,
    maj_ks: Sequence[int] = (),
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """Metrics of one benchmark: pass@k for each k <= n, mean@n, AVG, maj@k, lengths, cut-off ratio, 95% CIs.

    Every problem must have the same number of samples n (a mixed n would make pass@k incomparable).
    """
    if not problems:
        raise ValueError("benchmark_metrics: no problems")
    sizes = {p.n for p in problems}
    if len(sizes) != 1:
        raise ValueError(
            f"benchmark_metrics: problems have different sample counts {sorted(sizes)}; regrade with one n"
        )
    (n,) = sizes
    counts = [(p.n, p.correct) for p in problems]
    out: dict = {"problems": len(problems), "n": n, "pass": {}, "ci": {}, "maj": {}}
    for k in (k for k in ks if k <= n):
        per_problem = [pass_at_k(pn, c, k) for pn, c in counts]
        out["pass"][k] = sum(per_problem) / len(per_problem)
        out["ci"][k] = bootstrap_ci(per_problem, n_boot=n_boot, seed=seed)
    out["mean@n"] = mean_at_n(counts)
    out["avg"] = avg_score(out["pass"]) if all(k in out["pass"] for k in AVG_KS) else None
    for k in (k for k in maj_ks if k <= n):
        out["maj"][k] = sum(maj_at_k(p.keys, p.accs, k, seed=seed) for p in problems) / len(problems)
    out.update(length_stats(problems))
    out["correct_counts"] = {p.index: p.correct for p in problems}
    return out


def length_stats(problems: Sequence[ProblemSamples]) -> dict:
    """Mean and max response length, and the fraction of samples cut off at the length limit."""
    lengths = [length for p in problems for length in p.lengths]
    reasons = [reason for p in problems for reason in p.finish_reasons]
    return {
        "length_mean": sum(lengths) / len(lengths) if lengths else None,
        "length_max": max(lengths) if lengths else None,
        "cutoff_ratio": sum(r == "length" for r in reasons) / len(reasons) if reasons else None,
    }


def macro_mean(per_benchmark: Mapping[str, Mapping[int, float]]) -> dict[int, float]:
    """Unweighted mean over benchmarks of each pass@k that every benchmark has."""
    if not per_benchmark:
        raise ValueError("macro_mean: no benchmarks")
    common = set.intersection(*(set(scores) for scores in per_benchmark.values()))
    return {k: sum(scores[k] for scores in per_benchmark.values()) / len(per_benchmark) for k in sorted(common)}
