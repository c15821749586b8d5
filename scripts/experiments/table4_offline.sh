#!/usr/bin/env bash
# Paper Table 4: offline SePT (generate once with the base model at tau_s = 0.6, then SFT on that fixed set with
# verl's SFT trainer, same number and size of updates) vs online SePT, Qwen2.5-Math-7B on DSR.
#   bash scripts/experiments/table4_offline.sh [extra overrides]     ONLY=<run name> for one run
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
EXTRA_OVERRIDES=("$@")
ENTRY=offline.main_offline PRESET=offline_sept_qwen2.5_math_7b_dsr run table4_qwen2.5-math-7b_offline_dsr
method_run table4 qwen2.5-math-7b sept dsr
