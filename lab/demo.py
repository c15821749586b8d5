"""The CPU demo: SePT sharpening a tiny model, measured. ``python -m lab.demo [--out DIR] [Hydra overrides]``.

1. base model: ``lab.tiny_base`` (built once, reused while its settings match): a tiny Qwen2 that is mostly right
   greedily and often wrong at τ = 1 on held-out arithmetic questions;
2. data: ``data_prep.synthetic`` with the base model's held-out questions as the validation set;
3. one launch of ``python -m sweep.main_sweep --config-name sept_cpu_demo``: the base model evaluated at τ = 1 and
   a few lower temperatures, SePT training (τs < τt = 1), evaluations at τ = 1 during and after training — all
   stored (``eval/store.py``), so a relaunch after an interruption resumes training from the last checkpoint and
   never samples a stored evaluation again;
4. regrade and report: ``<out>/report.md``, ``<out>/pass1_vs_step.png`` (pass@1 at τ = 1 against step, with the
   base model's τ = 1, greedy and best-τ levels as reference lines) and one line saying what happened, with the 95 %
   bootstrap interval of the gain paired over questions.

Every setting is the preset's (``configs/sept_cpu_demo.yaml``); trailing ``key=value`` arguments override it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab.inputs import REPO, compose, ensure_tiny_inputs
from lab.monitor import PeakMemory, log_tail, run_logged

PRESET = "sept_cpu_demo"
BUILD_STAGE = "base model and data"


class DemoError(RuntimeError):
    """A stage failed or an input is unusable; the message says which and what to do."""


@dataclass
class Demo:
    """What one invocation runs, read once from the composed preset."""

    out: Path
    overrides: list[str]
    base_model: Path
    data_dir: Path
    steps: int
    n: int
    seed: int
    model_name: str
    style: str
    generations: Path
    checkpoints: Path
    # Seconds per stage of the invocation that did its work (<out>/timings.json): a rerun that finds a stage done
    # keeps the earlier figure, so the report gives the time the result took, not the seconds of the rerun.
    timings: dict[str, float] = field(default_factory=dict)

    def record(self, stage: str, seconds: float) -> None:
        from data_prep.schema import atomic_write

        self.timings[stage] = seconds
        text = json.dumps(self.timings, indent=1) + "\n"
        atomic_write(self.out / "timings.json", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def make_demo(out: Path, overrides: list[str]) -> Demo:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    out = out.resolve()
    # The demo's outputs all live under --out: its evaluations, checkpoints and per-step metrics.
    placed = [f"sweep.generations_dir={out / 'generations'}", f"trainer.default_local_dir={out / 'checkpoints'}"]
    try:
        config = compose(PRESET, [*placed, *overrides])
    except (HydraException, OmegaConfBaseException) as exc:
        raise DemoError(f"overrides {overrides} do not compose with configs/{PRESET}.yaml: {exc}") from None
    return Demo(
        out=out,
        overrides=[*placed, *overrides],
        base_model=Path(config.actor_rollout_ref.model.path),
        data_dir=Path(config.data.train_files).parent,
        steps=int(config.trainer.total_training_steps),
        n=int(config.sweep.n),
        seed=int(config.actor_rollout_ref.rollout.seed),
        model_name=str(config.sweep.model_name),
        style=str(config.sweep.style),
        generations=Path(config.sweep.generations_dir),
        checkpoints=Path(config.trainer.default_local_dir),
        timings=stored_timings(out / "timings.json"),
    )


def stored_timings(path: Path) -> dict[str, float]:
    """The stage times an earlier invocation recorded; an unreadable file only loses those figures (said)."""
    if not path.is_file():
        return {}
    try:
        timings = json.loads(path.read_text(encoding="utf-8"))
        return {str(stage): float(seconds) for stage, seconds in timings.items()}
    except (ValueError, AttributeError, TypeError) as exc:
        print(f"[demo] {path} is unreadable ({exc}): earlier stage times are not reported", flush=True)
        return {}


# ---------------------------------------------------------------------------------------------------- stages


def build_inputs(demo: Demo) -> None:
    """The base model (built unless a complete one with the same settings exists) and the data."""
    start = time.time()
    if ensure_tiny_inputs(demo.base_model, demo.data_dir, demo.style) or BUILD_STAGE not in demo.timings:
        demo.record(BUILD_STAGE, time.time() - start)


def final_evaluation_stored(demo: Demo) -> bool:
    from data_prep.synthetic import DATA_SOURCE
    from eval.store import all_stored, run_keys

    names = {"model": demo.model_name, "checkpoint": f"step{demo.steps}", "style": demo.style}
    return all_stored(demo.generations, run_keys(names, 1.0, demo.n, demo.seed, [DATA_SOURCE]))


def progress_lines(row: dict, steps: int, started: float) -> list[str]:
    """Terminal lines for a row of verl's metrics file: the training step and, in the same row at a test_freq step,
    the evaluation stored after it."""
    data, step, lines = row["data"], row["step"], []
    if "sept/tau_s" in data:
        reward = data.get("critic/score/mean")
        lines.append(
            f"[demo] step {step:3d}/{steps}  τs {data['sept/tau_s']:.3f}  NLL {data.get('sept/nll', float('nan')):.3f}"
            + (f"  sample accuracy {reward:.2f}" if reward is not None else "")
            + f"  {time.time() - started:5.0f} s"
        )
    evaluated = sorted({key.split("/")[1] for key in data if key.startswith("val-sweep/tau")})
    if evaluated:
        at = ", ".join(
            f"{t}: pass@1 {data.get(f'val-sweep/{t}/val-passk/mean/pass@1', float('nan')):.3f}" for t in evaluated
        )
        lines.append(f"[demo] evaluation after step {step}: {at}  {time.time() - started:5.0f} s")
    return lines


def train_and_evaluate(demo: Demo) -> None:
    """The one launch: base evaluations, training, evaluations; skipped when the final evaluation is stored."""
    from sweep.launch import command

    if final_evaluation_stored(demo):
        print(
            f"[demo] the evaluation after step {demo.steps} is stored in {demo.generations}: training skipped",
            flush=True,
        )
        return
    metrics = demo.out / "metrics" / f"{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    metrics.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "VERL_FILE_LOGGER_PATH": str(metrics)}
    log = demo.out / "logs" / "train.log"
    print(
        f"[demo] launching SePT for {demo.steps} steps (Ray + vLLM start-up ~1-2 min); full output in {log}", flush=True
    )
    started = time.time()

    def show(row: dict) -> None:
        for line in progress_lines(row, demo.steps, started):
            print(line, flush=True)

    code, seconds = run_logged(command(PRESET, demo.overrides), log, env=env, cwd=REPO, metrics=metrics, on_row=show)
    if code:
        raise DemoError(
            f"the launch failed (exit {code}) after {seconds:.0f} s; its output: {log}\n{log_tail(log)}\n"
            "What finished is kept (stored evaluations, checkpoints): rerun the same command to continue."
        )
    demo.record("launch (start-up, evaluations, training)", seconds)


def regrade(demo: Demo) -> list[dict]:
    from eval.regrade import regrade as regrade_store

    start = time.time()
    result = regrade_store(demo.generations)
    (demo.generations / "metrics.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    demo.record("regrade", time.time() - start)
    return [run for run in result["runs"] if run["model"] == demo.model_name]


# ---------------------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Outcome:
    """What the demo measured: pass@1 at τ = 1 before and after training, the paired gain and its interval."""

    before: float
    after: float
    gain: float
    low: float
    high: float
    curve: list[tuple[int, float]]  # (step, pass@1 at τ = 1)
    base_by_tau: dict[float, float]  # the base model's pass@1 at each evaluated τ
    best_tau: float  # the base model's best τ by pass@1


def step_of(checkpoint: str) -> int:
    return 0 if checkpoint == "base" else int(checkpoint.removeprefix("step"))


def measure(runs: list[dict], benchmark: str) -> Outcome:
    """The outcome from the regraded runs of the demo's model (one benchmark)."""
    from eval.metrics import bootstrap_ci, paired_differences

    at_1 = sorted((r for r in runs if r["tau"] == 1.0), key=lambda r: step_of(r["checkpoint"]))
    base = [r for r in runs if r["checkpoint"] == "base"]
    if not at_1 or at_1[0]["checkpoint"] != "base" or len(at_1) < 2:
        raise DemoError("the store lacks the base model's or the trained model's τ = 1 evaluation: rerun the demo")
    first, last = at_1[0]["benchmarks"][benchmark], at_1[-1]["benchmarks"][benchmark]
    gains = paired_differences(first["correct_counts"], first["n"], last["correct_counts"], last["n"])
    low, high = bootstrap_ci(gains)
    base_by_tau = {r["tau"]: r["benchmarks"][benchmark]["pass"]["1"] for r in base}
    return Outcome(
        before=first["pass"]["1"],
        after=last["pass"]["1"],
        gain=sum(gains) / len(gains),
        low=low,
        high=high,
        curve=[(step_of(r["checkpoint"]), r["benchmarks"][benchmark]["pass"]["1"]) for r in at_1],
        base_by_tau=base_by_tau,
        best_tau=max(base_by_tau, key=base_by_tau.get),
    )


