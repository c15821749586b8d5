"""The sweep launcher: validation-only launches of ``python -m sweep.main_sweep``, one per model state.

    python -m sweep temperature --model PATH --val-files A.parquet,B.parquet --out DIR [--name NAME]
        [--temps 0:1.6:0.1] [--n 32] [--style question] [--checkpoint NAME] [--config-name sept_qwen2.5_math_7b_dsr]
        [-- overrides]
    python -m sweep checkpoints --run-dir results/RUN/checkpoints --model PATH --val-files ... --out DIR
        [--temps 1] [--n 32] [--steps 100,200] [...]

``temperature``: one launch evaluates the model at every temperature of the grid (paper: 0.0 to 1.6 step 0.1,
n = 32; greedy τ = 0 with n = 1). ``checkpoints``: one launch per saved FSDP checkpoint (``global_step_N``),
restored through verl's own resume (``trainer.resume_mode=resume_path``) and evaluated at ``--temps`` (paper: 1.0);
``--model`` is the run's base model (for the tokenizer and architecture). Generations are stored under ``--out``
keyed by model, checkpoint, style, τ, n, seed and benchmark; a relaunch skips what is stored. Afterwards
``python -m eval.regrade OUT`` writes ``OUT/metrics.json`` and ``python -m eval.report`` prints the tables.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENTRY = "sweep.main_sweep"
# The override that adds configs/sweep/default.yaml (the presets have no sweep section of their own).
ADD_SWEEP = "+sweep=default"


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
    steps = sorted(
        int(m[1]) for p in run_dir.glob("global_step_*") if (m := re.fullmatch(r"global_step_(\d+)", p.name))
    )
    if not steps:
        raise SystemExit(f"--run-dir {run_dir}: no global_step_N checkpoints (trainer.save_freq saves them)")
    return steps


def sweep_overrides(
    model: str,
    val_files: list[str],
    out: Path,
    temps: list[float],
    n: int,
    name: str,
    style: str,
    checkpoint: str | None = None,
    resume_from: Path | None = None,
) -> list[str]:
    """Hydra overrides of one validation-only sweep launch of ``model`` over ``val_files`` at ``temps``: of the
    model as given (never a checkpoint lying in the preset's ``trainer.default_local_dir``), or of the FSDP
    checkpoint ``resume_from`` (``.../global_step_N``) restored through verl's own resume."""
    files = [str(Path(f).resolve()) for f in val_files]
    for f in files:
        if not Path(f).is_file():
            raise SystemExit(f"--val-files: no such file {f}; prepare data first (python -m data_prep ...)")
    return [
        ADD_SWEEP,
        f"actor_rollout_ref.model.path={model}",
        f"data.train_files={files[0]}",
        f"data.val_files=[{','.join(files)}]",
        "trainer.val_only=true",
        "trainer.val_before_train=true",
        "trainer.logger=[console]",
        f"sweep.temperatures=[{','.join(f'{t:g}' for t in temps)}]",
        f"sweep.n={n}",
        f"sweep.generations_dir={Path(out).resolve()}",
        f"sweep.model_name={name}",
        f"sweep.style={style}",
        *([f"sweep.checkpoint_name={checkpoint}"] if checkpoint else []),
        *(
            ["trainer.resume_mode=disable"]
            if resume_from is None
            else [
                "trainer.resume_mode=resume_path",
                f"trainer.resume_from_path={Path(resume_from).resolve()}",
                f"trainer.default_local_dir={Path(resume_from).resolve().parent}",
            ]
        ),
    ]


def command(config_name: str, overrides: list[str]) -> list[str]:
    """The entry-point command line of one sweep launch."""
    return [sys.executable, "-m", ENTRY, "--config-name", config_name, *overrides]


def launch(config_name: str, overrides: list[str], timeout: float) -> None:
    cmd = command(config_name, overrides)
    print(f"[sweep] {' '.join(cmd)}", flush=True)
    proc = subprocess.run(cmd, cwd=REPO, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"[sweep] launch failed (exit {proc.returncode}); stored generations are kept, rerun resumes")


def cli_overrides(args: argparse.Namespace, temps: list[float], resume_from: Path | None = None) -> list[str]:
    return sweep_overrides(
        args.model,
        args.val_files.split(","),
        args.out,
        temps,
        args.n,
        args.name or Path(args.model).name,
        args.style,
        args.checkpoint,
        resume_from,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("temperature", "checkpoints"))
    parser.add_argument("--model", required=True, help="model folder or hub id (checkpoints: the run's base model)")
    parser.add_argument("--val-files", required=True, help="comma-separated benchmark parquet files")
    parser.add_argument("--out", required=True, help="generations folder (shared by sweeps; resumable)")
    parser.add_argument("--name", help="model name in the generations layout (default: the model folder's name)")
    parser.add_argument(
        "--checkpoint",
        help="temperature: checkpoint name in that layout (default: base), e.g. step48 for an exported trained model",
    )
    parser.add_argument(
        "--temps", help="temperatures, start:stop:step or a,b,c (default: temperature 0:1.6:0.1, checkpoints 1)"
    )
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
        temps = temperature_grid(args.temps or "0:1.6:0.1")
        launch(args.config_name, cli_overrides(args, temps) + args.overrides, args.timeout)
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
        checkpoint = args.run_dir / f"global_step_{step}"
        launch(
            args.config_name,
            cli_overrides(args, temperature_grid(args.temps or "1"), checkpoint) + args.overrides,
            args.timeout,
        )


if __name__ == "__main__":
    main()
