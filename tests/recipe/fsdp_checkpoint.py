"""Writes real verl checkpoints for the resume tests: ``python -m tests.recipe.fsdp_checkpoint ROOT MODEL STEPS [LIMIT]``.

Each ``ROOT/global_step_K`` is what verl 0.9.1's v1 trainer leaves after a save on one rank: ``actor/`` from verl's
own ``FSDPCheckpointManager`` (an FSDP2-wrapped tiny Qwen2 at MODEL, its AdamW and LR scheduler), ``data.pt``
from a ``StatefulDataLoader`` with verl's sampler, then ``latest_checkpointed_iteration.txt``, in verl's order
(``trainer_base.py`` ``_save_checkpoint``). A subprocess: it initialises a one-process gloo group. With LIMIT, the
last step's save runs under a file-size limit of LIMIT bytes (a full disk): torch.save fails there, as in verl's
worker, and the process exits with that error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(root: Path, model_dir: Path, steps: int, limit: int | None = None) -> None:
    import resource

    import torch
    import transformers
    from omegaconf import OmegaConf
    from torch.distributed.fsdp import fully_shard
    from torchdata.stateful_dataloader import StatefulDataLoader
    from verl.trainer.ppo.utils import create_rl_sampler
    from verl.utils.checkpoint.fsdp_checkpoint_manager import FSDPCheckpointManager

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=os.environ.get("MASTER_PORT", "29533"))
    torch.distributed.init_process_group("gloo", rank=0, world_size=1)
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir)
    fully_shard(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    contents = OmegaConf.create({"save_contents": ["model", "optimizer", "extra"]})
    manager = FSDPCheckpointManager(
        model=model,
        optimizer=optimizer,
        lr_scheduler=scheduler,
        processing_class=transformers.AutoTokenizer.from_pretrained(model_dir),
        checkpoint_config=contents,
    )
    data = list(range(16))
    loader = StatefulDataLoader(
        data, batch_size=4, sampler=create_rl_sampler(OmegaConf.create({"shuffle": True}), data)
    )
    batches = iter(loader)
    for step in range(1, steps + 1):
        model(torch.tensor([[1, 2, 3]]), labels=torch.tensor([[1, 2, 3]])).loss.backward()
        optimizer.step()
        scheduler.step()
        next(batches)
        folder = root / f"global_step_{step}"
        if limit is not None and step == steps:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        manager.save_checkpoint(str(folder / "actor"), global_step=step)
        torch.save(loader.state_dict(), folder / "data.pt")
        (root / "latest_checkpointed_iteration.txt").write_text(str(step))
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else None)
