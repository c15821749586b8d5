"""The ``sept`` config section, typed with verl's ``BaseConfig`` pattern, and the start-up checks of a run.

Every value is set once, with its comment, in ``configs/sept_base.yaml``; the dataclasses below give the types
(``MISSING``: no second default here) and check ranges in ``__post_init__``. ``omega_conf_to_dataclass`` (verl's)
rejects unknown keys and values of the wrong type, naming the key. The other checks here (verl settings SePT relies
on, the data files and their columns) run before Ray starts, so a bad value fails in a second
with the key, the value and what to do, instead of minutes later inside a Ray worker.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from verl.base_config import BaseConfig
from verl.utils.config import omega_conf_to_dataclass

from recipe.sept.schedule import SCHEDULES, UNITS, duration_in_steps, tau_s_at

logger = logging.getLogger(__name__)

TAU_T_MODES = ("fixed", "coupled")
# Columns verl's RLHFDataset and the reward function read from every training/validation parquet.
REQUIRED_COLUMNS = ("prompt", "data_source", "reward_model")


class SePTConfigError(ValueError):
    """A config value or input file that cannot work; the message says which and what to do."""


def _fail(key: str, value, why: str) -> None:
    raise SePTConfigError(f"{key} = {value!r}: {why}")


@dataclass
class TauSConfig(BaseConfig):
    """``sept.tau_s``: the sampling-temperature schedule (``recipe/sept/schedule.py`` has the formulas)."""

    schedule: str = MISSING
    start: float = MISSING
    end: float = MISSING
    duration: float = MISSING
    unit: str = MISSING

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            _fail("sept.tau_s.schedule", self.schedule, f"expected one of {SCHEDULES}")
        if self.unit not in UNITS:
            _fail("sept.tau_s.unit", self.unit, f"expected one of {UNITS}")
        for key in ("start", "end"):
            if not getattr(self, key) > 0:
                _fail(f"sept.tau_s.{key}", getattr(self, key), "a sampling temperature must be > 0 (e.g. 0.6)")
        if not self.duration >= 0:
            _fail("sept.tau_s.duration", self.duration, f"must be >= 0 ({self.unit}s of annealing)")


@dataclass
class CollapseConfig(BaseConfig):
    """``sept.collapse``: the collapse warning and the thresholds of ``recipe/sept/collapse.py``."""

    enabled: bool = MISSING
    reference_steps: int = MISSING
    window: int = MISSING
    entropy_fraction: float = MISSING
    accuracy_drop: float = MISSING

    def __post_init__(self) -> None:
        for key in ("reference_steps", "window"):
            if not getattr(self, key) >= 1:
                _fail(f"sept.collapse.{key}", getattr(self, key), "a number of steps: an integer >= 1")
        if not 0 <= self.entropy_fraction < 1:
            _fail(
                "sept.collapse.entropy_fraction",
                self.entropy_fraction,
                "a fraction of the starting entropy in [0, 1) (0 = off)",
            )
        if not 0 < self.accuracy_drop <= 1:
            _fail(
                "sept.collapse.accuracy_drop",
                self.accuracy_drop,
                "a relative accuracy drop in (0, 1] (0.5: to half the best; 1 = off)",
            )


@dataclass
class SePTConfig(BaseConfig):
    """``sept``: SePT's own knobs (values and their meaning: configs/sept_base.yaml)."""

    tau_s: TauSConfig = MISSING
    tau_t: float = MISSING
    tau_t_mode: str = MISSING
    monitor_reward: bool = MISSING
    verl_resampled_val_metrics: bool = MISSING
    collapse: CollapseConfig = MISSING

    def __post_init__(self) -> None:
        if self.tau_t_mode not in TAU_T_MODES:
            _fail("sept.tau_t_mode", self.tau_t_mode, f"expected one of {TAU_T_MODES}")
        if not self.tau_t > 0:
            _fail("sept.tau_t", self.tau_t, "a training temperature must be > 0 (the paper uses 1.0)")

    def tau_s_for_step(self, step: int, steps_per_epoch: int) -> float:
        s = self.tau_s
        return tau_s_at(step, s.schedule, s.start, s.end, duration_in_steps(s.duration, s.unit, steps_per_epoch))

    def tau_t_for_step(self, step: int, steps_per_epoch: int) -> float:
        """τt: fixed, or equal to τs at every step (the paper's coupled ablation)."""
        if self.tau_t_mode == "coupled":
            return self.tau_s_for_step(step, steps_per_epoch)
        return self.tau_t


def typed_section(section: DictConfig, cls: type, prefix: str, error: type[Exception] = SePTConfigError):
    """``section`` as the ``BaseConfig`` dataclass ``cls`` (verl's ``omega_conf_to_dataclass``); an unknown key, a
    missing value or a value of the wrong type raises ``error`` as "<prefix>.<key> = <value>: <why>"."""
    try:
        # Resolved first: interpolations (e.g. ${sept.tau_s.start}) refer to the whole config, not the section.
        return omega_conf_to_dataclass(OmegaConf.to_container(section, resolve=True), cls)
    except OmegaConfBaseException as exc:
        key = str(exc.full_key or "")
        value = OmegaConf.select(section, key, default=None, throw_on_missing=False) if key else None
        why = str(exc).splitlines()[0]
        if "not in" in why:
            parent = OmegaConf.select(section, key.rpartition(".")[0]) if "." in key else section
            why += f"; the known keys are {sorted(k for k in parent.keys() if k != key)}"
        raise error(f"{prefix}.{key} = {value!r}: {why}") from None


