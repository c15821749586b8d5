#!/usr/bin/env bash
# Paper Table 2: training data OpenThoughts3-math (OTM) vs DeepScaleR (DSR), SePT and GRPO, two models (8 runs).
#   bash scripts/experiments/table2_otm_vs_dsr.sh [extra overrides]     ONLY=<run name> for one run
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
EXTRA_OVERRIDES=("$@")
for model in qwen2.5-math-7b deepseek-math-7b-instruct; do
  for method in sept grpo; do
    for train in otm dsr; do
      method_run table2 "$model" "$method" "$train"
    done
  done
done
