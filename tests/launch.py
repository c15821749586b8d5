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
# The arithmetic base model takes ~5 min on one thread of a quiet 2-core machine, ~20 min under a load of 5-10.
BASE_BUILD_TIMEOUT_S = 2400


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


class BackgroundBaseBuild:
    """``python -m lab.tiny_base`` (the demo's base model, its default settings) in a child process started at once,
    so its ~5 minutes on one thread overlap the fast tests on the other core instead of opening the demo's test (on
    both cores its threads would spin-wait for the one the fast tests hold). The weights do not depend on the thread
    count: the demo then finds the finished build and reuses it (``lab.tiny_base.ensure_base_model``)."""

    def __init__(self, tmp: Path) -> None:
        self.model, self.log = tmp / "base", tmp / "build.log"
        options = ["--max-minutes", "inf", "--threads", "1"]
        cmd = [sys.executable, "-m", "lab.tiny_base", "--out", str(self.model), *options]
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)

    def wait(self) -> Path:
        """The model folder, once the build has finished (it fails the test with the build's output otherwise)."""
        code = self.proc.wait(timeout=BASE_BUILD_TIMEOUT_S)
        assert code == 0, f"the base-model build failed ({code}):\n" + "\n".join(
            self.log.read_text().splitlines()[-30:]
        )
        return self.model

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
