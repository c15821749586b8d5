"""Evaluation sweeps through verl (validation-only launches of the SePT entry point), then regrading.

    python -m eval.sweep temperature --model PATH --val-files A.parquet,B.parquet --out DIR [--name NAME]
        [--temps 0:1.6:0.1] [--n 32] [--style question] [--checkpoint NAME] [--config-name sept_qwen2.5_math_7b_dsr]
        [-- overrides]
    python -m eval.sweep checkpoints --run-dir results/RUN/checkpoints --model PATH --val-files ... --out DIR
        [--tau 1.0] [--n 32] [--steps 100,200] [...]

``temperature``: one launch evaluates the model at every temperature of the grid (paper: 0.0 to 1.6 step 0.1,
n = 32; greedy τ = 0 with n = 1). ``checkpoints``: one launch per saved FSDP checkpoint (``global_step_N``),
restored through verl's own resume (``trainer.resume_mode=resume_path``) and evaluated at ``--tau`` (paper: 1.0);
``--model`` is the run's base model (for the tokenizer and architecture). Generations are stored under ``--out``
keyed by model, checkpoint, style, τ, n, seed and benchmark; a relaunch skips what is stored. Afterwards
``python -m eval.regrade OUT`` writes ``OUT/metrics.json`` and ``python -m eval.report`` prints the tables.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def temperature_grid(spec: str) -> list[float]:
    """``start:stop:step`` (inclusive) or a comma list -> temperatures rounded to 4 decimals."""
    if ":" in spec:
        start, stop, step = (float(x) for x in spec.split(":"))
        if step <= 0 or stop < start:
            raise SystemExit(f"--temps {spec!r}: need start <= stop and step > 0")
        count = int(round((stop - start) / step)) + 1
        return [round(start + i * step, 4) for i in range(count)]
    return [round(float(x), 4) for x in spec.split(",") if x.strip()]


def checkpoint_steps(run_dir: Path) -> list[int]:
    """Steps of the ``global_step_N`` folders verl saved in ``run_dir``, ascending."""
    steps = sorted(int(m[1]) for p in run_dir.glob("global_step_*") if (m := re.fullmatch(r"global_step_(\d+)", p.name)))
    if not steps:
        raise SystemExit(f"--run-dir {run_dir}: no global_step_N checkpoints (trainer.save_freq saves them)")
    return steps


def base_overrides(args, temps: list[float]) -> list[str]:
    files = [str(Path(f).resolve()) for f in args.val_files.split(",")]
    for f in files:
        if not Path(f).is_file():
            raise SystemExit(f"--val-files: no such file {f}; prepare data first (python -m data_prep ...)")
    return [
        f"actor_rollout_ref.model.path={args.model}",
        f"data.train_files={files[0]}",
        f"data.val_files=[{','.join(files)}]",
        "trainer.val_only=true", "trainer.val_before_train=true", "trainer.logger=[console]",
        f"sept.eval.temperatures=[{','.join(f'{t:g}' for t in temps)}]",
        f"sept.eval.n={args.n}", f"sept.eval.generations_dir={Path(args.out).resolve()}",
        f"sept.eval.model_name={args.name or Path(args.model).name}", f"sept.eval.style={args.style}",
        *([f"sept.eval.checkpoint_name={args.checkpoint}"] if args.checkpoint else []),
    ]


def launch(config_name: str, overrides: list[str], timeout: float) -> None:
    cmd = [sys.executable, "-m", "recipe.sept.main_sept", "--config-name", config_name, *overrides]
    print(f"[sweep] {' '.join(cmd)}", flush=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(cmd, cwd=REPO, env=env, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"[sweep] launch failed (exit {proc.returncode}); stored generations are kept, rerun resumes")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("temperature", "checkpoints"))
    parser.add_argument("--model", required=True, help="model folder or hub id (checkpoints: the run's base model)")
    parser.add_argument("--val-files", required=True, help="comma-separated benchmark parquet files")
    parser.add_argument("--out", required=True, help="generations folder (shared by sweeps; resumable)")
    parser.add_argument("--name", help="model name in the generations layout (default: the model folder's name)")
    parser.add_argument("--checkpoint", help="temperature: checkpoint name in that layout (default: base), e.g. step48 "
                        "for an exported trained model")
    parser.add_argument("--temps", default="0:1.6:0.1", help="temperature sweep grid, start:stop:step or a,b,c")
    parser.add_argument("--tau", type=float, default=1.0, help="checkpoint sweep temperature")
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--style", default="question")
    parser.add_argument("--run-dir", type=Path, help="checkpoints: the run's trainer.default_local_dir")
    parser.add_argument("--steps", help="checkpoints: comma-separated steps to evaluate (default: every saved one)")
    parser.add_argument("--config-name", default="sept_qwen2.5_math_7b_dsr")
    parser.add_argument("--timeout", type=float, default=24 * 3600, help="seconds per launch")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every launch")
    # Intermixed: Hydra overrides may follow the options (plain parse_args rejects positionals after them).
    args = parser.parse_intermixed_args(argv)
    if args.kind == "temperature":
        # The model as given: never pick up a checkpoint lying in the preset's trainer.default_local_dir.
        fresh = ["trainer.resume_mode=disable"]
        launch(args.config_name, base_overrides(args, temperature_grid(args.temps)) + fresh + args.overrides, args.timeout)
        return
    if args.run_dir is None:
        raise SystemExit("checkpoints: --run-dir is required")
    if args.checkpoint:
        raise SystemExit("checkpoints: --checkpoint names a temperature sweep's model; checkpoints are named step<N>")
    saved = checkpoint_steps(args.run_dir)
    wanted = [int(x) for x in args.steps.split(",")] if args.steps else saved
    missing = sorted(set(wanted) - set(saved))
    if missing:
        raise SystemExit(f"--steps {args.steps}: no checkpoint for step(s) {missing} in {args.run_dir}; saved: {saved}")
    for step in wanted:
        resume = [f"trainer.resume_mode=resume_path", f"trainer.resume_from_path={args.run_dir.resolve()}/global_step_{step}",
                  f"trainer.default_local_dir={args.run_dir.resolve()}"]
        launch(args.config_name, base_overrides(args, [args.tau]) + resume + args.overrides, args.timeout)


if __name__ == "__main__":
    main()
