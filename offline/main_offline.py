"""Offline SePT: ``python -m offline.main_offline --config-name PRESET [key=value ...]``.

One command, two stages, both resumable:
1. **Generate once.** G = ``actor_rollout_ref.rollout.n`` answers per training prompt from the base model at the
   constant τs = ``sept.tau_s.start``, with the prompts, chat template, lengths and sampling parameters of the
   online run. Written to ``<run>/generated/`` (``train.parquet`` + ``manifest.json``); ``<run>`` is the parent of
   ``trainer.default_local_dir``. A relaunch reuses a complete set made with the same settings.
2. **SFT on the fixed set** with verl's own trainer (``torchrun -m offline.sft_trainer``: verl's, with #7401
   fixed; ``MultiTurnSFTDataset``, ``data.messages_key=messages``) and the online actor's model, FSDP and optimizer settings. The composed SFT config
   is written to ``<run>/sft_trainer.yaml``; checkpoints go to ``trainer.default_local_dir`` and verl resumes from them.

Configs: ``configs/offline_sept_*.yaml`` compose their online preset, with a constant τs and their own output
folder. They are composed with Hydra's compose API as ``tests/helpers.compose_preset`` composes
``main_sept``'s presets (not ``hydra.main``: inside it, Hydra cannot compose verl's ``sft_trainer_engine``), then
checked by ``prepare_config``, the offline checks below, verl's ``validate_config`` and, for the SFT config, the
typed sections verl's ``SFTTrainer`` builds — all before the generation starts.

Choices and departures (from the paper's online SePT and from verl's offline tools):
- Generator: vLLM's offline ``LLM``, not ``verl.trainer.main_generation_server``. That entry sends chat messages to
  vLLM's OpenAI server, which applies the tokenizer's own template (``custom_chat_template`` never reaches it), keeps
  only the text (no finish reason, no token ids), and calls ``ray.init()`` without resources (on CPU its GPU bundle
  never schedules). Here prompts are rendered by verl's Continuous Token builder (the agent loop's path), and each
  request gets the sampling parameters verl's vLLM server builds (``max_tokens``, ``repetition_penalty=1``,
  ``ignore_eos``), with ``n_gpus_per_node / tensor_model_parallel_size`` engines seeded ``rollout.seed + rank``.
- Training temperature: verl's engine divides the logits by a per-batch temperature, but its SFT trainer sets it to
  1.0 unconditionally (``SFTTrainer.fit``), so offline SePT supports τt = 1 only (the paper's default); other values
  are refused.
- Updates: online, each step's ``train_batch_size`` prompts are used in ``train_batch_size / ppo_mini_batch_size``
  optimizer updates of ``ppo_mini_batch_size × G`` answers, and verl steps the LR scheduler once per step. The SFT run
  makes the same number of updates of the same size (``ppo_mini_batch_size × G`` rows), so one epoch over the set is
  one online epoch; LR warm-up and save frequency are rescaled from steps to updates.
- Tokens: online SePT trains on the sampled token ids; verl's SFT trainer re-tokenises the text through the chat
  template, which also trains the template's end-of-turn tokens — after truncated answers too. The manifest counts
  the rows whose SFT tokens start with exactly the sampled ones (``token_exact_rows``) and the finish reasons; each
  row keeps its sampled ``response_ids`` and ``sampler_nll`` (the NLL at τs, online ``sept/rollout_nll``).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from offline.answer_set import (
    MESSAGES_KEY,
    SET_FILE,
    OfflineSetError,
    Prompt,
    Sample,
    build_rows,
    load_set,
    read_source_rows,
    sample_rows,
    select_prompts,
    sha256_text,
    source_fingerprints,
    write_set,
)
from recipe.sept.config import SePTConfigError, parse_sept_config
from recipe.sept.losses import SEPT_NLL_LOSS
from recipe.sept.main_sept import CONFIG_DIR, enter_process_env, prepare_config

SET_DIR = "generated"
SFT_CONFIG_NAME = "sft_trainer"
TRACKER_FILE = "latest_checkpointed_iteration.txt"


def compose_config(config_name: str, overrides: list[str]) -> DictConfig:
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
        return compose(config_name=config_name, overrides=overrides)


def check_offline_settings(config: DictConfig) -> None:
    """What an offline run needs beyond SePT's own checks; raises SePTConfigError naming the key."""
    sept = parse_sept_config(config)
    actor = config.actor_rollout_ref.actor
    if actor.policy_loss.loss_mode != SEPT_NLL_LOSS:
        _fail(
            "actor_rollout_ref.actor.policy_loss.loss_mode",
            actor.policy_loss.loss_mode,
            f"offline SePT is SFT on the answers, the offline form of {SEPT_NLL_LOSS!r} only (use method=sept)",
        )
    if sept.tau_s.schedule != "constant":
        _fail(
            "sept.tau_s.schedule", sept.tau_s.schedule, "offline SePT samples once, at sept.tau_s.start: set constant"
        )
    if sept.tau_t != 1.0 or sept.tau_t_mode != "fixed":
        _fail(
            "sept.tau_t",
            (sept.tau_t, sept.tau_t_mode),
            "verl's SFT trainer computes the loss at temperature 1 only: use sept.tau_t=1.0 sept.tau_t_mode=fixed",
        )
    if actor.ppo_epochs != 1:
        _fail("actor_rollout_ref.actor.ppo_epochs", actor.ppo_epochs, "offline update counts assume 1 (SePT's value)")
    if config.data.train_batch_size % actor.ppo_mini_batch_size:
        _fail(
            "actor_rollout_ref.actor.ppo_mini_batch_size",
            actor.ppo_mini_batch_size,
            f"must divide data.train_batch_size={config.data.train_batch_size}",
        )
    if config.trainer.nnodes != 1:
        _fail("trainer.nnodes", config.trainer.nnodes, "offline SePT runs on one node (torchrun --standalone)")
    if config.trainer.n_gpus_per_node % config.actor_rollout_ref.rollout.tensor_model_parallel_size:
        _fail(
            "actor_rollout_ref.rollout.tensor_model_parallel_size",
            config.actor_rollout_ref.rollout.tensor_model_parallel_size,
            f"must divide trainer.n_gpus_per_node={config.trainer.n_gpus_per_node}",
        )


