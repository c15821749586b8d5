#!/usr/bin/env bash
# Paper Table 1: four 7B models x {SePT, GRPO}, trained on DeepScaleR (8 runs, one after another).
#   bash scripts/experiments/table1_main.sh [extra overrides]     ONLY=<run name> for one run
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
EXTRA_OVERRIDES=("$@")
for model in qwen2.5-math-7b qwen2.5-7b qwen2.5-7b-instruct deepseek-math-7b-instruct; do
  for method in sept grpo; do
    method_run table1 "$model" "$method" dsr
  done
done
