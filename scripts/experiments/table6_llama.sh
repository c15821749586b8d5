#!/usr/bin/env bash
# Paper Table 6: Llama-3.1-8B-Instruct, where SePT does not help: SePT and GRPO on DSR and OTM (4 runs).
#   bash scripts/experiments/table6_llama.sh [extra overrides]     ONLY=<run name> for one run
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
EXTRA_OVERRIDES=("$@")
for method in sept grpo; do
  for train in dsr otm; do
    method_run table6 llama-3.1-8b-instruct "$method" "$train"
  done
done
