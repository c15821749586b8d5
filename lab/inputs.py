"""The tiny-model lab's inputs, shared by the demo, the reproduction and the benchmarks: presets composed as the
entry points compose them, and the arithmetic base model with its data set (built once, reused after)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

REPO = Path(__file__).resolve().parents[1]
# Training questions of the synthetic set: 32 steps of 32 prompts per epoch.
TRAIN_ROWS = 1024


def compose(preset: str, overrides: list[str] | None = None, resolve: bool = True) -> DictConfig:
    """``configs/<preset>.yaml`` with ``overrides``, as ``python -m recipe.sept.main_sept`` composes it (the recipe's
    ``${sept_path:}`` and ``${chat_template:}`` resolvers registered)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    import recipe.sept.main_sept  # noqa: F401  registers the resolvers

    with initialize_config_dir(config_dir=str(REPO / "configs"), version_base=None):
        config = hydra_compose(config_name=preset, overrides=overrides or [])
    if resolve:
        OmegaConf.resolve(config)
    return config


def ensure_tiny_inputs(base_model: Path, data_dir: Path, style: str = "question") -> bool:
    """The arithmetic base model (``lab.tiny_base``; rebuilt when missing or half-written, refused when built with
    other settings) and the synthetic set whose validation split is the base model's held-out questions. Returns
    whether anything was built (False: both were there)."""
    from data_prep.synthetic import write_arithmetic_sets
    from lab.tiny_base import Settings, ensure_base_model, is_complete, saved_record

    settings = Settings()
    built = not is_complete(saved_record(base_model), settings)
    ensure_base_model(base_model, settings)
    if not (data_dir / "train.parquet").is_file() or not (data_dir / "val.parquet").is_file():
        write_arithmetic_sets(data_dir, n_train=TRAIN_ROWS, n_val=settings.n_val, seed=settings.data_seed, style=style)
        built = True
    return built


def preset_inputs(preset: str, overrides: list[str] | None = None) -> tuple[Path, Path]:
    """(base model folder, data folder) a lab preset reads."""
    config = compose(preset, overrides)
    return Path(config.actor_rollout_ref.model.path), Path(config.data.train_files).parent