def _fail(key: str, value, why: str) -> None:
    raise SePTConfigError(f"{key} = {value!r}: {why}")


def run_dir(config: DictConfig) -> Path:
    return Path(os.path.expanduser(config.trainer.default_local_dir)).resolve().parent


# ---------------------------------------------------------------- stage 1: the generated set


class Tokenization:
    """The online run's tokenizer and templates: prompts as verl's agent loop renders them (Continuous Token
    builder, ``add_generation_prompt=True``), conversations as verl's ``MultiTurnSFTDataset`` checks them."""

    def __init__(self, config: DictConfig):
        from verl.utils.config import omega_conf_to_dataclass
        from verl.utils.tokenizer.continuous_token_wiring import create_continuous_token_builder

        self.model = omega_conf_to_dataclass(config.actor_rollout_ref.model)
        self.tokenizer = self.model.tokenizer
        # As verl's AgentLoopWorker does: the custom template replaces the tokenizer's own.
        if self.model.custom_chat_template is not None:
            self.tokenizer.chat_template = self.model.custom_chat_template
        self.kwargs = dict(config.data.get("apply_chat_template_kwargs") or {})
        model_type = getattr(self.model.hf_config, "model_type", None)
        self.builder = create_continuous_token_builder(
            self.tokenizer,
            hf_model_type=model_type if isinstance(model_type, str) else None,
            chat_template_kwargs=self.kwargs,
        )

    def encode(self, messages: list[dict]) -> list[int]:
        return self.builder.build_initial_tokens(messages)

    def render(self, messages: list[dict]) -> list[int]:
        from verl.utils.tokenizer.tokenizer import normalize_token_ids

        return normalize_token_ids(
            self.tokenizer.apply_chat_template(messages, add_generation_prompt=False, tokenize=True, **self.kwargs)
        )


def train_files(config: DictConfig) -> list[str]:
    files = config.data.train_files
    return [files] if isinstance(files, str) else list(files)


