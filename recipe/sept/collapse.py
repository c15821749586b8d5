"""Collapse warning for the online self-training loop: pure functions, no verl imports.

SePT trains on its own samples, so at too high a learning rate the loop feeds on itself: each update makes the next
samples more alike, the token entropy of those samples (``sept/entropy``) falls towards zero and the answers
degenerate, which shows as a drop of the samples' monitoring accuracy (``critic/score/mean``, logged when
``sept.monitor_reward`` is on). ``detect_collapse`` decides from the per-step history whether a run looks like that;
the trainer (``recipe/sept/trainer.py``) logs the warning and ``sept/collapse_warning``.

Both signals compare medians, never single steps: the median of the last ``window`` steps ignores up to
(window - 1) // 2 outlying steps, so one noisy batch neither fires a warning nor sets the bar.

* entropy: median(last ``window`` values) < ``entropy_fraction`` × median(first ``reference_steps`` values).
* accuracy: current < (1 - ``accuracy_drop``) × best, where current is the median of the last ``window`` values and best
  the highest such median over every complete window so far.

Either signal alone fires; without accuracy values (monitoring off) the entropy signal works alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import Sequence

ENTROPY_METRIC = "sept/entropy"
ACCURACY_METRIC = "critic/score/mean"


@dataclass(frozen=True)
class CollapseThresholds:
    """When ``detect_collapse`` fires. The defaults, and why:

    * ``reference_steps = 3``: the entropy reference is the median of the first 3 steps, the base model's level:
      the fewest steps whose median ignores one outlying step, and few, so that a fast divergence has not already
      lowered the reference.
    * ``window = 5``: medians over 5 steps ignore up to 2 outlying steps (training batches are noisy: 128 prompts
      give a standard error of ~0.04 on the accuracy, the CPU preset's 8 prompts ~0.18); a sudden collapse fires
      at its third step, little against runs of hundreds of steps; runs shorter than 5 steps are never judged.
    * ``entropy_fraction = 0.25``: SePT sharpens by design, so the entropy falls in a healthy run too; a fall to
      a quarter of the starting level is far beyond gradual sharpening and where a collapsing run ends up
      (towards zero). 0 turns the entropy signal off.
    * ``accuracy_drop = 0.5`` (relative): raising τs from 0.6 to 1.0 costs a healthy run about a third of its
      sample accuracy by itself (the tiny CPU base model: 0.60 at τ = 0.6, 0.40 at τ = 1; measured on that model,
      an absolute drop of 0.25 fired on healthy annealed runs at lr 3e-5 and 1e-4), so the bar is a halving; the
      collapsing runs measured there fell to a third or less (lr 3e-4: 0.72 → 0.2; lr 1e-3: 0.5 → 0). 1 turns the
      accuracy signal off.

    Not calibrated on a paper-scale run: tune them under ``sept.collapse`` (configs/sept_base.yaml).
    """

    reference_steps: int = 3
    window: int = 5
    entropy_fraction: float = 0.25
    accuracy_drop: float = 0.5


@dataclass(frozen=True)
class CollapseStatus:
    """What ``detect_collapse`` saw: the signals that fired (``entropy``, ``accuracy``) and the medians compared.
    A value is None until its history is long enough to judge."""

    signals: tuple[str, ...] = ()
    entropy: float | None = None
    entropy_reference: float | None = None
    accuracy: float | None = None
    accuracy_best: float | None = None

    @property
    def fired(self) -> bool:
        return bool(self.signals)

    def describe(self) -> str:
        """The fired signals with their values, for the warning."""
        parts = []
        if "entropy" in self.signals:
            parts.append(
                f"{ENTROPY_METRIC} {self.entropy:.4g} is {self.entropy / self.entropy_reference:.0%} of its starting "
                f"{self.entropy_reference:.4g}"
            )
        if "accuracy" in self.signals:
            parts.append(
                f"{ACCURACY_METRIC} {self.accuracy:.4g} is {self.accuracy / self.accuracy_best:.0%} of its best "
                f"{self.accuracy_best:.4g}"
            )
        return "; ".join(parts) + " (medians over recent steps)"


def detect_collapse(
    entropy: Sequence[float], accuracy: Sequence[float], thresholds: CollapseThresholds = CollapseThresholds()
) -> CollapseStatus:
    """Judge a run from its per-step ``sept/entropy`` and ``critic/score/mean`` values, oldest first (the
    accuracy sequence may be empty). See the module docstring for the rules."""
    t = thresholds
    signals = []
    entropy_now = entropy_reference = accuracy_now = accuracy_best = None
    if len(entropy) >= max(t.reference_steps, t.window):
        entropy_reference = median(entropy[: t.reference_steps])
        entropy_now = median(entropy[-t.window :])
        if entropy_now < t.entropy_fraction * entropy_reference:
            signals.append("entropy")
    if len(accuracy) >= t.window:
        smoothed = [median(accuracy[end - t.window : end]) for end in range(t.window, len(accuracy) + 1)]
        accuracy_now, accuracy_best = smoothed[-1], max(smoothed)
        if accuracy_now < (1 - t.accuracy_drop) * accuracy_best:
            signals.append("accuracy")
    return CollapseStatus(tuple(signals), entropy_now, entropy_reference, accuracy_now, accuracy_best)


@dataclass
class CollapseHistory:
    """The trainer's per-step values and whether the last step fired (a warning is logged once per onset)."""

    entropy: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    firing: bool = False
