"""SePT beside TRL's SSDTrainer, measured in one run on this machine: ``python -m peers.compare_trl [--out DIR]``.

Both train the demo's tiny arithmetic base model on the same training questions, sampling at the same fixed
temperature (SSD has no schedule, so SePT runs with ``sept.tau_s.schedule=constant``), one sample per prompt, the
same prompts per step, steps, learning rate and optimizer (``peers/trl_ssd.py`` lists what is matched). Both final
models are then evaluated by this project's evaluation (vLLM sweep, the math grader, unbiased pass@k) at τ = 1 on
the base model's held-out questions, beside the base model; the base model is evaluated once, inside SePT's launch.

Writes ``<out>/report.md``: per arm, pass@1/8/32 and AVG at τ = 1, the paired gain in pass@1 over the base model
with its 95 % bootstrap interval over questions, and the wall time per 1,000 trained samples (training steps only:
verl's ``timing_s/step``, which leaves validation out, and SSD's ``trainer.train()``), plus each arm's whole wall
time with start-up and evaluation. Every stage is kept: a rerun skips a finished training or stored evaluation.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lab.demo import quiet_imports
from lab.inputs import REPO, compose, ensure_tiny_inputs
from lab.monitor import log_tail, run_logged
from peers.trl_ssd import RECORD, Settings

DEMO = "sept_cpu_demo"  # SePT's arm: the demo's launch (base evaluation, training, final evaluation)
EVAL_PRESET = "sept_cpu_repro"  # the same model, data and sampler settings, for the SSD model's evaluation
SEPT, SSD, BASE = "sept_constant_tau_s", "trl_ssd", "base"


class CompareError(RuntimeError):
    """A stage failed; the message says which and where its output is."""


def trl_python() -> Path:
    """The TRL venv's interpreter (``scripts/setup_trl_env.sh``; ``$SEPT_TRL_VENV``, default ``.venv-trl``): TRL
    cannot live in the verl venv, whose launches fail with trl installed (requirements-trl.txt says why)."""
    python = Path(os.environ.get("SEPT_TRL_VENV", REPO / ".venv-trl")) / "bin" / "python"
    if not python.is_file():
        raise CompareError(f"no TRL environment at {python.parents[1]}: run bash scripts/setup_trl_env.sh")
    return python


def matched_settings(config, temperature: float | None = None) -> Settings:
    """SSD's settings from the demo's composed preset: its steps, prompts per step (one update each), optimizer,
    lengths and data seed; the sampling temperature is the schedule's start unless given."""
    actor = config.actor_rollout_ref.actor
    if int(actor.ppo_mini_batch_size) != int(config.data.train_batch_size):
        raise CompareError("the demo preset makes several updates per step; SSD makes one: set them equal")
    return Settings(
        temperature=float(config.sept.tau_s.start if temperature is None else temperature),
        steps=int(config.trainer.total_training_steps),
        batch=int(config.data.train_batch_size),
        lr=float(actor.optim.lr),
        weight_decay=float(actor.optim.weight_decay),
        grad_clip=float(actor.grad_clip),
        seed=int(config.data.seed),
        max_prompt_length=int(config.data.max_prompt_length),
        max_completion_length=int(config.data.max_response_length),
    )


@dataclass
class Run:
    out: Path
    n: int
    temperature: float | None = None
    settings: Settings = field(init=False)
    base_model: Path = field(init=False)
    data_dir: Path = field(init=False)
    sampler_seed: int = field(init=False)  # vLLM's seed, part of a stored evaluation's key

    def __post_init__(self) -> None:
        config = compose(DEMO)
        self.settings = matched_settings(config, self.temperature)
        self.base_model = Path(config.actor_rollout_ref.model.path)
        self.data_dir = Path(config.data.train_files).parent
        self.sampler_seed = int(config.actor_rollout_ref.rollout.seed)

    @property
    def generations(self) -> Path:
        return self.out / "generations"


def sept_overrides(run: Run) -> list[str]:
    """The demo's launch with SSD's one difference, a constant τs, evaluated at τ = 1 before and after training."""
    tau, steps = run.settings.temperature, run.settings.steps
    return [
        "sept.tau_s.schedule=constant",
        f"sept.tau_s.start={tau}",
        f"sept.tau_s.end={tau}",
        f"sweep.n={run.n}",
        "sweep.extra_before_training=[]",
        f"sweep.model_name={SEPT}",
        f"sweep.generations_dir={run.generations}",
        f"trainer.test_freq={steps}",
        f"trainer.save_freq={steps}",
        f"trainer.default_local_dir={run.out / 'sept' / 'checkpoints'}",
    ]


