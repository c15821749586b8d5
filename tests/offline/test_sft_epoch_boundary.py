"""verl #7401 in verl 0.9.1's SFT trainer (offline SePT's stage 2) and its fix (offline/sft_trainer.py), on verl's
own pieces: the ``DistributedSampler`` + ``StatefulDataLoader`` pair its SFT trainer builds, the dataloader state
its ``CheckpointHandler`` saves and restores, and its epoch loop (``for epoch in range(start_epoch, ...)``,
``set_epoch``, iterate). The PPO trainer SePT runs online draws batches differently and has no such bug
(tests/recipe/test_epoch_boundary.py)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DistributedSampler
from torchdata.stateful_dataloader import StatefulDataLoader
from verl.utils.checkpoint import CheckpointHandler

from offline.sft_trainer import EpochBoundaryCheckpointHandler

ROWS, BATCH, EPOCHS = 8, 2, 3
STEPS_PER_EPOCH = ROWS // BATCH


def loader() -> StatefulDataLoader:
    """As verl's ``SFTTrainer._build_dataloader`` on one data-parallel rank."""
    data = list(range(ROWS))
    sampler = DistributedSampler(data, shuffle=True, num_replicas=1, rank=0, drop_last=True)
    return StatefulDataLoader(data, batch_size=BATCH, sampler=sampler, drop_last=True)


def fit(dataloader: StatefulDataLoader, global_step: int) -> list[list[int]]:
    """The batches verl's ``SFTTrainer.fit`` trains on from ``global_step`` to the end of its epochs."""
    batches = []
    for epoch in range(global_step // STEPS_PER_EPOCH, EPOCHS):
        dataloader.sampler.set_epoch(epoch)
        batches += [batch.tolist() for batch in dataloader]
    return batches


def resumed(handler_class, saved_at: int, tmp_path) -> list[list[int]]:
    """Run to ``saved_at``, save as verl's handler does (``data_<dp_rank>.pt``), then resume in a new process's
    loader through ``handler_class._load_dataloader_state`` and fit to the end."""
    first = loader()
    done = 0
    for epoch in range(EPOCHS):
        first.sampler.set_epoch(epoch)
        for _ in first:
            done += 1
            if done == saved_at:
                break
        if done == saved_at:
            break
    folder = tmp_path / f"global_step_{saved_at}"
    folder.mkdir()
    torch.save(first.state_dict(), folder / "data_0.pt")
    handler = handler_class.__new__(handler_class)
    second = loader()
    handler.train_dataloader, handler.rank, handler.dp_rank = second, 0, 0
    handler.resume_global_step, handler.steps_per_epoch = saved_at, STEPS_PER_EPOCH
    handler._load_dataloader_state(str(folder))
    return fit(second, saved_at)


def test_verls_sft_trainer_skips_the_epoch_after_a_boundary_checkpoint(tmp_path):
    # The bug in verl 0.9.1 (fixed upstream only for the PPO trainer): the second epoch yields no batch.
    reference = fit(loader(), 0)
    got = resumed(CheckpointHandler, STEPS_PER_EPOCH, tmp_path)
    assert len(got) == len(reference) - 2 * STEPS_PER_EPOCH
    assert got == reference[2 * STEPS_PER_EPOCH :]


@pytest.mark.parametrize(
    "saved_at", [1, STEPS_PER_EPOCH - 1, STEPS_PER_EPOCH, STEPS_PER_EPOCH + 2, 2 * STEPS_PER_EPOCH]
)
def test_the_fixed_handler_resumes_every_step_as_the_uninterrupted_run(tmp_path, saved_at):
    reference = fit(loader(), 0)
    assert resumed(EpochBoundaryCheckpointHandler, saved_at, tmp_path) == reference[saved_at:]
