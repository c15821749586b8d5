"""Shared test helpers: repository paths and Hydra composition of the recipe's presets."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "configs"
SHARED_REFERENCE = REPO.parent / "shared" / "reference"
# Set to run the suite without ../shared beside the checkout: the tests that read the authors' full files then skip.
NO_SHARED_REFERENCE = "SEPT_NO_SHARED_REFERENCE"
PRESETS = sorted(p.stem for p in CONFIG_DIR.glob("sept_*.yaml") if p.stem != "sept_base")


def shared_reference(*parts: str) -> Path:
    """A path under ../shared/reference/ (the authors' files, read where they are, never copied into git). Missing,
    it fails the test saying where the folder belongs; with SEPT_NO_SHARED_REFERENCE=1 it skips instead."""
    import os

    import pytest

    path = SHARED_REFERENCE.joinpath(*parts)
    if path.exists():
        return path
    message = (
        f"{path} not found: these tests read the authors' reference files from ../shared/reference beside the "
        f"checkout; put it there, or set {NO_SHARED_REFERENCE}=1 to skip them"
    )
    if os.environ.get(NO_SHARED_REFERENCE) == "1":
        pytest.skip(message)
    pytest.fail(message)


def compose_preset(name: str, overrides: list[str] | None = None) -> DictConfig:
    """Compose a preset exactly as ``python -m recipe.sept.main_sept --config-name NAME`` does."""
    import recipe.sept.main_sept  # noqa: F401  registers the ${sept_path:} resolver

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        return compose(config_name=name, overrides=overrides or [])
