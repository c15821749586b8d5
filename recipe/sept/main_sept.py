"""Entry point: ``python -m recipe.sept.main_sept [--config-name PRESET] key=value ...``.

Differs from ``verl.trainer.main_ppo`` in three ways:
1. the config is SePT's (``configs/sept_trainer.yaml`` and presets), checked before Ray starts
   (``recipe/sept/config.py``, the sampler's settings, ``recipe/sept/preflight.py``: the model, its context, the GPU
   stack; and verl's own ``validate_config``);
2. every Ray process imports the recipe's registrations through ``VERL_USE_EXTERNAL_MODULES``, next to the modules
   the config's ``ray_kwargs.ray_init.runtime_env.env_vars`` names (the CPU platform, on CPU runs); this process
   applies those variables and imports those modules too, before verl looks its platform up;
3. the task runner builds ``SePTTrainer`` instead of the trainer registered for ``trainer.v1.trainer_mode``
   (``TaskRunnerV1`` is a Ray actor class, which Ray does not let us subclass; ``run_ppo`` takes the runner class
   "for recipe to change TaskRunner"). ``SePTTaskRunner.trainer_cls`` is the class; another entry point (the
   evaluation sweeps) subclasses the plain runner with its own trainer.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from pprint import pprint

import hydra
import ray
from omegaconf import DictConfig, OmegaConf, open_dict

from recipe.sept.chat_templates import register_resolver as register_chat_template_resolver
from recipe.sept.config import SePTConfigError, check_inputs, check_verl_settings, parse_sept_config
from recipe.sept.preflight import check_before_ray
from recipe.sept.replay_buffer import check_sampler_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = str(REPO_ROOT / "configs")
REGISTRY_MODULE = "recipe.sept.losses"
EXTERNAL_MODULES = "VERL_USE_EXTERNAL_MODULES"

OmegaConf.register_new_resolver("sept_path", lambda rel: str(REPO_ROOT / rel), replace=True)
# ${chat_template:NAME} reads configs/chat_templates/ (actor_rollout_ref.model.custom_chat_template).
register_chat_template_resolver()


def process_env(config: DictConfig) -> dict[str, str]:
    """Environment every Ray process of the run needs (and this process, whose children inherit it): the config's
    ``runtime_env.env_vars``, with the recipe's registry module first in ``VERL_USE_EXTERNAL_MODULES``."""
    runtime_env = config.ray_kwargs.ray_init.get("runtime_env") or {}
    env = {str(k): str(v) for k, v in (runtime_env.get("env_vars") or {}).items()}
    # Modules the config names, then those the caller already asks verl to import (e.g. a test's probe).
    named = [
        m
        for source in (env.get(EXTERNAL_MODULES, ""), os.environ.get(EXTERNAL_MODULES, ""))
        for m in source.split(",")
        if m
    ]
    env[EXTERNAL_MODULES] = ",".join(dict.fromkeys([REGISTRY_MODULE, *named]))
    return env


def prepare_config(config: DictConfig) -> DictConfig:
    """Check, then apply what the recipe needs to the Ray start-up settings. Raises SePTConfigError on bad input."""
    sept = parse_sept_config(config)
    check_verl_settings(config)
    try:
        check_sampler_settings(config)
    except ValueError as exc:
        raise SePTConfigError(str(exc)) from None
    env = process_env(config)
    if "file" in config.trainer.logger and "VERL_FILE_LOGGER_PATH" not in os.environ:
        env["VERL_FILE_LOGGER_PATH"] = metrics_file(config)
    with open_dict(config):
        ray_init = config.ray_kwargs.ray_init
        runtime_env = OmegaConf.to_container(ray_init.get("runtime_env") or {}, resolve=True)
        runtime_env["env_vars"] = env
        ray_init.runtime_env = runtime_env
        if not sept.monitor_reward:
            config.reward.custom_reward_function.name = "no_score"
    OmegaConf.resolve(config)
    # The model, its context and (on GPU runs) the GPU stack, then the data files, on the resolved config.
    check_before_ray(config)
    check_inputs(config)
    if "VERL_FILE_LOGGER_PATH" in env:
        os.makedirs(os.path.dirname(env["VERL_FILE_LOGGER_PATH"]), exist_ok=True)
    return config


def metrics_file(config: DictConfig) -> str:
    """Where verl's ``file`` logger writes: one JSONL per launch beside the checkpoints, so a resumed run
    never overwrites the metrics of the launch before it."""
    run_dir = Path(os.path.expanduser(config.trainer.default_local_dir)).resolve().parent
    return str(run_dir / "metrics" / f"{time.strftime('%Y%m%d-%H%M%S')}.jsonl")


def validate_with_verl(config: DictConfig) -> None:
    """verl's own start-up validation (batch sizes, micro-batches, critic/reference needs)."""
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    validate_config(config=config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))


class SePTTaskRunnerBase:
    """verl's v1 task runner building ``trainer_cls`` (see the module docstring, point 3)."""

    trainer_cls_path = "recipe.sept.trainer.SePTTrainer"

    def run(self, config: DictConfig) -> None:
        import transfer_queue as tq
        from verl.trainer.ppo.v1 import AgentLoopManagerTQ
        from verl.utils.import_utils import load_class_from_fqn
        from verl.utils.logging_utils import configure_verl_logging

        configure_verl_logging()
        config.transfer_queue.enable = True
        pprint(OmegaConf.to_container(config, resolve=True))
        tq.init(config.transfer_queue)
        trainer = None
        succeeded = False
        try:
            trainer = load_class_from_fqn(self.trainer_cls_path, "trainer")(config=config)
            trainer.init()
            manager = AgentLoopManagerTQ.create(
                config=config,
                llm_client=trainer.get_llm_client(),
                teacher_client=trainer.get_teacher_client(),
                reward_loop_worker_handles=trainer.get_reward_handles(),
            )
            trainer.fit(manager)
            succeeded = True
        finally:
            try:
                tracking = getattr(trainer, "logger", None)
                if tracking is not None:
                    tracking.finish(exit_code=0 if succeeded else 1)
            finally:
                tq.close()


SePTTaskRunner = ray.remote(SePTTaskRunnerBase)


def enter_process_env(config: DictConfig) -> None:
    """Give this process (and the processes it starts) the run's environment and import the modules it names
    (the CPU platform on CPU runs, which must be registered before verl looks a platform up), then run verl's
    validation."""
    from verl.utils.import_utils import import_external_libs

    env = config.ray_kwargs.ray_init.runtime_env.env_vars
    os.environ.update({k: str(v) for k, v in env.items()})
    import_external_libs([m for m in env[EXTERNAL_MODULES].split(",") if m])
    validate_with_verl(config)


def launch(config: DictConfig, task_runner_class=SePTTaskRunner) -> None:
    """Check the composed config, then run it on Ray with ``task_runner_class``; bad input exits with the message."""
    try:
        config = prepare_config(config)
    except SePTConfigError as exc:
        raise SystemExit(f"sept: bad config: {exc}") from None
    enter_process_env(config)
    from verl.trainer.main_ppo import run_ppo

    run_ppo(config, task_runner_class=task_runner_class)


@hydra.main(config_path=CONFIG_DIR, config_name="sept_trainer", version_base=None)
def main(config: DictConfig) -> None:
    launch(config)


if __name__ == "__main__":
    main()
