"""verl #7401 does not affect the online trainer: verl 0.9.1's v1 PPO trainer draws its batches through
``_fetch_one_gen_batch``, which starts a new epoch on ``StopIteration`` instead of looping over epochs, and its
``fit`` bounds the run by ``total_training_steps``. Resumed from the dataloader state verl saves (``data.pt``) after
any step, the last step of an epoch included, the batches that follow are the uninterrupted run's, epoch after
epoch. (The SFT trainer of offline SePT has the bug: tests/offline/test_sft_epoch_boundary.py.) A launch that
resumes at an epoch boundary: ``python -m tools.fault_injection``, first fault."""

from __future__ import annotations

import types

import pytest
import torch
from omegaconf import OmegaConf
from torchdata.stateful_dataloader import StatefulDataLoader
from verl.trainer.ppo.utils import create_rl_sampler
from verl.trainer.ppo.v1.trainer_base import PPOTrainer
from verl.utils.dataset.rl_dataset import collate_fn

ROWS, BATCH, EPOCHS = 16, 8, 3
STEPS = ROWS // BATCH * EPOCHS


class Prompts(torch.utils.data.Dataset):
    """Rows shaped as verl's RLHFDataset gives them to the collator (``index`` is ``extra_info.index``)."""

    def __len__(self):
        return ROWS

    def __getitem__(self, i):
        return {"index": i, "raw_prompt": [{"role": "user", "content": f"{i} + 1"}], "input_ids": torch.tensor([i])}


def trainer():
    """The attributes ``_fetch_one_gen_batch`` reads, built as verl's ``_init_dataloader`` builds them (data.shuffle
    on, data.seed unset: verl's defaults)."""
    config = OmegaConf.create({"shuffle": True, "seed": None})
    loader = StatefulDataLoader(
        dataset=Prompts(),
        batch_size=BATCH,
        num_workers=0,
        drop_last=True,
        collate_fn=collate_fn,
        sampler=create_rl_sampler(config, Prompts()),
    )
    return types.SimpleNamespace(train_dataloader=loader, train_dataloader_it=None)


def draw(state) -> list[int]:
    return [int(i) for i in PPOTrainer._fetch_one_gen_batch(state)["index"]]


@pytest.mark.parametrize("saved_at", range(1, STEPS))
def test_resume_after_any_step_continues_the_uninterrupted_order(saved_at):
    reference = trainer()
    order = [draw(reference) for _ in range(STEPS)]
    # Every epoch draws every prompt once.
    for epoch in range(EPOCHS):
        assert sorted(sum(order[epoch * 2 : epoch * 2 + 2], [])) == list(range(ROWS))
    first = trainer()
    before = [draw(first) for _ in range(saved_at)]
    second = trainer()
    # verl's _save_checkpoint / _load_checkpoint: torch.save(state_dict()) then load_state_dict(torch.load(...)).
    second.train_dataloader.load_state_dict(first.train_dataloader.state_dict())
    after = [draw(second) for _ in range(STEPS - saved_at)]
    assert before + after == order
