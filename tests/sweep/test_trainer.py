"""The sweep trainer's plumbing without vLLM: tagged batches, records from captured samples, the sweep section."""

import numpy as np
import pytest

from eval.store import all_stored, read_generations, run_keys, write_generations
from sweep import trainer as sweep
from sweep.launch import ADD_SWEEP
from tests.helpers import compose_preset


def _batch(sources, truths, indices):
    return {
        "raw_prompt": np.array([[{"role": "user", "content": f"q{i}"}] for i in indices] + [None], dtype=object)[:-1],
        "data_source": np.array(sources, dtype=object),
        "reward_model": np.array([{"ground_truth": t} for t in truths], dtype=object),
        "extra_info": np.array([{"index": i} for i in indices], dtype=object),
    }


def test_tagged_batches_carry_tau_and_n_and_records_group_samples(tmp_path):
    capture = sweep.Capture()
    loader = [_batch(["math500", "aime"], ["1", "2"], [7, 3])]
    (batch,) = list(sweep.tagged_batches(loader, 0.7, 2, capture))
    assert batch["tau_s"].tolist() == [0.7, 0.7] and batch["__rollout_n__"].tolist() == [2, 2]
    batch["uid"] = np.array(["u1", "u2"], dtype=object)  # what verl's _validate adds
    capture.uids = ["u1", "u2", "u1", "u2"]
    capture.outputs = ["a", "bb", "ccc", "x" * 10]
    records = sweep.build_records(capture, 2, len, max_response_length=10)
    (m,), (a,) = records["math500"], records["aime"]
    assert (m.index, m.prompt, m.ground_truth, m.responses) == (7, "q7", "1", ["a", "ccc"])
    assert a.finish_reasons == ["stop", "length"] and a.lengths == [2, 10]
    names = {"model": "tiny", "checkpoint": "base", "style": "question"}
    keys = run_keys(names, 0.7, 2, 42, ["aime", "math500"])
    assert not all_stored(tmp_path, keys)
    for key in keys:
        write_generations(tmp_path, key, records[key.benchmark])
    assert all_stored(tmp_path, keys)
    key, stored = read_generations(tmp_path / keys[1].relpath())
    assert key.benchmark == "math500" and stored[0].responses == ["a", "ccc"]


def test_missing_samples_are_an_error():
    capture = sweep.Capture()
    (batch,) = list(sweep.tagged_batches([_batch(["aime"], ["2"], [0])], 1.0, 2, capture))
    batch["uid"] = np.array(["u1"], dtype=object)
    capture.uids, capture.outputs = ["u1"], ["only one"]
    with pytest.raises(RuntimeError, match="returned 1 samples for aime prompt 0, expected 2"):
        sweep.build_records(capture, 2, len, 10)


def _sweep_config(*overrides):
    return sweep.parse_sweep_config(compose_preset("sept_cpu", [ADD_SWEEP, *overrides]))


def test_the_pass_before_training_adds_its_extra_temperatures():
    config = _sweep_config("sweep.temperatures=[1.0]", "sweep.extra_before_training=[0,0.5,1.0]")
    assert config.temperatures_at(0) == [0.0, 0.5, 1.0]
    assert config.temperatures_at(8) == [1.0]


@pytest.mark.parametrize(
    "override, key",
    [
        ("sweep.temperatures=[0,-1]", "sweep.temperatures"),
        ("sweep.temperatures=[1,1]", "sweep.temperatures"),
        ("sweep.n=0", "sweep.n"),
        ("sweep.n=two", "sweep.n"),
        ("sweep.model_name=a/b", "sweep.model_name"),
        ("sweep.checkpoint_name=../x", "sweep.checkpoint_name"),
        ("+sweep.seed=3", "sweep.seed"),
        ("sweep.generations_dir=' '", "sweep.generations_dir"),
    ],
)
def test_bad_sweep_settings_name_the_key(override, key):
    with pytest.raises(sweep.SweepConfigError) as err:
        _sweep_config(override)
    assert str(err.value).startswith(key), str(err.value)


def test_a_config_without_the_section_says_how_to_launch():
    with pytest.raises(sweep.SweepConfigError, match="python -m sweep"):
        sweep.parse_sweep_config(compose_preset("sept_cpu"))
