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

from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median

ENTROPY_METRIC = "sept/entropy"
ACCURACY_METRIC = "critic/score/mean"


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


def detect_collapse(entropy: Sequence[float], accuracy: Sequence[float], thresholds) -> CollapseStatus:
    """Judge a run from its per-step ``sept/entropy`` and ``critic/score/mean`` values, oldest first (the
    accuracy sequence may be empty). ``thresholds`` has ``reference_steps``, ``window``, ``entropy_fraction`` and
    ``accuracy_drop`` (``sept.collapse``, ``recipe.sept.config.CollapseConfig``). See the module docstring for the rules."""
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
