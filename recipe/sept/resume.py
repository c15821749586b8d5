"""Which checkpoint a launch resumes from, checked before verl loads it.

verl 0.9.1's resume (``trainer/ppo/v1/trainer_base.py`` ``_load_checkpoint`` with
``utils/checkpoint/checkpoint_manager.py`` ``find_latest_ckpt_path``) trusts ``latest_checkpointed_iteration.txt``
and fails in three ways a long run cannot afford:

* the tracker names a ``global_step_N`` folder that is gone, or the tracker is missing while checkpoints exist:
  verl starts from the model, silently, and overwrites the run's metrics and checkpoints;
* the tracker is empty or not a number (verl rewrites it in place, so a kill or a full disk during that write
  empties it): ``int('')`` in the trainer, no hint;
* a missing or truncated shard, another world size's shards, ``data.pt`` missing (verl then restarts the data
  order with a warning) or a checkpoint of another model: a failure inside a Ray worker, or a silent restart of
  the epoch.

What verl writes per save, in this order: ``global_step_N/actor/`` (every rank: ``model_``, ``optim_``,
``extra_state_world_size_W_rank_R.pt`` as ``actor.checkpoint.save_contents`` asks; rank 0: ``huggingface/``
config and tokenizer, then ``fsdp_config.json``), the same under ``critic/`` when there is a critic, then
``data.pt`` (the dataloader's state), then the tracker. A save killed half-way therefore leaves the tracker at the
previous step; a folder is complete when every file verl will load is there and whole (``torch.save`` writes a zip
archive whose directory comes last, so a truncated file has none).

``resolve_resume`` picks the folder: under ``resume_mode=auto`` the tracker's step when it is complete, else the
newest complete folder before it, said in a WARNING; under ``resume_mode=resume_path`` the named folder or an error.
A folder of another world size or another model is always an error: no other folder of the run would fit either.
"""

from __future__ import annotations

import json
import logging
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

TRACKER = "latest_checkpointed_iteration.txt"
DATALOADER_STATE = "data.pt"
FSDP_CONFIG = "fsdp_config.json"
HF_CONFIG = Path("huggingface") / "config.json"
_STEP_DIR = re.compile(r"^global_step_(\d+)$")
_SHARD = re.compile(r"^(model|optim|extra_state)_world_size_(\d+)_rank_(\d+)\.pt$")
# checkpoint content -> shard prefix verl's FSDPCheckpointManager loads for it ("hf_model" is never loaded).
_SHARD_PREFIX = {"model": "model", "optimizer": "optim", "extra": "extra_state"}
# config.json fields that decide whether a checkpoint's shards fit the launch's model.
MODEL_FIELDS = (
    "model_type",
    "architectures",
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
)
_WAY_OUT = (
    "set trainer.default_local_dir to a new folder to start from the model, or trainer.resume_mode=disable "
    "(which overwrites this run's checkpoints)"
)


# How a save that ran out of space reads: the OS's words, and torch.save's zip writer on a short write
# ("[enforce fail at inline_container.cc] . unexpected pos 9600 vs 9494", seen under RLIMIT_FSIZE).
OUT_OF_SPACE_SIGNS = ("no space left", "file too large", "disk quota", "unexpected pos")


class ResumeError(RuntimeError):
    """A resume that would go wrong; the message names the file and what to do."""


class CheckpointSaveError(RuntimeError):
    """A checkpoint save that ran out of space; the message names the folder, the free space and the way out."""


def save_failure(error: BaseException, root: Path, step: int) -> CheckpointSaveError | None:
    """The clear error for a save of ``global_step_<step>`` under ``root`` that failed for lack of space, or None
    when ``error`` is something else. verl writes the tracker last, so the previous checkpoint stays the one
    a relaunch resumes (``resolve_auto`` skips the half-written folder)."""
    if not any(sign in str(error).lower() for sign in OUT_OF_SPACE_SIGNS):
        return None
    import shutil

    try:
        free = f"{shutil.disk_usage(root).free / 2**30:.1f} GiB free"
    except OSError:
        free = "free space unknown"
    try:
        previous = f"global_step_{read_tracker(root)}"
    except ResumeError:
        previous = "the newest complete checkpoint"
    return CheckpointSaveError(
        f"saving {root / f'global_step_{step}'} ran out of space ({free} under {root}; or a quota or file-size "
        f"limit): {str(error).strip().splitlines()[-1][:200]}. The folder is half-written and will be skipped; "
        f"free space (or lower actor_rollout_ref.actor.checkpoint.save_contents / trainer.max_actor_ckpt_to_keep) "
        f"and relaunch: it resumes from {previous}"
    )


@dataclass(frozen=True)
class Expected:
    """What this launch will load: the roles (``actor``, ``critic``), the contents, the world size, the model."""

    world_size: int
    load_contents: tuple[str, ...]
    roles: tuple[str, ...] = ("actor",)
    # config.json of actor_rollout_ref.model.path (None: not a local folder, the model check is skipped).
    model_config: dict | None = None


