"""Is a trained model more than a colder base model? The trained model at τ = 1 against the base model at the
temperature that matches it.

Lowering the base model's sampling temperature raises its pass@1 too. If training did nothing else, the trained
model at τ = 1 would answer every question like the base model at some τ* < 1: the same per-question accuracy and
so the same pass@k for every k. ``match_temperature`` finds τ*: the base τ whose mean pass@1 over the held-out
questions equals the trained model's, by linear interpolation between the two swept τs around it (the base
model's per-question values at τ* are interpolated with the same weight, so the matched mean pass@1 equals the
trained model's exactly). ``compare_matched`` then reports, per question, where the two differ:

* the mean difference of pass@k (k > 1) and AVG with a paired bootstrap interval over questions and seeds
  (``eval.metrics.paired_bootstrap_ci``); pass@1 differs by construction only when τ* falls outside the sweep;
* the questions the trained model answers better (gains) or worse (losses) by at least ``min_difference`` of
  pass@1, and how many such questions sampling alone would produce if the trained model *were* the base model
  at τ* (binomial sampling of the trained model's samples; the base model's own sampling noise adds more).

Equal mean pass@1 with equal pass@k and no more moved questions than chance: a temperature change explains the
result. Higher pass@k at equal pass@1, or far more moved questions than chance: training did something else.
The match is on mean pass@1 because the generations store keeps answers, not token entropies.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from eval.metrics import AVG_KS, paired_bootstrap_ci

# Per question: pass@k by k. A question is any hashable key, e.g. (benchmark, index).
PerQuestion = Mapping[Hashable, Mapping[int, float]]
# A per-question pass@1 difference at least this large is counted as a gain or a loss: about two standard errors
# of the difference of two 32-sample estimates at p = 0.5 (sqrt(2 · 0.25 / 32) = 0.125), the noisiest case.
MIN_DIFFERENCE = 0.25


@dataclass(frozen=True)
class Match:
    """The base temperature whose mean pass@1 matches a target (the trained model's at τ = 1)."""

    tau: float  # τ*: interpolated between ``lower`` and ``upper``
    lower: float  # swept τ below τ* (equal to ``upper`` when τ* is a swept τ or outside the sweep)
    upper: float
    weight: float  # of ``upper``: τ* = lower + weight · (upper − lower)
    nearest: float  # the swept τ whose mean pass@1 is closest to the target
    inside: bool  # whether the target lies within the swept pass@1 range (else τ* is the closest end)


def match_temperature(target: float, base_pass1: Mapping[float, float]) -> Match:
    """τ* with base mean pass@1 equal to ``target``, linear between adjacent swept τs (``base_pass1``: τ → mean
    pass@1). Where several segments of the sweep bracket the target (pass@1 is not monotone in τ near greedy), the
    highest τ wins: the smallest change of temperature from τ = 1 that explains the target."""
    if len(base_pass1) < 1:
        raise ValueError("match_temperature: no swept temperatures")
    taus = sorted(base_pass1)
    nearest = min(reversed(taus), key=lambda t: abs(base_pass1[t] - target))
    for low, high in reversed(list(zip(taus, taus[1:]))):
        p_low, p_high = base_pass1[low], base_pass1[high]
        if min(p_low, p_high) <= target <= max(p_low, p_high):
            weight = 0.0 if p_low == p_high else (target - p_low) / (p_high - p_low)
            return Match(low + weight * (high - low), low, high, weight, nearest, True)
    inside = len(taus) == 1 and base_pass1[taus[0]] == target
    return Match(nearest, nearest, nearest, 0.0, nearest, inside)


def _columns(ks: Sequence[int]) -> list[str]:
    return [f"pass@{k}" for k in ks] + (["AVG"] if all(k in ks for k in AVG_KS) else [])


def _values(per_question: PerQuestion, questions: list, ks: Sequence[int]) -> np.ndarray:
    """(questions × columns) of pass@k for ``ks`` and, when ``ks`` holds 1, 8 and 32, AVG."""
    rows = []
    for q in questions:
        row = [per_question[q][k] for k in ks]
        if len(row) < len(_columns(ks)):
            row.append(sum(per_question[q][k] for k in AVG_KS) / len(AVG_KS))
        rows.append(row)
    return np.asarray(rows, dtype=float)


def at_matched(base_by_tau: Mapping[float, PerQuestion], match: Match) -> dict:
    """The base model's per-question pass@k at τ*: the two bracketing evaluations weighted as the match is."""
    low, high = base_by_tau[match.lower], base_by_tau[match.upper]
    if set(low) != set(high):
        raise ValueError(f"base evaluations at τ {match.lower:g} and {match.upper:g} cover different questions")
    w = match.weight
    return {q: {k: (1 - w) * low[q][k] + w * high[q][k] for k in low[q]} for q in low}


def expected_by_chance(p: Sequence[float], samples: int, threshold: float) -> float:
    """Expected number of questions whose estimated pass@1 from ``samples`` samples lands at least ``threshold``
    away from its true value ``p`` (one per question): binomial sampling alone."""
    total = 0.0
    for value in p:
        total += sum(
            math.comb(samples, c) * value**c * (1 - value) ** (samples - c)
            for c in range(samples + 1)
            if abs(c / samples - value) >= threshold - 1e-12
        )
    return total


@dataclass(frozen=True)
class Shift:
    """One question the trained model answers differently from the base model at τ*."""

    question: Hashable
    trained: float  # pass@1 (mean over seeds)
    matched: float  # the base model's pass@1 at τ*


@dataclass(frozen=True)
class MatchedComparison:
    match: Match
    questions: int
    seeds: int
    trained: dict[str, float]  # mean pass@k and AVG at τ = 1 (over seeds and questions)
    matched: dict[str, float]  # the base model's at τ*
    difference: dict[str, tuple[float, float, float]]  # trained − matched: (mean, 95 % low, 95 % high)
    gains: list[Shift]  # largest gain first
    losses: list[Shift]  # largest loss first
    expected: float  # moved questions (gains + losses) that sampling alone would give


def compare_matched(
    trained_seeds: Sequence[PerQuestion],
    base_by_tau: Mapping[float, PerQuestion],
    ks: Sequence[int] = (1, 8, 32),
    samples: int = 32,
    min_difference: float = MIN_DIFFERENCE,
    n_boot: int = 1000,
) -> MatchedComparison:
    """The trained model (one per-question map per seed, all at τ = 1 with ``samples`` samples each) against the
    base model at the matched τ* (``base_by_tau``: swept τ → per-question map); see the module docstring."""
    if not trained_seeds or 1 not in ks:
        raise ValueError("compare_matched needs at least one trained seed and pass@1 among ks")
    questions = sorted(trained_seeds[0], key=str)
    for name, per_question in [*(("a trained seed", s) for s in trained_seeds), *base_by_tau.items()]:
        if set(per_question) != set(questions):
            raise ValueError(f"compare_matched: {name} covers other questions than the first trained seed")
    trained = np.stack([_values(s, questions, ks) for s in trained_seeds])  # (seeds, questions, columns)
    seed_mean = trained.mean(axis=0)
    base_pass1 = {tau: float(np.mean([pq[q][1] for q in questions])) for tau, pq in base_by_tau.items()}
    match = match_temperature(float(seed_mean[:, 0].mean()), base_pass1)
    matched = _values(at_matched(base_by_tau, match), questions, ks)
    columns = _columns(ks)
    difference = {}
    for i, column in enumerate(columns):
        low, high = paired_bootstrap_ci([trained[:, :, i]], [matched[:, i]], n_boot=n_boot)
        difference[column] = (float((seed_mean[:, i] - matched[:, i]).mean()), low, high)
    shifts = [Shift(q, float(t), float(m)) for q, t, m in zip(questions, seed_mean[:, 0], matched[:, 0])]
    return MatchedComparison(
        match=match,
        questions=len(questions),
        seeds=len(trained_seeds),
        trained={c: float(seed_mean[:, i].mean()) for i, c in enumerate(columns)},
        matched={c: float(matched[:, i].mean()) for i, c in enumerate(columns)},
        difference=difference,
        gains=sorted(
            (s for s in shifts if s.trained - s.matched >= min_difference), key=lambda s: s.matched - s.trained
        ),
        losses=sorted(
            (s for s in shifts if s.matched - s.trained >= min_difference), key=lambda s: s.trained - s.matched
        ),
        expected=expected_by_chance(matched[:, 0], samples * len(trained_seeds), min_difference),
    )
