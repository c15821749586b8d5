"""Entry point of evaluation sweeps: ``python -m sweep.main_sweep --config-name PRESET sweep.temperatures=[...] ...``.

The recipe's launch (``recipe.sept.main_sept.launch``) with ``SweepTrainer`` (``sweep/trainer.py``): validation-only
with ``trainer.val_only=true``, or a training run whose validation passes are stored sweeps. The config needs a
``sweep`` section: presets made for it list ``sweep: default`` in their defaults (``sept_cpu_demo``); for any other
preset add ``+sweep=default`` (``configs/sweep/default.yaml``), as ``python -m sweep`` and ``lab.repro`` do.
"""

from __future__ import annotations

import hydra
import ray
from omegaconf import DictConfig

from recipe.sept.main_sept import CONFIG_DIR, SePTTaskRunnerBase, launch
from sweep.trainer import SweepConfigError, parse_sweep_config


class SweepTaskRunnerBase(SePTTaskRunnerBase):
    trainer_cls_path = "sweep.trainer.SweepTrainer"


SweepTaskRunner = ray.remote(SweepTaskRunnerBase)


@hydra.main(config_path=CONFIG_DIR, config_name="sept_trainer", version_base=None)
def main(config: DictConfig) -> None:
    try:
        parse_sweep_config(config)
    except SweepConfigError as exc:
        raise SystemExit(f"sweep: bad config: {exc}") from None
    launch(config, task_runner_class=SweepTaskRunner)


if __name__ == "__main__":
    main()
