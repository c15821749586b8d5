"""Chat templates of the model families the paper trains, kept as files under ``configs/chat_templates/``.

verl takes the template text itself in ``actor_rollout_ref.model.custom_chat_template``. To pick one by name
in a trainer config, register the resolver once before Hydra resolves the config, then write::

    actor_rollout_ref:
      model:
        custom_chat_template: ${chat_template:qwen2.5-math}

- ``qwen2.5-math``: Qwen2.5-Math base and instruct (default system prompt: the reasoning prompt);
- ``qwen2.5-instruct``: Qwen2.5 base and instruct ("You are Qwen, created by Alibaba Cloud. ...");
- ``deepseek-math-instruct``: DeepSeek-Math-7B-Instruct ("User: ...\\n\\nAssistant:").
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "configs" / "chat_templates"
TEMPLATES = {
    "qwen2.5-math": "qwen25_math.jinja",
    "qwen2.5-instruct": "qwen25_instruct.jinja",
    "deepseek-math-instruct": "deepseek_math_instruct.jinja",
}
RESOLVER = "chat_template"


def load_chat_template(name_or_path: str) -> str:
    """The template text for a known name, or read from a ``.jinja`` file path."""
    if name_or_path in TEMPLATES:
        return (TEMPLATE_DIR / TEMPLATES[name_or_path]).read_text(encoding="utf-8")
    path = Path(name_or_path)
    if path.suffix == ".jinja" and path.is_file():
        return path.read_text(encoding="utf-8")
    raise ValueError(
        f"unknown chat template {name_or_path!r}: use one of {', '.join(TEMPLATES)}, or the path of a .jinja file"
    )


def register_resolver() -> None:
    """Make ``${chat_template:NAME}`` available in OmegaConf/Hydra configs (safe to call twice)."""
    from omegaconf import OmegaConf  # imported here so data preparation does not need omegaconf

    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, load_chat_template)
