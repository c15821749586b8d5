"""Session fixtures shared across packages, and the rule that keeps long tests out of the fast suite."""

import pytest

from tests.launch import launch, make_inputs


def pytest_collection_modifyitems(config, items):
    """A test module named ``*_e2e.py`` launches the real stack: it must carry the ``e2e`` marker, or
    ``bash scripts/test.sh unit`` (``-m "not e2e"``) would start Ray and vLLM."""
    unmarked = sorted({item.module.__name__ for item in items
                       if item.module.__name__.endswith("_e2e") and item.get_closest_marker("e2e") is None})
    if unmarked:
        raise pytest.UsageError(f"e2e test modules without `pytestmark = pytest.mark.e2e`: {unmarked}")


@pytest.fixture(scope="session")
def cpu_inputs(tmp_path_factory):
    """(model folder, validation parquet): the random-init tiny model and a synthetic arithmetic set, built locally
    in seconds, for tests that compose and check CPU launches without running them."""
    tmp = tmp_path_factory.mktemp("cpu_inputs")
    make_inputs(tmp, n_train=8, n_val=4)
    return tmp / "model", tmp / "data" / "val.parquet"

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
