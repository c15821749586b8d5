"""SePT smoke test: two launches of ``python -m recipe.sept.main_sept``, then ``smoke/checks.py`` as a pass/fail table.

    python -m smoke.run [--model M] [--data DIR] [--style S] [--workdir DIR] [KEY=VALUE ...]    one GPU
    python -m smoke.run --cpu [--workdir DIR] [KEY=VALUE ...]       the same launches on the tiny local model, on CPU

Launch A: 3 steps at tau_s = 0.25, 0.625, 1.0 (linear over 2 steps), tau_t = 1, one update per step, a greedy
validation before training, a checkpoint with HF export at step 3. Launch B: the same command with 4 steps, which
resumes from A's checkpoint and runs step 4 only. Each launch records the temperature of every request inside the
vLLM process (``smoke/vllm_probe.py``) and verl's per-step metrics (its ``file`` logger). The table (also written to
WORKDIR/smoke_report.md) is meant to be pasted into an issue; the exit code is 0 only when every check passed.

GPU: ``--model`` is a local folder or a Hub id (downloaded once into the Hugging Face cache, weights included, so the
initial weights can be compared with the checkpoint); data is DSR and MATH-500 from ``python -m data_prep prepare``.
CPU (``--cpu``): the tiny Qwen2 and synthetic arithmetic sets are built in WORKDIR (no downloads), ``sept_cpu`` preset.
Extra KEY=VALUE arguments are Hydra overrides appended to both launches.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from recipe.sept import preflight
from smoke import checks

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
STEPS_A, STEPS_B, SAVE_STEP = 3, 4, 3
# tau_s = 0.25 -> 1.0 linear over 2 steps, then held (hand-computed: 0.25 + 0.75 * (k - 1) / 2 for k <= 3).
# Why 0.25, not 0.5: step 1's check needs rollout_nll clearly below nll. The expected gap is the KL of the tau_s
# sampler from the tau_t model; for the tiny random model's near-flat logits it is 0.04-0.11 nats/token at 0.5
# (measured, HF, 4 seeds of 8 prompts), inside the noise, and 1.9-2.2 at 0.25.
EXPECTED_TAU_S = {1: 0.25, 2: 0.625, 3: 1.0, 4: 1.0}
TAU_S_BELOW_TAU_T_STEP, TAU_S_EQUALS_TAU_T_STEP = 1, 3
STEP_LINE = re.compile(r"step:(\d+) - ")


@dataclass(frozen=True)
class Platform:
    """Where the smoke runs: the preset, the settings that fit the machine, the checks' tolerances."""

    name: str
    config_name: str
    prompts_per_step: int
    overrides: tuple[str, ...]
    # Relative tolerance of the NLL equality: fp32 on CPU; bf16 vLLM vs the bf16-compute FSDP actor on GPU.
    nll_rel: float
    # Margin of rollout_nll below nll at tau_s = 0.25 (nats/token): on CPU well above the trainer's bf16 rounding of
    # nll (~0.03) and well below the expected gap (~2, see EXPECTED_TAU_S); 0 on GPU, where an instruct model's
    # samples have a low NLL at any temperature and the sign alone is the claim.
    sharper_margin: float
    launch_timeout_s: int


CPU = Platform(
    name="cpu",
    config_name="sept_cpu",
    prompts_per_step=8,
    nll_rel=0.02,
    sharper_margin=0.5,
    launch_timeout_s=900,
    overrides=("actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4",),
)
# One GPU, a small model, short lengths. The one place these settings live: a one-GPU preset replaces them
# (config_name=<preset>, overrides trimmed to what the preset does not set).
GPU = Platform(
    name="gpu",
    config_name="sept_trainer",
    prompts_per_step=16,
    nll_rel=0.05,
    sharper_margin=0.0,
    launch_timeout_s=1800,
    overrides=(
        "trainer.n_gpus_per_node=1",
        "trainer.nnodes=1",
        "trainer.experiment_name=sept_smoke",
        "data.max_prompt_length=512",
        "data.max_response_length=512",
        "data.train_max_samples=128",
        "data.val_max_samples=32",
        "data.dataloader_num_workers=0",
        # Smoke settings, not training ones: a visible update in 3 steps, no warm-up.
        "actor_rollout_ref.actor.optim.lr=1e-6",
        "actor_rollout_ref.actor.optim.lr_warmup_steps=0",
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4",
        "actor_rollout_ref.rollout.max_model_len=1024",
        "actor_rollout_ref.rollout.max_num_batched_tokens=8192",
        "actor_rollout_ref.rollout.gpu_memory_utilization=0.4",
        "actor_rollout_ref.rollout.enforce_eager=true",
        "actor_rollout_ref.rollout.agent.num_workers=2",
        "transfer_queue.backend.SimpleStorage.num_data_storage_units=1",
    ),
)