def write_json(path: Path, value: dict) -> None:
    """A stage's record, whole or not at all: a rerun reads it to skip the stage."""
    from data_prep.schema import atomic_write

    text = json.dumps(value, indent=1) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def stored(run: Run, model: str, checkpoint: str) -> bool:
    from data_prep.synthetic import DATA_SOURCE
    from eval.store import all_stored, run_keys

    names = {"model": model, "checkpoint": checkpoint, "style": "question"}
    return all_stored(run.generations, run_keys(names, 1.0, run.n, run.sampler_seed, [DATA_SOURCE]))


def launch(cmd: list[str], log: Path, what: str, env: dict | None = None) -> float:
    print(f"[compare] {what}; output in {log}", flush=True)
    code, seconds = run_logged(cmd, log, env=env, cwd=REPO)
    if code:
        raise CompareError(f"{what} failed (exit {code}); its output: {log}\n{log_tail(log)}\nrerun to continue")
    print(f"[compare] {what}: {seconds:.0f} s", flush=True)
    return seconds


def run_sept(run: Run) -> dict:
    """SePT's launch (skipped when its final evaluation is stored); returns its wall and training-step seconds."""
    from sweep.launch import command

    timing_file = run.out / "sept" / "timing.json"
    if stored(run, SEPT, f"step{run.settings.steps}") and timing_file.is_file():
        return json.loads(timing_file.read_text(encoding="utf-8"))
    metrics = run.out / "sept" / "metrics.jsonl"
    metrics.unlink(missing_ok=True)
    env = {**os.environ, "VERL_FILE_LOGGER_PATH": str(metrics)}
    wall = launch(command(DEMO, sept_overrides(run)), run.out / "sept" / "train.log", "SePT launch", env)
    rows = [json.loads(line)["data"] for line in metrics.read_text(encoding="utf-8").splitlines()]
    # verl times a step's validation apart (timing_s/testing): timing_s/step is generation and update.
    steps = [r["timing_s/step"] for r in rows if "timing_s/step" in r]
    timing = {"wall_seconds": round(wall, 1), "train_seconds": round(sum(steps), 1), "steps": len(steps)}
    write_json(timing_file, timing)
    return timing


def run_ssd(run: Run) -> dict:
    """SSD's training (``peers.trl_ssd``) and its evaluation launch; skipped when both are done."""
    from sweep.launch import command, sweep_overrides

    s, out = run.settings, run.out / "ssd"
    timing_file, checkpoint = out / "timing.json", f"step{s.steps}"
    if stored(run, SSD, checkpoint) and timing_file.is_file():
        return json.loads(timing_file.read_text(encoding="utf-8"))
    train_cmd = [str(trl_python()), "-m", "peers.trl_ssd", "--model", str(run.base_model)]
    train_cmd += ["--train-file", str(run.data_dir / "train.parquet"), "--out", str(out)]
    train_cmd += [arg for k, v in asdict(s).items() for arg in (f"--{k.replace('_', '-')}", str(v))]
    wall = launch(train_cmd, out / "train.log", "TRL SSDTrainer", {**os.environ, "TRL_EXPERIMENTAL_SILENCE": "1"})
    val = [str(run.data_dir / "val.parquet")]
    overrides = sweep_overrides(str(out / "model"), val, run.generations, [1.0], run.n, SSD, "question", checkpoint)
    wall += launch(command(EVAL_PRESET, overrides), out / "eval.log", "evaluation of the SSD model")
    record = json.loads((out / RECORD).read_text(encoding="utf-8"))
    timing = {"wall_seconds": round(wall, 1), "train_seconds": record["train_seconds"], "trl": record["trl"]}
    write_json(timing_file, timing)
    return timing


@dataclass(frozen=True)
class Arm:
    """One model's evaluation at τ = 1 and, for a trained one, its paired pass@1 gain over the base model."""

    name: str
    passk: dict[str, float]  # "1", "8", "32" -> pass@k
    avg: float | None
    gain: float | None = None
    low: float | None = None
    high: float | None = None


