"""Session fixtures shared across packages, and the rule that keeps long tests out of the fast suite."""

import pytest

from tests.launch import make_inputs


def pytest_collection_modifyitems(config, items):
    """A test module named ``*_e2e.py`` launches the real stack: it must carry the ``e2e`` marker, or
    ``bash scripts/test.sh unit`` (``-m "not e2e"``) would start Ray and vLLM."""
    unmarked = sorted(
        {
            item.module.__name__
            for item in items
            if item.module.__name__.endswith("_e2e") and item.get_closest_marker("e2e") is None
        }
    )
    if unmarked:
        raise pytest.UsageError(f"e2e test modules without `pytestmark = pytest.mark.e2e`: {unmarked}")


@pytest.fixture(scope="session")
def cpu_inputs(tmp_path_factory):
    """(model folder, validation parquet): the random-init tiny model and a synthetic arithmetic set, built locally
    in seconds, for tests that compose and check CPU launches without running them."""
    tmp = tmp_path_factory.mktemp("cpu_inputs")
    make_inputs(tmp, n_train=8, n_val=4)
    return tmp / "model", tmp / "data" / "val.parquet"


@pytest.fixture(scope="session")
def sept_run(tmp_path_factory):
    """The smoke test's two CPU launches (``python -m smoke.run --cpu``), once per session: launch A (3 steps, τs
    0.5, 0.75, 1.0, checkpoint at step 3) and launch B (the same command with 4 steps, resuming). Returns
    (inputs, launch A, launch B, the results of smoke/checks.py)."""
    from smoke import run as smoke

    inputs = smoke.cpu_inputs(tmp_path_factory.mktemp("sept_e2e"), [])
    first = smoke.run_launch(smoke.CPU, inputs, "a", smoke.STEPS_A)
    assert first.returncode == 0, f"launch A failed:\n{smoke.log_tail(first.log, 40)}"
    resumed = smoke.run_launch(smoke.CPU, inputs, "b", smoke.STEPS_B)
    assert resumed.returncode == 0, f"launch B failed:\n{smoke.log_tail(resumed.log, 40)}"
    return inputs, first, resumed, smoke.run_checks(smoke.CPU, inputs, first, resumed)