@dataclass(frozen=True)
class Decision:
    """The folder to resume from (None: start from the model) and what was wrong with the others."""

    folder: Path | None
    warnings: tuple[str, ...] = ()


def step_of(folder: Path) -> int:
    match = _STEP_DIR.match(Path(folder).name)
    if match is None:
        raise ResumeError(f"{folder}: not a global_step_N checkpoint folder")
    return int(match[1])


def step_folders(root: Path) -> list[Path]:
    """The ``global_step_N`` folders under ``root``, oldest first."""
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and _STEP_DIR.match(p.name)), key=step_of)


def read_tracker(root: Path) -> int | None:
    """The step in ``root``'s tracker; None when there is no tracker; ResumeError when it is unreadable."""
    path = root / TRACKER
    if not path.is_file():
        return None
    text = path.read_bytes().decode("utf-8", errors="replace").strip()
    if not text.isdigit():
        raise ResumeError(f"{path} holds {text[:40]!r}, not a step number (a save interrupted while writing it)")
    return int(text)


def whole_torch_file(path: Path) -> str | None:
    """None when ``path`` is a complete ``torch.save`` archive, else what is wrong with it."""
    if not path.is_file():
        return f"{path} is missing"
    if path.stat().st_size == 0:
        return f"{path} is empty"
    # The zip directory is written last: a file cut short by a kill or a full disk has none.
    if not zipfile.is_zipfile(path):
        return f"{path} is truncated (no zip directory at its end; torch.save was interrupted)"
    return None


def _model_mismatch(hf_config: Path, expected: dict) -> str | None:
    try:
        saved = json.loads(hf_config.read_text())
    except (OSError, ValueError) as exc:
        return f"{hf_config} is unreadable ({exc})"
    differ = [k for k in MODEL_FIELDS if k in saved and k in expected and saved[k] != expected[k]]
    diffs = [f"{k}={saved[k]!r} (this launch's model: {expected[k]!r})" for k in differ]
    return f"{hf_config} is of another model: {', '.join(diffs)}" if diffs else None


def _role_problems(role_dir: Path, expected: Expected) -> tuple[list[str], list[str]]:
    """(damage, mismatches) of one role's folder: damage may be repaired by an older folder, a mismatch not."""
    if not role_dir.is_dir():
        return [f"{role_dir} is missing"], []
    shards = [_SHARD.match(p.name) for p in role_dir.iterdir()]
    sizes = sorted({int(m[2]) for m in shards if m})
    if sizes and expected.world_size not in sizes:
        return [], [
            f"{role_dir} holds shards of world size {', '.join(map(str, sizes))}, this launch has "
            f"{expected.world_size} (trainer.nnodes x trainer.n_gpus_per_node): relaunch with that world size, or "
            f"merge the shards (python -m verl.model_merger merge --backend fsdp --local_dir {role_dir}) and start "
            "from the merged model"
        ]
    damage = []
    fsdp_config = role_dir / FSDP_CONFIG
    try:
        saved_size = json.loads(fsdp_config.read_text())["world_size"]
    except (OSError, ValueError, KeyError, TypeError):
        damage.append(f"{fsdp_config} is missing or unreadable (rank 0 writes it after its shards)")
        saved_size = expected.world_size
    if saved_size != expected.world_size:
        return [], [f"{fsdp_config} says world size {saved_size}, this launch has {expected.world_size}"]
    for content in expected.load_contents:
        prefix = _SHARD_PREFIX.get(content)
        for rank in range(expected.world_size) if prefix else ():
            problem = whole_torch_file(role_dir / f"{prefix}_world_size_{expected.world_size}_rank_{rank}.pt")
            damage += [problem] if problem else []
    mismatch = None
    if expected.model_config is not None and (role_dir / HF_CONFIG).is_file():
        mismatch = _model_mismatch(role_dir / HF_CONFIG, expected.model_config)
    return damage, [mismatch] if mismatch else []


def check_folder(folder: Path, expected: Expected) -> tuple[list[str], list[str]]:
    """(damage, mismatches) of one ``global_step_N`` folder; both empty means verl can load all of it."""
    damage, mismatches = [], []
    for role in expected.roles:
        role_damage, role_mismatches = _role_problems(folder / role, expected)
        damage += role_damage
        mismatches += role_mismatches
    problem = whole_torch_file(folder / DATALOADER_STATE)
    if problem:
        damage.append(f"{problem} (the dataloader's state; verl would restart the epoch's data order)")
    return damage, mismatches


def _refuse_mismatch(folder: Path, mismatches: list[str]) -> None:
    if mismatches:
        raise ResumeError(f"cannot resume from {folder}: {'; '.join(mismatches)}; or {_WAY_OUT}")


