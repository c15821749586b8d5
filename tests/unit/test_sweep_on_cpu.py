"""Sweep plumbing without vLLM: tagged batches, records from captured samples, grids, checkpoint discovery."""

import numpy as np
import pytest

from eval.store import read_generations
from eval.sweep import checkpoint_steps, temperature_grid
from eval import sweep_store as sweep
from recipe.sept.config import SePTConfigError, parse_sept_config
from tests.helpers import compose_preset


def _batch(sources, truths, indices):
    return {
        "raw_prompt": np.array([[{"role": "user", "content": f"q{i}"}] for i in indices] + [None], dtype=object)[:-1],
        "data_source": np.array(sources, dtype=object),
        "reward_model": np.array([{"ground_truth": t} for t in truths], dtype=object),
        "extra_info": np.array([{"index": i} for i in indices], dtype=object),
    }


def test_tagged_batches_carry_tau_and_n_and_records_group_samples(tmp_path):
    capture = sweep.SweepCapture()
    loader = [_batch(["math500", "aime"], ["1", "2"], [7, 3])]
    (batch,) = list(sweep.tagged_batches(loader, 0.7, 2, capture, "tau_s"))
    assert batch["tau_s"].tolist() == [0.7, 0.7] and batch["__rollout_n__"].tolist() == [2, 2]
    batch["uid"] = np.array(["u1", "u2"], dtype=object)  # what verl's _validate adds
    capture.uids = ["u1", "u2", "u1", "u2"]
    capture.outputs = ["a", "bb", "ccc", "x" * 10]
    records = sweep.build_records(capture, 2, len, max_response_length=10)
    (m,), (a,) = records["math500"], records["aime"]
    assert (m.index, m.prompt, m.ground_truth, m.responses) == (7, "q7", "1", ["a", "ccc"])
    assert a.finish_reasons == ["stop", "length"] and a.lengths == [2, 10]
    names = {"model": "tiny", "checkpoint": "base", "style": "question"}
    sweep.store(tmp_path, names, 0.7, 2, 42, records)
    keys = sweep.run_keys(names, 0.7, 2, 42, ["aime", "math500"])
    assert sweep.all_stored(tmp_path, keys)
    key, stored = read_generations(tmp_path / keys[1].relpath())
    assert key.benchmark == "math500" and stored[0].responses == ["a", "ccc"]


def test_missing_samples_are_an_error():
    capture = sweep.SweepCapture()
    (batch,) = list(sweep.tagged_batches([_batch(["aime"], ["2"], [0])], 1.0, 2, capture, "tau_s"))
    batch["uid"] = np.array(["u1"], dtype=object)
    capture.uids, capture.outputs = ["u1"], ["only one"]
    with pytest.raises(RuntimeError, match="returned 1 samples for aime prompt 0, expected 2"):
        sweep.build_records(capture, 2, len, 10)


def test_temperature_grid():
    assert temperature_grid("0:1.6:0.1") == [round(0.1 * i, 4) for i in range(17)]
    assert temperature_grid("0,1") == [0.0, 1.0]
    with pytest.raises(SystemExit):
        temperature_grid("1:0:0.1")


def test_checkpoint_steps(tmp_path):
    for step in (10, 2, 30):
        (tmp_path / f"global_step_{step}").mkdir()
    (tmp_path / "global_step_x").mkdir()
    assert checkpoint_steps(tmp_path) == [2, 10, 30]
    with pytest.raises(SystemExit, match="no global_step_N"):
        checkpoint_steps(tmp_path / "global_step_2")


@pytest.mark.parametrize(
    "override, key",
    [("sept.eval.temperatures=[0,-1]", "sept.eval.temperatures"), ("sept.eval.temperatures=[1,1]", "sept.eval.temperatures"),
     ("sept.eval.n=0", "sept.eval.n"), ("sept.eval.model_name=a/b", "sept.eval.model_name"),
     ("sept.eval.checkpoint_name=../x", "sept.eval.checkpoint_name"),
     ("sept.eval.temperatures=[1]", "sept.eval.generations_dir"), ("+sept.eval.seed=3", "sept.eval.seed")],
)
def test_bad_sweep_settings(override, key):
    with pytest.raises(SePTConfigError) as err:
        parse_sept_config(compose_preset("sept_cpu", [override]))
    assert str(err.value).startswith(key + " = ")


def test_cli_overrides_may_follow_the_options_and_name_the_checkpoint(tmp_path, monkeypatch):
    from eval import sweep as sweep_cli

    val = tmp_path / "val.parquet"
    val.write_bytes(b"")
    launched = []
    monkeypatch.setattr(sweep_cli, "launch", lambda name, overrides, timeout: launched.append((name, overrides)))
    sweep_cli.main(["temperature", "--model", "m", "--val-files", str(val), "--out", str(tmp_path / "g"),
                    "--temps", "1", "--checkpoint", "step48", "trainer.total_training_steps=3", "--n", "4"])
    (name, overrides), = launched
    assert name == "sept_qwen2.5_math_7b_dsr"
    assert overrides[-1] == "trainer.total_training_steps=3"
    assert "sept.eval.checkpoint_name=step48" in overrides and "sept.eval.n=4" in overrides
    with pytest.raises(SystemExit, match="--checkpoint names a temperature sweep"):
        sweep_cli.main(["checkpoints", "--model", "m", "--val-files", str(val), "--out", str(tmp_path / "g"),
                        "--run-dir", str(tmp_path), "--checkpoint", "x"])