def arms(runs: list[dict], benchmark: str, steps: int) -> list[Arm]:
    """Base, SePT and SSD at τ = 1 from the regraded store, with each trained arm's paired gain and 95 % interval."""
    from eval.metrics import bootstrap_ci, paired_differences

    by_key = {(r["model"], r["checkpoint"]): r["benchmarks"][benchmark] for r in runs if r["tau"] == 1.0}
    base = by_key[(SEPT, "base")]
    out = [Arm(BASE, base["pass"], base["avg"])]
    for name in (SEPT, SSD):
        trained = by_key[(name, f"step{steps}")]
        gains = paired_differences(base["correct_counts"], base["n"], trained["correct_counts"], trained["n"])
        low, high = bootstrap_ci(gains)
        out.append(Arm(name, trained["pass"], trained["avg"], sum(gains) / len(gains), low, high))
    return out


SUPPORTS = [
    ("τs schedule (constant / linear / cosine, per step or epoch)", "yes", "no: one temperature"),
    ("coupled τt = τs ablation; τt ≠ 1", "yes (`sept.tau_t_mode`, `sept.tau_t`)", "no: cross-entropy at τ = 1"),
    ("G samples per prompt", "any (`rollout.n`)", "1 (fixed in the 1.15.0 trainer)"),
    ("old-log-prob forward pass", "off by default, verl's switch", "none"),
    ("generation", "vLLM (async server, weights synced each step)", "HF generate (vLLM optional, GPU)"),
    ("evaluation: pass@k, sweeps, stored generations", "yes (`sweep`, `eval`)", "no (this comparison uses ours)"),
]


def report(run: Run, results: list[Arm], timing: dict[str, dict]) -> str:
    samples = run.settings.steps * run.settings.batch
    lines = [
        "# SePT beside TRL's SSDTrainer",
        "",
        f"Tiny arithmetic base model `{run.base_model.name}`; {run.settings.steps} steps x {run.settings.batch} "
        f"prompts x 1 sample = {samples} trained samples at a fixed sampling τ = {run.settings.temperature}, lr "
        f"{run.settings.lr:g}; evaluated at τ = 1, n = {run.n}, on the base model's held-out questions.",
        "",
        "| model | pass@1 | pass@8 | pass@32 | AVG | Δpass@1 vs base [95% CI] | s per 1,000 trained samples | wall (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for arm in results:
        cells = [f"{100 * arm.passk.get(k, float('nan')):.1f}" for k in ("1", "8", "32")]
        avg = "-" if arm.avg is None else f"{100 * arm.avg:.1f}"
        gain = "-" if arm.gain is None else f"{100 * arm.gain:+.1f} [{100 * arm.low:+.1f}, {100 * arm.high:+.1f}]"
        t = timing.get(arm.name)
        cost = "-" if t is None else f"{1000 * t['train_seconds'] / samples:.0f}"
        wall = "-" if t is None else f"{t['wall_seconds']:.0f}"
        lines.append(f"| {arm.name} | {' | '.join(cells)} | {avg} | {gain} | {cost} | {wall} |")
    lines += [
        "",
        "Seconds per 1,000 trained samples: training steps only (generation and update; SePT's from verl's "
        "`timing_s/step`, which leaves validation out). Wall: the arm's whole time, start-up and evaluation included (the base "
        "model's evaluation is inside SePT's launch).",
        "",
        "| supports | this project (SePT on verl) | TRL SSDTrainer " + timing[SSD]["trl"] + " |",
        "|---|---|---|",
        *[f"| {what} | {ours} | {theirs} |" for what, ours, theirs in SUPPORTS],
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    quiet_imports()
    parser = argparse.ArgumentParser(prog="python -m peers.compare_trl", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "results" / "peer_trl")
    parser.add_argument("--n", type=int, default=32, help="samples per held-out question at τ = 1 (32: AVG)")
    parser.add_argument("--temperature", type=float, help="the fixed sampling τ (default: the demo's τs start)")
    args = parser.parse_args(argv)
    start = time.time()
    try:
        run = Run(args.out.resolve(), args.n, args.temperature)
        trl_python()  # before SePT's launch: a missing TRL venv fails here, not after ten minutes
        ensure_tiny_inputs(run.base_model, run.data_dir)
        timing = {SEPT: run_sept(run), SSD: run_ssd(run)}
    except (CompareError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from data_prep.synthetic import DATA_SOURCE
    from eval.regrade import regrade

    results = arms(regrade(run.generations)["runs"], DATA_SOURCE, run.settings.steps)
    text = report(run, results, timing)
    (run.out / "report.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"[compare] done in {(time.time() - start) / 60:.1f} min; {run.out / 'report.md'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
