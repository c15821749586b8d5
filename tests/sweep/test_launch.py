"""The sweep launcher without vLLM: grids, checkpoint discovery, and the launches it builds compose and pass
SePT's, the sweep's and verl's start-up checks."""

import pytest

from recipe.sept.main_sept import prepare_config, validate_with_verl
from sweep import launch as sweep_cli
from sweep.trainer import parse_sweep_config
from tests.helpers import compose_preset


def test_temperature_grid():
    assert sweep_cli.temperature_grid("0:1.6:0.1") == [round(0.1 * i, 4) for i in range(17)]
    assert sweep_cli.temperature_grid("0,1") == [0.0, 1.0]
    with pytest.raises(SystemExit):
        sweep_cli.temperature_grid("1:0:0.1")


def test_checkpoint_steps(tmp_path):
    for step in (10, 2, 30):
        (tmp_path / f"global_step_{step}").mkdir()
    (tmp_path / "global_step_x").mkdir()
    assert sweep_cli.checkpoint_steps(tmp_path) == [2, 10, 30]
    with pytest.raises(SystemExit, match="no global_step_N"):
        sweep_cli.checkpoint_steps(tmp_path / "global_step_2")


@pytest.fixture
def launched(monkeypatch):
    calls = []
    monkeypatch.setattr(sweep_cli, "launch", lambda name, overrides, timeout: calls.append((name, overrides)))
    return calls


def test_cli_overrides_may_follow_the_options_and_name_the_checkpoint(tmp_path, launched):
    val = tmp_path / "val.parquet"
    val.write_bytes(b"")
    sweep_cli.main(
        [
            "temperature",
            "--model",
            "m",
            "--val-files",
            str(val),
            "--out",
            str(tmp_path / "g"),
            "--temps",
            "1",
            "--checkpoint",
            "step48",
            "trainer.total_training_steps=3",
            "--n",
            "4",
        ]
    )
    ((name, overrides),) = launched
    assert name == "sept_qwen2.5_math_7b_dsr"
    assert overrides[-1] == "trainer.total_training_steps=3"
    assert "sweep.checkpoint_name=step48" in overrides and "sweep.n=4" in overrides
    assert "trainer.resume_mode=disable" in overrides
    with pytest.raises(SystemExit, match="--checkpoint names a temperature sweep"):
        sweep_cli.main(
            [
                "checkpoints",
                "--model",
                "m",
                "--val-files",
                str(val),
                "--out",
                str(tmp_path / "g"),
                "--run-dir",
                str(tmp_path),
                "--checkpoint",
                "x",
            ]
        )


def test_both_kinds_of_launch_compose_and_pass_every_start_up_check(tmp_path, launched, cpu_inputs):
    model, val = cpu_inputs
    run_dir = tmp_path / "run"
    (run_dir / "global_step_2").mkdir(parents=True)
    common = ["--model", str(model), "--val-files", str(val), "--out", str(tmp_path / "g"), "--config-name", "sept_cpu"]
    sweep_cli.main(["temperature", *common, "--temps", "0,1"])
    sweep_cli.main(["checkpoints", *common, "--run-dir", str(run_dir)])
    assert len(launched) == 2
    for name, overrides in launched:
        config = prepare_config(compose_preset(name, overrides))
        validate_with_verl(config)
        sweep = parse_sweep_config(config)
        assert config.trainer.val_only and sweep.generations_dir == str(tmp_path / "g")
    resumed = prepare_config(compose_preset("sept_cpu", launched[1][1]))
    assert resumed.trainer.resume_from_path == str(run_dir / "global_step_2")
