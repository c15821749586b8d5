#!/usr/bin/env bash
# SePT beside TRL's SSDTrainer on the demo's tiny base model, measured in one run (docs/peer-trl.md).
#   bash scripts/run_peer_trl.sh [--out DIR] [--temperature T] [--n N]
# Installs the CPU stack and TRL's own venv if needed, builds the base model and data if needed, then runs
# python -m peers.compare_trl: SePT's launch, SSD's training and evaluation, results/peer_trl/report.md.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/setup_env.sh
bash scripts/setup_trl_env.sh
timeout "${SEPT_TIMEOUT:-3600}" "${SEPT_VENV:-$repo/.venv}/bin/python" -m peers.compare_trl "$@"
