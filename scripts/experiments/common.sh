# Shared by the paper-experiment launchers in this folder (sourced, not run).
# Every run goes through `python -m recipe.sept.main_sept --config-name sept_qwen2.5_math_7b_dsr` (the paper's
# 1 node x 8 GPU settings) with only the overrides that differ; main_sept fails before Ray starts when the model
# folder or a data file is missing. Prepare data first: python -m data_prep prepare --out data/prepared
#   ONLY=<run name>     run just that run of the launcher (names: SEPT_PRINT_ONLY=1 lists them)
#   SEPT_PRINT_ONLY=1   print each run as "<config name>\t<override>\t..." instead of launching (tests use it)
# Any further arguments to a launcher are appended to every run's overrides.
set -euo pipefail
# No globbing: overrides such as data.val_files=[...] must reach Hydra verbatim.
set -f
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
preset=sept_qwen2.5_math_7b_dsr

# Model key -> model id, its chat template, tau_s start (paper: 0.6 for math models, 0.9 for general ones)
# and the prompt style its runs use (question-only where the template carries the reasoning prompt).
model_args() {
  case "$1" in
    qwen2.5-math-7b) echo "actor_rollout_ref.model.path=Qwen/Qwen2.5-Math-7B" \
      'actor_rollout_ref.model.custom_chat_template=${chat_template:qwen2.5-math}' "sept.tau_s.start=0.6" ;;
    qwen2.5-7b) echo "actor_rollout_ref.model.path=Qwen/Qwen2.5-7B" \
      'actor_rollout_ref.model.custom_chat_template=${chat_template:qwen2.5-instruct}' "sept.tau_s.start=0.9" ;;
    qwen2.5-7b-instruct) echo "actor_rollout_ref.model.path=Qwen/Qwen2.5-7B-Instruct" \
      'actor_rollout_ref.model.custom_chat_template=${chat_template:qwen2.5-instruct}' "sept.tau_s.start=0.9" ;;
    deepseek-math-7b-instruct) echo "actor_rollout_ref.model.path=deepseek-ai/deepseek-math-7b-instruct" \
      'actor_rollout_ref.model.custom_chat_template=${chat_template:deepseek-math-instruct}' "sept.tau_s.start=0.6" ;;
    llama-3.1-8b-instruct) echo "actor_rollout_ref.model.path=meta-llama/Llama-3.1-8B-Instruct" \
      "actor_rollout_ref.model.custom_chat_template=null" "sept.tau_s.start=0.9" ;;
    *) echo "unknown model key: $1" >&2; return 2 ;;
  esac
}

# Prompt style of a model key: Qwen2.5-Math's template adds the reasoning prompt itself (the authors' setup).
model_style() { [[ $1 == qwen2.5-math-7b ]] && echo question || echo reasoning; }

# Training set (dsr | otm) and prompt style -> data overrides (the six benchmarks validate every run).
data_args() {
  local train=$1 style=$2 d=$repo/data/prepared b
  b=$d/benchmarks/$style
  echo "data.train_files=$d/train/$style/$train.parquet" \
    "data.val_files=[$b/math500.parquet,$b/amc23.parquet,$b/aime.parquet,$b/aime25.parquet,$b/minerva.parquet,$b/olympiadbench.parquet]"
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
  local style; style=$(model_style "$model")
  # shellcheck disable=SC2046
  run "${table}_${model}_${method}_${train}" "method=$method" $(model_args "$model") $(data_args "$train" "$style") "$@"
}
