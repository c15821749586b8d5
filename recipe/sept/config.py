"""The ``sept`` config section: typed, validated once at start-up (before Ray starts).

The YAML (``configs/sept_trainer.yaml``) documents each knob; this module gives them types and ranges, and checks
the inputs a run cannot do without (model folder, data files and their columns) so that a bad value fails in a
second with a message naming the key, the value and what to do, instead of minutes later inside a Ray worker.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from dataclasses import dataclass, field

from omegaconf import DictConfig, OmegaConf

from recipe.sept.collapse import CollapseThresholds
from recipe.sept.schedule import SCHEDULES, UNITS, duration_in_steps, tau_s_at

logger = logging.getLogger(__name__)

TAU_T_MODES = ("fixed", "coupled")
# Columns verl's RLHFDataset and our reward function read from every training/validation parquet.
REQUIRED_COLUMNS = ("prompt", "data_source", "reward_model")


class SePTConfigError(ValueError):
    """A config value or input file that cannot work; the message says which and what to do."""


@dataclass
class TauSSchedule:
    schedule: str = "linear"
    start: float = 0.6
    end: float = 1.0
    duration: float = 2.0
    unit: str = "epoch"


@dataclass
class EvalSweep:
    temperatures: list = field(default_factory=list)
    n: int = 32
    greedy_n: int = 1
    generations_dir: str | None = None
    model_name: str = "model"
    checkpoint_name: str | None = None
    style: str = "question"


@dataclass(frozen=True)
class CollapseWarning(CollapseThresholds):
    """``sept.collapse``: the warning's switch and the thresholds of ``recipe/sept/collapse.py``."""

    enabled: bool = True


@dataclass
class SePTConfig:
    tau_s: TauSSchedule = field(default_factory=TauSSchedule)
    eval: EvalSweep = field(default_factory=EvalSweep)
    collapse: CollapseWarning = field(default_factory=CollapseWarning)
    tau_t: float = 1.0
    tau_t_mode: str = "fixed"
    monitor_reward: bool = True
    cpu: bool = False

    def tau_s_for_step(self, step: int, steps_per_epoch: int) -> float:
        s = self.tau_s
        return tau_s_at(step, s.schedule, s.start, s.end, duration_in_steps(s.duration, s.unit, steps_per_epoch))

    def tau_t_for_step(self, step: int, steps_per_epoch: int) -> float:
        """τt: fixed, or equal to τs at every step (the paper's coupled ablation)."""
        if self.tau_t_mode == "coupled":
            return self.tau_s_for_step(step, steps_per_epoch)
        return self.tau_t


def _fail(key: str, value, why: str) -> None:
    raise SePTConfigError(f"{key} = {value!r}: {why}")


def _check_fields(section: DictConfig, cls, prefix: str) -> None:
    """Unknown keys fail (a typo must not silently fall back to a default)."""
    known = {f.name for f in dataclasses.fields(cls)}
    for key in section.keys():
        if key not in known:
            _fail(f"{prefix}.{key}", section[key], f"unknown key; the known keys of {prefix} are {sorted(known)}")


def parse_sept_config(config: DictConfig) -> SePTConfig:
    """Type and range checks of ``config.sept``; returns the typed section."""
    if "sept" not in config:
        raise SePTConfigError("config has no `sept` section: launch with --config-name sept_trainer (or a preset).")
    section = config.sept
    _check_fields(section, SePTConfig, "sept")
    _check_fields(section.tau_s, TauSSchedule, "sept.tau_s")
    s = section.tau_s
    sched = TauSSchedule(
        schedule=str(s.schedule), start=float(s.start), end=float(s.end), duration=float(s.duration), unit=str(s.unit)
    )
    if sched.schedule not in SCHEDULES:
        _fail("sept.tau_s.schedule", sched.schedule, f"expected one of {SCHEDULES}")
    if sched.unit not in UNITS:
        _fail("sept.tau_s.unit", sched.unit, f"expected one of {UNITS}")
    for key in ("start", "end"):
        if not getattr(sched, key) > 0:
            _fail(f"sept.tau_s.{key}", getattr(sched, key), "a sampling temperature must be > 0 (e.g. 0.6)")
    if not sched.duration >= 0:
        _fail("sept.tau_s.duration", sched.duration, f"must be >= 0 ({sched.unit}s of annealing)")
    tau_t_mode = str(section.tau_t_mode)
    if tau_t_mode not in TAU_T_MODES:
        _fail("sept.tau_t_mode", tau_t_mode, f"expected one of {TAU_T_MODES}")
    tau_t = float(section.tau_t)
    if not tau_t > 0:
        _fail("sept.tau_t", tau_t, "a training temperature must be > 0 (the paper uses 1.0)")
    return SePTConfig(
        tau_s=sched, eval=_parse_eval(section.eval), collapse=_parse_collapse(section.collapse), tau_t=tau_t,
        tau_t_mode=tau_t_mode, monitor_reward=bool(section.monitor_reward), cpu=bool(section.cpu),
    )