def generation_request(config: DictConfig, tok: Tokenization) -> dict:
    """Everything that determines the generated set; a set on disk is reused only if its request is equal."""
    rollout, data = config.actor_rollout_ref.rollout, config.data
    return {
        "model_path": str(config.actor_rollout_ref.model.path),
        "chat_template_sha256": sha256_text(tok.tokenizer.chat_template),
        "apply_chat_template_kwargs": tok.kwargs,
        "tau_s": float(config.sept.tau_s.start),
        "n": int(rollout.n),
        "seed": int(rollout.seed),
        "top_p": float(rollout.top_p),
        "top_k": int(rollout.top_k),
        "ignore_eos": bool(rollout.ignore_eos),
        "dtype": str(rollout.dtype),
        "max_prompt_length": int(rollout.prompt_length),
        "max_response_length": int(rollout.response_length),
        "filter_overlong_prompts": bool(data.filter_overlong_prompts),
        "train_max_samples": int(data.get("train_max_samples", -1)),
        "sources": source_fingerprints(train_files(config)),
    }


def engine_kwargs(config: DictConfig, tok: Tokenization, rank: int) -> dict:
    """vLLM engine arguments as verl's vLLM server builds them, with the real weights loaded (verl's rollout
    starts from ``load_format=dummy`` and receives the actor's weights)."""
    rollout = config.actor_rollout_ref.rollout
    return {
        "model": tok.model.local_path,
        "tokenizer": tok.model.local_tokenizer_path,
        "dtype": rollout.dtype,
        "load_format": "auto",
        "trust_remote_code": tok.model.trust_remote_code,
        "max_model_len": rollout.max_model_len or rollout.prompt_length + rollout.response_length,
        "max_num_seqs": rollout.max_num_seqs,
        "enable_chunked_prefill": rollout.enable_chunked_prefill,
        "max_num_batched_tokens": rollout.max_num_batched_tokens,
        "enable_prefix_caching": rollout.enable_prefix_caching,
        "enforce_eager": rollout.enforce_eager,
        "gpu_memory_utilization": rollout.gpu_memory_utilization,
        "disable_log_stats": rollout.disable_log_stats,
        "tensor_parallel_size": rollout.tensor_model_parallel_size,
        "seed": rollout.seed + rank,
        "logprobs_mode": rollout.logprobs_mode,
        **{k: v for k, v in (rollout.engine_kwargs.get("vllm") or {}).items() if v is not None},
    }


def max_tokens(config: DictConfig, prompt_len: int) -> int:
    """verl's per-request cap (``vllm_async_server.generate``): the response budget, within the context."""
    rollout = config.actor_rollout_ref.rollout
    context = rollout.max_model_len or rollout.prompt_length + rollout.response_length
    budget = min(rollout.response_length, rollout.prompt_length + rollout.response_length - prompt_len)
    return max(1, min(budget, context - prompt_len))


def sampling_kwargs(config: DictConfig) -> dict:
    rollout = config.actor_rollout_ref.rollout
    return {
        "n": int(rollout.n),
        "temperature": float(config.sept.tau_s.start),
        "top_p": float(rollout.top_p),
        "top_k": int(rollout.top_k),
        "repetition_penalty": 1.0,
        "ignore_eos": bool(rollout.ignore_eos),
        # The sampled token's log-prob only (verl asks for the same when rollout.calculate_log_probs is on).
        "logprobs": 0,
        # Keep special tokens generated inside an answer in its text, so re-tokenising gives them back.
        "skip_special_tokens": False,
    }


