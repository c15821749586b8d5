"""Every paper-experiment launcher's runs compose and pass SePT's and verl's validation."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from recipe.sept.config import check_verl_settings, parse_sept_config
from recipe.sept.main_sept import validate_with_verl
from tests.helpers import REPO, compose_preset

LAUNCHERS = sorted(p.name for p in (REPO / "scripts" / "experiments").glob("*.sh") if p.name != "common.sh")
# Runs per launcher (paper): Table 1 4 models x 2 methods; Table 2 2 x 2 x 2 data; Table 5 coupled/decoupled;
# Figure 3 EM-FT/SePT; Figure 5 G = 1, 4, 8; Table 6 2 methods x 2 data; Table 4 offline/online.
EXPECTED_RUNS = {
    "table1_main.sh": 8,
    "table2_otm_vs_dsr.sh": 8,
    "table4_offline.sh": 2,
    "table5_coupling.sh": 2,
    "figure3_emft.sh": 2,
    "figure5_rollouts.sh": 3,
    "table6_llama.sh": 4,
}


def _runs(launcher: str, *args: str) -> list[list[str]]:
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "experiments" / launcher), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SEPT_PRINT_ONLY": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    return [line.split("\t") for line in proc.stdout.splitlines()]


def test_every_launcher_is_checked():
    assert sorted(EXPECTED_RUNS) == LAUNCHERS


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_launcher_runs_compose_and_validate(launcher):
    runs = _runs(launcher)
    assert len(runs) == EXPECTED_RUNS[launcher]
    names = set()
    for config_name, *overrides in runs:
        config = compose_preset(config_name, overrides)
        OmegaConf.resolve(config)
        sept = parse_sept_config(config)
        check_verl_settings(config)
        validate_with_verl(config)
        if config_name.startswith("offline_"):
            from offline.main_offline import check_offline_settings

            check_offline_settings(config)
        model = config.actor_rollout_ref.model.path
        # The paper: tau_s starts at 0.9 for general models, 0.6 for math models.
        general = model in ("Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B-Instruct", "meta-llama/Llama-3.1-8B-Instruct")
        if config.algorithm.adv_estimator == "sept" and sept.tau_t_mode == "fixed":
            assert sept.tau_s.start == (0.9 if general else 0.6), model
        # Qwen2.5-Math's template adds the reasoning prompt itself: question-only files; the others read the
        # question + reasoning-suffix style.
        style = "question" if model == "Qwen/Qwen2.5-Math-7B" else "reasoning"
        assert all(f"/{style}/" in f for f in [config.data.train_files, *config.data.val_files]), model
        assert Path(config.data.train_files).name in ("dsr.parquet", "otm.parquet")
        assert len(config.data.val_files) == 6
        names.add(config.trainer.experiment_name)
    assert len(names) == len(runs), "two runs of one launcher would share a results folder"


def test_only_and_extra_overrides():
    runs = _runs("table1_main.sh", "trainer.total_epochs=1")
    assert all(r[-1] == "trainer.total_epochs=1" for r in runs)
    env = {**os.environ, "SEPT_PRINT_ONLY": "1", "ONLY": "table1_qwen2.5-7b_grpo_dsr"}
    out = subprocess.run(
        ["bash", str(REPO / "scripts/experiments/table1_main.sh")], capture_output=True, text=True, env=env, timeout=60
    ).stdout.splitlines()
    assert len(out) == 1 and "method=grpo" in out[0] and "base_model=qwen2.5-7b\t" in out[0]


def test_launcher_fails_fast_before_ray(tmp_path):
    """On this machine the paper run stops at the GPU-stack check; on CPU it stops at the missing data; both before
    Ray starts."""
    env = {
        **os.environ,
        "ONLY": "table5_qwen2.5-math-7b_sept_dsr_coupled",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    launcher = str(REPO / "scripts/experiments/table5_coupling.sh")
    missing = f"data.train_files={tmp_path / 'missing.parquet'}"
    on_gpu = subprocess.run(["bash", launcher, missing], capture_output=True, text=True, env=env, timeout=300)
    assert on_gpu.returncode != 0 and "sept: bad config:" in on_gpu.stderr and "ray init" not in on_gpu.stdout
    assert "torch" in on_gpu.stderr or "GPU" in on_gpu.stderr, on_gpu.stderr[-2000:]
    on_cpu = subprocess.run(
        ["bash", launcher, missing, "+platform=cpu"], capture_output=True, text=True, env=env, timeout=300
    )
    assert on_cpu.returncode != 0 and "ray init" not in on_cpu.stdout
    assert "sept: bad config: data.train_files" in on_cpu.stderr and "no such file" in on_cpu.stderr