def _parse_eval(section: DictConfig) -> EvalSweep:
    """``sept.eval``: the evaluation-temperature sweep run by each validation pass (eval/sweep_store.py)."""
    _check_fields(section, EvalSweep, "sept.eval")
    temps = [float(t) for t in section.temperatures]
    if any(not (t >= 0) for t in temps) or len(set(temps)) != len(temps):
        _fail("sept.eval.temperatures", list(section.temperatures), "distinct temperatures >= 0 (0 = greedy)")
    for key in ("n", "greedy_n"):
        if not (isinstance(section[key], int) and section[key] >= 1):
            _fail(f"sept.eval.{key}", section[key], "samples per prompt: an integer >= 1")
    for key in ("model_name", "style", "checkpoint_name"):
        if key == "checkpoint_name" and section[key] is None:
            continue
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", str(section[key])):
            _fail(f"sept.eval.{key}", section[key], "a folder name: letters, digits and . _ + - (no '/')")
    if temps and section.generations_dir is None:
        _fail("sept.eval.generations_dir", None, "a sweep stores its generations: set a folder (e.g. results/evals)")
    return EvalSweep(
        temperatures=temps, n=int(section.n), greedy_n=int(section.greedy_n),
        generations_dir=os.path.expanduser(str(section.generations_dir)) if section.generations_dir else None,
        model_name=str(section.model_name), style=str(section.style),
        checkpoint_name=None if section.checkpoint_name is None else str(section.checkpoint_name),
    )


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_collapse(section: DictConfig) -> CollapseWarning:
    """``sept.collapse``: the collapse warning logged by the trainer (recipe/sept/collapse.py)."""
    _check_fields(section, CollapseWarning, "sept.collapse")
    if not isinstance(section.enabled, bool):
        _fail("sept.collapse.enabled", section.enabled, "true or false")
    for key in ("reference_steps", "window"):
        steps = section[key]
        if not (isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1):
            _fail(f"sept.collapse.{key}", steps, "a number of steps: an integer >= 1")
    fraction, drop = section.entropy_fraction, section.accuracy_drop
    if not (_is_number(fraction) and 0 <= fraction < 1):
        _fail("sept.collapse.entropy_fraction", fraction, "a fraction of the starting entropy in [0, 1) (0 = off)")
    if not (_is_number(drop) and 0 < drop <= 1):
        _fail("sept.collapse.accuracy_drop", drop, "a relative accuracy drop in (0, 1] (0.5: to half the best; 1 = off)")
    return CollapseWarning(
        enabled=section.enabled, reference_steps=int(section.reference_steps), window=int(section.window),
        entropy_fraction=float(fraction), accuracy_drop=float(drop),
    )


def check_verl_settings(config: DictConfig) -> None:
    """Settings outside ``sept`` that SePT relies on."""
    n = config.actor_rollout_ref.rollout.n
    if not (isinstance(n, int) and n >= 1):
        _fail("actor_rollout_ref.rollout.n", n, "G, the samples per prompt, must be an integer >= 1 (paper: 1)")
    if config.trainer.v1.trainer_mode != "sync":
        _fail("trainer.v1.trainer_mode", config.trainer.v1.trainer_mode,
              "SePT samples from the current weights every step: keep 'sync' (other modes are off-policy)")
    _check_loss_pairing(config)
    if not config.trainer.use_v1:
        _fail("trainer.use_v1", config.trainer.use_v1, "the SePT recipe runs on verl's v1 trainer: set it to true")


