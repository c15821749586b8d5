"""The chat template files render the prompts the model families expect, and can be picked by name."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf
from transformers.utils.chat_template_utils import render_jinja_template

from data_prep.schema import REASONING_PROMPT, build_messages
from recipe.sept.chat_templates import TEMPLATES, load_chat_template, register_resolver

QWEN_MATH_SYSTEM = "<|im_start|>system\n" + REASONING_PROMPT + "<|im_end|>\n"
QWEN_SYSTEM = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"


def _render(name: str, messages: list[dict]) -> str:
    (text,), _ = render_jinja_template(
        [messages],
        chat_template=load_chat_template(name),
        add_generation_prompt=True,
        bos_token="<s>",
        eos_token="</s>",
    )
    return text


@pytest.mark.parametrize(
    "name, default_system",
    [("qwen2.5-math", QWEN_MATH_SYSTEM), ("qwen2.5-instruct", QWEN_SYSTEM)],
)
def test_qwen_templates_add_their_default_system_prompt_unless_one_is_given(name, default_system):
    question = _render(name, build_messages("What is 1 + 1?", "question"))
    assert question == default_system + "<|im_start|>user\nWhat is 1 + 1?<|im_end|>\n<|im_start|>assistant\n"
    system = _render(name, build_messages("What is 1 + 1?", "system"))
    assert system == QWEN_MATH_SYSTEM + "<|im_start|>user\nWhat is 1 + 1?<|im_end|>\n<|im_start|>assistant\n"


def test_deepseek_math_template_uses_user_and_assistant_prefixes():
    assert _render("deepseek-math-instruct", build_messages("What is 1 + 1?", "reasoning")) == (
        "<s>User: What is 1 + 1? " + REASONING_PROMPT + "\n\nAssistant:"
    )
    assert _render("deepseek-math-instruct", build_messages("Q", "system")) == (
        "<s>" + REASONING_PROMPT + "\n\nUser: Q\n\nAssistant:"
    )


def test_a_trainer_config_can_pick_a_template_by_name(tmp_path):
    register_resolver()
    register_resolver()  # a second registration is harmless
    config = OmegaConf.create({"model": {"custom_chat_template": "${chat_template:deepseek-math-instruct}"}})
    assert config.model.custom_chat_template == load_chat_template("deepseek-math-instruct")
    custom = tmp_path / "mine.jinja"
    custom.write_text("{{ messages[0]['content'] }}", encoding="utf-8")
    assert load_chat_template(str(custom)) == "{{ messages[0]['content'] }}"
    assert set(TEMPLATES) == {"qwen2.5-math", "qwen2.5-instruct", "deepseek-math-instruct"}


def test_an_unknown_template_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown chat template 'llama': use one of qwen2.5-math"):
        load_chat_template("llama")
