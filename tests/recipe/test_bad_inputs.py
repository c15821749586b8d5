"""Bad inputs fail before Ray starts, with the key, the value and what to do."""

import logging
import subprocess
import sys

import pandas as pd
import pytest

from recipe.sept.config import SePTConfigError, check_data_file, check_inputs
from recipe.sept.trainer import report_overlong
from tests.helpers import REPO, compose_preset


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from lab.tiny_model import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from data_prep.synthetic import write_arithmetic_sets

    out = tmp_path_factory.mktemp("data")
    write_arithmetic_sets(out, n_train=8, n_val=4, seed=0)
    return out


def test_missing_data_file(tmp_path):
    with pytest.raises(SePTConfigError, match=r"data.train_files = .*no such file"):
        check_data_file("data.train_files", str(tmp_path / "train.parquet"))


def test_parquet_without_required_columns(tmp_path):
    path = tmp_path / "train.parquet"
    pd.DataFrame({"prompt": [[{"role": "user", "content": "hi"}]], "answer": ["1"]}).to_parquet(path)
    with pytest.raises(SePTConfigError, match=r"missing column\(s\) \['data_source', 'reward_model'\]"):
        check_data_file("data.train_files", str(path))


def test_not_a_parquet(tmp_path):
    path = tmp_path / "train.parquet"
    path.write_text("question,answer\n1+1,2\n")
    with pytest.raises(SePTConfigError, match="not a readable parquet file"):
        check_data_file("data.train_files", str(path))


def test_check_inputs_reads_the_composed_config(model_dir, data_dir, tmp_path):
    ok = [
        f"actor_rollout_ref.model.path={model_dir}",
        f"data.train_files={data_dir / 'train.parquet'}",
        f"data.val_files=[{data_dir / 'val.parquet'}]",
    ]
    check_inputs(compose_preset("sept_cpu", ok))
    bad = ok[:2] + [f"data.val_files=[{data_dir / 'val.parquet'},{tmp_path / 'gone.parquet'}]"]
    with pytest.raises(SePTConfigError, match="data.val_files = .*gone.parquet"):
        check_inputs(compose_preset("sept_cpu", bad))


def test_cli_fails_fast_naming_the_key(tmp_path):
    """The real entry point exits with the message and without starting Ray."""
    cmd = [
        sys.executable,
        "-m",
        "recipe.sept.main_sept",
        "--config-name",
        "sept_cpu",
        f"actor_rollout_ref.model.path={tmp_path / 'missing-model'}",
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "actor_rollout_ref.model.path" in proc.stderr and "no such folder" in proc.stderr
    assert "ray init" not in proc.stdout + proc.stderr
    proc = subprocess.run(cmd[:5] + ["sept.tau_s.start=-0.5"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert "sept.tau_s.start = -0.5: a sampling temperature must be > 0" in proc.stderr


def test_overlong_prompts_are_dropped_and_counted(model_dir, data_dir, tmp_path, caplog):
    """verl's own dataset filter drops the long prompt; the recipe reports how many went."""
    from omegaconf import OmegaConf
    from transformers import AutoTokenizer
    from verl.trainer.ppo.utils import create_rl_dataset

    df = pd.read_parquet(data_dir / "train.parquet")
    long_row = df.iloc[[0]].copy()
    long_row.at[long_row.index[0], "prompt"] = [{"role": "user", "content": "What is " + "1 + " * 100 + "1?"}]
    path = tmp_path / "train.parquet"
    pd.concat([df, long_row]).to_parquet(path)
    config = compose_preset("sept_cpu", [f"data.train_files={path}"])
    OmegaConf.resolve(config)
    dataset = create_rl_dataset(str(path), config.data, AutoTokenizer.from_pretrained(model_dir), None, is_train=True)
    assert len(dataset) == len(df)
    with caplog.at_level(logging.WARNING, logger="recipe.sept.trainer"):
        assert report_overlong("train", str(path), len(dataset), config.data.max_prompt_length) == 1
    assert "dropped 1 of 9 prompts" in caplog.text, "the recipe logs the dropped count"
    with pytest.raises(ValueError, match="every prompt is longer"):
        report_overlong("train", str(path), 0, config.data.max_prompt_length)
