#!/usr/bin/env bash
# Creates (or reuses) the TRL peer's virtualenv (requirements-trl.txt; apart from the verl venv, whose launches fail
# with trl installed). Usage: bash scripts/setup_trl_env.sh   (venv at $SEPT_TRL_VENV, default <repo>/.venv-trl)
# Idempotent: a finished install leaves a stamp keyed on requirements-trl.txt and this script.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${SEPT_TRL_VENV:-$repo/.venv-trl}
stamp=$venv/.sept-install-stamp
want=$(cat "$repo/requirements-trl.txt" "$repo/scripts/setup_trl_env.sh" | sha256sum | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi
printf '[setup-trl %s] installing %s\n' "$(date +%H:%M:%S)" "$venv"
[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --progress-bar off --disable-pip-version-check -q -r "$repo/requirements-trl.txt"
"$venv/bin/python" -c "import trl, torch, transformers; print('trl', trl.__version__, '| torch', torch.__version__, '| transformers', transformers.__version__)"
echo "$want" > "$stamp"
