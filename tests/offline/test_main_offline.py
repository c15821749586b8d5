"""The offline launcher without vLLM: its presets compose and pass SePT's, the offline and verl's (PPO and SFT)
validation, compose the online presets, and map the online run's updates, sampling and engines faithfully; the verl
facts the offline design rests on still hold."""

import inspect
import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from offline import main_offline as offline
from recipe.sept.config import SePTConfigError, check_verl_settings, parse_sept_config
from recipe.sept.main_sept import validate_with_verl
from tests.helpers import CONFIG_DIR, compose_preset

OFFLINE_PRESETS = sorted(p.stem for p in CONFIG_DIR.glob("offline_sept_*.yaml"))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from lab.tiny_model import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("offline_cfg") / "model", seed=0)


def _config(preset: str, overrides: list[str] = ()):
    config = compose_preset(preset, list(overrides))
    OmegaConf.resolve(config)
    return config


def test_each_offline_preset_composes_its_online_preset():
    """The offline presets hold only what offline changes; the rest comes from the online preset they list."""
    for preset in OFFLINE_PRESETS:
        defaults = OmegaConf.load(CONFIG_DIR / f"{preset}.yaml").defaults
        online = preset.removeprefix("offline_")
        assert defaults[0] == online, (preset, defaults)
        config = _config(preset)
        assert config.sept.tau_s.schedule == "constant" and config.sept.tau_s.end == config.sept.tau_s.start


@pytest.mark.parametrize("preset", OFFLINE_PRESETS)
def test_preset_and_its_sft_config_pass_verls_validation(preset, tiny_model, tmp_path):
    config = _config(preset, [f"actor_rollout_ref.model.path={tiny_model}"])
    parse_sept_config(config)
    check_verl_settings(config)
    offline.check_offline_settings(config)
    validate_with_verl(config)
    sft = offline.sft_config(config, tmp_path / "train.parquet", {"prompts": 40315, "max_sft_tokens": 900})
    offline.validate_sft_config(sft)
    # What verl's entry loads (Hydra, --config-path/--config-name) is the config that was validated.
    OmegaConf.save(sft, tmp_path / "sft_trainer.yaml")
    with initialize_config_dir(config_dir=str(tmp_path), version_base=None):
        assert compose(config_name="sft_trainer") == sft


def test_paper_sft_config_has_the_online_runs_settings(tiny_model, tmp_path):
    config = _config("offline_sept_qwen2.5_math_7b_dsr", [f"actor_rollout_ref.model.path={tiny_model}"])
    sft = offline.sft_config(config, tmp_path / "train.parquet", {"prompts": 40315, "max_sft_tokens": 900})
    optim = sft.optim
    assert (optim.lr, optim.weight_decay, optim.lr_scheduler_type, optim.clip_grad) == (1e-7, 0.01, "constant", 1.0)
    # 10 warm-up steps of 2 updates each; 64 prompts x G=1 per update; 3 epochs of 40315 // 128 steps.
    assert (optim.lr_warmup_steps, sft.data.train_batch_size) == (20, 64)
    assert (sft.trainer.total_training_steps, sft.trainer.total_epochs) == (314 * 3 * 2, 3)
    assert sft.model.custom_chat_template == config.actor_rollout_ref.model.custom_chat_template
    assert "Please reason step by step" in sft.model.custom_chat_template
    assert (sft.engine.strategy, sft.trainer.n_gpus_per_node, sft.data.max_length) == ("fsdp2", 8, 900)
    assert (sft.data.use_dynamic_bsz, sft.data.max_token_len_per_gpu) == (True, 16384)


@pytest.mark.parametrize(
    "overrides, plan",
    [
        # sept_cpu: 4 steps of 8 prompts in 2 updates of 4 prompts (x G answers).
        ([], dict(online_steps=4, updates_per_step=2, updates=8, batch_rows=4, epochs=1)),
        (
            ["actor_rollout_ref.rollout.n=2"],
            dict(online_steps=4, updates_per_step=2, updates=8, batch_rows=8, epochs=1),
        ),
        # No step cap: 3 epochs of 32 // 8 steps; the SFT needs 3 epochs of 32 // 4 updates.
        (
            ["trainer.total_training_steps=null", "trainer.total_epochs=3"],
            dict(online_steps=12, updates_per_step=2, updates=24, batch_rows=4, epochs=3),
        ),
        (
            ["actor_rollout_ref.actor.ppo_mini_batch_size=8"],
            dict(online_steps=4, updates_per_step=1, updates=4, batch_rows=8, epochs=1),
        ),
    ],
)
def test_sft_makes_as_many_updates_as_the_online_run(overrides, plan):
    assert offline.update_plan(_config("offline_sept_cpu", overrides), prompts=32) == plan


