#!/usr/bin/env bash
# The paper's headline question at CPU scale, from nothing (docs/cpu-reproduction.md):
#   bash scripts/run_cpu_repro.sh [--seeds 0,1,2] [--methods sept|all|sept,coupled,...] [--temps 0:1.6:0.2] [overrides]
# installs the CPU stack if needed, then python -m lab.repro: builds the tiny arithmetic base model and
# the data, sweeps the base model over tau, trains each method per seed (three epochs, evaluated after each),
# regrades, and writes results/cpu_repro/report.md (tables with paired intervals, the temperature-matched
# comparison, pass@k-vs-step and tau plots, run times, peak memory). A rerun continues where it stopped.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/setup_env.sh
exec "${SEPT_VENV:-$repo/.venv}/bin/python" -m lab.repro "$@"
