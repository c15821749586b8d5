#!/usr/bin/env bash
# Paper Figure 3: EM-FT (token-entropy minimisation on own samples, coupled at tau = 1) vs SePT, Qwen2.5-Math-7B, DSR.
#   bash scripts/experiments/figure3_emft.sh [extra overrides]     ONLY=<run name> for one run
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
EXTRA_OVERRIDES=("$@")
method_run figure3 qwen2.5-math-7b emft dsr
method_run figure3 qwen2.5-math-7b sept dsr
