"""The offline SePT set: which prompts are answered, the rows written, the manifest, and resuming from it.

No vLLM and no model here: tokenisation comes in as functions (``encode`` renders a prompt the way verl's agent loop
does, ``render`` a whole conversation the way verl's ``MultiTurnSFTDataset`` does), so the logic is testable on
plain parquet files.

The set lives in one folder: ``train.parquet`` (one row per answer, verl's multi-turn SFT format: ``messages`` =
the prompt messages + the assistant's answer) and ``manifest.json`` (the generation request, row counts, checksums).
The parquet is written first and the manifest last, each atomically, so a folder with a manifest whose checksum
matches is complete; anything else is regenerated or, if it was made by a different request, refused.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.schema import atomic_write

SET_FILE = "train.parquet"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
MESSAGES_KEY = "messages"


class OfflineSetError(ValueError):
    """A generated set that cannot be reused or written; the message names the file and what to do."""


@dataclass(frozen=True)
class Prompt:
    index: int  # row number in the concatenated source files
    row: dict  # the source row (prompt, data_source, reward_model, extra_info, ...)
    prompt_ids: list[int]


@dataclass(frozen=True)
class Sample:
    text: str
    token_ids: list[int]
    finish_reason: str
    # The sampler's log-probability of each answer token (vLLM's processed log-probs: at tau_s).
    logprobs: Sequence[float] = ()


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def source_fingerprints(files: Sequence[str | Path]) -> list[dict]:
    """Absolute path and sha256 of each source parquet (part of the request: other prompts, other set)."""
    return [{"path": str(Path(f).expanduser().resolve()), "sha256": sha256_file(Path(f).expanduser())} for f in files]


def read_source_rows(files: Sequence[str | Path]) -> list[dict]:
    rows: list[dict] = []
    for path in files:
        rows.extend(pq.read_table(Path(path).expanduser()).to_pylist())
    return rows


def sample_rows(n_rows: int, max_samples: int, shuffle: bool, seed: int | None) -> list[int]:
    """Row numbers kept by ``data.train_max_samples``, chosen exactly as verl's ``RLHFDataset`` does."""
    if not 0 < max_samples < n_rows:
        return list(range(n_rows))
    if shuffle:
        rng = np.random.default_rng(*((seed,) if seed is not None else ()))
        return rng.choice(n_rows, size=max_samples, replace=False).tolist()
    return list(range(max_samples))


def select_prompts(
    rows: list[dict],
    encode: Callable[[list[dict]], list[int]],
    max_prompt_length: int,
    filter_overlong: bool,
    keep: Sequence[int] | None = None,
    prompt_key: str = "prompt",
) -> tuple[list[Prompt], int]:
    """Prompts to answer and how many were dropped for length.

    Mirrors the online path: ``data.filter_overlong_prompts`` drops prompts longer than ``max_prompt_length``
    tokens (verl's ``RLHFDataset``); without it verl's agent loop keeps the last ``max_prompt_length`` tokens.
    """
    prompts, dropped = [], 0
    for index in keep if keep is not None else range(len(rows)):
        row = rows[index]
        ids = list(encode(list(row[prompt_key])))
        if len(ids) > max_prompt_length:
            if filter_overlong:
                dropped += 1
                continue
            ids = ids[-max_prompt_length:]
        prompts.append(Prompt(index=index, row=row, prompt_ids=ids))
    return prompts, dropped


def build_rows(
    prompts: Sequence[Prompt],
    samples: Sequence[Sequence[Sample]],
    render: Callable[[list[dict]], list[int]],
    prompt_key: str = "prompt",
) -> list[dict]:
    """One SFT row per answer.

    ``sampler_nll`` is the answer's token-mean NLL under the sampler at τs, the offline counterpart of the online
    ``sept/rollout_nll``. ``token_exact`` says whether the SFT tokenisation of the conversation starts with exactly
    the prompt and answer tokens that were sampled (online SePT trains on those tokens; the SFT trainer re-tokenises
    text, and a byte sequence that is not valid UTF-8, for example, does not survive the round trip).
    """
    if len(prompts) != len(samples):
        raise OfflineSetError(f"{len(prompts)} prompts but {len(samples)} answer lists from the generator")
    return [
        _row(prompt, k, answer, render, prompt_key)
        for prompt, answers in zip(prompts, samples)
        for k, answer in enumerate(answers)
    ]


