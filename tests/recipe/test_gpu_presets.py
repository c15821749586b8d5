"""The presets and launches a GPU user starts from, composed and put through SePT's and verl's validation: the
one-GPU and LoRA presets (what they change from the paper run, and nothing else), the authors' validation, the
logging overrides of docs/logging.md and the multi-node launch of docs/gpu.md (read from the docs, so the tested
commands are the documented ones). Composition only: none of these has been launched on a GPU here (docs/gpu.md)."""

from __future__ import annotations

import shlex
from functools import cache

import pytest
from omegaconf import OmegaConf

from recipe.sept import preflight
from recipe.sept.config import check_verl_settings, parse_sept_config
from recipe.sept.main_sept import validate_with_verl
from tests.helpers import REPO, compose_preset

PAPER = "sept_qwen2.5_math_7b_dsr"
ONE_GPU = "sept_qwen2.5_math_1.5b_1gpu"
LORA = "sept_qwen2.5_math_1.5b_1gpu_lora"
METHODS = ["sept", "grpo", "emft"]
ENTRY = ["python", "-m", "recipe.sept.main_sept", "--config-name"]


@cache
def _validated(preset: str, overrides: tuple[str, ...]):
    config = compose_preset(preset, list(overrides))
    OmegaConf.resolve(config)
    parse_sept_config(config)
    check_verl_settings(config)
    validate_with_verl(config)
    return config


def validated(preset: str, overrides=()):
    """The preset with overrides, composed, resolved and through SePT's and verl's checks (composed once per test
    module: each composition costs seconds; callers only read it)."""
    return _validated(preset, tuple(overrides))


def leaves(preset: str, overrides=()) -> dict:
    """Every leaf of a preset as composed, before interpolation, as {dotted key: value} (lists are leaves): keys
    verl derives from others (``${...}``) read the same in every preset, so a difference is one the YAML sets."""

    def walk(node, prefix):
        if isinstance(node, dict):
            return {k: v for key, value in node.items() for k, v in walk(value, f"{prefix}{key}.").items()}
        return {prefix[:-1]: node}

    return walk(OmegaConf.to_container(compose_preset(preset, list(overrides))), "")


