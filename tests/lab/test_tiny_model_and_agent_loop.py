"""The local tiny model is deterministic and loads like a hub checkpoint; the agent loop applies the prompt's τs."""

import asyncio
import hashlib

import pytest

from lab.tiny_model import write_tiny_model
from recipe.sept.agent_loop import SePTAgentLoop, sampling_params_for_prompt


def _digest(path):
    return hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()


def test_tiny_model_is_seeded_and_round_trips_text(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    a, b, c = (
        write_tiny_model(tmp_path / "a", 0),
        write_tiny_model(tmp_path / "b", 0),
        write_tiny_model(tmp_path / "c", 1),
    )
    assert _digest(a) == _digest(b) != _digest(c)
    tok = AutoTokenizer.from_pretrained(a)
    text = tok.apply_chat_template(
        [{"role": "user", "content": "What is 12 + 7?"}], tokenize=False, add_generation_prompt=True
    )
    assert text == "<|im_start|>user\nWhat is 12 + 7?<|im_end|>\n<|im_start|>assistant\n"
    ids = tok(text)["input_ids"]
    assert tok.decode(ids) == text and ids[0] == tok.convert_tokens_to_ids("<|im_start|>")
    model = AutoModelForCausalLM.from_pretrained(a)
    assert model.config.vocab_size == len(tok) and model.config.eos_token_id == tok.eos_token_id


def test_sampling_params_take_the_prompts_tau_s():
    base = {"temperature": 1.0, "top_p": 1.0}
    assert sampling_params_for_prompt(base, 0.6) == {"temperature": 0.6, "top_p": 1.0}
    assert sampling_params_for_prompt(base, None) == base
    assert base["temperature"] == 1.0  # the worker's shared dict is not modified


def test_agent_loop_run_sends_tau_s_to_the_server(monkeypatch):
    """SePTAgentLoop.run hands SingleTurnAgentLoop.run the prompt's τs and strips the field."""
    from verl.experimental.agent_loop.single_turn_agent_loop import SingleTurnAgentLoop

    seen = {}

    async def parent_run(self, sampling_params, **kwargs):
        seen.update(params=sampling_params, kwargs=kwargs)
        return "output"

    monkeypatch.setattr(SingleTurnAgentLoop, "run", parent_run)
    loop = SePTAgentLoop.__new__(SePTAgentLoop)
    out = asyncio.run(loop.run({"temperature": 1.0}, tau_s=0.7, raw_prompt=[]))
    assert out == "output" and seen["params"]["temperature"] == pytest.approx(0.7)
    assert "tau_s" not in seen["kwargs"]
