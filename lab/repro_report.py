"""The CPU reproduction's report (``python -m lab.repro`` writes it after regrading): the paper-shaped tables with
every difference from the best-τ baseline and its paired interval, the temperature-matched comparison, the
pass@k-vs-step curves, the base model's τ sweep and the cost of each stage, from ``<out>/generations/metrics.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from eval.matched import MatchedComparison, compare_matched
from eval.metrics import per_problem_pass
from eval.tables import (
    Table,
    delta_cell,
    load_metrics,
    plot_curves,
    plot_step_curves,
    seed_runs,
    seeds_table,
    select_baseline,
)

if TYPE_CHECKING:
    from lab.monitor import PeakMemory
    from lab.repro import Plan

BASE_NAME = "base"  # the base model's name in the generations layout
KS = (1, 8, 32)
COLUMNS = ("pass@1", "pass@8", "pass@32", "AVG")
# (file name, title, rows as (label, method key)); "base@1" is the base model at τ = 1.
TABLES = (
    (
        "table1_main",
        "Table 1 shape: SePT and the baselines",
        (("Base model (τ=1)", "base@1"), ("SePT", "sept"), ("GRPO", "grpo"), ("EM-FT", "emft")),
    ),
    ("table4_offline", "Table 4 shape: online vs offline", (("SePT (Offline)", "offline"), ("SePT", "sept"))),
    ("table5_coupling", "Table 5 shape: coupled vs decoupled τ", (("Coupling", "coupled"), ("Decoupling", "sept"))),
    (
        "figure5_group_size",
        "Figure 5 shape: samples per prompt G at equal prompts per step",
        (("G=1", "sept"), ("G=4", "sept_g4"), ("G=8", "sept_g8")),
    ),
)
LISTED = 8  # gained and lost questions listed per method in report.md (all of them in tables/matched_*.csv)


def trained_runs(plan: Plan, runs: list[dict], method: str, checkpoint: str | None = None) -> list[dict]:
    """The plan's seeds' evaluations of ``method`` at τ = 1 after its last step (or ``checkpoint``); [] if none."""
    found = [
        r
        for r in runs
        if r["model"] == method
        and r["checkpoint"] == (checkpoint or f"step{plan.steps}")
        and r["style"] == plan.style
        and r["tau"] == 1.0
        and r["seed"] in plan.seeds
    ]
    return sorted(found, key=lambda r: r["seed"])


def base_sweep(plan: Plan, runs: list[dict]) -> list[dict]:
    return sorted(
        (r for r in runs if r["model"] == BASE_NAME and r["checkpoint"] == "base" and r["style"] == plan.style),
        key=lambda r: r["tau"],
    )


def report_tables(plan: Plan, runs: list[dict]) -> list[tuple[str, Table]]:
    """The paper-shaped tables over seeds; rows of methods this invocation did not run are left out, and a table
    left with fewer than two rows besides the baseline (e.g. Table 4 without offline runs) is not written."""
    baseline = select_baseline(runs, BASE_NAME, style=plan.style)
    available = {"base@1": seed_runs(runs, BASE_NAME, "base", 1.0, plan.style)}
    available.update({method: trained_runs(plan, runs, method) for method in plan.methods})
    tables = []
    for file_name, title, rows in TABLES:
        methods = [(f"Baseline (τ={baseline['tau']:g})", [baseline])]
        methods += [(label, available[key]) for label, key in rows if available.get(key)]
        # A comparison needs two of its rows besides the baseline.
        if len(methods) > 2:
            tables.append((file_name, seeds_table(methods, title=f"{title}, pass@k (%) at τ=1 vs the best-τ baseline")))
    return tables


def per_question(run: dict) -> dict:
    """(benchmark, index) → pass@k for ``KS`` of one evaluation (greedy: one sample standing for any number)."""
    out = {}
    for name, metrics in run["benchmarks"].items():
        passes = per_problem_pass(metrics["correct_counts"], metrics["n"], KS, greedy=run["tau"] == 0)
        out.update({(name, int(index)): value for index, value in passes.items()})
    return out


def matched_comparisons(plan: Plan, runs: list[dict]) -> dict[str, MatchedComparison]:
    """Per trained method: its seeds at τ = 1 against the base model at the matched τ (``eval.matched``)."""
    base = {run["tau"]: per_question(run) for run in base_sweep(plan, runs)}
    comparisons = {}
    for method in plan.methods:
        seeds = trained_runs(plan, runs, method)
        if seeds and base:
            comparisons[method] = compare_matched([per_question(r) for r in seeds], base, KS, samples=plan.n)
    return comparisons


def matched_table(comparisons: dict[str, MatchedComparison], labels: dict[str, str]) -> Table:
    table = Table(
        [
            "method",
            "seeds",
            "pass@1 at τ=1",
            "matched base τ* (nearest swept)",
            "Δpass@8 [95% CI]",
            "Δpass@32 [95% CI]",
            "ΔAVG [95% CI]",
            "gains",
            "losses",
            "moved by chance",
        ],
        title="Temperature-matched comparison: each trained model at τ=1 vs the base model at the τ* with the "
        "same mean pass@1 (Δ = trained − matched base, %; gains/losses: questions whose pass@1 differs by ≥ 25 "
        "points)",
    )
    for method, c in comparisons.items():
        tau = f"{c.match.tau:.2f} ({c.match.nearest:g})" + ("" if c.match.inside else ", outside the sweep")
        deltas = [delta_cell(*c.difference[column]) for column in ("pass@8", "pass@32", "AVG")]
        table.rows.append(
            [labels[method], c.seeds, 100 * c.trained["pass@1"], tau, *deltas, len(c.gains), len(c.losses)]
            + [f"{c.expected:.1f}"]
        )
    return table


def matched_lists(comparisons: dict[str, MatchedComparison], labels: dict[str, str], limit: int | None) -> Table:
    """The gained and lost questions per method (the largest ``limit`` of each; None: all)."""
    table = Table(["method", "change", "benchmark", "question", "pass@1 trained (%)", "pass@1 matched base (%)"])
    for method, c in comparisons.items():
        for change, shifts in (("gain", c.gains), ("loss", c.losses)):
            for shift in shifts[:limit]:
                benchmark, index = shift.question
                table.rows.append([labels[method], change, benchmark, index, 100 * shift.trained, 100 * shift.matched])
    return table


def levels(run_list: list[dict]) -> dict[str, float]:
    """Mean over runs of mean pass@k and AVG (fractions), by column."""
    values = {f"pass@{k}": [r["mean"]["pass"][str(k)] for r in run_list] for k in KS}
    values["AVG"] = [r["mean"]["avg"] for r in run_list]
    return {column: sum(v) / len(v) for column, v in values.items()}


def step_runs(plan: Plan, runs: list[dict], method: str) -> list[tuple[int, list[dict]]]:
    """(step, the seeds' evaluations at τ = 1) for every step all of ``method``'s seeds stored, from the base
    model's (step 0: its τ = 1 evaluation, shared by every seed) on; [] when the method has no final runs."""
    final = trained_runs(plan, runs, method)
    if not final:
        return []
    seeds = {r["seed"] for r in final}
    base_at_1 = [r for r in base_sweep(plan, runs) if r["tau"] == 1.0]
    points = [(0, base_at_1)] if base_at_1 else []
    steps = sorted({int(r["checkpoint"][4:]) for r in runs if r["model"] == method and r["checkpoint"][4:].isdigit()})
    for step in steps:
        at_step = trained_runs(plan, runs, method, f"step{step}")
        if {r["seed"] for r in at_step} == seeds:
            points.append((step, at_step))
    return points


def step_series(plan: Plan, runs: list[dict], labels: dict[str, str]) -> dict[str, list[tuple[int, dict]]]:
    """Per online method, the seed mean of pass@k and AVG at every step of ``step_runs`` (the curves' points)."""
    series = {labels[m]: [(step, levels(at)) for step, at in step_runs(plan, runs, m)] for m in plan.methods}
    return {label: points for label, points in series.items() if points}


def step_table(plan: Plan, runs: list[dict], labels: dict[str, str]) -> Table:
    """The pass@k-vs-step curves as numbers: per method and step, the seed mean and pass@1 of each seed."""
    table = Table(
        ["method", "step", "seeds", *COLUMNS, "pass@1 per seed"],
        title="pass@k (%) at τ=1 after every evaluation (step 0: the base model; seed mean)",
    )
    for method in plan.methods:
        for step, at in step_runs(plan, runs, method):
            means = levels(at)
            per_seed = " / ".join(f"{100 * r['mean']['pass']['1']:.1f}" for r in at)
            table.rows.append([labels[method], step, len(at), *(100 * means[c] for c in COLUMNS), per_seed])
    return table


def sweep_table(runs: list[dict]) -> Table:
    """The base model's τ sweep: mean pass@k and AVG per τ (paper Figure 1a as numbers)."""
    table = Table(["τ", "n", "pass@1", "pass@8", "pass@32", "AVG"], title="Base model: pass@k (%) vs sampling τ")
    for run in sorted(
        (r for r in runs if r["model"] == BASE_NAME and r["checkpoint"] == "base"), key=lambda r: r["tau"]
    ):
        passes = run["mean"]["pass"]
        table.rows.append(
            [f"{run['tau']:g}", run["n"], *(100 * passes[k] for k in ("1", "8", "32")), 100 * run["mean"]["avg"]]
        )
    return table


def write_report(plan: Plan, memory: PeakMemory, wall: float, labels: dict[str, str], preset: str) -> Path:
    """``report.md`` (tables, plots, times, memory) and ``tables/*.csv`` under ``<out>``; ``labels``: method key →
    row name, ``preset``: the training runs' preset."""
    runs = load_metrics(plan.out / "generations" / "metrics.json")
    sweep = base_sweep(plan, runs)
    questions = sum(m["problems"] for m in sweep[0]["benchmarks"].values()) if sweep else 0
    tau_plot = plot_curves(sweep, "tau", plan.out / "tau_sweep.png", title="tiny-arith-base: pass@k vs τ")
    (plan.out / "tables").mkdir(exist_ok=True)
    sections = [
        "# SePT at CPU scale",
        f"Base model `{plan.base_model.name}`; {len(plan.seeds)} seed(s) {plan.seeds}; {plan.steps} steps of "
        f"`configs/{preset}.yaml` (lr {plan.lr:g}); trained models evaluated at τ = 1 with n = {plan.n} on "
        f"{questions} held-out questions. Intervals: 95 % percentile bootstrap, paired over questions and seeds. "
        "Generated by `python -m lab.repro`.",
    ]
    tables = report_tables(plan, runs)
    comparisons = matched_comparisons(plan, runs)
    tables.append(("matched_temperature", matched_table(comparisons, labels)))
    for file_name, table in tables:
        (plan.out / "tables" / f"{file_name}.csv").write_text(table.to_csv(), encoding="utf-8")
        sections.append(table.to_markdown())
    listed = matched_lists(comparisons, labels, None)
    (plan.out / "tables" / "matched_questions.csv").write_text(listed.to_csv(), encoding="utf-8")
    listed = matched_lists(comparisons, labels, LISTED)
    listed.title = f"Largest gains and losses against the matched base model (up to {LISTED} each; all in tables/)"
    sections.append(listed.to_markdown())
    steps = step_table(plan, runs, labels)
    (plan.out / "tables" / "passk_vs_step.csv").write_text(steps.to_csv(), encoding="utf-8")
    series = step_series(plan, runs, labels)
    if series:
        baseline = select_baseline(runs, BASE_NAME, style=plan.style)
        references = {f"base, best τ ({baseline['tau']:g})": levels([baseline])}
        at_1 = [r for r in sweep if r["tau"] == 1.0]
        if at_1:
            references["base, τ = 1"] = levels(at_1)
        steps_plot = plot_step_curves(series, references, plan.out / "passk_vs_step.png", COLUMNS, "pass@k at τ = 1")
        sections += [f"![pass@k at τ=1 vs step]({steps_plot.name})", steps.to_markdown()]
    sweep_numbers = sweep_table(runs)
    (plan.out / "tables" / "base_tau_sweep.csv").write_text(sweep_numbers.to_csv(), encoding="utf-8")
    sections += [sweep_numbers.to_markdown(), f"![pass@k vs τ]({tau_plot.name})", cost_section(plan, memory, wall)]
    report = plan.out / "report.md"
    report.write_text("\n\n".join(sections) + "\n", encoding="utf-8")
    return report


def cost_section(plan: Plan, memory: PeakMemory, wall: float) -> str:
    lines = [
        "**Cost of this invocation** (stages skipped as already done are not listed)",
        "",
        "| stage | seconds |",
        "|---|---|",
    ]
    lines += [f"| {name} | {seconds:.0f} |" for name, seconds in plan.timings]
    lines += [
        "",
        f"Wall time {wall / 60:.1f} min on {os.cpu_count()} cores; peak used memory {memory.peak:.1f} GB "
        f"(used before it started: {memory.start:.1f} GB; the whole machine, other jobs included).",
    ]
    return "\n".join(lines)
