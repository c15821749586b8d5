#!/usr/bin/env bash
# Paper Figure 5 / appendix C.1: SePT with G in {1, 4, 8} samples per prompt, Qwen2.5-Math-7B on DSR.
#   bash scripts/experiments/figure5_rollouts.sh [extra overrides]     ONLY=<run name> for one run
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
EXTRA_OVERRIDES=("$@")
for g in 1 4 8; do
  run "figure5_qwen2.5-math-7b_sept_dsr_g$g" method=sept "actor_rollout_ref.rollout.n=$g"
done