def replica_devices(config: DictConfig) -> list[str | None]:
    """Devices of each generation engine: one engine on CPU; n_gpus_per_node / TP engines on a GPU node."""
    if config.trainer.device == "cpu":
        return [None]
    tp = config.actor_rollout_ref.rollout.tensor_model_parallel_size
    n = config.trainer.n_gpus_per_node
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", ",".join(map(str, range(n)))).split(",")[:n]
    return [",".join(visible[r * tp : (r + 1) * tp]) for r in range(n // tp)]


def _answer(completion) -> tuple[str, list[int], str, list[float]]:
    ids = list(completion.token_ids)
    logprobs = [completion.logprobs[i][t].logprob for i, t in enumerate(ids)] if completion.logprobs else []
    return completion.text, ids, str(completion.finish_reason), logprobs


def generate_shard(job: dict) -> list[list[tuple[str, list[int], str, list[float]]]]:
    """Run in a fresh process (vLLM's memory is released when it exits): answers for one shard of prompts."""
    if job["devices"] is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = job["devices"]
    from vllm import LLM, SamplingParams

    llm = LLM(**job["engine"])
    params = [SamplingParams(max_tokens=m, **job["sampling"]) for m in job["max_tokens"]]
    outputs = llm.generate([{"prompt_token_ids": ids} for ids in job["prompt_ids"]], params, use_tqdm=True)
    return [[_answer(c) for c in out.outputs] for out in outputs]


def generate(config: DictConfig, tok: Tokenization, prompt_ids: list[list[int]]) -> list[list[Sample]]:
    """Answers for every prompt, in order, from one vLLM engine per replica (prompts split in contiguous shards)."""
    devices = replica_devices(config)
    size = math.ceil(len(prompt_ids) / len(devices))
    jobs = [
        {
            "devices": dev,
            "engine": engine_kwargs(config, tok, rank),
            "sampling": sampling_kwargs(config),
            "prompt_ids": prompt_ids[rank * size : (rank + 1) * size],
            "max_tokens": [max_tokens(config, len(p)) for p in prompt_ids[rank * size : (rank + 1) * size]],
        }
        for rank, dev in enumerate(devices)
    ]
    jobs = [job for job in jobs if job["prompt_ids"]]
    # Spawned, one task per process: each engine sees only its devices and frees them on exit.
    with ProcessPoolExecutor(len(jobs), mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
        shards = list(pool.map(generate_shard, jobs))
    return [[Sample(*answer) for answer in answers] for shard in shards for answers in shard]


def choose_prompts(config: DictConfig, tok: Tokenization) -> tuple[list[Prompt], int]:
    """The online run's training prompts (``train_max_samples``, overlong filter) and how many were too long."""
    data = config.data
    rows = read_source_rows(train_files(config))
    keep = sample_rows(len(rows), int(data.get("train_max_samples", -1)), bool(data.shuffle), data.seed)
    prompts, dropped = select_prompts(
        rows,
        tok.encode,
        config.actor_rollout_ref.rollout.prompt_length,
        bool(data.filter_overlong_prompts),
        keep=keep,
        prompt_key=data.prompt_key,
    )
    if not prompts:
        raise OfflineSetError(
            f"no prompt of {train_files(config)} fits in data.max_prompt_length="
            f"{config.actor_rollout_ref.rollout.prompt_length} tokens: raise it or check the data"
        )
    return prompts, dropped


def make_set(
    config: DictConfig, tok: Tokenization, prompts: list[Prompt], dropped: int, set_dir: Path, request: dict
) -> dict:
    """Generate the answers and write the set with its manifest."""
    print(
        f"offline: generating {len(prompts)} prompts x G={request['n']} at tau_s={request['tau_s']} "
        f"({dropped} prompts over {request['max_prompt_length']} tokens dropped)",
        flush=True,
    )
    start = time.time()
    samples = generate(config, tok, [p.prompt_ids for p in prompts])
    seconds = time.time() - start
    set_rows = build_rows(prompts, samples, tok.render, prompt_key=config.data.prompt_key)
    extra = {
        "prompts": len(prompts),
        "prompts_dropped_overlong": dropped,
        "generator": {
            "engine": "vllm.LLM",
            "vllm": version("vllm"),
            "replicas": len(replica_devices(config)),
            "seconds": round(seconds, 2),
        },
    }
    return write_set(set_dir, set_rows, request, extra)


# ---------------------------------------------------------------- stage 2: SFT with verl's trainer


def update_plan(config: DictConfig, prompts: int) -> dict:
    """SFT batch and update count equal to the online run's optimizer updates (module docstring, "Updates")."""
    data, actor, trainer = config.data, config.actor_rollout_ref.actor, config.trainer
    if prompts < data.train_batch_size:
        _fail(
            "data.train_batch_size",
            data.train_batch_size,
            f"more than the {prompts} prompts kept: the online run would make no step; lower it or add prompts",
        )
    per_step = data.train_batch_size // actor.ppo_mini_batch_size
    online_steps = trainer.total_training_steps or (prompts // data.train_batch_size) * trainer.total_epochs
    updates = online_steps * per_step
    return {
        "online_steps": online_steps,
        "updates_per_step": per_step,
        "updates": updates,
        "batch_rows": actor.ppo_mini_batch_size * config.actor_rollout_ref.rollout.n,
        # verl's SFT loop stops at total_training_steps but never runs past total_epochs: enough epochs to get there.
        "epochs": math.ceil(updates / (prompts // actor.ppo_mini_batch_size)),
    }


def _per_update(value: int, per_step: int) -> int:
    """A count in online steps as a count in updates; non-positive values keep their meaning (off / use ratio)."""
    return value * per_step if value > 0 else value


def _plain(node) -> object:
    return OmegaConf.to_container(node, resolve=True)


def _sft_data(config: DictConfig, set_file: Path, manifest: dict, plan: dict) -> dict:
    actor = config.actor_rollout_ref.actor
    return {
        "train_files": str(set_file),
        "val_files": None,
        "messages_key": MESSAGES_KEY,
        "train_batch_size": plan["batch_rows"],
        "micro_batch_size_per_gpu": actor.ppo_micro_batch_size_per_gpu,
        "use_dynamic_bsz": actor.use_dynamic_bsz,
        "max_token_len_per_gpu": actor.ppo_max_token_len_per_gpu,
        # Longest tokenised row of this set: nothing is cut.
        "max_length": manifest["max_sft_tokens"],
        "truncation": "error",
        "num_workers": config.data.dataloader_num_workers,
        "apply_chat_template_kwargs": _plain(config.data.apply_chat_template_kwargs),
    }


def _sft_trainer(config: DictConfig, plan: dict) -> dict:
    trainer = config.trainer
    return {
        "default_local_dir": str(Path(os.path.expanduser(trainer.default_local_dir)).resolve()),
        "project_name": trainer.project_name,
        "experiment_name": trainer.experiment_name,
        "total_epochs": plan["epochs"],
        "total_training_steps": plan["updates"],
        "logger": _plain(trainer.logger),
        "seed": config.data.seed,
        "save_freq": _per_update(trainer.save_freq, plan["updates_per_step"]),
        "test_freq": -1,
        "max_ckpt_to_keep": trainer.max_actor_ckpt_to_keep,
        "resume_mode": trainer.resume_mode,
        "resume_from_path": trainer.resume_from_path,
        "device": trainer.device,
        "nnodes": 1,
        "n_gpus_per_node": trainer.n_gpus_per_node,
    }


def sft_config(config: DictConfig, set_file: Path, manifest: dict) -> DictConfig:
    """verl's ``sft_trainer_engine`` config with the online actor's model, FSDP, optimizer and checkpoint settings
    (the same config classes online and offline), the set, and the update plan."""
    from hydra import compose, initialize_config_module

    with initialize_config_module(config_module="verl.trainer.config", version_base=None):
        sft = compose(config_name="sft_trainer_engine")
    plan = update_plan(config, manifest["prompts"])
    actor = config.actor_rollout_ref.actor
    settings = {
        "model": _plain(config.actor_rollout_ref.model),
        "engine": {**_plain(actor.fsdp_config), "strategy": actor.strategy},
        "optim": {
            **_plain(actor.optim),
            "lr_warmup_steps": _per_update(actor.optim.lr_warmup_steps, plan["updates_per_step"]),
        },
        "checkpoint": {
            "save_contents": _plain(actor.checkpoint.save_contents),
            "load_contents": _plain(actor.checkpoint.load_contents),
        },
        "data": _sft_data(config, set_file, manifest, plan),
        "trainer": _sft_trainer(config, plan),
    }
    # The actor's sections carry keys verl's SFT defaults lack (its model section is the same hf_model.yaml with
    # our override_config); verl's typed configs check them in validate_sft_config.
    with open_dict(sft):
        sft.merge_with(settings)
    return sft


def validate_sft_config(sft: DictConfig) -> None:
    """verl's own start-up checks of the SFT config: the typed sections ``SFTTrainer._build_config`` builds."""
    from verl.utils.config import omega_conf_to_dataclass

    for section in ("model", "engine", "optim", "checkpoint", "profiler"):
        omega_conf_to_dataclass(sft[section])


def trained_updates(checkpoint_dir: str) -> int:
    """Updates already saved by verl's SFT checkpoint handler (0 when none)."""
    tracker = Path(checkpoint_dir) / TRACKER_FILE
    return int(tracker.read_text().strip()) if tracker.is_file() else 0


def sft_env(cpu: bool) -> dict[str, str]:
    """The SFT processes' environment: this process's (the recipe's modules, the CPU platform on CPU runs)."""
    env = dict(os.environ)
    if cpu:
        # torch's OpenMP threads spin-wait for a core another process holds: on the 2-core machine one SFT update
        # of the tiny model took 4.7 s with 2 threads beside a busy process, 0.2 s with 1 (torchrun only sets 1
        # for several processes per node).
        env.setdefault("OMP_NUM_THREADS", "1")
    return env


def launch_sft(sft_path: Path, nproc: int, env: dict[str, str]) -> None:
    """verl's SFT trainer under torchrun, with its epoch-boundary resume fixed (``offline/sft_trainer.py``)."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nnodes=1",
        f"--nproc_per_node={nproc}",
        "-m",
        "offline.sft_trainer",
        f"--config-path={sft_path.parent}",
        f"--config-name={sft_path.stem}",
        f"hydra.run.dir={sft_path.parent / 'sft_hydra'}",
    ]
    proc = subprocess.run(cmd, env=env)
    if proc.returncode:
        raise SystemExit(
            f"sept offline: verl's SFT trainer failed (exit {proc.returncode}); its output is above, "
            f"its config is {sft_path}"
        )


# ---------------------------------------------------------------- the command


def run(config: DictConfig) -> None:
    folder = run_dir(config)
    set_dir = folder / SET_DIR
    tok = Tokenization(config)
    request = generation_request(config, tok)
    manifest = load_set(set_dir, request)
    if manifest is None:
        prompts, dropped = choose_prompts(config, tok)
        # Anything the SFT stage would refuse fails now, not after the generation.
        validate_sft_config(sft_config(config, set_dir / SET_FILE, {"prompts": len(prompts), "max_sft_tokens": 1}))
        manifest = make_set(config, tok, prompts, dropped, set_dir, request)
        print(
            f"offline: wrote {manifest['rows']} rows to {set_dir} in {manifest['generator']['seconds']} s "
            f"(finish reasons {manifest['finish_reasons']}, token-exact {manifest['token_exact_rows']})",
            flush=True,
        )
    else:
        print(
            f"offline: reusing the generated set in {set_dir} ({manifest['rows']} rows, {manifest['created']})",
            flush=True,
        )
    sft = sft_config(config, set_dir / manifest["file"], manifest)
    validate_sft_config(sft)
    sft_path = folder / f"{SFT_CONFIG_NAME}.yaml"
    OmegaConf.save(sft, sft_path)
    total, done = sft.trainer.total_training_steps, trained_updates(sft.trainer.default_local_dir)
    print(
        f"offline: SFT of {sft.data.train_batch_size} rows per update, {total} updates "
        f"({update_plan(config, manifest['prompts'])['updates_per_step']} per online step), {done} already saved",
        flush=True,
    )
    if done >= total and sft.trainer.resume_mode != "disable":
        print(f"offline: nothing to train; checkpoints in {sft.trainer.default_local_dir}", flush=True)
        return
    start = time.time()
    launch_sft(sft_path, config.trainer.n_gpus_per_node, sft_env(config.trainer.device == "cpu"))
    print(
        f"offline: SFT finished in {time.time() - start:.1f} s; checkpoints in {sft.trainer.default_local_dir}",
        flush=True,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m offline.main_offline", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config-name",
        required=True,
        help="a preset in configs/, e.g. offline_sept_cpu or offline_sept_qwen2.5_math_7b_dsr",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides key=value, as for main_sept")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        config = prepare_config(compose_config(args.config_name, args.overrides))
        check_offline_settings(config)
    except SePTConfigError as exc:
        raise SystemExit(f"sept offline: bad config: {exc}") from None
    # Inherited by the generation processes and by torchrun's SFT processes.
    enter_process_env(config)
    try:
        run(config)
    except (OfflineSetError, SePTConfigError) as exc:
        raise SystemExit(f"sept offline: {exc}") from None


if __name__ == "__main__":
    main()