def _row(prompt: Prompt, k: int, answer: Sample, render: Callable[[list[dict]], list[int]], prompt_key: str) -> dict:
    messages = [dict(m) for m in prompt.row[prompt_key]] + [{"role": "assistant", "content": answer.text}]
    sampled = prompt.prompt_ids + list(answer.token_ids)
    sft_ids = list(render(messages))
    return {
        MESSAGES_KEY: messages,
        "data_source": prompt.row.get("data_source"),
        "reward_model": prompt.row.get("reward_model"),
        "extra_info": prompt.row.get("extra_info"),
        "index": prompt.index,
        "sample": k,
        "finish_reason": answer.finish_reason,
        # The sampled tokens themselves (what online SePT would train on); the SFT reads `messages`.
        "response_ids": list(answer.token_ids),
        "prompt_tokens": len(prompt.prompt_ids),
        "response_tokens": len(answer.token_ids),
        "sft_tokens": len(sft_ids),
        "token_exact": sft_ids[: len(sampled)] == sampled,
        "sampler_nll": -float(np.mean(answer.logprobs)) if len(answer.logprobs) else None,
    }


def set_statistics(rows: Sequence[dict]) -> dict:
    """Counts the manifest reports (and the SFT config reads: ``max_sft_tokens`` is its ``data.max_length``)."""
    nll = [r["sampler_nll"] for r in rows if r["sampler_nll"] is not None]
    return {
        "rows": len(rows),
        "finish_reasons": dict(sorted(Counter(r["finish_reason"] for r in rows).items())),
        "token_exact_rows": sum(bool(r["token_exact"]) for r in rows),
        "max_sft_tokens": max((r["sft_tokens"] for r in rows), default=0),
        "mean_response_tokens": float(np.mean([r["response_tokens"] for r in rows])) if rows else 0.0,
        "mean_sampler_nll": float(np.mean(nll)) if nll else None,
    }


def write_set(set_dir: str | Path, rows: Sequence[dict], request: dict, extra: dict) -> dict:
    """Write ``train.parquet`` then ``manifest.json`` (both atomically); returns the manifest."""
    if not rows:
        raise OfflineSetError(f"no rows to write into {set_dir}: every prompt was filtered out or unanswered")
    set_dir = Path(set_dir)
    data_path = set_dir / SET_FILE
    atomic_write(data_path, lambda tmp: pq.write_table(pa.Table.from_pylist(list(rows)), tmp))
    manifest = {
        "format": MANIFEST_FORMAT,
        "request": request,
        "file": SET_FILE,
        "sha256": sha256_file(data_path),
        **set_statistics(rows),
        **extra,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write(set_dir / MANIFEST_FILE, lambda tmp: tmp.write_text(json.dumps(manifest, indent=2) + "\n"))
    return manifest


def _differences(old: dict, new: dict) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


def load_set(set_dir: str | Path, request: dict) -> dict | None:
    """The manifest of a complete set made by ``request`` in ``set_dir``, or None when there is none yet.

    Raises ``OfflineSetError`` when the folder holds a set made by another request or a parquet that no longer
    matches its manifest: silently replacing or reusing either would train on something other than asked.
    """
    set_dir = Path(set_dir)
    manifest_path = set_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError as exc:
        raise OfflineSetError(f"{manifest_path}: not valid JSON ({exc}); delete {set_dir} to regenerate") from None
    # Round-trip the request through JSON so tuples/ints compare as they were stored.
    request = json.loads(json.dumps(request))
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("request") != request:
        changed = _differences(manifest.get("request") or {}, request)
        raise OfflineSetError(
            f"{set_dir} holds a set generated with other settings ({'; '.join(changed) or 'manifest format'}): "
            f"delete {set_dir} to regenerate, or launch with another trainer.default_local_dir"
        )
    data_path = set_dir / manifest["file"]
    if not data_path.is_file() or sha256_file(data_path) != manifest["sha256"]:
        raise OfflineSetError(
            f"{data_path} is missing or does not match the sha256 in {manifest_path}: delete {set_dir} to regenerate"
        )
    return manifest
