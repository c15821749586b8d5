"""Grade stored generations and compute every metric, without sampling again.

    python -m eval.regrade <generations dir> [--out metrics.json] [--grader-mode faithful|strict] [--workers 2]
        [--timeout 30] [--skip-bad]

Writes ``metrics.json`` (default: ``<dir>/metrics.json``) with, per run (model, checkpoint, style, τ, n, seed),
per-benchmark pass@k/mean@n/maj@k/lengths/95% CIs/per-problem correct counts and the unweighted mean over
benchmarks, and the grader mode that graded them (``grader_mode``, also in every run); prints grader reason
counts (timeouts and errors included) and anything skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from eval.grader import (
    DEFAULT_BUDGET_SCALE,
    DEFAULT_MODE,
    DEFAULT_TIMEOUT_S,
    DEFAULT_WORKERS,
    GRADER_MODES,
    answer_key,
    grade_many,
    mode_rules,
)
from eval.metrics import AVG_KS, PAPER_KS, ProblemSamples, benchmark_metrics, macro_mean
from eval.store import GenerationsError, ReadReport, Record, RunKey, discover, read_generations

MAJ_KS = (8, 32)


def regrade(
    root: Path,
    workers: int = DEFAULT_WORKERS,
    timeout: float = DEFAULT_TIMEOUT_S,
    on_bad: str = "error",
    n_boot: int = 1000,
    budget_scale: float = DEFAULT_BUDGET_SCALE,
    mode: str = DEFAULT_MODE,
) -> dict:
    """Metrics of every stored file under ``root`` (see module docstring for the layout of the result)."""
    mode_rules(mode)  # an unknown mode fails before anything is read
    loaded, report = load_generations(root, on_bad)
    verdicts = grade_many(
        response_pairs(loaded), timeout=timeout, workers=workers, budget_scale=budget_scale, mode=mode
    )
    return metrics_document(loaded, verdicts, mode, report, n_boot)


def metrics_document(
    loaded: list[tuple[RunKey, list[Record]]], graded: list[dict], mode: str, report: ReadReport, n_boot: int = 1000
) -> dict:
    """The metrics file's content from the verdicts of ``response_pairs(loaded)``, in that order, graded in
    ``mode`` (``eval.audit`` grades once per mode and writes both)."""
    verdicts = iter(graded)
    runs: dict[tuple, dict] = defaultdict(dict)
    reasons: Counter = Counter()
    for key, records in loaded:
        problems = []
        for record in records:
            results = [next(verdicts) for _ in record.responses]
            reasons.update(result["reason"] for result in results)
            problems.append(
                ProblemSamples(
                    record.index,
                    [r["acc"] for r in results],
                    [answer_key(r["pred"]) for r in results],
                    record.lengths,
                    record.finish_reasons,
                )
            )
        runs[key.run][key.benchmark] = benchmark_metrics(problems, PAPER_KS, MAJ_KS, n_boot=n_boot)
    return {
        "grader_mode": mode,
        "runs": [{**_run_entry(run, benchmarks), "grader_mode": mode} for run, benchmarks in sorted(runs.items())],
        "grader": dict(sorted(reasons.items())),
        "skipped": report.skipped,
        "empty_responses": report.empty_responses,
    }


def load_generations(root: Path, on_bad: str = "error") -> tuple[list[tuple[RunKey, list[Record]]], ReadReport]:
    """Every stored file under ``root`` with its records; no file at all is an error naming ``root``."""
    report = ReadReport()
    loaded = [(key, read_generations(path, on_bad=on_bad, report=report)[1]) for key, path in discover(root)]
    if not loaded:
        raise GenerationsError(
            f"{root}: no generation files (<model>/<checkpoint>/<style>/tau<τ>/n<n>_seed<s>/<bench>.jsonl)"
        )
    return loaded, report


def response_pairs(loaded: list[tuple[RunKey, list[Record]]]) -> list[tuple[str, str]]:
    """(response, ground truth) of every stored sample, file by file, record by record."""
    return [
        (response, record.ground_truth) for _, records in loaded for record in records for response in record.responses
    ]


def _run_entry(run: tuple, benchmarks: dict) -> dict:
    model, checkpoint, style, tau, n, seed = run
    mean = macro_mean({name: m["pass"] for name, m in benchmarks.items()})
    return {
        "model": model,
        "checkpoint": checkpoint,
        "style": style,
        "tau": tau,
        "n": n,
        "seed": seed,
        "benchmarks": {name: _jsonable(m) for name, m in sorted(benchmarks.items())},
        "mean": {
            "pass": {str(k): v for k, v in mean.items()},
            "avg": sum(mean[k] for k in AVG_KS) / len(AVG_KS) if all(k in mean for k in AVG_KS) else None,
        },
    }


def _jsonable(metrics: dict) -> dict:
    """JSON objects need string keys: pass@k maps become {"1": ...}."""
    return {
        name: ({str(k): v for k, v in value.items()} if isinstance(value, dict) else value)
        for name, value in metrics.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="generations directory")
    parser.add_argument("--out", type=Path, help="metrics file (default: <root>/metrics.json)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per unique (answer, truth)")
    parser.add_argument("--skip-bad", action="store_true", help="skip and list bad records instead of stopping")
    parser.add_argument(
        "--budget-scale",
        type=float,
        default=DEFAULT_BUDGET_SCALE,
        help="multiplier of the reference's per-stage time budgets (1 = identical)",
    )
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the confidence intervals")
    parser.add_argument(
        "--grader-mode",
        choices=tuple(GRADER_MODES),
        default=DEFAULT_MODE,
        help="faithful: the authors' verdicts, quirks included; strict: each quirk fixed (docs/grader.md)",
    )
    args = parser.parse_args(argv)
    try:
        on_bad = "skip" if args.skip_bad else "error"
        result = regrade(
            args.root, args.workers, args.timeout, on_bad, args.n_boot, args.budget_scale, args.grader_mode
        )
    except GenerationsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = args.out or args.root / "metrics.json"
    out.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    for run in result["runs"]:
        passes = ", ".join(f"pass@{k}={100 * v:.1f}" for k, v in run["mean"]["pass"].items())
        print(f"{run['model']}/{run['checkpoint']} {run['style']} τ={run['tau']:g} n={run['n']}: {passes}")
    print(f"grader mode: {result['grader_mode']}; reasons: {result['grader']}")
    if result["grader"].get("timeout") or result["grader"].get("error"):
        print("warning: some answers were not graded (timeout/error): they count as wrong", file=sys.stderr)
    for file, line, why in result["skipped"]:
        print(f"skipped {file}:{line}: {why}", file=sys.stderr)
    print(f"skipped records: {len(result['skipped'])}; empty responses: {result['empty_responses']}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
