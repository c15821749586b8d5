#!/usr/bin/env bash
# The first command: SePT sharpening a tiny model on this CPU, from nothing, with its measured gain and a plot.
#   bash scripts/run_cpu_demo.sh [--out DIR] [Hydra overrides of configs/sept_cpu_demo.yaml]
# 1. installs the CPU stack into .venv (first time ~2-5 min; later a no-op),
# 2. python -m lab.demo: builds the tiny arithmetic base model and its data (no downloads), evaluates it, trains
#    SePT and evaluates it again in one Ray + vLLM launch, then writes results/demo/report.md and
#    results/demo/pass1_vs_step.png and prints one line with the gain and its 95% interval.
# Interrupted, the same command continues where it stopped.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
start=$SECONDS
bash scripts/setup_env.sh
# A failed worker can leave the driver waiting: bound the whole run.
timeout "${SEPT_TIMEOUT:-2400}" "${SEPT_VENV:-$repo/.venv}/bin/python" -m lab.demo "$@"
echo "[demo] done in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s, install included"