def _check_loss_pairing(config: DictConfig) -> None:
    """The reward-free estimator and losses only make sense together (a PPO loss with all-one advantages, or
    an NLL beside a reward estimator, would silently train something else)."""
    from recipe.sept.losses import EMFT_LOSS, REWARD_FREE_LOSSES, SEPT_ADV_ESTIMATOR

    estimator = config.algorithm.adv_estimator
    actor = config.actor_rollout_ref.actor
    loss_mode = actor.policy_loss.loss_mode
    if (estimator == SEPT_ADV_ESTIMATOR) != (loss_mode in REWARD_FREE_LOSSES):
        _fail("actor_rollout_ref.actor.policy_loss.loss_mode", loss_mode,
              f"algorithm.adv_estimator={estimator!r}: use the sept estimator with one of {REWARD_FREE_LOSSES}, "
              "and a reward estimator (grpo, ...) with a policy-gradient loss (vanilla, ...)")
    if estimator != SEPT_ADV_ESTIMATOR and not config.sept.monitor_reward:
        _fail("sept.monitor_reward", False, f"algorithm.adv_estimator={estimator!r} learns from the reward: keep it true")
    if loss_mode == EMFT_LOSS and not actor.entropy_coeff < 0:
        _fail("actor_rollout_ref.actor.entropy_coeff", actor.entropy_coeff,
              f"{EMFT_LOSS} minimises entropy through verl's entropy term: set it to -1")


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
            len(steps), total_steps, steps[0], sept.tau_t,
        )
    return len(steps)


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or os.path.exists(name) or name.count("/") > 1


def check_model_path(path: str) -> None:
    """A local model folder must hold a readable config.json; a hub id (org/name) is left to verl's loader."""
    key = "actor_rollout_ref.model.path"
    if path in (None, "", "???"):
        _fail(key, path, "set it to a local model folder or a hub id (e.g. Qwen/Qwen2.5-Math-7B)")
    path = os.path.expanduser(str(path))
    if not _looks_like_path(path):
        return
    if not os.path.isdir(path):
        _fail(key, path, "no such folder; build the CPU model with `python -m lab.tiny_model --out DIR` "
              "or point it at a downloaded checkpoint")
    cfg = os.path.join(path, "config.json")
    if not os.path.isfile(cfg) or not os.access(cfg, os.R_OK):
        _fail(key, path, "the folder has no readable config.json: is it a Hugging Face model folder?")
    try:
        with open(cfg, encoding="utf-8") as f:
            json.load(f)
    except (OSError, ValueError) as exc:
        _fail(key, path, f"config.json cannot be read as JSON ({exc}); re-download or rebuild the model")


def check_data_file(key: str, path: str) -> None:
    """The parquet exists, is readable, and has the columns RLHFDataset and the reward function read."""
    import pyarrow.parquet as pq

    if not os.path.isfile(path):
        _fail(key, path, "no such file; prepare data with `python -m data_prep ...` (see README)")
    try:
        columns = pq.read_schema(path).names
    except Exception as exc:  # pyarrow raises several types for unreadable files
        _fail(key, path, f"not a readable parquet file ({type(exc).__name__}: {exc})")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        _fail(key, path, f"missing column(s) {missing}; found {columns}. verl's RL format needs {list(REQUIRED_COLUMNS)}")


def check_inputs(config: DictConfig) -> None:
    """Fail before Ray starts on a missing model or data file."""
    check_model_path(config.actor_rollout_ref.model.path)
    for key in ("data.train_files", "data.val_files"):
        files = OmegaConf.select(config, key)
        for path in [files] if isinstance(files, str) else list(files):
            check_data_file(key, os.path.expanduser(path))
