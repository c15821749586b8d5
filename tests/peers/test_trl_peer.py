"""The TRL peer: SSD's settings follow the demo's preset, the real SSDTrainer trains and saves a model the sweep can
load, a rerun reuses it, SePT's arm composes with a constant τs, and the report's gains are the paired ones."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from lab.inputs import compose
from peers import compare_trl
from peers.trl_ssd import RECORD, Settings
from tests.helpers import REPO
from tests.launch import make_inputs

# What TRL's own SSDConfig makes of ssd_arguments, read in the TRL venv (TRL cannot be imported beside verl).
READ_CONFIG = """
import json, sys
from peers.trl_ssd import Settings, ssd_arguments
from trl.experimental.ssd import SSDConfig
config = SSDConfig(**ssd_arguments(Settings(**json.loads(sys.argv[1])), sys.argv[2]))
print(json.dumps({k: getattr(config, k) for k in json.loads(sys.argv[3])}))
"""
READ = [
    "temperature", "top_k", "top_p", "max_steps", "per_device_train_batch_size", "generation_batch_size",
    "learning_rate", "weight_decay", "max_grad_norm", "lr_scheduler_type", "warmup_steps", "max_prompt_length",
    "max_completion_length", "filter_empty", "bf16", "gradient_checkpointing", "seed", "use_vllm",
]  # fmt: skip


@pytest.fixture(scope="module")
def trl_python():
    """The TRL venv (scripts/setup_trl_env.sh, which scripts/test.sh runs): missing, the test fails saying so."""
    return str(compare_trl.trl_python())


def test_ssd_settings_are_the_demo_presets_and_reach_trls_config(tmp_path, trl_python):
    config = compose(compare_trl.DEMO)
    settings = compare_trl.matched_settings(config)
    actor = config.actor_rollout_ref.actor
    env = {**os.environ, "TRL_EXPERIMENTAL_SILENCE": "1"}
    args = [trl_python, "-c", READ_CONFIG, json.dumps(vars(settings)), str(tmp_path), json.dumps(READ)]
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ssd = json.loads(proc.stdout.strip().splitlines()[-1])
    assert ssd["temperature"] == config.sept.tau_s.start and ssd["top_k"] == 0 and ssd["top_p"] == 1.0
    assert ssd["max_steps"] == config.trainer.total_training_steps and ssd["seed"] == config.data.seed
    assert ssd["per_device_train_batch_size"] == config.data.train_batch_size == actor.ppo_mini_batch_size
    assert ssd["generation_batch_size"] == ssd["per_device_train_batch_size"]  # one generation per optimizer step
    assert (ssd["learning_rate"], ssd["weight_decay"], ssd["max_grad_norm"]) == (
        actor.optim.lr,
        actor.optim.weight_decay,
        actor.grad_clip,
    )
    assert ssd["lr_scheduler_type"] == "constant" and ssd["warmup_steps"] == 0
    assert ssd["max_prompt_length"] == config.data.max_prompt_length
    assert ssd["max_completion_length"] == config.data.max_response_length and not ssd["filter_empty"]
    assert not ssd["bf16"] and not ssd["gradient_checkpointing"] and not ssd["use_vllm"]
    assert compare_trl.matched_settings(config, temperature=0.8).temperature == 0.8


def test_a_preset_with_two_updates_per_step_is_refused():
    config = compose(compare_trl.DEMO, ["actor_rollout_ref.actor.ppo_mini_batch_size=16"])
    with pytest.raises(compare_trl.CompareError, match="one"):
        compare_trl.matched_settings(config)


def test_sept_arm_samples_at_a_constant_tau_s_and_composes():
    from recipe.sept.config import parse_sept_config

    run = compare_trl.Run(REPO / "results" / "peer_trl", n=32)  # composes only: no model is needed
    config = compose(compare_trl.DEMO, compare_trl.sept_overrides(run))
    sept = parse_sept_config(config)
    steps = int(config.trainer.total_training_steps)
    assert {sept.tau_s_for_step(step, steps) for step in range(1, steps + 1)} == {run.settings.temperature}
    assert sept.tau_t_for_step(steps, steps) == 1.0
    assert config.sweep.temperatures == [1.0] and config.sweep.extra_before_training == []
    assert config.trainer.test_freq == steps and config.sweep.n == 32


def _settings(**changes) -> Settings:
    base = dict(temperature=0.6, steps=2, batch=4, lr=1e-3, weight_decay=0.01, grad_clip=1.0, seed=0)
    return Settings(**{**base, "max_prompt_length": 64, "max_completion_length": 8, **changes})


def test_the_real_ssd_trainer_trains_saves_and_is_reused(tmp_path, trl_python):
    make_inputs(tmp_path, n_train=8, n_val=2)
    settings = _settings()
    args = [trl_python, "-m", "peers.trl_ssd", "--model", str(tmp_path / "model")]
    args += ["--train-file", str(tmp_path / "data" / "train.parquet"), "--out", str(tmp_path / "ssd")]
    for name, value in vars(settings).items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    env = {**os.environ, "TRL_EXPERIMENTAL_SILENCE": "1"}
    first = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    record = json.loads((tmp_path / "ssd" / RECORD).read_text())
    assert record["samples"] == 8 and len(record["loss"]) == 2 and record["trl"] == "1.15.0"
    from transformers import AutoModelForCausalLM

    before = AutoModelForCausalLM.from_pretrained(tmp_path / "model").state_dict()
    after = AutoModelForCausalLM.from_pretrained(tmp_path / "ssd" / "model").state_dict()
    assert any(not before[k].equal(after[k]) for k in before)  # it trained
    assert (tmp_path / "ssd" / "model" / "tokenizer_config.json").is_file()
    again = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode == 0 and "reused" in again.stdout
    missing = subprocess.run(
        [*args[:4], str(tmp_path / "nowhere"), *args[5:]], cwd=REPO, capture_output=True, text=True, env=env
    )
    assert missing.returncode == 2 and "nowhere" in missing.stderr


def test_bad_settings_name_the_value():
    with pytest.raises(ValueError, match="temperature=0"):
        _settings(temperature=0)


def _run(model: str, checkpoint: str, counts: dict[int, int], n: int = 4) -> dict:
    passk = {"1": sum(counts.values()) / (n * len(counts))}
    return {
        "model": model,
        "checkpoint": checkpoint,
        "tau": 1.0,
        "benchmarks": {"b": {"pass": passk, "avg": None, "n": n, "correct_counts": counts}},
    }


def test_arms_report_the_gain_paired_over_questions():
    runs = [
        _run(compare_trl.SEPT, "base", {0: 1, 1: 2, 2: 0}),
        _run(compare_trl.SEPT, "step2", {0: 3, 1: 2, 2: 1}),  # +2/4, 0, +1/4: mean +0.25
        _run(compare_trl.SSD, "step2", {0: 1, 1: 1, 2: 0}),  # 0, -1/4, 0
        _run(compare_trl.SEPT, "step1", {0: 4, 1: 4, 2: 4}),  # not the final step: ignored
    ]
    base, sept, ssd = compare_trl.arms(runs, "b", steps=2)
    assert base.name == compare_trl.BASE and base.gain is None
    assert sept.gain == pytest.approx(0.25) and sept.low <= 0.25 <= sept.high
    assert ssd.gain == pytest.approx(-1 / 12) and ssd.high <= 0
