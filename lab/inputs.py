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


def held_out_file(data_dir: Path, held_out: int) -> Path:
    """The validation parquet with ``held_out`` questions: ``val.parquet`` holds the base model's own held-out
    set (``lab.tiny_base.Settings.n_val``), the presets' default; other counts get their own file."""
    from lab.tiny_base import Settings

    return data_dir / ("val.parquet" if held_out == Settings().n_val else f"val_{held_out}.parquet")


def ensure_tiny_inputs(base_model: Path, data_dir: Path, style: str = "question", held_out: int | None = None) -> bool:
    """The arithmetic base model (``lab.tiny_base``; rebuilt when missing or half-written, refused when built with
    other settings) and the synthetic set: ``TRAIN_ROWS`` of the builder's training questions and ``held_out``
    validation questions (``ensure_held_out``). Returns whether anything was built (False: all was there)."""
    from data_prep.synthetic import write_arithmetic_sets
    from lab.tiny_base import Settings, ensure_base_model, is_complete, saved_record

    settings = Settings()
    built = not is_complete(saved_record(base_model), settings)
    ensure_base_model(base_model, settings)
    if not (data_dir / "train.parquet").is_file() or not (data_dir / "val.parquet").is_file():
        write_arithmetic_sets(data_dir, n_train=TRAIN_ROWS, n_val=settings.n_val, seed=settings.data_seed, style=style)
        built = True
    return ensure_held_out(data_dir, held_out or settings.n_val, style) or built


def ensure_held_out(data_dir: Path, held_out: int, style: str) -> bool:
    """``held_out_file(data_dir, held_out)``, written unless present (returns whether it was): questions the base
    model's builder never trained on, its own ``n_val`` held-out ones first, then ones drawn after its training
    questions (``data_prep.synthetic.arithmetic_rows``'s ``extra_val``)."""
    from data_prep.schema import write_rows
    from data_prep.synthetic import arithmetic_rows
    from lab.tiny_base import Settings

    val = held_out_file(data_dir, held_out)
    if val.is_file():
        return False
    settings = Settings()
    extra = max(0, held_out - settings.n_val)
    rows = arithmetic_rows(settings.n_train, settings.n_val, settings.data_seed, style, extra_val=extra)["val"]
    write_rows(rows[:held_out], val)
    return True


def preset_inputs(preset: str, overrides: list[str] | None = None) -> tuple[Path, Path]:
    """(base model folder, data folder) a lab preset reads."""
    config = compose(preset, overrides)
    return Path(config.actor_rollout_ref.model.path), Path(config.data.train_files).parent
