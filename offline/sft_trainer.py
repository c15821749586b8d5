"""verl's SFT trainer with verl #7401 fixed: ``torchrun -m offline.sft_trainer --config-path D --config-name N``.

verl 0.9.1's ``verl.trainer.sft_trainer`` skips an epoch when it resumes from a checkpoint saved at the last step
of an epoch: the saved ``StatefulDataLoader`` state marks the epoch as finished, the loop already starts the next
epoch (``start_epoch = global_step // steps_per_epoch``), and the restored iterator fast-forwards that epoch by its
whole length, so it yields nothing. The run exits 0 with the updates of one epoch missing. verl fixed the same
bug in its PPO trainer (PR #5725) by not restoring the dataloader state at an epoch boundary; the fix for the SFT
trainer (PR #7974) is not in 0.9.1. This entry point applies that fix through the trainer's own seam
(``_build_ckpt_handler``): at an epoch boundary the saved state holds no position, and ``DistributedSampler``'s
order for an epoch depends only on its seed and the epoch, so the next epoch runs in full, in the order the
uninterrupted run would have used. Everything else is verl's trainer, unchanged.
"""

from __future__ import annotations

import logging

import hydra
from verl.trainer.sft_trainer import SFTTrainer
from verl.utils.checkpoint import CheckpointHandler

logger = logging.getLogger(__name__)


class EpochBoundaryCheckpointHandler(CheckpointHandler):
    """verl's checkpoint handler, not restoring the dataloader state saved at the last step of an epoch."""

    steps_per_epoch: int

    def _load_dataloader_state(self, checkpoint_path: str):
        if self.resume_global_step % self.steps_per_epoch == 0:
            logger.warning(
                "offline: %s was saved at the end of epoch %d: the next epoch starts from its beginning "
                "(the saved dataloader state is not restored; verl #7401)",
                checkpoint_path,
                self.resume_global_step // self.steps_per_epoch,
            )
            return
        super()._load_dataloader_state(checkpoint_path)


class EpochBoundarySFTTrainer(SFTTrainer):
    """verl's SFT trainer with the epoch-boundary resume fixed (see the module docstring)."""

    def _build_ckpt_handler(self):
        super()._build_ckpt_handler()
        # verl's handler, built with verl's arguments, given the one overridden method (no copy of the builder).
        self.ckpt_handler.__class__ = EpochBoundaryCheckpointHandler
        self.ckpt_handler.steps_per_epoch = self.steps_per_epoch


def run_sft(config) -> None:
    """verl's ``run_sft`` with the trainer above."""
    from verl.utils.distributed import destroy_global_process_group, initialize_global_process_group

    initialize_global_process_group()
    trainer = EpochBoundarySFTTrainer(config=config)
    trainer.fit()
    destroy_global_process_group()


@hydra.main(config_path=None, config_name=None, version_base=None)
def main(config) -> None:
    from verl.utils.device import auto_set_device

    auto_set_device(config)
    run_sft(config)


if __name__ == "__main__":
    main()