def parse_sept_config(config: DictConfig) -> SePTConfig:
    """The typed ``config.sept``; raises ``SePTConfigError`` naming the key on an unknown key or a bad value."""
    if "sept" not in config:
        raise SePTConfigError("config has no `sept` section: launch with --config-name sept_trainer (or a preset).")
    return typed_section(config.sept, SePTConfig, "sept")


def check_verl_settings(config: DictConfig) -> None:
    """Settings outside ``sept`` that SePT relies on."""
    n = config.actor_rollout_ref.rollout.n
    if not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
        _fail("actor_rollout_ref.rollout.n", n, "G, the samples per prompt, must be an integer >= 1 (paper: 1)")
    if not config.trainer.use_v1:
        _fail("trainer.use_v1", config.trainer.use_v1, "the SePT recipe runs on verl's v1 trainer: set it to true")
    if config.trainer.v1.trainer_mode != "sync":
        _fail(
            "trainer.v1.trainer_mode",
            config.trainer.v1.trainer_mode,
            "SePT samples from the current weights every step: keep 'sync' (other modes are off-policy)",
        )
    _check_loss_pairing(config)
    _check_grader_mode(config)


def _check_grader_mode(config: DictConfig) -> None:
    """The grader mode reaches the grader only inside verl's reward workers, where an unknown one would fail on
    the first sample after the whole start-up: checked here instead."""
    from eval.grader import GRADER_MODES

    reward_kwargs = config.reward.custom_reward_function.get("reward_kwargs") or {}
    mode = reward_kwargs.get("grader_mode", "faithful")
    if mode not in GRADER_MODES:
        _fail(
            "reward.custom_reward_function.reward_kwargs.grader_mode",
            mode,
            f"unknown grader mode; use one of {', '.join(GRADER_MODES)} (docs/grader.md)",
        )


def _check_loss_pairing(config: DictConfig) -> None:
    """The reward-free estimator and losses only make sense together (a PPO loss with all-one advantages, or
    an NLL beside a reward estimator, would silently train something else)."""
    from recipe.sept.losses import EMFT_LOSS, REWARD_FREE_LOSSES, SEPT_ADV_ESTIMATOR

    estimator = config.algorithm.adv_estimator
    actor = config.actor_rollout_ref.actor
    loss_mode = actor.policy_loss.loss_mode
    if (estimator == SEPT_ADV_ESTIMATOR) != (loss_mode in REWARD_FREE_LOSSES):
        _fail(
            "actor_rollout_ref.actor.policy_loss.loss_mode",
            loss_mode,
            f"algorithm.adv_estimator={estimator!r}: use the sept estimator with one of {REWARD_FREE_LOSSES}, "
            "and a reward estimator (grpo, ...) with a policy-gradient loss (vanilla, ...)",
        )
    if estimator != SEPT_ADV_ESTIMATOR and not config.sept.monitor_reward:
        _fail(
            "sept.monitor_reward", False, f"algorithm.adv_estimator={estimator!r} learns from the reward: keep it true"
        )
    if loss_mode == EMFT_LOSS and not actor.entropy_coeff < 0:
        _fail(
            "actor_rollout_ref.actor.entropy_coeff",
            actor.entropy_coeff,
            f"{EMFT_LOSS} minimises entropy through verl's entropy term: set it to -1",
        )


def warn_if_not_sharpening(sept: SePTConfig, total_steps: int, steps_per_epoch: int) -> int:
    """Warn when τs ≥ τt at some step of a run that is not coupled; returns the number of such steps.

    Theory (paper §3): an update sharpens the model by τt/τs; at τs = τt its expected gradient is zero, and at
    τs > τt it flattens the model instead.
    """
    if sept.tau_t_mode == "coupled":
        return 0
    steps = [k for k in range(1, total_steps + 1) if sept.tau_s_for_step(k, steps_per_epoch) >= sept.tau_t]
    if steps:
        logger.warning(
            "sept: %d of %d steps (first: step %d) sample at tau_s >= tau_t = %.3g: at tau_s = tau_t the expected "
            "gradient is zero and at tau_s > tau_t SePT flattens rather than sharpens the model. Intended for the "
            "end of the paper's anneal; otherwise lower sept.tau_s.end or raise sept.tau_t.",
            len(steps),
            total_steps,
            steps[0],
            sept.tau_t,
        )
    return len(steps)


def check_data_file(key: str, path: str) -> None:
    """The parquet exists, is readable, and has the columns RLHFDataset and the reward function read."""
    import pyarrow.parquet as pq

    if not os.path.isfile(path):
        _fail(key, path, "no such file; prepare the data first (python -m data_prep, see README)")
    try:
        columns = pq.read_schema(path).names
    except Exception as exc:  # pyarrow raises several types for unreadable files
        _fail(key, path, f"not a readable parquet file ({type(exc).__name__}: {exc})")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        _fail(
            key, path, f"missing column(s) {missing}; found {columns}. verl's RL format needs {list(REQUIRED_COLUMNS)}"
        )


def check_inputs(config: DictConfig) -> None:
    """Fail before Ray starts on a missing or unusable data file (the model: ``recipe/sept/preflight.py``)."""
    for key in ("data.train_files", "data.val_files"):
        files = OmegaConf.select(config, key)
        for path in [files] if isinstance(files, str) else list(files):
            check_data_file(key, os.path.expanduser(path))
