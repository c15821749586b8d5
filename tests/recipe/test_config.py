"""Every preset composes and passes SePT's and verl's validation; bad values fail with the key named."""

import logging

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from recipe.sept.config import SePTConfigError, check_verl_settings, parse_sept_config, warn_if_not_sharpening
from recipe.sept.main_sept import validate_with_verl
from tests.helpers import PRESETS, compose_preset


def test_presets_exist():
    assert {"sept_trainer", "sept_cpu", "sept_qwen2.5_math_7b_dsr"} <= set(PRESETS)


METHODS = ["sept", "grpo", "emft"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("preset", PRESETS)
def test_preset_composes_and_passes_verl_validation(preset, method):
    from verl.trainer.config import AlgoConfig
    from verl.utils.config import omega_conf_to_dataclass
    from verl.workers.config import FSDPActorConfig, RolloutConfig

    overrides = ["actor_rollout_ref.model.path=/models/any"] if preset == "sept_trainer" else []
    config = compose_preset(preset, overrides + [f"method={method}"])
    OmegaConf.resolve(config)
    sept = parse_sept_config(config)
    check_verl_settings(config)
    validate_with_verl(config)
    # verl's typed configs (what its workers build at start-up) accept every section SePT sets.
    actor = omega_conf_to_dataclass(config.actor_rollout_ref.actor)
    rollout = omega_conf_to_dataclass(config.actor_rollout_ref.rollout, dataclass_type=RolloutConfig)
    algo = omega_conf_to_dataclass(config.algorithm, dataclass_type=AlgoConfig)
    expected = {"sept": ("sept", "sept_nll", 1), "grpo": ("grpo", "vanilla", 8), "emft": ("sept", "sept_emft", 1)}
    assert (algo.adv_estimator, actor.policy_loss.loss_mode, rollout.n) == expected[method]
    assert isinstance(actor, FSDPActorConfig) and algo.rollout_correction.bypass_mode == (method != "grpo")
    assert rollout.agent.default_agent_loop == "sept_single_turn"
    assert config.actor_rollout_ref.rollout.temperature == sept.tau_t
    if method != "sept":
        assert sept.tau_s_for_step(1, 10) == sept.tau_t_for_step(1, 10) == 1.0


def test_paper_preset_has_the_papers_settings():
    config = compose_preset("sept_qwen2.5_math_7b_dsr")
    actor = config.actor_rollout_ref.actor
    assert config.actor_rollout_ref.model.path == "Qwen/Qwen2.5-Math-7B"
    assert (actor.optim.lr, actor.optim.weight_decay, actor.optim.lr_warmup_steps) == (1e-7, 0.01, 10)
    assert (config.data.train_batch_size, actor.ppo_mini_batch_size) == (128, 64)
    assert (config.data.max_prompt_length, config.data.max_response_length) == (1024, 3072)
    assert (config.trainer.total_epochs, config.trainer.n_gpus_per_node) == (3, 8)
    s = config.sept.tau_s
    assert (s.schedule, s.start, s.end, s.duration, s.unit) == ("linear", 0.6, 1.0, 2, "epoch")


@pytest.mark.parametrize(
    "override, key",
    [
        ("sept.tau_s.start=0", "sept.tau_s.start"),
        ("sept.tau_s.end=-1", "sept.tau_s.end"),
        ("sept.tau_t=0", "sept.tau_t"),
        ("sept.tau_s.schedule=exponential", "sept.tau_s.schedule"),
        ("sept.tau_s.unit=minute", "sept.tau_s.unit"),
        ("sept.tau_s.duration=-2", "sept.tau_s.duration"),
        ("sept.tau_t_mode=sometimes", "sept.tau_t_mode"),
        ("+sept.tau_s.warmup=3", "sept.tau_s.warmup"),
        ("+sept.tua_t=1.0", "sept.tua_t"),
        ("actor_rollout_ref.rollout.n=0", "actor_rollout_ref.rollout.n"),
        ("trainer.v1.trainer_mode=colocate_async", "trainer.v1.trainer_mode"),
        ("actor_rollout_ref.actor.policy_loss.loss_mode=vanilla", "actor_rollout_ref.actor.policy_loss.loss_mode"),
        ("algorithm.adv_estimator=grpo", "actor_rollout_ref.actor.policy_loss.loss_mode"),
        ("actor_rollout_ref.actor.policy_loss.loss_mode=sept_emft", "actor_rollout_ref.actor.entropy_coeff"),
    ],
)
def test_bad_values_name_the_key(override, key):
    config = compose_preset("sept_cpu", [override])
    with pytest.raises(SePTConfigError) as err:
        parse_sept_config(config)
        check_verl_settings(config)
    assert str(err.value).startswith(key + " = ")


def test_grpo_needs_its_reward():
    config = compose_preset("sept_cpu", ["method=grpo", "sept.monitor_reward=false"])
    with pytest.raises(SePTConfigError, match="sept.monitor_reward = False"):
        check_verl_settings(config)


def test_paper_grpo_settings():
    config = compose_preset("sept_qwen2.5_math_7b_dsr", ["method=grpo"])
    actor = config.actor_rollout_ref.actor
    assert (actor.optim.lr, config.actor_rollout_ref.rollout.n, actor.use_kl_loss) == (5e-7, 8, False)
    assert (config.data.train_batch_size, actor.ppo_mini_batch_size) == (128, 64)


def test_unknown_key_without_plus_fails_in_hydra():
    with pytest.raises(ConfigCompositionException):
        compose_preset("sept_cpu", ["sept.tau_z=1.0"])


def test_warns_when_tau_s_reaches_tau_t(caplog):
    sept = parse_sept_config(compose_preset("sept_cpu", ["sept.tau_s.duration=2"]))
    with caplog.at_level(logging.WARNING):
        # tau_s = 0.6, 0.8, 1.0, 1.0 against tau_t = 1.0: steps 3 and 4 do not sharpen.
        assert warn_if_not_sharpening(sept, total_steps=4, steps_per_epoch=8) == 2
    assert "2 of 4 steps (first: step 3)" in caplog.text
    coupled = parse_sept_config(compose_preset("sept_cpu", ["sept.tau_t_mode=coupled"]))
    assert warn_if_not_sharpening(coupled, total_steps=4, steps_per_epoch=8) == 0
    assert coupled.tau_t_for_step(1, 8) == coupled.tau_s_for_step(1, 8) == pytest.approx(0.6)
