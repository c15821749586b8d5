"""Tables, plots and flip reports from ``metrics.json``.

    python -m eval.report metrics.json [more.json ...] --model qwen-math-7b --method SePT=qwen-math-7b/step200@1 \\
        [--table mean|benchmark] [--format md|csv|latex] [--paper ../shared/reference/paper-tables/table1_mean_passk.csv
        --paper-model Qwen2.5-Math-7B [--paper-where train_data=DSR]] [--plot-tau tau.png] [--plot-steps steps.png]
        [--flips A B] [--baseline-tau TAU] [--other-mode other_metrics.json ...]

The first row is always "Baseline": ``--model``'s ``base`` checkpoint at its best τ by AVG; Δ columns are
relative to it. Run specs are ``model/checkpoint[/style][@tau]``. Several metrics files are read as one; they
must have been graded in one grader mode (``eval.regrade --grader-mode``). ``--other-mode`` gives the same runs
graded in the other mode (``eval.audit`` writes both files): the table is then printed with every number in both
modes and strict − faithful.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eval.tables import (
    ReportError,
    benchmark_table,
    find_run,
    flip_report,
    load_metrics,
    mean_table,
    modes_table,
    plot_curves,
    select_baseline,
    side_by_side,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "metrics", type=Path, nargs="+", help="metrics.json file(s) from eval.regrade, all graded in one grader mode"
    )
    parser.add_argument("--model", required=True, help="model whose 'base' checkpoint is the baseline")
    parser.add_argument("--style", help="prompt style to use when several were evaluated")
    parser.add_argument("--baseline-tau", type=float, help="baseline at this τ instead of the best by AVG (n < 32)")
    parser.add_argument("--method", action="append", default=[], metavar="LABEL=SPEC")
    parser.add_argument("--table", choices=("mean", "benchmark"), default="mean")
    parser.add_argument("--format", choices=("md", "csv", "latex"), default="md")
    parser.add_argument("--paper", type=Path, help="a paper table CSV to print side by side")
    parser.add_argument("--paper-model", help="the paper's model name in that CSV (e.g. Qwen2.5-Math-7B)")
    parser.add_argument(
        "--paper-where",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="narrow the paper's rows, e.g. train_data=DSR (repeatable)",
    )
    parser.add_argument("--plot-tau", type=Path, help="PNG: baseline sweep, mean pass@k vs τ")
    parser.add_argument(
        "--plot-steps", type=Path, help="PNG: mean pass@k vs training step of --model at τ of --steps-tau"
    )
    parser.add_argument("--steps-tau", type=float, default=1.0)
    parser.add_argument(
        "--flips", nargs=2, metavar=("BEFORE", "AFTER"), help="per-problem flip report between two runs"
    )
    parser.add_argument(
        "--other-mode",
        type=Path,
        nargs="+",
        metavar="METRICS",
        help="the same runs graded in the other grader mode: print the table in both modes side by side",
    )
    args = parser.parse_args(argv)
    try:
        print(_run(args), end="")
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _run(args: argparse.Namespace) -> str:
    runs = load_metrics(*args.metrics)
    if args.style:
        runs = [r for r in runs if r["style"] == args.style]
    table = _table(runs, args)
    if args.other_mode:
        if args.paper:
            raise ReportError("--paper and --other-mode: print the paper's numbers beside one grader mode at a time")
        other = load_metrics(*args.other_mode)
        modes = {runs[0]["grader_mode"]: table, **({other[0]["grader_mode"]: _table(other, args)} if other else {})}
        if sorted(modes) != ["faithful", "strict"]:
            raise ReportError(
                f"--other-mode needs one faithful and one strict metrics set; got {sorted(modes)} "
                "(python -m eval.audit DIR writes metrics_faithful.json and metrics_strict.json)"
            )
        table = modes_table(modes["faithful"], modes["strict"])
    if args.paper:
        if not args.paper_model:
            raise ReportError("--paper needs --paper-model (the model name as the paper's CSV spells it)")
        where = dict(item.partition("=")[::2] for item in args.paper_where)
        table = side_by_side(table, args.paper, args.paper_model, where)
    parts = [table.render(args.format)]
    if args.plot_tau:
        sweep = [r for r in runs if r["model"] == args.model and r["checkpoint"] == "base"]
        parts.append(f"wrote {plot_curves(sweep, 'tau', args.plot_tau, title=f'{args.model} base: τ sweep')}\n")
    if args.plot_steps:
        steps = [r for r in runs if r["model"] == args.model and abs(r["tau"] - args.steps_tau) < 1e-9]
        parts.append(
            f"wrote {plot_curves(steps, 'step', args.plot_steps, title=f'{args.model}: τ={args.steps_tau:g}')}\n"
        )
    if args.flips:
        before, after = (find_run(runs, spec) for spec in args.flips)
        parts.append(flip_report(before, after).render(args.format))
    return "\n".join(parts)


def _table(runs: list[dict], args: argparse.Namespace):
    """The requested paper-shaped table: the baseline (best τ by AVG unless --baseline-tau), then --method rows."""
    baseline = select_baseline(runs, args.model, tau=args.baseline_tau)
    methods = [(f"Baseline (τ={baseline['tau']:g})", baseline)]
    for item in args.method:
        label, sep, spec = item.partition("=")
        if not sep:
            raise ReportError(f"--method {item!r}: use LABEL=model/checkpoint[/style][@tau]")
        methods.append((label, find_run(runs, spec)))
    return (mean_table if args.table == "mean" else benchmark_table)(methods, title=f"{args.model}: pass@k (%)")


if __name__ == "__main__":
    sys.exit(main())
