"""Sampling-temperature schedule τs(step): pure functions, no verl imports.

Paper (arXiv 2510.18814, §4): τs rises linearly from 0.6 to 1.0 over the first 2 of 3 epochs (math models;
0.9 → 1.0 for general ones), then stays at 1.0.

With p = clip((step - 1) / duration_steps, 0, 1), steps counted from 1 as verl does:
    constant: τs = start
    linear:   τs = start + (end - start) · p
    cosine:   τs = end + (start - end) · (1 + cos(π p)) / 2
so step 1 samples at ``start`` and step ``1 + duration_steps`` (the first step of the epoch after the anneal)
at ``end``; later steps hold ``end``.
"""

from __future__ import annotations

import math

SCHEDULES = ("constant", "linear", "cosine")
UNITS = ("epoch", "step")


def duration_in_steps(duration: float, unit: str, steps_per_epoch: int) -> float:
    """Length of the anneal in optimizer steps (``duration`` epochs or steps)."""
    if unit == "epoch":
        return duration * steps_per_epoch
    if unit == "step":
        return float(duration)
    raise ValueError(f"unit={unit!r}: expected one of {UNITS}")


def anneal_progress(step: int, duration_steps: float) -> float:
    """Fraction p ∈ [0, 1] of the anneal done before ``step`` (1-based)."""
    if duration_steps <= 0:
        return 1.0
    return min(max((step - 1) / duration_steps, 0.0), 1.0)


def tau_s_at(step: int, schedule: str, start: float, end: float, duration_steps: float) -> float:
    """τs for a 1-based training step (see the module docstring for the formulas)."""
    if schedule == "constant":
        return start
    p = anneal_progress(step, duration_steps)
    if schedule == "linear":
        return start + (end - start) * p
    if schedule == "cosine":
        return end + (start - end) * (1.0 + math.cos(math.pi * p)) / 2.0
    raise ValueError(f"schedule={schedule!r}: expected one of {SCHEDULES}")