def summary_line(outcome: Outcome, steps: int, seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return (
        f"pass@1 at τ=1: {outcome.before:.2f} → {outcome.after:.2f} ({outcome.gain:+.2f}, 95% CI "
        f"{outcome.low:+.2f}..{outcome.high:+.2f}) in {steps} steps, {minutes} min {secs:02d} s"
    )


def plot(outcome: Outcome, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    steps, values = zip(*outcome.curve)
    ax.plot(steps, values, marker="o", color="C0", label="SePT: pass@1 at τ = 1")
    references = [
        ("base model at τ = 1", outcome.base_by_tau.get(1.0), "C1", "--"),
        ("base model greedy (τ = 0)", outcome.base_by_tau.get(0.0), "C2", ":"),
        (f"base model at its best τ ({outcome.best_tau:g})", outcome.base_by_tau[outcome.best_tau], "C3", "-."),
    ]
    for label, value, color, style in references:
        if value is not None:
            ax.axhline(value, color=color, linestyle=style, linewidth=1.2, label=f"{label}: {value:.2f}")
    ax.set_xlabel("training step")
    ax.set_ylabel("pass@1 (held-out questions)")
    ax.set_title("SePT on the tiny arithmetic model (CPU demo)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(demo: Demo, outcome: Outcome, memory: PeakMemory, wall: float) -> Path:
    lines = [
        "# SePT CPU demo",
        "",
        f"**{summary_line(outcome, demo.steps, sum(demo.timings.values()))}**",
        "",
        f"Base model `{demo.base_model.name}`; `configs/{PRESET}.yaml`; {demo.n} samples per held-out question at "
        "τ > 0. The interval is a bootstrap over questions of the paired per-question change.",
        "",
        "![pass@1 at τ=1 against step](pass1_vs_step.png)",
        "",
        "| base model τ | pass@1 |",
        "|---|---|",
        *[f"| {tau:g} | {value:.3f} |" for tau, value in sorted(outcome.base_by_tau.items())],
        "",
        "| step | pass@1 at τ = 1 |",
        "|---|---|",
        *[f"| {step} | {value:.3f} |" for step, value in outcome.curve],
        "",
        "| stage | seconds |",
        "|---|---|",
        *[f"| {name} | {seconds:.0f} |" for name, seconds in demo.timings.items()],
        "",
        f"{sum(demo.timings.values()) / 60:.1f} min of stages on {os.cpu_count()} cores (each stage as long as the "
        f"invocation that did it took; this one: {wall / 60:.1f} min); peak used memory {memory.peak:.1f} GB in this "
        f"invocation (used before it started: {memory.start:.1f} GB; the whole machine).",
    ]
    report = demo.out / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report


# ---------------------------------------------------------------------------------------------------- command


def run(demo: Demo) -> tuple[Path, str]:
    from data_prep.synthetic import DATA_SOURCE

    memory, start = PeakMemory(), time.time()
    try:
        build_inputs(demo)
        train_and_evaluate(demo)
        runs = regrade(demo)
    finally:
        memory.stop()
    outcome = measure(runs, DATA_SOURCE)
    plot(outcome, demo.out / "pass1_vs_step.png")
    wall = time.time() - start
    return write_report(demo, outcome, memory, wall), summary_line(outcome, demo.steps, sum(demo.timings.values()))


def quiet_imports() -> None:
    """The driver imports verl only to compose the preset: its notices about optional engines (torchtitan, megatron,
    ...) and the missing accelerator say nothing about a CPU demo and would fill the newcomer's first screen.

    verl probes for an accelerator when imported and warns that it falls back to 'nvidia'; naming the CPU platform
    first (the values configs/platform/cpu.yaml gives every process of the launch, which inherits them) skips it.
    """
    import logging
    import warnings

    os.environ.setdefault("VERL_PLATFORM", "cpu")
    os.environ.setdefault("VERL_USE_EXTERNAL_MODULES", "cpu.verl_platform")
    warnings.filterwarnings("ignore", message=r".* engine is not available", category=UserWarning)
    for name in ("", "verl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # verl sets its platform logger to INFO when imported (after this), to say which platform it picked.
    logging.getLogger("verl.plugin.platform.platform_manager").addFilter(lambda r: r.levelno >= logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    quiet_imports()
    parser = argparse.ArgumentParser(prog="python -m lab.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "results" / "demo", help="results folder")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of configs/sept_cpu_demo.yaml")
    args = parser.parse_intermixed_args(argv)
    try:
        demo = make_demo(args.out, args.overrides)
        report, line = run(demo)
    except DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.read_text(encoding="utf-8"))
    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