def test_too_few_prompts_for_one_step_is_an_error():
    with pytest.raises(SePTConfigError, match="data.train_batch_size = 8: more than the 7 prompts"):
        offline.update_plan(_config("offline_sept_cpu"), prompts=7)


@pytest.mark.parametrize(
    "override, key",
    [
        ("sept.tau_s.schedule=linear", "sept.tau_s.schedule"),
        ("sept.tau_t=2.0", "sept.tau_t"),
        ("sept.tau_t_mode=coupled", "sept.tau_t"),
        ("method=emft", "actor_rollout_ref.actor.policy_loss.loss_mode"),
        ("method=grpo", "actor_rollout_ref.actor.policy_loss.loss_mode"),
        ("actor_rollout_ref.actor.ppo_epochs=2", "actor_rollout_ref.actor.ppo_epochs"),
        ("actor_rollout_ref.actor.ppo_mini_batch_size=3", "actor_rollout_ref.actor.ppo_mini_batch_size"),
        ("trainer.nnodes=2", "trainer.nnodes"),
        (
            "actor_rollout_ref.rollout.tensor_model_parallel_size=2",
            "actor_rollout_ref.rollout.tensor_model_parallel_size",
        ),
    ],
)
def test_bad_offline_values_name_the_key(override, key):
    with pytest.raises(SePTConfigError) as err:
        offline.check_offline_settings(_config("offline_sept_cpu", [override]))
    assert str(err.value).startswith(key + " = ")


