"""verl's synchronous replay buffer with a configurable poll interval.

verl's ``ReplayBuffer.sample`` (``verl/trainer/ppo/v1/replay_buffer.py``) waits for a batch of finished rollouts
by polling TransferQueue's metadata and sleeping ``poll_interval`` seconds between polls. The interval is a
constructor argument that verl's trainer never sets, so it is always 2.0 s: every generation of every training step
and validation pass then takes at least 2 s, which on a small model is most of the step. verl loads a
``ReplayBuffer`` subclass named by ``trainer.v1.sampler.custom_sampler.{path,name}`` and hands it
``trainer.v1.sampler.sampler_kwargs``; this subclass reads the interval from there (``configs/sept_base.yaml``).

What a custom sampler loses: verl passes the DAPO group-filtering arguments (``filter_groups_metric`` and the
in-flight batch sizes) to its built-in buffer only, so ``algorithm.filter_groups`` cannot be combined with this
sampler; ``check_sampler_settings`` refuses that pairing at start-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from omegaconf import MISSING, DictConfig, OmegaConf
from verl.base_config import BaseConfig
from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer
from verl.utils.config import omega_conf_to_dataclass


@dataclass
class PollingSamplerKwargs(BaseConfig):
    """``trainer.v1.sampler.sampler_kwargs`` of ``PollingReplayBuffer`` (values: configs/sept_base.yaml)."""

    poll_interval_s: float = MISSING

    def __post_init__(self) -> None:
        interval = self.poll_interval_s
        if isinstance(interval, bool) or not (
            isinstance(interval, int | float) and math.isfinite(interval) and interval > 0
        ):
            raise ValueError(
                f"trainer.v1.sampler.sampler_kwargs.poll_interval_s = {interval!r}: seconds between polls for "
                "finished rollouts, a number > 0 (e.g. 0.02)"
            )


def parse_sampler_kwargs(sampler_kwargs: DictConfig | dict | None) -> PollingSamplerKwargs:
    """The typed ``sampler_kwargs``; unknown keys and bad values raise ``ValueError`` naming the key."""
    from omegaconf.errors import OmegaConfBaseException

    try:
        return omega_conf_to_dataclass(OmegaConf.create(sampler_kwargs or {}), PollingSamplerKwargs)
    except OmegaConfBaseException as exc:
        key = (
            f"trainer.v1.sampler.sampler_kwargs.{exc.full_key}" if getattr(exc, "full_key", None) else "sampler_kwargs"
        )
        raise ValueError(f"{key}: {str(exc).splitlines()[0]} (known keys: poll_interval_s)") from None


class PollingReplayBuffer(ReplayBuffer):
    """verl's sync ``ReplayBuffer`` polling every ``sampler_kwargs.poll_interval_s`` seconds instead of 2.0."""

    def __init__(self, *args, sampler_kwargs: DictConfig | dict | None = None, **kwargs):
        settings = parse_sampler_kwargs(sampler_kwargs)
        super().__init__(*args, sampler_kwargs=sampler_kwargs, poll_interval=settings.poll_interval_s, **kwargs)


def check_sampler_settings(config: DictConfig) -> None:
    """Start-up checks of the sampler section when ``PollingReplayBuffer`` is selected. Raises ``ValueError``."""
    sampler = config.trainer.v1.sampler
    custom = sampler.get("custom_sampler") or {}
    if custom.get("name") != PollingReplayBuffer.__name__:
        return
    parse_sampler_kwargs(sampler.get("sampler_kwargs"))
    filter_groups = config.algorithm.get("filter_groups") or {}
    if filter_groups.get("enable", False):
        raise ValueError(
            "algorithm.filter_groups.enable = True: verl gives DAPO's group filtering to its built-in replay buffer "
            "only; set trainer.v1.sampler.custom_sampler.path=null and .name=null to use it (with its 2 s poll)"
        )
