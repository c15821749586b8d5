"""Resume checks (recipe/sept/resume.py) on real verl checkpoints: written by verl's own FSDPCheckpointManager
(tests/recipe/fsdp_checkpoint.py), then damaged the way kills and full disks damage them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recipe.sept.resume import (
    TRACKER,
    Expected,
    ResumeError,
    apply_decision,
    resolve_auto,
    resolve_path,
    resolve_resume,
    save_failure,
    whole_torch_file,
)
from tests.helpers import REPO, compose_preset

SHARD = Path("actor") / "model_world_size_1_rank_0.pt"


def write_checkpoints(root: Path, model: Path, steps: int, limit: int | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, MASTER_PORT=str(29500 + os.getpid() % 400))
    cmd = [sys.executable, "-m", "tests.recipe.fsdp_checkpoint", str(root), str(model), str(steps)]
    return subprocess.run(
        [*cmd, *([str(limit)] if limit is not None else [])],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """(model folder, checkpoint root with global_step_1 and global_step_2, tracker at 2)."""
    from lab.tiny_model import write_tiny_model

    tmp = tmp_path_factory.mktemp("resume")
    write_tiny_model(tmp / "model", seed=0)
    proc = write_checkpoints(tmp / "ckpt", tmp / "model", 2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp / "model", tmp / "ckpt"


@pytest.fixture
def run(template, tmp_path):
    """A fresh copy of the template checkpoint root, and what a one-rank launch of the same model expects."""
    model, root = template
    copy = tmp_path / "checkpoints"
    shutil.copytree(root, copy)
    expected = Expected(
        1, ("model", "optimizer", "extra"), model_config=json.loads((model / "config.json").read_text())
    )
    return copy, expected


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_complete_checkpoint_is_taken_without_warning(run):
    root, expected = run
    decision = resolve_auto(root, expected)
    assert decision.folder == root / "global_step_2" and decision.warnings == ()


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.999])
def test_truncated_torch_files_are_detected(run, keep):
    root, _ = run
    shard = root / "global_step_2" / SHARD
    assert whole_torch_file(shard) is None
    truncate(shard, keep)
    assert str(shard) in whole_torch_file(shard)


def test_truncated_shard_falls_back_to_the_previous_checkpoint_and_says_so(run):
    root, expected = run
    truncate(root / "global_step_2" / SHARD)
    decision = resolve_auto(root, expected)
    assert decision.folder == root / "global_step_1"
    text = " ".join(decision.warnings)
    assert str(root / "global_step_2" / SHARD) in text and "truncated" in text


def test_missing_dataloader_state_is_not_a_complete_checkpoint(run):
    # verl would load the weights and restart the epoch's data order with only a warning.
    root, expected = run
    (root / "global_step_2" / "data.pt").unlink()
    decision = resolve_auto(root, expected)
    assert decision.folder == root / "global_step_1"
    assert "data.pt is missing" in " ".join(decision.warnings)


@pytest.mark.parametrize("content", ["", "2\x00\x00", "global_step_2"])
def test_unreadable_tracker_falls_back_to_the_newest_complete_checkpoint(run, content):
    root, expected = run
    (root / TRACKER).write_text(content)
    decision = resolve_auto(root, expected)
    assert decision.folder == root / "global_step_2"
    assert f"{root / TRACKER} holds" in " ".join(decision.warnings)


def test_tracker_naming_a_missing_folder_is_not_a_silent_fresh_start(run):
    from verl.utils.checkpoint.checkpoint_manager import find_latest_ckpt_path

    root, expected = run
    (root / TRACKER).write_text("7")
    # verl alone would start from the model here.
    assert find_latest_ckpt_path(str(root)) is None
    decision = resolve_auto(root, expected)
    assert decision.folder == root / "global_step_2"
    assert "global_step_7 does not exist" in " ".join(decision.warnings)


def test_missing_tracker_with_checkpoints_resumes_the_newest_complete(run):
    root, expected = run
    (root / TRACKER).unlink()
    decision = resolve_auto(root, expected)
    assert decision.folder == root / "global_step_2"
    assert "missing but checkpoint folders exist" in " ".join(decision.warnings)


def test_half_written_save_after_the_tracker_is_never_taken(run):
    # A save killed after the actor's shards, before data.pt and the tracker (verl's order).
    root, expected = run
    shutil.copytree(root / "global_step_2" / "actor", root / "global_step_3" / "actor")
    decision = resolve_auto(root, expected)
    assert decision.folder == root / "global_step_2"
    assert "ignored global_step_3" in " ".join(decision.warnings)


def test_interrupted_first_save_starts_from_the_model_and_says_so(run):
    root, expected = run
    (root / TRACKER).unlink()
    shutil.rmtree(root / "global_step_2")
    (root / "global_step_1" / "data.pt").unlink()
    decision = resolve_auto(root, expected)
    assert decision.folder is None
    assert "no save of this run finished" in " ".join(decision.warnings)


def test_no_complete_checkpoint_behind_the_tracker_is_an_error(run):
    root, expected = run
    for step in (1, 2):
        truncate(root / f"global_step_{step}" / "actor" / "optim_world_size_1_rank_0.pt")
    with pytest.raises(ResumeError, match="no complete checkpoint") as info:
        resolve_auto(root, expected)
    assert "optim_world_size_1_rank_0.pt is truncated" in str(info.value)
    assert "trainer.default_local_dir" in str(info.value)


def test_rotated_checkpoint_without_actor_is_skipped(run):
    # verl's max_actor_ckpt_to_keep removes old actor/ folders and leaves their data.pt.
    root, expected = run
    shutil.rmtree(root / "global_step_2" / "actor")
    decision = resolve_auto(root, expected)
    assert decision.folder == root / "global_step_1"
    assert f"{root / 'global_step_2' / 'actor'} is missing" in " ".join(decision.warnings)


def test_other_world_size_is_an_error_naming_both(run):
    root, expected = run
    with pytest.raises(ResumeError, match="world size 1, this launch has 2") as info:
        resolve_auto(root, Expected(2, expected.load_contents, model_config=expected.model_config))
    assert "verl.model_merger" in str(info.value)


def test_other_model_is_an_error_naming_the_field(run):
    root, expected = run
    other = dict(expected.model_config, hidden_size=expected.model_config["hidden_size"] * 2)
    with pytest.raises(ResumeError, match="hidden_size") as info:
        resolve_auto(root, Expected(1, expected.load_contents, model_config=other))
    assert str(root / "global_step_2" / "actor" / "huggingface" / "config.json") in str(info.value)


def test_resume_path_is_never_replaced_by_another_folder(run):
    root, expected = run
    assert resolve_path(root / "global_step_2", expected).folder == root / "global_step_2"
    truncate(root / "global_step_2" / "data.pt")
    with pytest.raises(ResumeError, match="resume_from_path=.*global_step_2 is incomplete"):
        resolve_path(root / "global_step_2", expected)


def test_the_trainer_config_points_verl_at_the_checked_folder(run, template):
    root, _ = run
    model, _ = template
    truncate(root / "global_step_2" / "data.pt")
    config = compose_preset("sept_cpu", [f"trainer.default_local_dir={root}", f"actor_rollout_ref.model.path={model}"])
    apply_decision(config, resolve_resume(config, use_critic=False))
    assert config.trainer.resume_mode == "resume_path"
    assert config.trainer.resume_from_path == str(root / "global_step_1")


def test_disable_and_empty_folders_leave_verl_alone(tmp_path, template):
    model, _ = template
    config = compose_preset(
        "sept_cpu", [f"trainer.default_local_dir={tmp_path / 'none'}", f"actor_rollout_ref.model.path={model}"]
    )
    apply_decision(config, resolve_resume(config, use_critic=False))
    assert config.trainer.resume_mode == "auto"


def test_full_disk_during_a_save_resumes_the_checkpoint_before(run, template, tmp_path):
    # verl's save of step 2 under a file-size limit below the model shard: torch.save fails in the worker.
    model, _ = template
    _, expected = run
    root = tmp_path / "full"
    proc = write_checkpoints(root, model, 2, limit=100_000)
    assert proc.returncode == 1
    # What a user sees: torch's zip writer on the short write. The trainer turns it into a clear error.
    error = save_failure(RuntimeError(proc.stderr), root, 2)
    assert error is not None and "unexpected pos" in proc.stderr
    assert f"saving {root / 'global_step_2'} ran out of space" in str(error)
    assert "resumes from global_step_1" in str(error)
    assert (root / TRACKER).read_text() == "1"
    decision = resolve_auto(root, expected)
    assert decision.folder == root / "global_step_1"
    assert "ignored global_step_2" in " ".join(decision.warnings)
    assert whole_torch_file(root / "global_step_2" / SHARD) is not None


def test_other_save_failures_are_left_as_they_are(tmp_path):
    assert save_failure(RuntimeError("CUDA error: an illegal memory access"), tmp_path, 3) is None
