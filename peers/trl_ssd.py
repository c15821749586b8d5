"""TRL's ``SSDTrainer`` (``trl.experimental.ssd``, TRL 1.15.0) on a local model: the closest published peer of SePT.

Runs in the TRL venv (``scripts/setup_trl_env.sh``; TRL cannot be installed beside verl, requirements-trl.txt
says why) and imports nothing else of the project::

    .venv-trl/bin/python -m peers.trl_ssd --model DIR --train-file train.parquet --out DIR --temperature 0.6 \
        --steps 32 --batch 32 --lr 1e-4 --weight-decay 0.01 --grad-clip 1 --seed 42 --max-prompt-length 64 \
        --max-completion-length 48

(``peers.compare_trl`` passes the demo preset's values)

SSD (arXiv 2604.01193) samples one completion per prompt from the current model at a fixed temperature with HF
``generate`` and takes a cross-entropy step on it at τ = 1: SePT with a constant τs, τt = 1 and G = 1. What it does
not have: a τs schedule, a coupled τt, G > 1 (1.15.0 sets one completion per prompt in the trainer), the
old-log-prob switch and an evaluation. Its optional vLLM generation (``use_vllm``, GPU-only colocate or a TRL
server) is off: HF ``generate`` is what it runs on a CPU. Settings that would make it differ from SePT here are set to match:
``filter_empty=False`` (SSD drops completions under 10 characters with no newline, which is every worked arithmetic
answer), fp32 (no bf16), no gradient checkpointing, a constant learning rate without warm-up, and AdamW's weight
decay and gradient clipping as the recipe's actor has them.

Writes ``<out>/model`` (a Hugging Face folder the project's sweep evaluates) and, last, ``<out>/trl_ssd.json``
(settings, TRL version, training seconds, loss per step). A complete folder with the same settings is reused; the
model is written to ``<out>/model.partial`` and renamed, so an interrupted run leaves nothing that looks finished.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

RECORD = "trl_ssd.json"


@dataclass(frozen=True)
class Settings:
    """What decides the trained weights (written into the record); ``peers.compare_trl`` takes them from the demo's
    preset, so both arms train alike."""

    temperature: float  # the sampling temperature, fixed for the run
    steps: int
    batch: int  # prompts per step, one completion each, one optimizer step
    lr: float
    weight_decay: float
    grad_clip: float
    seed: int
    max_prompt_length: int
    max_completion_length: int

    def __post_init__(self) -> None:
        positive = ("temperature", "steps", "batch", "lr", "grad_clip", "max_prompt_length", "max_completion_length")
        bad = [f"{name}={getattr(self, name)}" for name in positive if not getattr(self, name) > 0]
        if bad:
            raise ValueError(f"these settings must be > 0: {', '.join(bad)}")


FIELDS = {f.name: {"float": float, "int": int}[f.type] for f in fields(Settings)}


def ssd_arguments(settings: Settings, output_dir: Path) -> dict:
    """Keyword arguments of ``SSDConfig`` for ``settings``, matched to the recipe's CPU presets (module docstring)."""
    return {
        "output_dir": str(output_dir),
        "use_cpu": True,
        "seed": settings.seed,
        "max_steps": settings.steps,
        "per_device_train_batch_size": settings.batch,
        "gradient_accumulation_steps": 1,
        "use_vllm": False,
        "temperature": settings.temperature,
        "top_k": 0,
        "top_p": 1.0,
        "max_prompt_length": settings.max_prompt_length,
        "max_completion_length": settings.max_completion_length,
        "filter_empty": False,
        "learning_rate": settings.lr,
        "lr_scheduler_type": "constant",
        "warmup_steps": 0,
        "weight_decay": settings.weight_decay,
        "max_grad_norm": settings.grad_clip,
        "bf16": False,
        "gradient_checkpointing": False,
        "dataloader_num_workers": 0,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "disable_tqdm": True,
    }


def load_prompts(train_file: Path) -> list[dict]:
    """``{"prompt": messages}`` rows of a recipe parquet (the chat messages the recipe prompts with)."""
    import pandas as pd

    frame = pd.read_parquet(train_file)
    if "prompt" not in frame.columns:
        raise ValueError(f"{train_file}: no 'prompt' column (expected data_prep's layout)")
    return [{"prompt": [dict(m) for m in messages]} for messages in frame["prompt"]]


def complete_record(out: Path, settings: Settings) -> dict | None:
    """The record of a finished run of ``settings`` in ``out``, or None."""
    path = out / RECORD
    if not (path.is_file() and (out / "model" / "config.json").is_file()):
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    return record if record.get("settings") == asdict(settings) else None


def train(model_dir: Path, train_file: Path, out: Path, settings: Settings) -> dict:
    """Run SSD for ``settings.steps`` steps and save the model; returns the record."""
    import trl
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.experimental.ssd import SSDConfig, SSDTrainer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left", truncation_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    dataset = Dataset.from_list(load_prompts(train_file))
    trainer = SSDTrainer(
        model=model,
        args=SSDConfig(**ssd_arguments(settings, out / "trainer")),
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    start = time.monotonic()
    trainer.train()
    seconds = time.monotonic() - start
    partial = out / "model.partial"
    shutil.rmtree(partial, ignore_errors=True)
    trainer.save_model(str(partial))
    tokenizer.save_pretrained(partial)
    shutil.rmtree(out / "model", ignore_errors=True)
    partial.rename(out / "model")
    record = {
        "settings": asdict(settings),
        "trl": trl.__version__,
        "train_seconds": round(seconds, 1),
        "samples": settings.steps * settings.batch,
        "loss": [round(row["loss"], 4) for row in trainer.state.log_history if "loss" in row],
    }
    (out / RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m peers.trl_ssd", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="Hugging Face model folder")
    parser.add_argument("--train-file", type=Path, required=True, help="recipe-layout parquet with a prompt column")
    parser.add_argument("--out", type=Path, required=True)
    for name in FIELDS:
        parser.add_argument(f"--{name.replace('_', '-')}", type=FIELDS[name], required=True)
    args = parser.parse_args(argv)
    try:
        settings = Settings(**{name: getattr(args, name) for name in FIELDS})
    except ValueError as exc:
        parser.error(str(exc))
    for path, what in ((args.model / "config.json", "--model"), (args.train_file, "--train-file")):
        if not path.is_file():
            print(f"error: {what}: {path} does not exist", file=sys.stderr)
            return 2
    record = complete_record(args.out, settings)
    if record is not None:
        print(f"[trl_ssd] {args.out} holds a finished run with these settings: reused", flush=True)
    else:
        record = train(args.model, args.train_file, args.out, settings)
    print(
        f"[trl_ssd] {record['samples']} samples in {record['train_seconds']} s (TRL {record['trl']}); "
        f"model in {args.out / 'model'}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