def _newest_complete(candidates: list[Path], expected: Expected, skipped: list[str]) -> Path | None:
    for folder in reversed(candidates):
        damage, mismatches = check_folder(folder, expected)
        _refuse_mismatch(folder, mismatches)
        if not damage:
            return folder
        skipped.append(f"{folder} is incomplete: {'; '.join(damage)}")
    return None


def resolve_auto(root: Path, expected: Expected) -> Decision:
    """``resume_mode=auto``: the tracker's folder if complete, else the newest complete one before it."""
    folders = step_folders(root)
    notes: list[str] = []
    try:
        tracked = read_tracker(root)
    except ResumeError as exc:
        tracked = -1
        notes.append(str(exc))
    if tracked is None and not folders:
        return Decision(None)
    if tracked is None:
        notes.append(f"{root / TRACKER} is missing but checkpoint folders exist")
    elif tracked >= 0 and not (root / f"global_step_{tracked}").is_dir():
        notes.append(f"{root / TRACKER} names step {tracked}, but {root / f'global_step_{tracked}'} does not exist")
    # Folders after the tracker's step are saves the tracker never committed (interrupted half-way).
    limit = tracked if tracked is not None and tracked >= 0 else None
    candidates = [f for f in folders if limit is None or step_of(f) <= limit]
    uncommitted = [f for f in folders if f not in candidates]
    chosen = _newest_complete(candidates, expected, notes)
    if uncommitted:
        notes.append(
            f"ignored {', '.join(f.name for f in uncommitted)}: saved after the tracker's step, never committed"
        )
    if chosen is not None:
        if chosen.name != f"global_step_{tracked}":
            notes.append(f"resuming from the newest complete checkpoint instead: {chosen}")
        return Decision(chosen, tuple(notes))
    if tracked is None:
        # No save ever finished (the tracker is written last): nothing is lost by starting from the model.
        notes.append("no save of this run finished; starting from the model (its folders will be overwritten)")
        return Decision(None, tuple(notes))
    raise ResumeError(
        f"no complete checkpoint under {root} to resume from: {'; '.join(notes)}. Repair or restore the folder "
        f"the tracker names, or {_WAY_OUT}"
    )


def resolve_path(folder: Path, expected: Expected) -> Decision:
    """``resume_mode=resume_path``: the named folder, whole, or an error (never another folder)."""
    step_of(folder)
    if not folder.is_dir():
        raise ResumeError(f"trainer.resume_from_path={folder} does not exist")
    damage, mismatches = check_folder(folder, expected)
    _refuse_mismatch(folder, mismatches)
    if damage:
        raise ResumeError(
            f"trainer.resume_from_path={folder} is incomplete: {'; '.join(damage)}; name another global_step_N "
            f"folder, or resume_mode=auto to take the newest complete one"
        )
    return Decision(folder)


def expected_for(config, use_critic: bool) -> Expected:
    """What this launch will load, from its config (verl loads ``actor.checkpoint.load_contents``)."""
    model_json = Path(os.path.expanduser(str(config.actor_rollout_ref.model.path))) / "config.json"
    model_config = json.loads(model_json.read_text()) if model_json.is_file() else None
    contents = config.actor_rollout_ref.actor.checkpoint.get("load_contents") or ["model", "optimizer", "extra"]
    return Expected(
        world_size=int(config.trainer.nnodes) * int(config.trainer.n_gpus_per_node),
        load_contents=tuple(contents),
        roles=("actor", "critic") if use_critic else ("actor",),
        model_config=model_config,
    )


def _absolute(path: str) -> Path:
    # As verl does: a relative folder is relative to this process's working directory.
    return Path(os.path.abspath(os.path.expanduser(path)))


def resolve_resume(config, use_critic: bool) -> Decision:
    """The checkpoint this launch resumes from (see the module docstring); ResumeError when none is safe."""
    mode = config.trainer.resume_mode
    if mode == "disable":
        return Decision(None)
    expected = expected_for(config, use_critic)
    if mode == "auto":
        return resolve_auto(_absolute(config.trainer.default_local_dir), expected)
    if mode == "resume_path":
        path = config.trainer.get("resume_from_path")
        if not isinstance(path, str) or not path:
            raise ResumeError("trainer.resume_mode=resume_path needs trainer.resume_from_path=<.../global_step_N>")
        return resolve_path(_absolute(path), expected)
    raise ResumeError(f"trainer.resume_mode={mode!r}: use auto, resume_path or disable")


def apply_decision(config, decision: Decision) -> None:
    """Log what was wrong, and point verl's own resume at the chosen folder (``resume_path``), so verl loads
    exactly what was checked; a start from the model leaves the config alone."""
    from omegaconf import open_dict

    for warning in decision.warnings:
        logger.warning("sept resume: %s", warning)
    if decision.folder is None:
        return
    logger.warning("sept resume: resuming from %s (checked: every file verl loads is there and whole)", decision.folder)
    with open_dict(config):
        config.trainer.resume_mode = "resume_path"
        config.trainer.resume_from_path = str(decision.folder)
