"""Evaluation sweeps inside verl's validation pass, with every generation stored for regrading.

``SweepTrainer`` is the SePT trainer whose validation passes run verl's ``_validate`` once per sweep temperature
(``sweep.temperatures``, plus ``sweep.extra_before_training`` in the pass before training), each over a tagged view
of the validation dataloader: every batch carries ``tau_s`` (read by ``SePTAgentLoop``) and verl's own per-prompt
sample count ``__rollout_n__`` (``verl/trainer/ppo/v1/agent_loop_tq.py``: n samples, ``greedy_n`` when greedy).
What verl's validation captures per sample (response text, uid, grader verdict) is collected through its two
logging hooks and written as one ``eval/store.py`` file per benchmark, so ``python -m eval.regrade`` and the reports
never sample again. A temperature whose files are all stored is skipped (an interrupted sweep resumes).

Launch with ``python -m sweep.main_sweep`` (``sweep/main_sweep.py``), usually through ``python -m sweep``.

Departure: verl returns response text only (special tokens dropped); stored token lengths are re-tokenised counts
and ``finish_reason`` is ``length`` when that count reaches ``data.max_response_length``.
"""

from __future__ import annotations

import logging
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from omegaconf import MISSING, DictConfig
from omegaconf.errors import OmegaConfBaseException
from verl.base_config import BaseConfig
from verl.utils.config import omega_conf_to_dataclass

from eval.store import Record, all_stored, run_keys, write_generations
from recipe.sept.agent_loop import TAU_S_FIELD
from recipe.sept.trainer import SePTTrainer

logger = logging.getLogger(__name__)
logger.setLevel(os.getenv("VERL_LOGGING_LEVEL", "INFO"))

# verl's per-prompt sample count in a validation batch (trainer_base._validate, agent_loop_tq).
ROLLOUT_N_FIELD = "__rollout_n__"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


class SweepConfigError(ValueError):
    """A ``sweep`` value that cannot work; the message names the key and what to do."""


@dataclass
class SweepConfig(BaseConfig):
    """``sweep`` (values and meaning: configs/sweep/default.yaml)."""

    temperatures: list[float] = MISSING
    extra_before_training: list[float] = MISSING
    n: int = MISSING
    greedy_n: int = MISSING
    generations_dir: str = MISSING
    model_name: str = MISSING
    checkpoint_name: str | None = MISSING
    style: str = MISSING

    def __post_init__(self) -> None:
        for key in ("temperatures", "extra_before_training"):
            temps = list(getattr(self, key))
            if any(not t >= 0 for t in temps) or len(set(temps)) != len(temps):
                raise SweepConfigError(f"sweep.{key} = {temps}: distinct temperatures >= 0 (0 = greedy)")
        if not self.temperatures and not self.extra_before_training:
            raise SweepConfigError("sweep.temperatures = []: a sweep needs at least one temperature")
        for key in ("n", "greedy_n"):
            if not getattr(self, key) >= 1:
                raise SweepConfigError(f"sweep.{key} = {getattr(self, key)}: samples per prompt, an integer >= 1")
        for key in ("model_name", "style", "checkpoint_name"):
            value = getattr(self, key)
            if not (value is None and key == "checkpoint_name") and not _NAME.fullmatch(str(value)):
                raise SweepConfigError(f"sweep.{key} = {value!r}: a folder name, letters, digits and . _ + - (no '/')")
        if not str(self.generations_dir).strip():
            raise SweepConfigError("sweep.generations_dir is empty: the folder the generations are stored in")

    def temperatures_at(self, global_steps: int) -> list[float]:
        """The temperatures of the validation pass after ``global_steps`` training steps (0: before training)."""
        extra = self.extra_before_training if global_steps == 0 else []
        return list(dict.fromkeys([*extra, *self.temperatures]))


def parse_sweep_config(config: DictConfig) -> SweepConfig:
    """The typed ``config.sweep``; unknown keys and bad values raise ``SweepConfigError`` naming the key."""
    if "sweep" not in config:
        raise SweepConfigError(
            "config has no `sweep` section: add +sweep=default to the command line (python -m "
            "sweep does), or use a preset that lists `sweep: default` in its defaults"
        )
    try:
        return omega_conf_to_dataclass(config.sweep, SweepConfig)
    except OmegaConfBaseException as exc:
        raise SweepConfigError(f"sweep.{exc.full_key}: {str(exc).splitlines()[0]}") from None


