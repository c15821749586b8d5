"""The polling replay buffer: verl's own hook builds it with the configured interval for every preset and method,
it polls at that interval, and bad settings fail at start-up naming the key."""

import time
from types import SimpleNamespace

import pytest
from omegaconf import OmegaConf

from recipe.sept.config import SePTConfigError
from recipe.sept.main_sept import prepare_config
from recipe.sept.replay_buffer import PollingReplayBuffer
from tests.helpers import PRESETS, compose_preset


def _built_by_verl(config):
    """The replay buffer verl's v1 trainer builds from ``config`` (its own ``_build_replay_buffer``)."""
    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    trainer = SimpleNamespace(
        config=config, trainer_mode=config.trainer.v1.trainer_mode, _add_prompts_to_generate=lambda count: None
    )
    return PPOTrainer._build_replay_buffer(trainer)


@pytest.mark.parametrize("method", ["sept", "grpo", "emft"])
@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_and_method_gets_the_configured_interval(preset, method):
    config = compose_preset(preset, [f"method={method}", "actor_rollout_ref.model.path=/m"])
    OmegaConf.resolve(config)
    buffer = _built_by_verl(config)
    assert type(buffer).__name__ == PollingReplayBuffer.__name__
    assert buffer.poll_interval == config.trainer.v1.sampler.sampler_kwargs.poll_interval_s == 0.02


def test_the_wait_between_polls_is_the_interval():
    config = compose_preset("sept_cpu", ["trainer.v1.sampler.sampler_kwargs.poll_interval_s=0.05"])
    buffer = _built_by_verl(config)
    start = time.perf_counter()
    for _ in range(4):
        buffer._wait_for_next_poll("train", last_debug_time=time.time())
    assert 0.2 <= time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    "override, message",
    [
        ("trainer.v1.sampler.sampler_kwargs.poll_interval_s=0", "poll_interval_s = 0"),
        ("trainer.v1.sampler.sampler_kwargs.poll_interval_s=-1", "poll_interval_s = -1"),
        ("trainer.v1.sampler.sampler_kwargs.poll_interval_s=often", "sampler_kwargs.poll_interval_s"),
        ("+trainer.v1.sampler.sampler_kwargs.poll_every=1", "sampler_kwargs.poll_every"),
        ("algorithm.filter_groups.enable=true", "algorithm.filter_groups.enable"),
    ],
)
def test_bad_sampler_settings_fail_at_start_up_naming_the_key(override, message, cpu_inputs):
    model, val = cpu_inputs
    config = compose_preset(
        "sept_cpu",
        [f"actor_rollout_ref.model.path={model}", f"data.train_files={val}", f"data.val_files={val}", override],
    )
    with pytest.raises(SePTConfigError, match=message):
        prepare_config(config)
