"""The SePT run several e2e modules read (the main checks, the checkpoint sweep): launched once per session."""

import pytest

from tests.e2e.launch import launch, make_inputs

PROMPTS_PER_STEP = 8


def sept_overrides(total_steps: int) -> list[str]:
    """tau_s = 0.5, 0.75, 1.0, 1.0, ... (linear over 2 steps), tau_t = 1, one update per step, save at step 3."""
    return [
        "sept.tau_s.start=0.5", "sept.tau_s.end=1.0", "sept.tau_s.duration=2", "sept.tau_s.unit=step",
        f"data.train_batch_size={PROMPTS_PER_STEP}",
        f"actor_rollout_ref.actor.ppo_mini_batch_size={PROMPTS_PER_STEP}",
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4",
        "actor_rollout_ref.actor.checkpoint.save_contents=[model,optimizer,extra,hf_model]",
        f"trainer.total_training_steps={total_steps}",
        "trainer.save_freq=3",
        "trainer.test_freq=100",
    ]


@pytest.fixture(scope="session")
def sept_run(tmp_path_factory):
    """Launch A: 3 steps; launch B: the same command with 4 steps, resuming from A's step-3 checkpoint."""
    tmp = tmp_path_factory.mktemp("sept_e2e")
    make_inputs(tmp)
    first = launch(tmp, "a", sept_overrides(total_steps=3))
    resumed = launch(tmp, "b", sept_overrides(total_steps=4))
    return tmp, first, resumed