def differences(a: dict, b: dict) -> dict:
    return {k: (a.get(k), b.get(k)) for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


def rollout_of(config):
    from verl.utils.config import omega_conf_to_dataclass
    from verl.workers.config import RolloutConfig

    return omega_conf_to_dataclass(config.actor_rollout_ref.rollout, dataclass_type=RolloutConfig)


# ------------------------------------------------------------------------------------------------ one GPU, LoRA


@pytest.mark.parametrize("method", METHODS)
def test_one_gpu_preset_is_the_paper_run_with_another_model_and_gpu_count(method):
    validated(ONE_GPU, [f"method={method}"])
    paper, one = (leaves(p, [f"method={method}"]) for p in (PAPER, ONE_GPU))
    assert differences(paper, one) == {
        "actor_rollout_ref.model.path": ("Qwen/Qwen2.5-Math-7B", "Qwen/Qwen2.5-Math-1.5B"),
        "trainer.n_gpus_per_node": (8, 1),
        "actor_rollout_ref.rollout.gpu_memory_utilization": (0.6, 0.5),
        "trainer.experiment_name": (PAPER, ONE_GPU),
        "trainer.default_local_dir": (
            f"${{sept_path:results/{PAPER}/checkpoints}}",
            f"${{sept_path:results/{ONE_GPU}/checkpoints}}",
        ),
    }


@pytest.mark.parametrize("method", METHODS)
def test_lora_preset_is_the_one_gpu_run_with_adapters(method):
    validated(LORA, [f"method={method}"])
    one, lora = (leaves(p, [f"method={method}"]) for p in (ONE_GPU, LORA))
    changed = differences(one, lora)
    assert {k: v[1] for k, v in changed.items() if "experiment_name" not in k and "local_dir" not in k} == {
        "actor_rollout_ref.model.lora_rank": 32,
        "actor_rollout_ref.model.lora_alpha": 32,
        "actor_rollout_ref.actor.optim.lr": 1e-6,
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": 8192,
        "actor_rollout_ref.rollout.load_format": "safetensors",
        "actor_rollout_ref.rollout.gpu_memory_utilization": 0.4,
    }
    # verl's FSDP LoRA: PEFT on every linear layer; vLLM serves the adapter (not merged into the weights) and, with
    # the base read from the checkpoint, only the adapter is sent each step (engine_workers: base_sync_done).
    assert lora["actor_rollout_ref.model.target_modules"] == "all-linear"
    assert lora["actor_rollout_ref.model.lora.merge"] is False
    assert lora["actor_rollout_ref.rollout.layered_summon"] is False
    from verl.workers.rollout.vllm_rollout.utils import get_vllm_max_lora_rank

    assert get_vllm_max_lora_rank(lora["actor_rollout_ref.model.lora_rank"]) == 32


@pytest.mark.parametrize("preset", [ONE_GPU, LORA])
def test_lengths_fill_the_models_context_exactly(preset):
    config = validated(preset)
    assert (config.data.max_prompt_length, config.data.max_response_length) == (1024, 3072)
    # max_position_embeddings in Qwen/Qwen2.5-Math-1.5B's config.json; one token less and the preflight refuses.
    fits = preflight.ModelFacts(
        config.actor_rollout_ref.model.path, preflight.HUB, {"max_position_embeddings": 4096}, ""
    )
    short = preflight.ModelFacts(
        config.actor_rollout_ref.model.path, preflight.HUB, {"max_position_embeddings": 4095}, ""
    )
    assert preflight.check_context(config, fits) == []
    assert [f.level for f in preflight.check_context(config, short)] == [preflight.ERROR, preflight.ERROR]
    # The 1.5B model is Qwen2.5-Math-7B's family: the same chat template and question-only prompts.
    paper = validated(PAPER)
    assert config.actor_rollout_ref.model.custom_chat_template == paper.actor_rollout_ref.model.custom_chat_template
    assert config.data.train_files == paper.data.train_files and config.data.val_files == paper.data.val_files


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("preset", [PAPER, ONE_GPU, LORA])
def test_validation_is_the_authors_32_samples_at_tau_1(preset, method):
    val = rollout_of(validated(preset, [f"method={method}"])).val_kwargs
    # verl's agent loops read val_kwargs.n and .temperature (do_sample is ignored there; it only must not be false
    # with tau > 0 for verl's validate_config).
    assert (val.n, val.temperature, val.top_p, val.top_k, val.do_sample) == (32, 1.0, 1.0, -1, True)


# ------------------------------------------------------------------------------------------------ documented launches


def documented_launches(doc: str) -> list[list[str]]:
    """The ``python -m recipe.sept.main_sept`` command lines of a doc's bash blocks (``\\`` continuations joined,
    leading VAR=value environment words dropped), split as the shell splits them."""
    text = (REPO / "docs" / doc).read_text().replace("\\\n", " ")
    launches = []
    for line in text.splitlines():
        words = shlex.split(line.split(" #")[0]) if "recipe.sept.main_sept" in line else []
        while words and "=" in words[0] and not words[0].startswith("python"):
            words.pop(0)
        if words[:4] == ENTRY:
            launches.append(words[4:])
    return launches


def test_the_logging_doc_covers_each_backend_and_both_dumps():
    from verl.utils.tracking import Tracking

    launches = documented_launches("logging.md")
    loggers, dumps = set(), []
    for preset, *overrides in launches:
        config = validated(preset, overrides)
        # A misspelt backend passes composition and verl's validation and fails only inside Ray: check the names.
        assert set(config.trainer.logger) <= set(Tracking.supported_backend), overrides
        loggers |= set(config.trainer.logger)
        dumps.append((config.trainer.rollout_data_dir, config.trainer.validation_data_dir))
    assert {"wandb", "tensorboard", "swanlab", "mlflow", "file"} <= loggers
    assert any(rollouts and validation for rollouts, validation in dumps)


def test_tensorboard_as_documented_writes_event_files(tmp_path, monkeypatch):
    """verl's own Tracking, built from the documented launch's config, logs to TensorBoard (the one backend here that
    needs no account or extra package)."""
    from verl.utils.tracking import Tracking

    (launch,) = [o for o in documented_launches("logging.md") if "trainer.logger=[console,tensorboard]" in o]
    config = validated(launch[0], launch[1:])
    monkeypatch.setenv("TENSORBOARD_DIR", str(tmp_path / "tb"))
    tracking = Tracking(config.trainer.project_name, config.trainer.experiment_name, list(config.trainer.logger))
    tracking.log({"sept/nll": 1.5, "sept/tau_s": 0.6}, step=1)
    tracking.finish()
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


def test_the_documented_two_node_launch_composes_and_scales():
    (launch,) = [o for o in documented_launches("gpu.md") if any("ray_init.address" in w for w in o)]
    for method in METHODS:
        config = validated(launch[0], [*launch[1:], f"method={method}"])
        trainer, rollout = config.trainer, config.actor_rollout_ref.rollout
        gpus = trainer.nnodes * trainer.n_gpus_per_node
        assert (trainer.nnodes, gpus) == (2, 16)
        # The batch sizes are global (the paper's); every GPU gets a whole share of a step and of each update.
        per_step, per_update = (
            config.data.train_batch_size * rollout.n,
            config.actor_rollout_ref.actor.ppo_mini_batch_size * rollout.n,
        )
        assert per_step % gpus == 0 and per_update % gpus == 0, (method, per_step, per_update)
        # vLLM engines of tensor_model_parallel_size GPUs, each inside one node; agent-loop workers one per GPU.
        assert trainer.n_gpus_per_node % rollout.tensor_model_parallel_size == 0
        assert rollout.agent.num_workers == gpus
        # Joining a running cluster: Ray refuses num_cpus / num_gpus with an address.
        ray_init = config.ray_kwargs.ray_init
        assert ray_init.address == "auto" and ray_init.num_cpus is None and "num_gpus" not in ray_init
