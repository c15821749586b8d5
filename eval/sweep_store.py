"""Evaluation-temperature sweeps inside verl's validation pass, with generations stored for regrading.

verl's ``_validate`` samples every validation prompt at ``val_kwargs.temperature``; the agent-loop workers hold
their own config copy, so the temperature cannot be changed from the trainer process. ``SePTTrainer._validate``
(when ``sept.eval.temperatures`` is set) runs verl's ``_validate`` once per temperature over a tagged view of the
validation dataloader: each batch carries ``tau_s`` (read by ``SePTAgentLoop``) and ``__rollout_n__`` (read by
verl's agent-loop worker: n samples, 1 when greedy). What verl's validation already captures per sample
(response text, uid, grader verdict) is collected through its two logging hooks and written as one
``eval/store.py`` file per benchmark, so ``python -m eval.regrade`` and the reports never sample again.
A temperature whose files are all stored already is skipped (an interrupted sweep resumes).

Departure: verl returns response text only (special tokens dropped); stored token lengths are re-tokenised counts
and ``finish_reason`` is ``length`` when that count reaches ``data.max_response_length``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from eval.store import Record, RunKey, is_complete, write_generations

REROLLOUT_FIELD = "__rollout_n__"


@dataclass
class SweepCapture:
    """Per-sample data of one validation pass, gathered from verl's hooks, and the prompts it iterated."""

    batches: list[dict] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    uids: list[str] = field(default_factory=list)
    accs: list = field(default_factory=list)


def tagged_batches(loader, tau: float, n: int, capture: SweepCapture, tau_field: str):
    """Yield the loader's batches with the sweep's temperature and sample count attached to every prompt.

    ``_validate`` adds a ``uid`` to each yielded dict; ``collect_prompts`` reads it back afterwards.
    """
    for batch in loader:
        size = len(batch["raw_prompt"])
        batch[tau_field] = np.full(size, float(tau), dtype=np.float64)
        batch[REROLLOUT_FIELD] = np.full(size, int(n), dtype=np.int64)
        capture.batches.append(batch)
        yield batch


def collect_prompts(capture: SweepCapture) -> dict[str, dict]:
    """uid -> {data_source, index, prompt, ground_truth} for every prompt the pass iterated."""
    by_uid, positions = {}, defaultdict(int)
    for batch in capture.batches:
        for i, uid in enumerate(batch["uid"]):
            source = str(batch["data_source"][i])
            extra = batch["extra_info"][i] if "extra_info" in batch else None
            index = extra.get("index") if isinstance(extra, dict) else None
            # Without a prepared extra_info.index, the order in the (unshuffled) validation files is the index.
            by_uid[str(uid)] = {
                "data_source": source,
                "index": int(index) if index is not None else positions[source],
                "prompt": str(batch["raw_prompt"][i][-1]["content"]),
                "ground_truth": str(batch["reward_model"][i]["ground_truth"]),
            }
            positions[source] += 1
    return by_uid


def build_records(capture: SweepCapture, n: int, count_tokens, max_response_length: int) -> dict[str, list[Record]]:
    """Group the pass's samples into one Record per prompt, per benchmark (data_source)."""
    prompts = collect_prompts(capture)
    grouped: dict[str, list[str]] = defaultdict(list)
    for uid, text in zip(capture.uids, capture.outputs, strict=True):
        grouped[str(uid)].append(text)
    records: dict[str, list[Record]] = defaultdict(list)
    for uid, info in prompts.items():
        responses = grouped.get(uid, [])
        if len(responses) != n:
            raise RuntimeError(
                f"validation returned {len(responses)} samples for {info['data_source']} prompt {info['index']}, "
                f"expected {n}: a rollout failed (see the agent-loop worker's log)"
            )
        lengths = [count_tokens(text) for text in responses]
        reasons = ["length" if length >= max_response_length else "stop" for length in lengths]
        records[info["data_source"]].append(Record(responses=responses, lengths=lengths, finish_reasons=reasons, **info))
    return records


def run_keys(root_names: dict, tau: float, n: int, seed: int, benchmarks) -> list[RunKey]:
    """The stored-file keys of one temperature (one per benchmark)."""
    return [RunKey(tau=float(tau), n=n, seed=seed, benchmark=b, **root_names) for b in sorted(benchmarks)]


def all_stored(root, keys: list[RunKey]) -> bool:
    return bool(keys) and all(is_complete(root, key) for key in keys)


def store(root, root_names: dict, tau: float, n: int, seed: int, records: dict[str, list[Record]]) -> None:
    for key in run_keys(root_names, tau, n, seed, records):
        write_generations(root, key, records[key.benchmark])
