"""Benchmark (prints figures; not a test): per-step cost on the CPU preset, all variants measured in one run.

  .venv/bin/python tools/bench_step_time.py [--steps 6]

Variants, each one launch of ``recipe.sept.main_sept --config-name sept_cpu`` (the tiny model, 8 prompts/step):
  sept            the recipe as shipped: old-log-prob pass removed (algorithm.rollout_correction.bypass_mode=true)
  sept+old_lp     the same with verl's default extra forward pass (bypass_mode=false), i.e. before the removal
  grpo_g8         method=grpo: verl's GRPO through the same entry point, G=8, tau=1, PPO-clip loss, grader reward
  emft            method=emft: token-entropy minimisation on own samples, coupled at tau=1
Step 1 (first generation, warm-up) is excluded from the means. Writes a Markdown table to stdout.
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
COMMON = ["trainer.val_before_train=false", "trainer.test_freq=-1", "trainer.save_freq=-1", "trainer.resume_mode=disable"]
VARIANTS = {
    "sept": [],
    "sept+old_lp": ["algorithm.rollout_correction.bypass_mode=false"],
    "grpo_g8": ["method=grpo"],
    "emft": ["method=emft"],
}
TIMERS = ["gen", "old_log_prob", "update_actor", "update_weights", "step"]


def run_variant(name: str, overrides: list[str], steps: int, work: Path) -> dict[str, float]:
    metrics = work / f"{name}.jsonl"
    env = {**os.environ, "VERL_FILE_LOGGER_PATH": str(metrics)}
    cmd = [sys.executable, "-m", "recipe.sept.main_sept", "--config-name", "sept_cpu",
           f"trainer.total_training_steps={steps}", f"trainer.default_local_dir={work / name}", *COMMON, *overrides]
    start = time.time()
    with open(work / f"{name}.log", "w") as log:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=1500)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed (exit {proc.returncode}); see {work / name}.log")
    rows = [json.loads(line)["data"] for line in metrics.read_text().splitlines()]
    rows = [r for r in rows if "timing_s/step" in r][1:]
    out = {t: statistics.mean(r.get(f"timing_s/{t}", 0.0) for r in rows) for t in TIMERS}
    out["samples/step"] = statistics.mean(r["perf/total_num_tokens"] / (r["response_length/mean"] + r["prompt_length/mean"]) for r in rows)
    out["launch s"] = time.time() - start
    print(f"[bench] {name}: {out}", file=sys.stderr, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    for need in ("models/tiny-qwen2/config.json", "data/cpu/train.parquet"):
        if not (REPO / need).exists():
            raise SystemExit(f"missing {need}: run `bash scripts/run_cpu_demo.sh` once first (it builds both)")
    with tempfile.TemporaryDirectory(prefix="sept_bench_") as tmp:
        results = {name: run_variant(name, ov, args.steps, Path(tmp)) for name, ov in VARIANTS.items()}
    cols = TIMERS + ["samples/step", "launch s"]
    print("| variant | " + " | ".join(f"{c} (s)" if c in TIMERS else c for c in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, res in results.items():
        print(f"| {name} | " + " | ".join(f"{res[c]:.3f}" for c in cols) + " |")
    base = results["sept"]["step"]
    ratios = ", ".join(f"{name} {res['step'] / base:.2f}x" for name, res in results.items() if name != "sept")
    print(f"\nstep time ratios vs sept: {ratios}")


if __name__ == "__main__":
    main()
