#!/usr/bin/env bash
# One-GPU smoke test of the SePT recipe (about 10 min): two launches on a small model, then a pass/fail table to
# paste into an issue (also written to results/smoke/gpu-<date>/smoke_report.md).
#   bash scripts/gpu_smoke.sh [MODEL] [KEY=VALUE ...]
# MODEL: a Hub id (default Qwen/Qwen2.5-0.5B-Instruct, fetched once into the Hugging Face cache) or a local model
# folder; KEY=VALUE: Hydra overrides added to both launches (e.g. actor_rollout_ref.rollout.gpu_memory_utilization=0.3).
# Needs the GPU stack (bash scripts/setup_gpu_env.sh; venv $SEPT_VENV, default <repo>/.venv-gpu) and DSR + MATH-500:
#   python -m data_prep prepare --out data/prepared --datasets dsr,math500 --styles reasoning
# What runs and what is checked: smoke/run.py (settings) and smoke/checks.py (assertions, shared with the CPU e2e).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=${SEPT_VENV:-$repo/.venv-gpu}/bin/python
if [[ ! -x $py ]]; then
  echo "gpu_smoke: no Python at $py: install the GPU stack first (bash scripts/setup_gpu_env.sh) or set SEPT_VENV" >&2
  exit 2
fi
model=Qwen/Qwen2.5-0.5B-Instruct
if [[ $# -gt 0 && $1 != *=* && $1 != -* ]]; then
  model=$1
  shift
fi
cd "$repo"
# smoke.run bounds each launch (30 min); this bounds the whole, model download included.
exec timeout "${SEPT_SMOKE_TIMEOUT:-5400}" "$py" -m smoke.run --model "$model" "$@"
