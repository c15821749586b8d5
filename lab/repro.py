"""The paper's comparisons at CPU scale, in one command: ``python -m lab.repro [options]``.

Every stage goes through the project's own entry points, as a user would run them:

1. base model and data: ``lab.tiny_base`` (a tiny Qwen2 that is mostly right greedily and often wrong at τ = 1)
   and ``data_prep.synthetic`` (1,024 training questions; ``--held-out`` questions the base model never trained
   on for evaluation: its builder's 64, then more drawn after its training questions);
2. base-model τ sweep: ``python -m sweep.main_sweep`` validation-only (``--temps``, n = 32; greedy τ = 0 with one
   sample) — the paper's baseline is the base model at its best τ by AVG;
3. per seed and method, ``configs/sept_cpu_repro.yaml`` (the paper's protocol shape: three epochs, τs 0.6 → 1.0
   over the first two, two updates per step), evaluated at τ = 1 (n = 32) after every epoch: SePT
   (``sweep.main_sweep``: the recipe's trainer storing its evaluations), coupled (``sept.tau_t_mode=coupled``),
   EM-FT (``method=emft``), GRPO (``method=grpo`` at SePT's learning rate: the paper's 5e-7 is for 7B models),
   SePT with G = 4 and G = 8 samples per prompt at the same prompts per step, and offline SePT
   (``python -m offline.main_offline --config-name offline_sept_cpu_repro``, then a sweep of its final model);
4. ``python -m eval.regrade`` and the report (``<out>/report.md``): Table 1/4/5 and Figure 5-shaped tables over
   seeds with every difference from the best-τ baseline and its interval paired over questions and seeds
   (``eval.tables.seeds_table``), the temperature-matched comparison (``eval.matched``: each trained model at
   τ = 1 against the base model at the τ with the same pass@1, per question), pass@k-vs-step curves, the τ sweep,
   run times and peak memory.

A seed sets the data order (``data.seed``) and the sampler (``actor_rollout_ref.rollout.seed``). Resumable: a stage
whose results are stored is skipped (a relaunch repeats only unfinished launches), so an interrupted run loses at
most the launch it was in; each launch's output is in ``<out>/logs/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from data_prep.synthetic import DATA_SOURCE as BENCHMARK
from eval.store import all_stored, run_keys
from lab.inputs import REPO, TRAIN_ROWS, compose, ensure_tiny_inputs, held_out_file
from lab.monitor import PeakMemory, log_tail, run_logged
from lab.repro_report import BASE_NAME, write_report
from sweep.launch import ADD_SWEEP, checkpoint_steps, command, sweep_overrides, temperature_grid

PRESET = "sept_cpu_repro"
OFFLINE_PRESET = "offline_sept_cpu_repro"


@dataclass(frozen=True)
class Method:
    label: str  # the paper's row name
    overrides: tuple[str, ...] = ()
    offline: bool = False


METHODS = {
    "sept": Method("SePT"),
    "coupled": Method("Coupling", ("sept.tau_t_mode=coupled",)),
    "offline": Method("SePT (Offline)", offline=True),
    "emft": Method("EM-FT", ("method=emft",)),
    "grpo": Method("GRPO", ("method=grpo",)),
    # Paper Figure 5 / appendix C.1: G samples per prompt at the same prompts per step (G = 1 is "sept").
    "sept_g4": Method("SePT G=4", ("actor_rollout_ref.rollout.n=4",)),
    "sept_g8": Method("SePT G=8", ("actor_rollout_ref.rollout.n=8",)),
}
# The default invocation: the headline question (SePT against the base model at its best τ, and at the matched τ)
# over three seeds; every other method adds about as much again per seed (docs/cpu-reproduction.md).
DEFAULT_METHODS = ("sept",)
# Held-out questions: a paired pass@1 interval of a few points over questions (64, the base model's own held-out
# set, gave intervals ±8 points wide).
DEFAULT_HELD_OUT = 256


class ReproError(RuntimeError):
    """A stage failed or an argument is unusable; the message says which and what to do."""


@dataclass
class Plan:
    """What one invocation runs, read once from the composed presets."""

    out: Path
    seeds: list[int]
    methods: list[str]
    temps: str
    overrides: list[str]
    held_out: int
    base_model: Path
    data_dir: Path
    val_file: Path
    steps: int
    n: int
    greedy_n: int
    sweep_seed: int  # the base sweep's sampler seed (the preset's rollout.seed; training runs set their own)
    style: str
    lr: float
    timings: list[tuple[str, float]] = field(default_factory=list)


def make_plan(args: argparse.Namespace) -> Plan:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        config = compose(PRESET, [ADD_SWEEP, *args.overrides], resolve=False)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ReproError(f"overrides {args.overrides} do not compose with configs/{PRESET}.yaml: {exc}") from None
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        raise ReproError(f"--methods: unknown {unknown}; choose from {sorted(METHODS)}")
    data_dir = Path(config.data.train_files).parent
    # A data.val_files override is an evaluation set of the user's own; else --held-out picks the lab's.
    own = Path(config.data.val_files) if any(o.startswith("data.val_files=") for o in args.overrides) else None
    held_out = pq.read_metadata(own).num_rows if own and own.is_file() else args.held_out
    return Plan(
        out=args.out.resolve(),
        seeds=args.seeds,
        methods=args.methods,
        temps=args.temps,
        overrides=args.overrides,
        held_out=held_out,
        base_model=Path(config.actor_rollout_ref.model.path),
        data_dir=data_dir,
        val_file=own or held_out_file(data_dir, held_out),
        steps=training_steps(config),
        n=int(config.sweep.n),
        style=str(config.sweep.style),
        greedy_n=int(config.sweep.greedy_n),
        sweep_seed=int(config.actor_rollout_ref.rollout.seed),
        lr=float(config.actor_rollout_ref.actor.optim.lr),
    )


def training_steps(config) -> int:
    """The run's steps: ``trainer.total_training_steps``, or (as verl counts them) whole batches of the training
    set per epoch times ``trainer.total_epochs``."""
    if config.trainer.total_training_steps is not None:
        return int(config.trainer.total_training_steps)
    return TRAIN_ROWS // int(config.data.train_batch_size) * int(config.trainer.total_epochs)


def run_stage(plan: Plan, name: str, cmd: list[str]) -> None:
    """One launch, its output in ``<out>/logs/<name>.log``; a failure names the log and keeps what is stored."""
    log = plan.out / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"[cpu_repro] {name}: {' '.join(cmd[1:])}", flush=True)
    code, seconds = run_logged(cmd, log, cwd=REPO)
    if code:
        raise ReproError(
            f"{name} failed (exit {code}) after {seconds:.0f} s; its output: {log}\n{log_tail(log)}\n"
            f"Finished stages are kept: rerun the same command to continue."
        )
    plan.timings.append((name, seconds))
    print(f"[cpu_repro] {name}: done in {seconds:.0f} s", flush=True)


def py(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


# ---------------------------------------------------------------------------------------------------- stages


def stored(plan: Plan, model: str, checkpoint: str, tau: float, n: int, seed: int) -> bool:
    names = {"model": model, "checkpoint": checkpoint, "style": plan.style}
    return all_stored(plan.out / "generations", run_keys(names, tau, n, seed, [BENCHMARK]))


def build_inputs(plan: Plan) -> None:
    """The base model and the data, unless present: every evaluation is on questions the base model never
    trained on."""
    start = time.time()
    check_held_out_record(plan)
    ensure_tiny_inputs(plan.base_model, plan.data_dir, plan.style, plan.held_out)
    (plan.out / HELD_OUT_RECORD).write_text(json.dumps(held_out_record(plan)) + "\n")
    plan.timings.append(("base model and data", time.time() - start))


HELD_OUT_RECORD = "held_out.json"


def held_out_record(plan: Plan) -> dict:
    return {"questions": plan.held_out, "file": plan.val_file.name}


def check_held_out_record(plan: Plan) -> None:
    """Refuse a results folder made on another held-out set: stored generations are keyed by model, τ, n and
    seed, not by question set, so they would be reused as if they were this run's."""
    from lab.tiny_base import Settings

    record, n_val = plan.out / HELD_OUT_RECORD, Settings().n_val
    # Results stored before this record existed were made on the base model's own held-out questions.
    earlier = {"questions": n_val, "file": held_out_file(plan.data_dir, n_val).name}
    if record.is_file():
        theirs = json.loads(record.read_text())
    else:
        theirs = earlier if (plan.out / "generations").is_dir() else None
    if theirs is not None and theirs != held_out_record(plan):
        raise ReproError(
            f"{plan.out} holds results on {theirs['questions']} held-out questions ({theirs['file']}); this run asks "
            f"for {plan.held_out}: pass --held-out {theirs['questions']} to continue those, or another --out"
        )
    plan.out.mkdir(parents=True, exist_ok=True)


