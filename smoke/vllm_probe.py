"""Test-only probe: records the temperature of every request vLLM's engine receives.

The e2e test puts this module in ``VERL_USE_EXTERNAL_MODULES``, so ``import verl`` imports it in every Ray process;
in the vLLM server process it wraps ``AsyncLLM.generate`` (what verl's vLLM server calls per request) and appends
``{"temperature": ...}`` to the JSONL file named by ``SEPT_TEST_VLLM_PROBE``. Not part of the recipe.
"""

import json
import os

PROBE_FILE = os.environ.get("SEPT_TEST_VLLM_PROBE")


def _install() -> None:
    from vllm.v1.engine.async_llm import AsyncLLM

    if getattr(AsyncLLM.generate, "__sept_probe__", False):
        return
    original = AsyncLLM.generate

    def generate(self, *args, **kwargs):
        params = kwargs["sampling_params"] if "sampling_params" in kwargs else args[1]
        with open(PROBE_FILE, "a") as f:
            f.write(json.dumps({"temperature": params.temperature, "pid": os.getpid()}) + "\n")
        return original(self, *args, **kwargs)

    generate.__sept_probe__ = True
    AsyncLLM.generate = generate


if PROBE_FILE:
    _install()
