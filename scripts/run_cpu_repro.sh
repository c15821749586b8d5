#!/usr/bin/env bash
# The paper's comparisons at CPU scale, from nothing (README, "CPU reproduction"):
#   bash scripts/run_cpu_repro.sh [--seeds 0,1] [--methods sept,coupled,offline,emft,grpo] [--temps 0:1.6:0.2] [overrides]
# installs the CPU stack if needed, then python -m lab.repro: builds the tiny arithmetic base model and
# the data, sweeps the base model over tau, trains every method per seed, regrades, and writes
# results/cpu_repro/report.md (tables, tau plot, run times, peak memory). A rerun continues where it stopped.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/setup_env.sh
exec "${SEPT_VENV:-$repo/.venv}/bin/python" -m lab.repro "$@"