def test_one_engine_per_replica_like_verls_rollout(monkeypatch):
    assert offline.replica_devices(_config("offline_sept_cpu")) == [None]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    paper = "offline_sept_qwen2.5_math_7b_dsr"
    assert offline.replica_devices(_config(paper)) == [str(i) for i in range(8)]
    tp2 = _config(paper, ["actor_rollout_ref.rollout.tensor_model_parallel_size=2"])
    assert offline.replica_devices(tp2) == ["0,1", "2,3", "4,5", "6,7"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6,7,0,1,2,3")
    assert offline.replica_devices(tp2) == ["4,5", "6,7", "0,1", "2,3"]


def test_sampling_follows_verls_vllm_server(tiny_model):
    from verl.workers.rollout.vllm_rollout import vllm_async_server

    config = _config("offline_sept_cpu", [f"actor_rollout_ref.model.path={tiny_model}"])
    # response 48, prompt 160, context 256: the response budget, cut only where prompt + answer would pass 208.
    assert [offline.max_tokens(config, n) for n in (20, 160, 200, 250)] == [48, 48, 8, 1]
    params = offline.sampling_kwargs(config)
    assert (params["temperature"], params["repetition_penalty"], params["top_k"]) == (0.6, 1.0, -1)
    engine = offline.engine_kwargs(config, offline.Tokenization(config), rank=3)
    assert (engine["seed"], engine["load_format"], engine["max_model_len"]) == (45, "auto", 256)
    # The verl lines mirrored above; if they change, revisit max_tokens/sampling_kwargs/engine_kwargs.
    src = " ".join(inspect.getsource(vllm_async_server).split())
    for line in (
        "max_tokens = min( self.config.response_length, self.config.prompt_length + self.config.response_length "
        "- len(prompt_ids) )",
        "max_tokens = max(1, min(max_tokens, max_possible_tokens))",
        'sampling_params.setdefault("repetition_penalty", self.config.get("repetition_penalty", 1.0))',
        'sampling_params.setdefault("ignore_eos", self.config.get("ignore_eos", False))',
        '"seed": self.replica_rank + self.config.seed',
    ):
        assert line in src, line


def test_verls_sft_trainer_still_fixes_the_loss_temperature_at_one():
    """Why offline SePT refuses tau_t != 1: if verl makes this configurable, lift the restriction."""
    from verl.trainer import sft_trainer

    assert '"temperature": 1.0,' in inspect.getsource(sft_trainer.SFTTrainer.fit)


def test_verls_generation_entry_still_keeps_only_the_text():
    """Why the offline set is not generated by main_generation_server (offline/main_offline.py docstring)."""
    from verl.trainer import main_generation_server as gen

    src = inspect.getsource(gen)
    assert "/v1/chat/completions" in src and "result.choices[0].message.content" in src
    assert "custom_chat_template" not in src and "ray.init(runtime_env=" in src


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from data_prep.synthetic import write_arithmetic_sets

    return write_arithmetic_sets(tmp_path_factory.mktemp("offline_data"), n_train=24, n_val=4, seed=0)


def _run_config(tiny_model, tiny_data, run, overrides=()):
    from recipe.sept.main_sept import prepare_config

    return prepare_config(
        compose_preset(
            "offline_sept_cpu",
            [
                f"actor_rollout_ref.model.path={tiny_model}",
                f"data.train_files={tiny_data['train']}",
                f"data.val_files={tiny_data['val']}",
                f"trainer.default_local_dir={run / 'checkpoints'}",
                "actor_rollout_ref.rollout.n=2",
                *overrides,
            ],
        )
    )


@pytest.fixture
def fake_stages(monkeypatch):
    """The command with a stand-in generator and SFT launch (no vLLM, no torchrun): what runs, in which order."""
    calls = {"generated": [], "sft": []}

    def generate(config, tok, prompt_ids):
        calls["generated"].append(len(prompt_ids))
        text = "So the answer is \\boxed{1}."
        ids = tok.tokenizer.encode(text, add_special_tokens=False) + [tok.tokenizer.eos_token_id]
        return [
            [offline.Sample(text, ids, "stop", [-1.0] * len(ids))] * config.actor_rollout_ref.rollout.n
            for _ in prompt_ids
        ]

    def launch_sft(sft_path, nproc, env):
        sft = OmegaConf.load(sft_path)
        calls["sft"].append((sft.trainer.total_training_steps, nproc, env["OMP_NUM_THREADS"]))
        ckpt = Path(sft.trainer.default_local_dir)
        ckpt.mkdir(parents=True, exist_ok=True)
        (ckpt / offline.TRACKER_FILE).write_text(str(sft.trainer.total_training_steps))

    monkeypatch.setattr(offline, "generate", generate)
    monkeypatch.setattr(offline, "launch_sft", launch_sft)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    return calls


def test_the_command_generates_once_and_trains_until_done(tiny_model, tiny_data, tmp_path, fake_stages):
    offline.run(_run_config(tiny_model, tiny_data, tmp_path))
    assert fake_stages == {"generated": [24], "sft": [(8, 1, "1")]}
    sft = OmegaConf.load(tmp_path / "sft_trainer.yaml")
    manifest = json.loads((tmp_path / "generated" / "manifest.json").read_text())
    assert sft.data.train_files == str(tmp_path / "generated" / "train.parquet")
    assert (sft.data.max_length, manifest["rows"]) == (manifest["max_sft_tokens"], 48)
    # Relaunch: the set is reused and the SFT already reached its last update.
    offline.run(_run_config(tiny_model, tiny_data, tmp_path))
    assert fake_stages == {"generated": [24], "sft": [(8, 1, "1")]}
    # More steps: still no generation; the SFT is launched again (verl resumes it from its checkpoint).
    offline.run(_run_config(tiny_model, tiny_data, tmp_path, ["trainer.total_training_steps=6"]))
    assert fake_stages == {"generated": [24], "sft": [(8, 1, "1"), (12, 1, "1")]}


def test_a_relaunch_with_other_sampling_settings_is_refused(tiny_model, tiny_data, tmp_path, fake_stages):
    offline.run(_run_config(tiny_model, tiny_data, tmp_path))
    with pytest.raises(offline.OfflineSetError, match=r"\(n: 2 -> 3\)"):
        offline.run(_run_config(tiny_model, tiny_data, tmp_path, ["actor_rollout_ref.rollout.n=3"]))
    assert fake_stages["generated"] == [24]


def test_an_sft_the_online_run_could_not_match_fails_before_generating(tiny_model, tiny_data, tmp_path, fake_stages):
    with pytest.raises(SePTConfigError, match="data.train_batch_size = 32: more than the 24 prompts"):
        offline.run(_run_config(tiny_model, tiny_data, tmp_path, ["data.train_batch_size=32"]))
    assert fake_stages == {"generated": [], "sft": []} and not (tmp_path / "generated").exists()


def test_one_openmp_thread_for_the_sft_on_cpu_only(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert offline.sft_env(cpu=True)["OMP_NUM_THREADS"] == "1" and "OMP_NUM_THREADS" not in offline.sft_env(cpu=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert offline.sft_env(cpu=True)["OMP_NUM_THREADS"] == "2"