def sweep_base(plan: Plan) -> None:
    """The base model at every τ of the grid (greedy τ = 0 with one sample), in one launch."""
    temps = temperature_grid(plan.temps)
    if all(stored(plan, BASE_NAME, "base", t, plan.greedy_n if t == 0 else plan.n, plan.sweep_seed) for t in temps):
        print(f"[cpu_repro] base sweep: stored for τ {plan.temps}; skipped", flush=True)
        return
    run_stage(
        plan,
        "base_sweep",
        command(
            PRESET,
            [
                *sweep_overrides(
                    str(plan.base_model),
                    [plan.val_file],
                    plan.out / "generations",
                    temps,
                    plan.n,
                    BASE_NAME,
                    plan.style,
                ),
                *plan.overrides,
            ],
        ),
    )


def seed_overrides(seed: int) -> list[str]:
    return [f"data.seed={seed}", f"actor_rollout_ref.rollout.seed={seed}"]


def train_online(plan: Plan, method: str, seed: int) -> None:
    """One training run of ``method`` (the recipe's trainer through ``sweep.main_sweep``), evaluated at τ = 1 after
    its last step."""
    name = f"{method}-s{seed}"
    if stored(plan, method, f"step{plan.steps}", 1.0, plan.n, seed):
        print(f"[cpu_repro] {name}: evaluated already; skipped", flush=True)
        return
    # GRPO at SePT's rate: method=grpo's 5e-7 is the paper's rate for 7B models and moves this model nowhere.
    lr = [f"actor_rollout_ref.actor.optim.lr={plan.lr}"] if method == "grpo" else []
    run_stage(
        plan,
        name,
        command(
            PRESET,
            [
                ADD_SWEEP,
                *METHODS[method].overrides,
                *lr,
                *seed_overrides(seed),
                "sweep.temperatures=[1.0]",
                f"data.val_files={plan.val_file}",
                f"sweep.n={plan.n}",
                f"sweep.style={plan.style}",
                f"sweep.model_name={method}",
                f"sweep.generations_dir={plan.out / 'generations'}",
                f"trainer.experiment_name={name}",
                f"trainer.default_local_dir={plan.out / 'runs' / name / 'checkpoints'}",
                "trainer.resume_mode=disable",
                *plan.overrides,
            ],
        ),
    )


