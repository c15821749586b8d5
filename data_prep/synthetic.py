"""Small seeded arithmetic sets in the RL schema, for the CPU preset and tests.

Questions are short ("What is 37 + 58?") because the CPU model is char-level with a tiny context.
The validation set is drawn first, so it depends only on (seed, n_val) and stays the same when the
training size changes; training questions never repeat a validation question or each other. More validation
questions (``extra_val``) are drawn after the training ones, so the training split and the first ``n_val``
validation questions stay the same and a model trained on that training split has seen none of them.
"""

from __future__ import annotations

import random
from pathlib import Path

from data_prep.errors import DataPrepError
from data_prep.schema import check_style, make_row, write_rows

DATA_SOURCE = "synthetic_arith"

# Operand ranges keep every question under ~25 characters and every answer a small non-negative integer.
_ADD_MAX = 99
_MUL_MAX = 12
# Distinct questions available: a+b, a-b with b <= a, a*b with 2 <= a, b <= 12.
_CAPACITY = (_ADD_MAX + 1) ** 2 + (_ADD_MAX + 1) * (_ADD_MAX + 2) // 2 + (_MUL_MAX - 1) ** 2
# Most questions one call may draw: rejection sampling then needs at most ~4 draws per new question (the CPU
# reproduction draws 7,400 + 256).
_MAX_DRAWN = _CAPACITY * 3 // 4


def _draw_question(rng: random.Random) -> tuple[str, str]:
    """One random (question, integer answer as a string)."""
    op = rng.choice("+-*")
    if op == "*":
        a, b = rng.randint(2, _MUL_MAX), rng.randint(2, _MUL_MAX)
        return f"What is {a} * {b}?", str(a * b)
    a = rng.randint(0, _ADD_MAX)
    if op == "-":
        b = rng.randint(0, a)
        return f"What is {a} - {b}?", str(a - b)
    b = rng.randint(0, _ADD_MAX)
    return f"What is {a} + {b}?", str(a + b)


def _draw_unique(rng: random.Random, n: int, seen: set[str]) -> list[tuple[str, str]]:
    """n questions not in ``seen`` (which is updated)."""
    out = []
    while len(out) < n:
        question, answer = _draw_question(rng)
        if question not in seen:
            seen.add(question)
            out.append((question, answer))
    return out


def arithmetic_rows(n_train: int, n_val: int, seed: int, style: str, extra_val: int = 0) -> dict[str, list[dict]]:
    """RL rows for the two splits, keyed "train" and "val": ``n_val`` validation questions, then ``n_train``
    training questions, then ``extra_val`` more validation questions (appended to the validation split)."""
    check_style(style)
    if min(n_train, n_val, extra_val) < 0 or n_train + n_val + extra_val > _MAX_DRAWN:
        raise DataPrepError(
            f"cannot draw {n_train} train + {n_val} val + {extra_val} extra val distinct arithmetic questions",
            value=(n_train, n_val, extra_val),
            fix=f"Ask for non-negative counts totalling at most {_MAX_DRAWN}",
        )
    rng = random.Random(seed)
    seen: set[str] = set()
    drawn = {"val": _draw_unique(rng, n_val, seen), "train": _draw_unique(rng, n_train, seen)}
    # After the training draw, so the two splits above are those of extra_val = 0. After a large training split
    # (the CPU base model's 7,400) the 121 products are nearly all drawn: these are then sums and differences.
    drawn["val"] += _draw_unique(rng, extra_val, seen)
    return {
        split: [
            make_row(
                data_source=DATA_SOURCE,
                question=question,
                answer=answer,
                style=style,
                index=i,
                row_id=f"arith-{split}-{i}",
                split=split,
            )
            for i, (question, answer) in enumerate(pairs)
        ]
        for split, pairs in drawn.items()
    }


def write_arithmetic_sets(
    out_dir: Path, n_train: int = 64, n_val: int = 16, seed: int = 0, style: str = "reasoning", extra_val: int = 0
) -> dict[str, Path]:
    """Write ``train.parquet`` and ``val.parquet`` under ``out_dir``; same arguments give identical bytes.

    Returns ``{"train": path, "val": path}``.
    """
    out_dir = Path(out_dir)
    paths = {}
    for split, rows in arithmetic_rows(n_train, n_val, seed, style, extra_val).items():
        paths[split] = out_dir / f"{split}.parquet"
        write_rows(rows, paths[split])
    return {"train": paths["train"], "val": paths["val"]}