def smoke_overrides(platform: Platform, total_steps: int) -> list[str]:
    """The schedule and bookkeeping both launches share (only ``total_steps`` differs), then the platform's."""
    prompts = platform.prompts_per_step
    return [
        "sept.tau_s.schedule=linear",
        "sept.tau_s.start=0.25",
        "sept.tau_s.end=1.0",
        "sept.tau_s.duration=2",
        "sept.tau_s.unit=step",
        "sept.tau_t=1.0",
        "sept.tau_t_mode=fixed",
        f"data.train_batch_size={prompts}",
        f"actor_rollout_ref.actor.ppo_mini_batch_size={prompts}",
        "actor_rollout_ref.rollout.n=1",
        # Greedy validation: the probe tells its requests (temperature 0) from training ones.
        "actor_rollout_ref.rollout.val_kwargs.temperature=0",
        # verl's own validation metrics, which the pass@1 check compares with the recipe's (free at n = 1).
        "sept.verl_resampled_val_metrics=true",
        "actor_rollout_ref.actor.checkpoint.save_contents=[model,optimizer,extra,hf_model]",
        f"trainer.total_training_steps={total_steps}",
        f"trainer.save_freq={SAVE_STEP}",
        "trainer.test_freq=100",
        "trainer.val_before_train=true",
        "trainer.resume_mode=auto",
        "trainer.logger=[console,file]",
        *platform.overrides,
    ]


@dataclass
class Inputs:
    model: Path
    train_file: Path
    val_file: Path
    workdir: Path
    extra: list[str] = field(default_factory=list)


@dataclass
class Launch:
    tag: str
    returncode: int
    seconds: float
    log: Path
    records: list[dict]
    rows: list[dict]

    @property
    def train(self) -> dict[int, dict]:
        return checks.train_steps(self.rows)


def launch_command(platform: Platform, inputs: Inputs, total_steps: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "recipe.sept.main_sept",
        "--config-name",
        platform.config_name,
        f"actor_rollout_ref.model.path={inputs.model}",
        f"data.train_files={inputs.train_file}",
        f"data.val_files=[{inputs.val_file}]",
        f"trainer.default_local_dir={inputs.workdir / 'checkpoints'}",
        *smoke_overrides(platform, total_steps),
        *inputs.extra,
    ]