@dataclass
class Capture:
    """Per-sample data of one validation pass, gathered from verl's hooks, and the prompts it iterated."""

    batches: list[dict] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    uids: list[str] = field(default_factory=list)
    accs: list = field(default_factory=list)


def tagged_batches(loader, tau: float, n: int, capture: Capture):
    """Yield the loader's batches with the sweep's temperature and sample count attached to every prompt.

    ``_validate`` adds a ``uid`` to each yielded dict; ``collect_prompts`` reads it back afterwards.
    """
    for batch in loader:
        size = len(batch["raw_prompt"])
        batch[TAU_S_FIELD] = np.full(size, float(tau), dtype=np.float64)
        batch[ROLLOUT_N_FIELD] = np.full(size, int(n), dtype=np.int64)
        capture.batches.append(batch)
        yield batch


def collect_prompts(capture: Capture) -> dict[str, dict]:
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


def build_records(capture: Capture, n: int, count_tokens, max_response_length: int) -> dict[str, list[Record]]:
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
        records[info["data_source"]].append(
            Record(responses=responses, lengths=lengths, finish_reasons=reasons, **info)
        )
    return records


class SweepTrainer(SePTTrainer):
    """The SePT trainer whose every validation pass is a stored temperature sweep (see the module docstring)."""

    def __init__(self, config):
        super().__init__(config)
        self.sweep = parse_sweep_config(config)
        # Set only while one sweep temperature's validation pass runs.
        self._capture: Capture | None = None

    def _val_metrics_update(self, data_sources, sample_uids, reward_extra_infos_dict, sample_turns, **kwargs):
        """The recipe's validation metrics; the pass's uids and verdicts are kept for the stored records."""
        metrics = super()._val_metrics_update(
            data_sources, sample_uids, reward_extra_infos_dict, sample_turns, **kwargs
        )
        if self._capture is not None:
            accs = reward_extra_infos_dict.get("acc") or [score > 0 for score in reward_extra_infos_dict["reward"]]
            self._capture.uids, self._capture.accs = list(sample_uids), list(accs)
        return metrics

    def _maybe_log_val_generations(self, inputs, outputs, scores):
        """verl's sample table; the response texts are kept for the stored records."""
        if self._capture is not None:
            self._capture.outputs = list(outputs)
        super()._maybe_log_val_generations(inputs, outputs, scores)

    def _validate(self) -> dict:
        """verl's validation once per temperature of this pass, each stored; stored temperatures are skipped."""
        sweep = self.sweep
        step_name = "base" if self.global_steps == 0 else f"step{self.global_steps}"
        names = {"model": sweep.model_name, "style": sweep.style, "checkpoint": sweep.checkpoint_name or step_name}
        seed = int(self.config.actor_rollout_ref.rollout.seed)
        benchmarks = sorted(set(map(str, self.val_dataset.dataframe["data_source"])))
        metrics = {"val-sweep/reused_temperatures": 0}
        for tau in sweep.temperatures_at(self.global_steps):
            n = sweep.greedy_n if tau == 0 else sweep.n
            if all_stored(sweep.generations_dir, run_keys(names, tau, n, seed, benchmarks)):
                logger.warning("sweep: tau=%g already stored under %s; skipped", tau, sweep.generations_dir)
                metrics["val-sweep/reused_temperatures"] += 1
                continue
            tau_metrics, records = self._validate_at(tau, n)
            for key in run_keys(names, tau, n, seed, records):
                write_generations(sweep.generations_dir, key, records[key.benchmark])
            metrics.update({f"val-sweep/tau{tau:g}/{k}": v for k, v in tau_metrics.items()})
        return metrics

    def _validate_at(self, tau: float, n: int):
        """One verl validation pass at temperature ``tau`` with ``n`` samples per prompt; returns its metrics
        and the samples as ``eval.store`` records per benchmark."""
        loader, self._capture = self.val_dataloader, Capture()
        try:
            self.val_dataloader = tagged_batches(loader, tau, n, self._capture)
            tau_metrics = super()._validate()
            records = build_records(
                self._capture,
                n,
                lambda text: len(self.tokenizer.encode(text, add_special_tokens=False)),
                self.config.data.max_response_length,
            )
        finally:
            self.val_dataloader, self._capture = loader, None
        return tau_metrics, records
