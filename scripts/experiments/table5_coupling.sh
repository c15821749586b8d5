#!/usr/bin/env bash
# Paper Table 5: coupled (tau_t = tau_s at every step) vs decoupled (tau_t = 1) SePT, Qwen2.5-Math-7B on DSR.
#   bash scripts/experiments/table5_coupling.sh [extra overrides]     ONLY=<run name> for one run
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
EXTRA_OVERRIDES=("$@")
for mode in coupled fixed; do
  run "table5_qwen2.5-math-7b_sept_dsr_$mode" method=sept "sept.tau_t_mode=$mode"
done