def train_offline(plan: Plan, seed: int) -> None:
    """Offline SePT (one generation, then verl's SFT trainer), then its final model at τ = 1 (a sweep launch)."""
    name = f"offline-s{seed}"
    if stored(plan, "offline", f"step{plan.steps}", 1.0, plan.n, seed):
        print(f"[cpu_repro] {name}: evaluated already; skipped", flush=True)
        return
    checkpoints = plan.out / "runs" / name / "checkpoints"
    run_stage(
        plan,
        name,
        py(
            "offline.main_offline",
            "--config-name",
            OFFLINE_PRESET,
            *seed_overrides(seed),
            f"trainer.experiment_name={name}",
            f"trainer.default_local_dir={checkpoints}",
            *plan.overrides,
        ),
    )
    final = checkpoints / f"global_step_{checkpoint_steps(checkpoints)[-1]}" / "huggingface"
    run_stage(
        plan,
        f"{name}-eval",
        command(
            PRESET,
            [
                *sweep_overrides(
                    str(final),
                    [plan.val_file],
                    plan.out / "generations",
                    [1.0],
                    plan.n,
                    "offline",
                    plan.style,
                    checkpoint=f"step{plan.steps}",
                ),
                *plan.overrides,
                f"actor_rollout_ref.rollout.seed={seed}",
            ],
        ),
    )


# ---------------------------------------------------------------------------------------------------- command


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lab.repro", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "results" / "cpu_repro", help="results folder")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds (default: 0,1,2)")
    parser.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help=f"comma-separated subset of {list(METHODS)}, or all (default: {','.join(DEFAULT_METHODS)}: the headline "
        "comparison, about an hour on 2 cores at 256 held-out questions; all: every table, several hours)",
    )
    parser.add_argument("--temps", default="0:1.6:0.2", help="base-model sweep grid, start:stop:step or a,b,c")
    parser.add_argument(
        "--held-out",
        type=int,
        default=DEFAULT_HELD_OUT,
        help=f"evaluation questions the base model never trained on (default {DEFAULT_HELD_OUT}; its builder's own "
        "64 first, then sums and differences drawn after its training questions)",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        help="Hydra overrides for every launch, e.g. "
        "trainer.total_training_steps=24 (the model, data and steps are read from them too)",
    )
    # Intermixed: Hydra overrides may follow the options (plain parse_args rejects positionals after them).
    args = parser.parse_intermixed_args(argv)
    try:
        args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--seeds {args.seeds!r}: integers separated by commas, e.g. 0,1,2")
    args.methods = list(METHODS) if args.methods == "all" else [m.strip() for m in args.methods.split(",") if m.strip()]
    if not args.seeds or not args.methods:
        parser.error("--seeds and --methods need at least one value each")
    if args.held_out < 1:
        parser.error(f"--held-out must be at least 1, got {args.held_out}")
    return args


def run(plan: Plan) -> Path:
    memory, start = PeakMemory(), time.time()
    try:
        build_inputs(plan)
        sweep_base(plan)
        for seed in plan.seeds:
            for method in plan.methods:
                if METHODS[method].offline:
                    train_offline(plan, seed)
                else:
                    train_online(plan, method, seed)
        run_stage(plan, "regrade", py("eval.regrade", str(plan.out / "generations")))
    finally:
        memory.stop()
    labels = {key: method.label for key, method in METHODS.items()}
    return write_report(plan, memory, time.time() - start, labels, PRESET)


def main(argv: list[str] | None = None) -> int:
    from eval.tables import ReportError

    args = parse_args(argv)
    try:
        plan = make_plan(args)
        report = run(plan)
    except (ReproError, ReportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.read_text(encoding="utf-8"))
    print(f"[cpu_repro] report: {report}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
