"""Launch ``recipe.sept.main_sept`` once on the tiny CPU model and collect what it recorded.

Each launch records the temperature of every request inside the vLLM process (``smoke/vllm_probe.py``) and
verl's per-step metrics (its ``file`` logger).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from smoke.checks import train_steps
from tests.helpers import REPO

LAUNCH_TIMEOUT_S = 900


def make_inputs(tmp: Path, n_train: int = 32, n_val: int = 8) -> None:
    """The tiny model and a synthetic arithmetic set, built locally (no downloads)."""
    from data_prep.synthetic import write_arithmetic_sets
    from lab.tiny_model import write_tiny_model

    write_tiny_model(tmp / "model", seed=0)
    write_arithmetic_sets(tmp / "data", n_train=n_train, n_val=n_val, seed=0)


def launch(
    tmp: Path, tag: str, overrides: list[str], config_name: str = "sept_cpu", env: dict[str, str] | None = None
) -> dict:
    """Run one launch (``env``: extra environment variables); returns {"probe": [request records], "train":
    {step: metrics}, "rows": [all logged rows]}."""
    probe, metrics, log = tmp / f"probe_{tag}.jsonl", tmp / f"metrics_{tag}.jsonl", tmp / f"launch_{tag}.log"
    env = {**os.environ, **(env or {})}
    env.update(
        VERL_USE_EXTERNAL_MODULES="smoke.vllm_probe",
        SEPT_TEST_VLLM_PROBE=str(probe),
        VERL_FILE_LOGGER_PATH=str(metrics),
    )
    cmd = [
        sys.executable,
        "-m",
        "recipe.sept.main_sept",
        "--config-name",
        config_name,
        f"actor_rollout_ref.model.path={tmp / 'model'}",
        f"data.train_files={tmp / 'data' / 'train.parquet'}",
        f"data.val_files={tmp / 'data' / 'val.parquet'}",
        f"trainer.default_local_dir={tmp / 'checkpoints'}",
        *overrides,
    ]
    with open(log, "w") as out:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=LAUNCH_TIMEOUT_S)
    assert proc.returncode == 0, f"launch {tag} failed; last lines:\n" + "\n".join(log.read_text().splitlines()[-40:])
    records = [json.loads(line) for line in probe.read_text().splitlines()] if probe.exists() else []
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    return {"probe": records, "train": train_steps(rows), "rows": rows}
