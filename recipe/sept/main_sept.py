"""Entry point: ``python -m recipe.sept.main_sept [--config-name PRESET] key=value ...``.

Differs from ``verl.trainer.main_ppo`` in three ways:
1. the config is SePT's (``configs/sept_trainer.yaml`` and presets), validated before Ray starts
   (``recipe/sept/config.py``), and verl's own ``validate_config`` runs on it too;
2. every Ray process imports the recipe's registrations (and, on CPU runs only, the CPU platform) through
   ``VERL_USE_EXTERNAL_MODULES``, with the repository on ``PYTHONPATH``;
3. the task runner builds ``SePTTrainer`` instead of the trainer registered for ``trainer.v1.trainer_mode``
   (``TaskRunnerV1`` is a Ray actor class, which Ray does not let us subclass; ``run_ppo`` takes the runner class
   "for recipe to change TaskRunner").
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

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = str(REPO_ROOT / "configs")
REGISTRY_MODULE = "recipe.sept.losses"
CPU_MODULE = "cpu.verl_platform"

OmegaConf.register_new_resolver("sept_path", lambda rel: str(REPO_ROOT / rel), replace=True)
# ${chat_template:NAME} reads configs/chat_templates/ (actor_rollout_ref.model.custom_chat_template).
register_chat_template_resolver()


def process_env(cpu: bool) -> dict[str, str]:
    """Environment every Ray process of the run needs (and the driver, whose children inherit it)."""
    # Modules the caller already asks verl to import (e.g. a test's probe) stay, after the recipe's own.
    inherited = [m for m in os.environ.get("VERL_USE_EXTERNAL_MODULES", "").split(",") if m]
    modules = [REGISTRY_MODULE]
    env = {}
    if cpu:
        from cpu.verl_platform import CPU_ENV

        env.update(CPU_ENV)
        modules.append(CPU_MODULE)
    pythonpath = [str(REPO_ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(pythonpath))
    env["VERL_USE_EXTERNAL_MODULES"] = ",".join(dict.fromkeys(modules + inherited))
    return env


def prepare_config(config: DictConfig) -> DictConfig:
    """Validate, then apply what the sept section implies for verl. Raises SePTConfigError on bad input."""
    sept = parse_sept_config(config)
    check_verl_settings(config)
    check_inputs(config)
    env = process_env(sept.cpu)
    if "file" in config.trainer.logger and "VERL_FILE_LOGGER_PATH" not in os.environ:
        env["VERL_FILE_LOGGER_PATH"] = metrics_file(config)
        os.makedirs(os.path.dirname(env["VERL_FILE_LOGGER_PATH"]), exist_ok=True)
    with open_dict(config):
        ray_init = config.ray_kwargs.ray_init
        runtime_env = OmegaConf.to_container(ray_init.get("runtime_env") or {}, resolve=True)
        runtime_env["env_vars"] = {**runtime_env.get("env_vars", {}), **env}
        ray_init.runtime_env = runtime_env
        if not sept.monitor_reward:
            config.reward.custom_reward_function.name = "no_score"
    OmegaConf.resolve(config)
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


@ray.remote
class SePTTaskRunner:
    """verl's v1 task runner with ``SePTTrainer`` (see the module docstring, point 3)."""

    def run(self, config: DictConfig) -> None:
        import transfer_queue as tq

        from verl.trainer.ppo.v1 import AgentLoopManagerTQ
        from verl.utils.logging_utils import configure_verl_logging

        from recipe.sept.trainer import SePTTrainer

        configure_verl_logging()
        config.transfer_queue.enable = True
        pprint(OmegaConf.to_container(config, resolve=True))
        tq.init(config.transfer_queue)
        trainer = None
        succeeded = False
        try:
            trainer = SePTTrainer(config=config)
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


def enter_process_env(config: DictConfig) -> None:
    """Give this process (and the processes it starts) the run's environment, load the CPU platform on CPU runs,
    then run verl's validation (which looks the platform up)."""
    os.environ.update({k: str(v) for k, v in config.ray_kwargs.ray_init.runtime_env.env_vars.items()})
    if config.sept.cpu:
        from cpu import verl_platform as cpu_platform

        cpu_platform.activate()
    validate_with_verl(config)


@hydra.main(config_path=CONFIG_DIR, config_name="sept_trainer", version_base=None)
def main(config: DictConfig) -> None:
    try:
        config = prepare_config(config)
    except SePTConfigError as exc:
        raise SystemExit(f"sept: bad config: {exc}") from None
    enter_process_env(config)
    from verl.trainer.main_ppo import run_ppo

    run_ppo(config, task_runner_class=SePTTaskRunner)


if __name__ == "__main__":
    main()
