# Shared by the paper-experiment launchers in this folder (sourced, not run).
# Every run goes through `python -m recipe.sept.main_sept --config-name sept_qwen2.5_math_7b_dsr` (the paper's
# 1 node x 8 GPU settings, Qwen2.5-Math-7B, data from configs/paper_data.yaml) with only the overrides that differ;
# main_sept fails before Ray starts when the model folder or a data file is missing. Prepare data first: python -m data_prep prepare --out data/prepared
#   ONLY=<run name>     run just that run of the launcher (names: SEPT_PRINT_ONLY=1 lists them)
#   SEPT_PRINT_ONLY=1   print each run as "<config name>\t<override>\t..." instead of launching (tests use it)
# Any further arguments to a launcher are appended to every run's overrides.
set -euo pipefail
# No globbing: overrides such as data.val_files=[...] must reach Hydra verbatim.
set -f
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
preset=sept_qwen2.5_math_7b_dsr

# A model of the paper is a choice of the base_model config group (configs/base_model/<key>.yaml: its id, chat
# template, tau_s start and prompt style); the training set is prepared_data.train_set (configs/paper_data.yaml).
model_args() {
  [[ -f $repo/configs/base_model/$1.yaml ]] || { echo "unknown model key: $1 (configs/base_model/)" >&2; return 2; }
  echo "base_model=$1"
}

# run NAME OVERRIDE... : launch one run (or print it), its outputs under results/NAME/.
# ENTRY/PRESET (default: online SePT) let a launcher use offline.main_offline and its preset instead.
run() {
  local name=$1; shift
  [[ -z ${ONLY:-} || ${ONLY} == "$name" ]] || return 0
  local entry=${ENTRY:-recipe.sept.main_sept} config=${PRESET:-$preset}
  local args=("$@" "trainer.experiment_name=$name" "trainer.default_local_dir=$repo/results/$name/checkpoints"
              ${EXTRA_OVERRIDES[@]+"${EXTRA_OVERRIDES[@]}"})
  if [[ ${SEPT_PRINT_ONLY:-0} == 1 ]]; then
    (IFS=$'\t'; echo "$config	${args[*]}")
    return 0
  fi
  echo "[experiment] $name: python -m $entry --config-name $config ${args[*]}"
  (cd "$repo" && python -m "$entry" --config-name "$config" "${args[@]}")
}

# method_run TABLE MODEL METHOD TRAIN [OVERRIDE...] : one SePT/GRPO/EM-FT run of a model on a training set.
method_run() {
  local table=$1 model=$2 method=$3 train=$4; shift 4
  # shellcheck disable=SC2046
  run "${table}_${model}_${method}_${train}" "method=$method" $(model_args "$model") "prepared_data.train_set=$train" "$@"
}
