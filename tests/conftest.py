"""Session fixtures shared across packages, and the rule that keeps long tests out of the fast suite."""

import pytest

from tests.launch import BackgroundBaseBuild, make_inputs


def _mkl_reproducible_from_the_start() -> None:
    """MKL fixes its summation mode at its first call in a process; make that call here, in strict mode, so base
    models built inside this process (tests/lab/test_tiny_base.py) do not depend on the thread count on any CPU
    (``lab.tiny_base.mkl_reproducible``; the variable is gone again before any launch)."""
    import torch

    from lab.tiny_base import mkl_reproducible

    with mkl_reproducible():
        torch.ones(64, 64) @ torch.ones(64, 64)


_mkl_reproducible_from_the_start()

TINY_BASE = "tiny_base"  # marker: the test needs the demo's arithmetic base model (the tiny_base_model fixture)


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
    # Fast tests first, then the launches, and last those needing the base model, which builds in the background
    # from the session's start (tiny_base_build): the build's one thread overlaps the fast tests, not a launch.
    items.sort(
        key=lambda item: (item.get_closest_marker("e2e") is not None, item.get_closest_marker(TINY_BASE) is not None)
    )


@pytest.fixture(scope="session", autouse=True)
def tiny_base_build(request, tmp_path_factory):
    """The base-model build, started before the session's first test when any selected test needs it; else None."""
    if not any(item.get_closest_marker(TINY_BASE) for item in request.session.items):
        yield None
        return
    build = BackgroundBaseBuild(tmp_path_factory.mktemp("tiny_base"))
    yield build
    build.stop()


@pytest.fixture(scope="session")
def tiny_base_model(tiny_base_build):
    """The folder of the demo's base model (``lab.tiny_base`` defaults), waiting for the background build."""
    return tiny_base_build.wait()


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
    0.25, 0.625, 1.0, checkpoint at step 3) and launch B (the same command with 4 steps, resuming). Returns
    (inputs, launch A, launch B, the results of smoke/checks.py)."""
    from smoke import run as smoke

    inputs = smoke.cpu_inputs(tmp_path_factory.mktemp("sept_e2e"), [])
    first = smoke.run_launch(smoke.CPU, inputs, "a", smoke.STEPS_A)
    assert first.returncode == 0, f"launch A failed:\n{smoke.log_tail(first.log, 40)}"
    resumed = smoke.run_launch(smoke.CPU, inputs, "b", smoke.STEPS_B)
    assert resumed.returncode == 0, f"launch B failed:\n{smoke.log_tail(resumed.log, 40)}"
    return inputs, first, resumed, smoke.run_checks(smoke.CPU, inputs, first, resumed)
