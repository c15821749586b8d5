"""Evaluation sweeps through verl: a trainer whose validation passes store their generations (``sweep.trainer``),
its entry point (``sweep.main_sweep``) and the launcher ``python -m sweep temperature|checkpoints``."""
