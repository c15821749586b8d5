"""Benchmark (prints figures; not a test): per-step cost of SePT and its comparisons, all measured in one run.

  .venv/bin/python tools/bench_step_time.py [--steps 6] [--preset sept_cpu_repro] [--polls 0.02,2.0]

Each variant is one launch of ``python -m recipe.sept.main_sept --config-name PRESET`` (default: the CPU
reproduction's preset: the tiny arithmetic base model, 32 prompts per step, responses up to 48 tokens, so that
generation is real work) at each replay-buffer poll interval of ``--polls`` (0.02 s: the recipe's
``trainer.v1.sampler.sampler_kwargs.poll_interval_s``; 2.0 s: verl's built-in buffer, before the recipe's):
  sept            the recipe as shipped: old-log-prob pass removed (algorithm.rollout_correction.bypass_mode=true)
  sept+old_lp     the same with verl's default extra forward pass (bypass_mode=false)
  grpo_g8         method=grpo: verl's GRPO through the same entry point, G = 8, tau = 1, PPO-clip loss, grader reward
  emft            method=emft: token-entropy minimisation on own samples, coupled at tau = 1
Step 1 (vLLM's first requests, warm-up) is excluded from the means. Prints a Markdown table per poll interval and
the step-time ratios; SePT / GRPO cannot go below about 1 / G = 0.125 (an eighth of the samples, no extra pass).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMON = [
    "trainer.val_before_train=false",
    "trainer.test_freq=-1",
    "trainer.save_freq=-1",
    "trainer.resume_mode=disable",
]
VARIANTS = {
    "sept": [],
    "sept+old_lp": ["algorithm.rollout_correction.bypass_mode=false"],
    "grpo_g8": ["method=grpo"],
    "emft": ["method=emft"],
}
TIMERS = ["gen", "old_log_prob", "update_actor", "update_weights", "step"]


def run_variant(preset: str, name: str, overrides: list[str], steps: int, work: Path) -> dict[str, float]:
    metrics = work / f"{name}.jsonl"
    env = {**os.environ, "VERL_FILE_LOGGER_PATH": str(metrics)}
    cmd = [
        sys.executable,
        "-m",
        "recipe.sept.main_sept",
        "--config-name",
        preset,
        f"trainer.total_training_steps={steps}",
        f"trainer.default_local_dir={work / name}",
        *COMMON,
        *overrides,
    ]
    start = time.time()
    with open(work / f"{name}.log", "w") as log:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=1800)
    if proc.returncode != 0:
        tail = "".join((work / f"{name}.log").read_text().splitlines(keepends=True)[-20:])
        raise SystemExit(f"{name} failed (exit {proc.returncode}):\n{tail}")
    rows = [json.loads(line)["data"] for line in metrics.read_text().splitlines()]
    rows = [r for r in rows if "timing_s/step" in r][1:]
    out = {t: statistics.mean(r.get(f"timing_s/{t}", 0.0) for r in rows) for t in TIMERS}
    out["samples/step"] = statistics.mean(
        r["perf/total_num_tokens"] / (r["response_length/mean"] + r["prompt_length/mean"]) for r in rows
    )
    out["launch s"] = time.time() - start
    print(f"[bench] {name}: {out}", file=sys.stderr, flush=True)
    return out


def ensure_inputs(preset: str) -> None:
    """The preset's model and data: the tiny arithmetic base model and its data set are built if missing."""
    from lab.inputs import ensure_tiny_inputs, preset_inputs

    ensure_tiny_inputs(*preset_inputs(preset))


def table(results: dict[str, dict[str, float]]) -> str:
    cols = TIMERS + ["samples/step", "launch s"]
    lines = [
        "| variant | " + " | ".join(f"{c} (s)" if c in TIMERS else c for c in cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    lines += [f"| {name} | " + " | ".join(f"{res[c]:.3f}" for c in cols) + " |" for name, res in results.items()]
    base = results["sept"]["step"]
    ratios = ", ".join(f"{name} {res['step'] / base:.2f}x" for name, res in results.items() if name != "sept")
    lines += ["", f"step time vs sept: {ratios}; sept / grpo_g8 = {base / results['grpo_g8']['step']:.3f}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--preset", default="sept_cpu_repro")
    parser.add_argument("--polls", default="0.02,2.0", help="replay-buffer poll intervals (s), comma-separated")
    args = parser.parse_args()
    ensure_inputs(args.preset)
    polls = [float(p) for p in args.polls.split(",")]
    started = time.strftime("%Y-%m-%d %H:%M")
    with tempfile.TemporaryDirectory(prefix="sept_bench_") as tmp:
        tables = {}
        for poll in polls:
            knob = f"trainer.v1.sampler.sampler_kwargs.poll_interval_s={poll}"
            results = {
                name: run_variant(args.preset, f"{name}_poll{poll:g}", [knob, *ov], args.steps, Path(tmp))
                for name, ov in VARIANTS.items()
            }
            tables[poll] = table(results)
    print(f"# Step cost, {args.preset}, steps 2-{args.steps} averaged ({started}, {os.cpu_count()} cores)\n")
    for poll, text in tables.items():
        print(f"## replay-buffer poll interval {poll:g} s\n\n{text}\n")


if __name__ == "__main__":
    main()
