#!/usr/bin/env bash
# The embedded default: SePT end to end on this CPU, from nothing.
#   bash scripts/run_cpu_demo.sh [extra Hydra overrides]
# 1. installs the CPU stack into .venv (first time ~2-5 min; later a no-op),
# 2. builds the tiny local model and the synthetic arithmetic sets (seconds, no downloads),
# 3. runs the sept_cpu preset: validation, 4 SePT steps, validation, checkpoints (~2.5 min on 2 cores),
# 4. prints the per-step SePT metrics; everything is written under results/sept_cpu/.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/setup_env.sh
py=${SEPT_VENV:-$repo/.venv}/bin/python

[[ -f models/tiny-qwen2/config.json ]] || "$py" -m lab.tiny_model --out models/tiny-qwen2
[[ -f data/cpu/train.parquet ]] || "$py" -m data_prep synthetic --out data/cpu --train-rows 64 --val-rows 16

mkdir -p results/sept_cpu
# A demo starts fresh each time (resume_mode=disable); a failed worker can leave the driver waiting: bound it.
timeout "${SEPT_TIMEOUT:-1200}" "$py" -m recipe.sept.main_sept --config-name sept_cpu trainer.resume_mode=disable "$@" \
  2>&1 | tee results/sept_cpu/train.log
metrics=$(ls -t results/sept_cpu/metrics/*.jsonl | head -n 1)
"$py" -m eval.summarize "$metrics" | tee results/sept_cpu/summary.md
