"""smoke/run.py and scripts/gpu_smoke.sh without launching: the launches compose and pass verl's validation, the
hand-computed tau_s table is the composed schedule's, bad inputs stop with the fix, and the report shows each check.
(The launches themselves: `python -m smoke.run --cpu` runs them on this machine; the GPU ones need a GPU.)"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import save_file

from recipe.sept import preflight
from recipe.sept.config import check_verl_settings, parse_sept_config
from recipe.sept.main_sept import validate_with_verl
from smoke import checks, run
from tests.helpers import REPO, compose_preset


def composed(platform: run.Platform, tmp_path, total_steps: int, extra=()):
    inputs = run.Inputs(tmp_path / "model", tmp_path / "train.parquet", tmp_path / "val.parquet", tmp_path, list(extra))
    cmd = run.launch_command(platform, inputs, total_steps)
    assert cmd[:4] == [sys.executable, "-m", "recipe.sept.main_sept", "--config-name"]
    config = compose_preset(cmd[4], cmd[5:])
    OmegaConf.resolve(config)
    return cmd, config


@pytest.mark.parametrize("platform", [run.GPU, run.CPU], ids=lambda p: p.name)
def test_launches_compose_and_pass_verl_validation(platform, tmp_path):
    from verl.utils.config import omega_conf_to_dataclass
    from verl.workers.config import FSDPActorConfig, RolloutConfig

    _, config = composed(platform, tmp_path, run.STEPS_A, extra=[preflight.SDPA_OVERRIDE])
    parse_sept_config(config)
    check_verl_settings(config)
    validate_with_verl(config)
    assert isinstance(omega_conf_to_dataclass(config.actor_rollout_ref.actor), FSDPActorConfig)
    rollout = omega_conf_to_dataclass(config.actor_rollout_ref.rollout, dataclass_type=RolloutConfig)
    # One update per step on the prompts of the step, greedy validation, an HF export at the save step.
    assert config.data.train_batch_size == config.actor_rollout_ref.actor.ppo_mini_batch_size
    assert rollout.n == 1 and rollout.val_kwargs.temperature == 0
    assert "hf_model" in config.actor_rollout_ref.actor.checkpoint.save_contents
    assert config.trainer.save_freq == run.SAVE_STEP and "file" in config.trainer.logger
    assert config.trainer.n_gpus_per_node * config.trainer.nnodes == 1


def test_gpu_lengths_fit_the_default_and_the_math_model():
    _, config = composed(run.GPU, REPO, run.STEPS_A)
    # max_position_embeddings of Qwen2.5-0.5B-Instruct (32768) and Qwen2.5-Math-1.5B (4096), from their config.json.
    for context in (32768, 4096):
        facts = preflight.ModelFacts("m", preflight.HUB, {"max_position_embeddings": context}, "config.json")
        assert preflight.check_context(config, facts) == []
    assert (
        config.data.max_prompt_length + config.data.max_response_length
        <= config.actor_rollout_ref.rollout.max_model_len
    )


@pytest.mark.parametrize("platform", [run.GPU, run.CPU], ids=lambda p: p.name)
def test_the_expected_tau_s_is_the_composed_schedule(platform, tmp_path):
    _, config = composed(platform, tmp_path, run.STEPS_B)
    sept = parse_sept_config(config)
    assert {k: sept.tau_s_for_step(k, steps_per_epoch=100) for k in run.EXPECTED_TAU_S} == run.EXPECTED_TAU_S
    assert sept.tau_s_for_step(run.TAU_S_EQUALS_TAU_T_STEP, 100) == sept.tau_t
    assert sept.tau_s_for_step(run.TAU_S_BELOW_TAU_T_STEP, 100) < sept.tau_t


def test_the_two_launches_differ_only_in_their_length(tmp_path):
    a, _ = composed(run.GPU, tmp_path, run.STEPS_A)
    b, _ = composed(run.GPU, tmp_path, run.STEPS_B)
    assert [x for x, y in zip(a, b, strict=True) if x != y] == [f"trainer.total_training_steps={run.STEPS_A}"]


def test_arguments():
    with pytest.raises(SystemExit):
        run.parse_args(["--cpu", "--model", "Qwen/Qwen2.5-0.5B-Instruct"])
    with pytest.raises(SystemExit):
        run.parse_args(["not-an-override"])
    assert run.parse_args(["--cpu", "trainer.save_freq=3"]).overrides == ["trainer.save_freq=3"]


def test_workdir_must_be_new(tmp_path):
    assert run.fresh_workdir(str(tmp_path / "new"), run.CPU).is_dir()
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "checkpoints").mkdir()
    with pytest.raises(run.SmokeInputError, match="is not empty: the first launch would resume"):
        run.fresh_workdir(str(tmp_path / "used"), run.CPU)


def fake_data(root, style="reasoning"):
    for rel in (f"train/{style}/dsr.parquet", f"benchmarks/{style}/math500.parquet"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    return root


def test_missing_data_names_the_prepare_command(tmp_path):
    args = run.parse_args(["--data", str(tmp_path)])
    with pytest.raises(run.SmokeInputError, match="python -m data_prep prepare --out .* --datasets dsr,math500"):
        run.gpu_inputs(args, tmp_path)


def test_missing_local_model_stops_with_the_preflight_message(tmp_path):
    args = run.parse_args(["--data", str(fake_data(tmp_path / "data")), "--model", str(tmp_path / "nope")])
    with pytest.raises(run.SmokeInputError, match="actor_rollout_ref.model.path = .*no such folder"):
        run.gpu_inputs(args, tmp_path)


# ------------------------------------------------------------------------------------------------ checks + report


def fake_run(tmp_path, resumed_ok=True):
    """What a good pair of launches leaves: probe records, metrics, a step-3 checkpoint, the marker at 4."""
    n = run.CPU.prompts_per_step
    (tmp_path / "model").mkdir()
    save_file({"w": torch.zeros(3)}, str(tmp_path / "model" / "model.safetensors"))
    hf = tmp_path / "checkpoints" / "global_step_3" / "actor" / "huggingface"
    hf.mkdir(parents=True)
    save_file({"w": torch.full((3,), 1e-3)}, str(hf / "model.safetensors"))
    (hf.parents[1] / "data.pt").write_bytes(b"state")
    (tmp_path / "checkpoints" / checks.LATEST).write_text("4")

    def launch(tag, steps):
        records = [{"temperature": run.EXPECTED_TAU_S[s]} for s in steps for _ in range(n)]
        rows = [{"step": 0, "data": {"val-passk/arith/pass@1": 0.5, "val-core/arith/acc/mean@1": 0.5}}]
        rows += [
            {
                "step": s,
                "data": {
                    "sept/tau_s": run.EXPECTED_TAU_S[s],
                    "sept/tau_t": 1.0,
                    "sept/entropy": 2.0,
                    "sept/nll": 1.0 if run.EXPECTED_TAU_S[s] == 1.0 else 3.0,
                    "sept/rollout_nll": 1.0,
                },
            }
            for s in steps
        ]
        return run.Launch(tag, 0, 1.0, tmp_path / f"launch_{tag}.log", records, rows)

    inputs = run.Inputs(tmp_path / "model", tmp_path / "t.parquet", tmp_path / "v.parquet", tmp_path)
    b = launch("b", [4]) if resumed_ok else run.Launch("b", 1, 1.0, tmp_path / "launch_b.log", [], [])
    return inputs, launch("a", [1, 2, 3]), b


def test_a_good_run_passes_every_check_and_the_report_shows_them(tmp_path):
    inputs, a, b = fake_run(tmp_path)
    results = run.run_checks(run.CPU, inputs, a, b)
    assert [r.name for r in results if not r.passed] == []
    report = run.render_report([("model", "tiny")], results)
    assert f"{len(results)} of {len(results)} checks passed" in report
    assert report.count("| PASS |") == len(results) and "| tau_s reached vLLM | PASS |" in report


def test_a_failed_second_launch_fails_the_resume_check(tmp_path):
    inputs, a, b = fake_run(tmp_path, resumed_ok=False)
    results = run.run_checks(run.CPU, inputs, a, b)
    (failed,) = [r for r in results if not r.passed]
    assert failed.name == "second launch resumed" and "launch B failed (exit 1" in failed.message
    assert f"{len(results) - 1} of {len(results)} checks passed" in run.render_report([], results)


# ------------------------------------------------------------------------------------------------ the shell entry


def smoke_sh(args, venv, timeout=300):
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_smoke.sh"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin", "SEPT_VENV": str(venv)},
    )


def test_gpu_smoke_without_the_gpu_stack(tmp_path):
    proc = smoke_sh([], tmp_path / "no-venv")
    assert proc.returncode == 2 and "bash scripts/setup_gpu_env.sh" in proc.stderr


def test_gpu_smoke_with_a_missing_model(tmp_path):
    data = fake_data(tmp_path / "data")
    proc = smoke_sh([str(tmp_path / "nope"), "--data", str(data), "--workdir", str(tmp_path / "w")], sys.prefix)
    assert proc.returncode == 2 and "no such folder" in proc.stderr


def test_gpu_smoke_stops_before_launching_without_a_gpu(tmp_path):
    from lab.tiny_model import write_tiny_model

    if torch.cuda.is_available():
        pytest.skip("written for a machine without a GPU")
    model = write_tiny_model(tmp_path / "tiny")
    data = fake_data(tmp_path / "data")
    proc = smoke_sh([str(model), "--data", str(data), "--workdir", str(tmp_path / "w")], sys.prefix)
    assert proc.returncode == 1 and "the GPU stack cannot run" in proc.stderr
    assert not list((tmp_path / "w").glob("launch_*.log")), "nothing may launch"
