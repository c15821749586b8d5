"""Agent loop that samples each prompt at the τs the trainer attached to it.

verl's agent-loop workers build ``sampling_params`` from their own copy of the rollout config
(``verl/trainer/ppo/v1/agent_loop_tq.py``), so changing the temperature in the trainer process never reaches
vLLM. Per-prompt batch fields do reach ``AgentLoopBase.run`` as keyword arguments: ``SePTTrainer`` attaches
``tau_s`` to every training prompt, and this loop puts it into the request's sampling parameters.
Validation batches carry no ``tau_s`` and keep verl's ``val_kwargs``.

Registered as ``sept_single_turn`` through ``configs/agent_loops.yaml`` (``rollout.agent.agent_loop_config_path``).
"""

from __future__ import annotations

from typing import Any

from verl.experimental.agent_loop.agent_loop import AgentLoopOutput
from verl.experimental.agent_loop.single_turn_agent_loop import SingleTurnAgentLoop

TAU_S_FIELD = "tau_s"


def sampling_params_for_prompt(sampling_params: dict[str, Any], tau_s: float | None) -> dict[str, Any]:
    """Copy of ``sampling_params`` with ``temperature = tau_s`` when the prompt carries one."""
    params = dict(sampling_params)
    if tau_s is not None:
        params["temperature"] = float(tau_s)
    return params


class SePTAgentLoop(SingleTurnAgentLoop):
    """``SingleTurnAgentLoop`` whose sampling temperature is the prompt's ``tau_s`` field."""

    async def run(self, sampling_params: dict[str, Any], **kwargs) -> AgentLoopOutput:
        tau_s = kwargs.pop(TAU_S_FIELD, None)
        return await super().run(sampling_params_for_prompt(sampling_params, tau_s), **kwargs)