def say(message: str) -> None:
    print(f"[smoke {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _last_step(log: Path) -> str:
    steps = STEP_LINE.findall(log.read_text(errors="replace")) if log.exists() else []
    return f"last logged step {steps[-1]}" if steps else "starting (Ray, vLLM, FSDP)"


def run_launch(platform: Platform, inputs: Inputs, tag: str, total_steps: int) -> Launch:
    """One launch with the probe and the metrics file; progress every 30 s; never raises on a failed launch."""
    probe, metrics, log = (
        inputs.workdir / f"{kind}_{tag}.{ext}"
        for kind, ext in (("probe", "jsonl"), ("metrics", "jsonl"), ("launch", "log"))
    )
    env = dict(os.environ)
    modules = [m for m in env.get("VERL_USE_EXTERNAL_MODULES", "").split(",") if m]
    env.update(
        VERL_USE_EXTERNAL_MODULES=",".join(["smoke.vllm_probe", *modules]),
        SEPT_TEST_VLLM_PROBE=str(probe),
        VERL_FILE_LOGGER_PATH=str(metrics),
    )
    cmd = launch_command(platform, inputs, total_steps)
    (inputs.workdir / f"command_{tag}.txt").write_text(" ".join(cmd) + "\n")
    say(f"launch {tag}: {total_steps} steps, log {log}")
    start = time.monotonic()
    next_report = start + 30
    with open(log, "w") as out:
        # Its own process group: on a timeout the launch's Ray and vLLM processes are ended with it.
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        while proc.poll() is None:
            time.sleep(1)
            now = time.monotonic()
            if now - start > platform.launch_timeout_s:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                out.write(f"\n[smoke] killed after {platform.launch_timeout_s} s\n")
            elif now >= next_report:
                say(f"launch {tag}: {now - start:.0f} s, {_last_step(log)}")
                next_report += 30
    seconds = time.monotonic() - start
    say(f"launch {tag}: exit {proc.returncode} after {seconds:.0f} s")
    return Launch(tag, proc.returncode, seconds, log, _jsonl(probe), _jsonl(metrics))


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def run_checks(platform: Platform, inputs: Inputs, a: Launch, b: Launch) -> list[checks.CheckResult]:
    """The checks of smoke/checks.py on launch A (which succeeded) and B; B's check fails, saying so, if B failed."""
    n, ckpt = platform.prompts_per_step, inputs.workdir / "checkpoints"
    first = {s: t for s, t in EXPECTED_TAU_S.items() if s <= STEPS_A}
    results = [
        checks.tau_s_reached_vllm(a.records, a.train, first, n),
        checks.nll_matches_vllm(a.train, TAU_S_EQUALS_TAU_T_STEP, platform.nll_rel),
        checks.sharper_sampler_has_lower_nll(a.train, TAU_S_BELOW_TAU_T_STEP, platform.sharper_margin),
        checks.entropy_positive(a.train, sorted(first)),
        checks.validation_pass_at_1(a.rows),
        checks.checkpoint_written(ckpt, SAVE_STEP),
    ]
    hf = ckpt / f"global_step_{SAVE_STEP}" / "actor" / "huggingface"
    results.append(
        checks.parameters_changed(inputs.model, hf)
        if hf.is_dir()
        else checks.CheckResult("all parameters changed", False, f"no HF export at {hf}")
    )
    if b.returncode != 0:
        results.append(
            checks.CheckResult("second launch resumed", False, f"launch B failed (exit {b.returncode}, {b.log})")
        )
    else:
        resumed = list(range(SAVE_STEP + 1, STEPS_B + 1))
        results.append(
            checks.resumed_from_checkpoint(b.records, b.train, ckpt, resumed, EXPECTED_TAU_S, n, platform.nll_rel)
        )
    return results


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_report(facts: list[tuple[str, str]], results: list[checks.CheckResult]) -> str:
    """Markdown: the facts of the run, then one row per check, then the count."""
    lines = ["## SePT smoke test (python -m smoke.run)", "", "| | |", "|---|---|"]
    lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in facts]
    lines += ["", "| check | result | detail |", "|---|---|---|"]
    lines += [f"| {_cell(r.name)} | {'PASS' if r.passed else 'FAIL'} | {_cell(r.message)} |" for r in results]
    passed = sum(r.passed for r in results)
    lines += ["", f"{passed} of {len(results)} checks passed"]
    return "\n".join(lines) + "\n"


def log_tail(log: Path, lines: int = 25) -> str:
    text = log.read_text(errors="replace").splitlines() if log.exists() else []
    return "\n".join(text[-lines:])


class SmokeInputError(ValueError):
    """A model, data file or work folder the smoke test cannot use; the message says what to do."""


# What a launch reads from a model repository (no optimizer states, no other formats' weights).
MODEL_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "*.jinja"]


def resolve_model(model: str) -> Path:
    """A local model folder as is; a Hub id downloaded once into the Hugging Face cache (weights included: the
    initial weights are compared with the checkpoint). Fails with the fix for a missing or broken model."""
    facts = preflight.gather_model_facts(model)
    errors = [str(f) for f in preflight.check_model(facts) if f.level == preflight.ERROR]
    if errors:
        raise SmokeInputError("; ".join(errors))
    if preflight.looks_like_local_path(os.path.expanduser(model)):
        return Path(os.path.expanduser(model)).resolve()
    from huggingface_hub import snapshot_download

    say(f"fetching {model} into the Hugging Face cache (weights, tokenizer, config; once)")
    try:
        return Path(snapshot_download(model, allow_patterns=MODEL_FILES))
    except Exception as exc:  # network, disk, auth: the message of the hub library says which
        raise SmokeInputError(f"could not download {model}: {type(exc).__name__}: {exc}") from None


def gpu_inputs(args, workdir: Path) -> Inputs:
    data = Path(args.data).expanduser().resolve()
    train = data / "train" / args.style / "dsr.parquet"
    val = data / "benchmarks" / args.style / "math500.parquet"
    missing = [str(p) for p in (train, val) if not p.is_file()]
    if missing:
        raise SmokeInputError(
            f"missing {missing}: prepare them with `python -m data_prep prepare --out {data} "
            f"--datasets dsr,math500 --styles {args.style}` (or pass --data DIR)"
        )
    return Inputs(resolve_model(args.model or DEFAULT_MODEL), train, val, workdir, list(args.overrides))


