"""Probe of ``tools/fault_injection.py``: records what each training step drew, and holds a phase open for a kill.

Loaded in every process of a launch through ``VERL_USE_EXTERNAL_MODULES`` (as ``smoke/vllm_probe.py``); it does
something only where ``recipe.sept.trainer`` runs (the trainer's Ray actor), and only when ``SEPT_FAULT_DIR`` is
set. It appends JSON lines to ``$SEPT_FAULT_DIR/events.jsonl``:

* ``{"event": "batch", "launch", "step", "index": [...]}`` for every training batch (the prompts' ``extra_info.index``),
  so the injector can check the data order across kills;
* ``{"event": "hold", "launch", "phase", "step", "pid"}`` when the phase ``$SEPT_FAULT_PHASE`` of step
  ``$SEPT_FAULT_STEP`` is reached. The trainer then waits until ``$SEPT_FAULT_DIR/release_<launch>`` exists, so the
  injector's SIGKILL lands inside the phase: ``generation`` (the step's prompts are with vLLM), ``update`` (before
  the actor's update), ``save`` (the actor's shards written, ``data.pt`` and the tracker not yet: a half-written
  save), ``validation`` (the validation pass of that step begins).

Not part of the recipe; never loaded by a normal run.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

FAULT_DIR = os.environ.get("SEPT_FAULT_DIR")
PHASES = ("generation", "update", "save", "validation")


def _record(event: dict) -> None:
    event = {"launch": os.environ.get("SEPT_FAULT_LAUNCH", ""), "pid": os.getpid(), "time": time.time(), **event}
    with open(Path(FAULT_DIR) / "events.jsonl", "a") as handle:
        handle.write(json.dumps(event) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _hold(phase: str, step: int) -> None:
    """Wait inside ``phase`` of ``step`` until the injector releases the launch (after its kill)."""
    if phase != os.environ.get("SEPT_FAULT_PHASE") or str(step) != os.environ.get("SEPT_FAULT_STEP"):
        return
    _record({"event": "hold", "phase": phase, "step": step})
    release = Path(FAULT_DIR) / f"release_{os.environ.get('SEPT_FAULT_LAUNCH', '')}"
    while not release.exists():
        time.sleep(0.05)


def _install() -> None:
    from recipe.sept.trainer import SePTTrainer

    if getattr(SePTTrainer, "__sept_fault_probe__", False):
        return
    next_batch, submit = SePTTrainer._next_train_batch, SePTTrainer._submit_batch_to_rollout
    update, save, validate = SePTTrainer._update_actor, SePTTrainer._save_checkpoint, SePTTrainer._validate

    def _next_train_batch(self, num_prompts=None):
        batch = next_batch(self, num_prompts)
        _record({"event": "batch", "step": self.global_steps, "index": [int(i) for i in batch["index"]]})
        return batch

    def _submit_batch_to_rollout(self, batch):
        submitted = submit(self, batch)
        _hold("generation", self.global_steps)
        return submitted

    def _update_actor(self, batch, metrics):
        _hold("update", self.global_steps)
        return update(self, batch, metrics)

    def _save_checkpoint(self):
        group = self.actor_rollout_wg
        save_shards = group.save_checkpoint

        def save_then_hold(*args, **kwargs):
            result = save_shards(*args, **kwargs)
            _hold("save", self.global_steps)
            return result

        group.save_checkpoint = save_then_hold
        try:
            return save(self)
        finally:
            group.save_checkpoint = save_shards

    def _validate(self):
        _hold("validation", self.global_steps)
        return validate(self)

    SePTTrainer._next_train_batch = _next_train_batch
    SePTTrainer._submit_batch_to_rollout = _submit_batch_to_rollout
    SePTTrainer._update_actor = _update_actor
    SePTTrainer._save_checkpoint = _save_checkpoint
    SePTTrainer._validate = _validate
    SePTTrainer.__sept_fault_probe__ = True


def _install_when_trainer_loads() -> None:
    """Patch the trainer only in the process that builds it: the task runner loads its class through verl's
    ``load_class_from_fqn`` (``recipe/sept/main_sept.py``); importing the trainer at ``import verl`` in every
    process (vLLM's included) would load the whole v1 trainer everywhere."""
    from verl.utils import import_utils

    load = import_utils.load_class_from_fqn

    def load_class_from_fqn(*args, **kwargs):
        _install()
        return load(*args, **kwargs)

    import_utils.load_class_from_fqn = load_class_from_fqn


if FAULT_DIR:
    _install_when_trainer_loads()
