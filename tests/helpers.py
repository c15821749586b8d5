"""Shared test helpers: repository paths and Hydra composition of the recipe's presets."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "configs"
SHARED_REFERENCE = REPO.parent / "shared" / "reference"
PRESETS = sorted(p.stem for p in CONFIG_DIR.glob("sept_*.yaml") if p.stem != "sept_base")


def compose_preset(name: str, overrides: list[str] | None = None) -> DictConfig:
    """Compose a preset exactly as ``python -m recipe.sept.main_sept --config-name NAME`` does."""
    import recipe.sept.main_sept  # noqa: F401  registers the ${sept_path:} resolver

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        return compose(config_name=name, overrides=overrides or [])