def cpu_inputs(workdir: Path, overrides: list[str]) -> Inputs:
    """The CPU e2e's inputs: the tiny Qwen2 and synthetic arithmetic sets, built locally (seeded, no downloads)."""
    from data_prep.synthetic import write_arithmetic_sets
    from lab.tiny_model import write_tiny_model

    write_tiny_model(workdir / "model", seed=0)
    write_arithmetic_sets(workdir / "data", n_train=32, n_val=8, seed=0)
    return Inputs(
        workdir / "model",
        workdir / "data" / "train.parquet",
        workdir / "data" / "val.parquet",
        workdir,
        list(overrides),
    )


def fresh_workdir(path: str | None, platform: Platform) -> Path:
    """A new folder: the first launch must start from the model, not resume someone's checkpoint."""
    workdir = (
        Path(path).expanduser().resolve()
        if path
        else REPO / "results" / "smoke" / f"{platform.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    if workdir.exists() and any(workdir.iterdir()):
        raise SmokeInputError(
            f"--workdir {workdir} is not empty: the first launch would resume what is there; "
            "give a new folder (or omit --workdir for a dated one under results/smoke/)"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="tiny local model on CPU (sept_cpu preset)")
    parser.add_argument("--model", help=f"GPU: local folder or Hub id (default {DEFAULT_MODEL})")
    parser.add_argument("--data", default=str(REPO / "data" / "prepared"), help="GPU: python -m data_prep's --out")
    parser.add_argument("--style", default="reasoning", help="GPU: prompt style of the prepared files")
    parser.add_argument("--workdir", help="an empty folder (default: results/smoke/<cpu|gpu>-<date>)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="Hydra overrides for both launches")
    args = parser.parse_args(argv)
    if args.cpu and args.model:
        parser.error("--cpu runs the tiny local model; --model is for the GPU smoke test")
    bad = [o for o in args.overrides if "=" not in o]
    if bad:
        parser.error(f"not a Hydra override (KEY=VALUE): {bad}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    platform = CPU if args.cpu else GPU
    try:
        workdir = fresh_workdir(args.workdir, platform)
        inputs = cpu_inputs(workdir, args.overrides) if args.cpu else gpu_inputs(args, workdir)
    except SmokeInputError as exc:
        print(f"smoke: {exc}", file=sys.stderr)
        return 2
    gpu = preflight.gather_gpu_facts()
    facts = [
        ("date", time.strftime("%Y-%m-%d %H:%M %Z")),
        ("platform", platform.name),
        ("model", inputs.model),
        ("config", f"--config-name {platform.config_name} + overrides (full commands: {workdir}/command_*.txt)"),
        *preflight.environment_rows(gpu),
    ]
    if platform is GPU:
        errors = [str(f) for f in preflight.check_gpu_stack(gpu, 1) if f.level == preflight.ERROR]
        if errors:
            print("smoke: the GPU stack cannot run:\n  " + "\n  ".join(errors), file=sys.stderr)
            return 1
        if not preflight.flash_attn_installed():
            inputs.extra.insert(0, preflight.SDPA_OVERRIDE)
            facts.append(("attention", "sdpa (flash-attn is not installed)"))
    a = run_launch(platform, inputs, "a", STEPS_A)
    b = run_launch(platform, inputs, "b", STEPS_B) if a.returncode == 0 else None
    results = [
        checks.CheckResult(
            f"launch A ({STEPS_A} steps)", a.returncode == 0, f"exit {a.returncode} after {a.seconds:.0f} s ({a.log})"
        )
    ]
    if b is not None:
        results.append(
            checks.CheckResult(
                f"launch B (resume, {STEPS_B} steps)",
                b.returncode == 0,
                f"exit {b.returncode} after {b.seconds:.0f} s ({b.log})",
            )
        )
    if a.returncode == 0:
        results += run_checks(platform, inputs, a, b)
    report = render_report(facts, results)
    (workdir / "smoke_report.md").write_text(report)
    print("\n" + report)
    for launch in (a, b):
        if launch is not None and launch.returncode != 0:
            print(f"last lines of {launch.log}:\n{log_tail(launch.log)}")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
