"""Paper-shaped tables, plots and flip reports from ``metrics.json`` (written by ``python -m eval.regrade``).

Tables are plain ``Table`` objects rendered as Markdown, CSV or LaTeX; numbers are pass@k in percent with one
decimal, like the paper. The baseline is the untrained model (checkpoint ``base``) at its best swept τ by
AVG = mean(pass@1, pass@8, pass@32) of the benchmark mean, as in the paper.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eval.metrics import AVG_KS, paired_bootstrap_ci, per_problem_pass

PAPER_BENCHMARK_NAMES = {
    "math500": "MATH-500",
    "amc23": "AMC-23",
    "minerva": "Minerva",
    "olympiadbench": "Olympiad",
    "aime": "AIME-24",
    "aime25": "AIME-25",
}
MEAN_KS = (1, 8, 32)
BENCHMARK_KS = (1, 2, 4, 8, 16, 32)


class ReportError(ValueError):
    """Unusable metrics or request; the message says which run/field and what to do."""


@dataclass
class Table:
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    title: str = ""

    def to_markdown(self) -> str:
        lines = [f"**{self.title}**", ""] if self.title else []
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows([[_cell(v) for v in row] for row in self.rows])
        return buffer.getvalue()

    def to_latex(self) -> str:
        body = [" & ".join(_latex_escape(_cell(v)) for v in row) + r" \\" for row in self.rows]
        head = " & ".join(_latex_escape(c) for c in self.columns) + r" \\"
        spec = "l" * sum(isinstance(v, str) for v in self.rows[0]) if self.rows else "l"
        spec += "r" * (len(self.columns) - len(spec))
        caption = [rf"\caption{{{_latex_escape(self.title)}}}"] if self.title else []
        return (
            "\n".join(
                [
                    r"\begin{table}[t]",
                    r"\centering",
                    *caption,
                    rf"\begin{{tabular}}{{{spec}}}",
                    r"\toprule",
                    head,
                    r"\midrule",
                    *body,
                    r"\bottomrule",
                    r"\end{tabular}",
                    r"\end{table}",
                ]
            )
            + "\n"
        )

    def render(self, fmt: str) -> str:
        renderers = {"md": self.to_markdown, "csv": self.to_csv, "latex": self.to_latex}
        if fmt not in renderers:
            raise ReportError(f"unknown table format {fmt!r}; use one of {sorted(renderers)}")
        return renderers[fmt]()


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:+.1f}" if getattr(value, "_signed", False) else f"{value:.1f}"
    return str(value)


class Delta(float):
    """A difference, printed with its sign."""

    _signed = True


def _latex_escape(text: str) -> str:
    return re.sub(r"([&%$#_{}])", r"\\\1", text).replace("τ", r"$\tau$").replace("Δ", r"$\Delta$")


# --------------------------------------------------------------------------------------------------------------
# Selecting runs


def load_metrics(*paths: Path) -> list[dict]:
    """The runs of one or more metrics files, greedy runs completed by ``fill_greedy``, each with the
    ``grader_mode`` that graded it; runs graded in different modes are an error (their numbers differ by the
    grader, not the method). Files written before grading modes existed were graded faithfully."""
    runs, modes = [], {}
    for path in paths:
        try:
            metrics = json.loads(Path(path).read_text(encoding="utf-8"))
            file_runs = metrics["runs"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReportError(f"{path}: not a metrics file from `python -m eval.regrade` ({exc})") from None
        default = metrics.get("grader_mode", "faithful")
        for run in file_runs:
            run = {**run, "grader_mode": run.get("grader_mode", default)}
            modes.setdefault(run["grader_mode"], f"{path} ({run_label(run)})")
            runs.append(fill_greedy(run))
    if len(modes) > 1:
        found = "; ".join(f"{mode}: {where}" for mode, where in modes.items())
        raise ReportError(
            f"runs graded by different grader modes cannot share a report ({found}); regrade the generations with "
            "one `python -m eval.regrade --grader-mode MODE`, or compare modes with `python -m eval.audit`"
        )
    return runs


def fill_greedy(run: dict) -> dict:
    """A greedy run (τ = 0) with the pass@k of every table k and AVG: greedy decoding is deterministic, so its one
    sample stands for any number of samples and pass@k = pass@1 (the paper's baseline sweep includes τ = 0)."""
    if run["tau"] != 0 or "1" not in run["mean"]["pass"]:
        return run
    pass_1 = run["mean"]["pass"]["1"]
    filled = {str(k): pass_1 for k in (*MEAN_KS, *BENCHMARK_KS)}
    return {**run, "mean": {**run["mean"], "pass": {**filled, **run["mean"]["pass"]}, "avg": pass_1}}


def run_label(run: dict) -> str:
    return f"{run['model']}/{run['checkpoint']} {run['style']} τ={run['tau']:g}"


def find_run(runs: Sequence[dict], spec: str) -> dict:
    """``model/checkpoint[/style][@tau]``; ambiguous or missing specs are errors listing the candidates."""
    match = re.fullmatch(r"([^/@]+)/([^/@]+)(?:/([^/@]+))?(?:@([0-9.]+))?", spec)
    if match is None:
        raise ReportError(f"run spec {spec!r}: use model/checkpoint[/style][@tau], e.g. qwen-math-7b/step200@1")
    model, checkpoint, style, tau = match.groups()
    found = [
        r
        for r in runs
        if r["model"] == model
        and r["checkpoint"] == checkpoint
        and style in (None, r["style"])
        and (tau is None or abs(r["tau"] - float(tau)) < 1e-9)
    ]
    if len(found) != 1:
        have = "; ".join(run_label(r) for r in runs) or "none"
        raise ReportError(f"run spec {spec!r} matches {len(found)} runs (need exactly 1); runs: {have}")
    return found[0]


def select_baseline(runs: Sequence[dict], model: str, style: str | None = None, tau: float | None = None) -> dict:
    """The untrained model (checkpoint ``base``) at its best swept τ by mean AVG; ties go to the lower τ.

    ``tau`` fixes the baseline's temperature instead (for sweeps with n < 32, where AVG is undefined).
    """
    swept = [r for r in runs if r["model"] == model and r["checkpoint"] == "base" and style in (None, r["style"])]
    if not swept:
        raise ReportError(
            f"no baseline runs: model {model!r} has no checkpoint 'base'" + (f" with style {style!r}" if style else "")
        )
    if tau is not None:
        at_tau = [r for r in swept if abs(r["tau"] - tau) < 1e-9]
        if not at_tau:
            raise ReportError(f"no baseline run of {model!r} at τ={tau:g}; swept: {sorted(r['tau'] for r in swept)}")
        return at_tau[0]
    unscored = [run_label(r) for r in swept if r["mean"]["avg"] is None]
    if unscored:
        raise ReportError(
            f"baseline runs without AVG (need n >= 32): {unscored}; sample n >= 32 or fix the τ with --baseline-tau"
        )
    return max(sorted(swept, key=lambda r: r["tau"]), key=lambda r: r["mean"]["avg"])


# --------------------------------------------------------------------------------------------------------------
# Tables


def _pct(passes: dict, k: int) -> float | None:
    value = passes.get(str(k))
    return None if value is None else 100 * value


def mean_table(methods: Sequence[tuple[str, dict]], ks: Sequence[int] = MEAN_KS, title: str = "") -> Table:
    """Tables 1/2/4/5: one row per method with mean pass@k over benchmarks, AVG and ΔAVG vs the first row."""
    table = Table(["method", *(f"pass@{k}" for k in ks), "AVG", "ΔAVG"], title=title)
    base_avg = None
    for label, run in methods:
        avg = None if run["mean"]["avg"] is None else 100 * run["mean"]["avg"]
        base_avg = avg if base_avg is None else base_avg
        delta = Delta(avg - base_avg) if avg is not None and base_avg is not None else None
        table.rows.append([label, *(_pct(run["mean"]["pass"], k) for k in ks), avg, delta])
    return table


def seed_runs(runs: Sequence[dict], model: str, checkpoint: str, tau: float, style: str | None = None) -> list[dict]:
    """Every seed's run of ``model/checkpoint`` at ``tau`` (ordered by seed); none is an error listing the runs."""
    found = [
        r
        for r in runs
        if r["model"] == model
        and r["checkpoint"] == checkpoint
        and style in (None, r["style"])
        and abs(r["tau"] - tau) < 1e-9
    ]
    if not found:
        have = "; ".join(run_label(r) for r in runs) or "none"
        raise ReportError(f"no runs of {model}/{checkpoint} at τ={tau:g}; runs: {have}")
    return sorted(found, key=lambda r: r["seed"])


def problem_values(seeds: Sequence[dict], ks: Sequence[int]) -> tuple[list[str], dict[str, np.ndarray]]:
    """(columns, benchmark → seeds × problems × columns): per problem pass@k for each k every run has, and AVG when
    pass@1, 8 and 32 are among them; the problems ordered by index. Every seed must answer the same problems."""
    ks = [k for k in ks if all(run["tau"] == 0 or k <= m["n"] for run in seeds for m in run["benchmarks"].values())]
    columns = [f"pass@{k}" for k in ks] + (["AVG"] if all(k in ks for k in AVG_KS) else [])
    values = {}
    for name in sorted(seeds[0]["benchmarks"]):
        per_seed = [run["benchmarks"][name] for run in seeds]
        problems = sorted(per_seed[0]["correct_counts"], key=int)
        if any(set(m["correct_counts"]) != set(problems) for m in per_seed):
            raise ReportError(f"seeds of {run_label(seeds[0])} answered different {name} problems; compare like runs")
        rows = []
        for run, m in zip(seeds, per_seed):
            passes = per_problem_pass(m["correct_counts"], m["n"], ks, greedy=run["tau"] == 0)
            per_k = np.array([[passes[p][k] for k in ks] for p in problems])
            if "AVG" in columns:
                per_k = np.column_stack([per_k, per_k[:, [ks.index(k) for k in AVG_KS]].mean(axis=1)])
            rows.append(per_k)
        values[name] = np.stack(rows)
    return columns, values


def delta_cell(mean: float, low: float, high: float) -> str:
    """A difference in percent points with its 95 % interval, e.g. ``+9.4 [+5.1, +13.0]``."""
    return f"{100 * mean:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"


def seeds_table(methods: Sequence[tuple[str, Sequence[dict]]], ks: Sequence[int] = MEAN_KS, title: str = "") -> Table:
    """Tables 1/4/5 over seeds, the first row the reference (the baseline): per method the mean over its seeds'
    runs of mean pass@k and AVG, then each one's difference from the reference with its 95 % interval, paired
    over problems and seeds (``eval.metrics.paired_bootstrap_ci``: problems resampled within each benchmark,
    seeds resampled too), and pass@1 of each seed."""
    reference_columns, reference = problem_values(methods[0][1], ks)
    table = Table(
        ["method", "seeds", *reference_columns, *(f"Δ{c} [95% CI]" for c in reference_columns), "pass@1 per seed"],
        title=title,
    )
    for row, (label, seeds) in enumerate(methods):
        columns, values = problem_values(seeds, ks)
        if columns != reference_columns or sorted(values) != sorted(reference):
            raise ReportError(f"{label}: columns {columns} over {sorted(values)} differ from the reference's")
        means = [float(np.mean([values[b][:, :, i].mean() for b in values])) for i in range(len(columns))]
        deltas = []
        for i in range(len(columns)):
            trained = [values[b][:, :, i] for b in sorted(values)]
            ref = [reference[b][:, :, i].mean(axis=0) for b in sorted(values)]
            difference = means[i] - float(np.mean([r.mean() for r in ref]))
            deltas.append(delta_cell(difference, *paired_bootstrap_ci(trained, ref)) if row else None)
        per_seed = " / ".join(f"{100 * run['mean']['pass']['1']:.1f}" for run in seeds)
        table.rows.append([label, len(seeds), *(100 * m for m in means), *deltas, per_seed])
    return table


def benchmark_table(methods: Sequence[tuple[str, dict]], ks: Sequence[int] = BENCHMARK_KS, title: str = "") -> Table:
    """Tables 7-12: per method and benchmark pass@k, with Δpass@1 vs the first method on the same benchmark."""
    table = Table(["method", "benchmark", *(f"pass@{k}" for k in ks), "Δpass@1"], title=title)
    base = methods[0][1]["benchmarks"] if methods else {}
    for label, run in methods:
        for name, metrics in run["benchmarks"].items():
            values = [_pct(metrics["pass"], k) for k in ks]
            reference = _pct(base.get(name, {}).get("pass", {}), 1)
            delta = Delta(values[0] - reference) if values[0] is not None and reference is not None else None
            table.rows.append([label, PAPER_BENCHMARK_NAMES.get(name, name), *values, delta])
    return table


def side_by_side(ours: Table, paper_csv: Path, model: str, where: dict[str, str] | None = None) -> Table:
    """Add the paper's numbers next to ours: rows matched on method (and benchmark), columns ``paper pass@k``.

    ``where`` narrows the paper's rows further (e.g. ``{"train_data": "DSR"}``); a method still matching
    several paper rows is an error naming the columns that tell them apart.
    """
    with Path(paper_csv).open(encoding="utf-8") as handle:
        paper = [row for row in csv.DictReader(handle) if row.get("model") == model]
    paper = [row for row in paper if all(row.get(column) in (value, "-") for column, value in (where or {}).items())]
    if not paper:
        raise ReportError(f"{paper_csv}: no rows for model {model!r} with {where or {}}")
    k_columns = [c for c in ours.columns if c.startswith("pass@") and f"k{c[5:]}" in paper[0]]
    merged = Table([*ours.columns, *(f"paper {c}" for c in k_columns)], title=ours.title)
    by_benchmark = "benchmark" in ours.columns
    for row in ours.rows:
        method = row[0].split(" (")[0]
        wanted = row[1] if by_benchmark else None
        hits = [p for p in paper if p["method"] == method and (wanted is None or p.get("benchmark") == wanted)]
        if len(hits) > 1:
            labels = [c for c in hits[0] if not re.fullmatch(r"k\d+|AVG", c)]
            differing = sorted(c for c in labels if len({h[c] for h in hits}) > 1)
            raise ReportError(
                f"{paper_csv}: {len(hits)} paper rows for {method!r}; choose with --paper-where on {differing}"
            )
        numbers = [float(hits[0][f"k{c[5:]}"]) if hits else None for c in k_columns]
        merged.rows.append([*row, *numbers])
    return merged


def modes_table(faithful: Table, strict: Table) -> Table:
    """One paper-shaped table in both grading modes: each number column ``X`` of ``faithful`` becomes ``X
    faithful``, ``X strict`` and ``X Δ`` (strict − faithful). Rows are matched in order on their label columns
    (the leading text columns; a method's parenthesised note aside, since each mode picks its own best-τ
    baseline); where the modes' labels differ the row says both."""
    labels = next(
        (i for i, _ in enumerate(faithful.columns) if not all(isinstance(row[i], str) for row in faithful.rows)),
        len(faithful.columns),
    )
    if faithful.columns != strict.columns or len(faithful.rows) != len(strict.rows):
        raise ReportError("the two grader modes' tables have different columns or rows: report the same runs")
    numbers = faithful.columns[labels:]
    merged = Table(
        [*faithful.columns[:labels], *(f"{c} {mode}" for c in numbers for mode in ("faithful", "strict", "Δ"))],
        title=f"{faithful.title} — faithful vs strict grading",
    )
    for ours, theirs in zip(faithful.rows, strict.rows):
        key, other = [ours[0].split(" (")[0], *ours[1:labels]], [theirs[0].split(" (")[0], *theirs[1:labels]]
        if key != other:
            raise ReportError(
                f"row {ours[:labels]} (faithful) has no counterpart in the strict table ({theirs[:labels]})"
            )
        label = ours[0] if ours[0] == theirs[0] else f"{ours[0]}; strict: {theirs[0]}"
        row = [label, *ours[1:labels]]
        for before, after in zip(ours[labels:], theirs[labels:]):
            delta = Delta(after - before) if isinstance(before, float) and isinstance(after, float) else None
            row += [before, after, delta]
        merged.rows.append(row)
    return merged


# --------------------------------------------------------------------------------------------------------------
# Plots and flips


def _step(checkpoint: str) -> int | None:
    if checkpoint == "base":
        return 0
    match = re.fullmatch(r"(?:global_)?step_?(\d+)", checkpoint)
    return int(match[1]) if match else None


def plot_curves(runs: Sequence[dict], x: str, out: Path, ks: Sequence[int] = MEAN_KS, title: str = "") -> Path:
    """PNG of mean pass@k (one line per k) against ``x`` = ``"tau"`` or ``"step"`` (from ``step<k>`` checkpoints)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if x not in ("tau", "step"):
        raise ReportError(f"plot x axis must be 'tau' or 'step', got {x!r}")
    points = [(r["tau"] if x == "tau" else _step(r["checkpoint"]), r) for r in runs]
    points = sorted(((px, r) for px, r in points if px is not None), key=lambda point: point[0])
    if not points:
        raise ReportError(f"no runs to plot against {x} (step plots need checkpoints named base or step<k>)")
    xs = [px for px, _ in points]
    if len(set(xs)) != len(xs):
        raise ReportError(f"several runs share a {x} value in {sorted(xs)}; select one style/seed (--style)")
    figure, axes = plt.subplots(figsize=(5, 3.5))
    for k in ks:
        pairs = [(px, _pct(r["mean"]["pass"], k)) for px, r in points if _pct(r["mean"]["pass"], k) is not None]
        axes.plot([p[0] for p in pairs], [p[1] for p in pairs], marker="o", label=f"pass@{k}")
    axes.set_xlabel("sampling temperature τ" if x == "tau" else "training step")
    axes.set_ylabel("mean pass@k over benchmarks (%)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=120)
    plt.close(figure)
    return out


def plot_step_curves(
    series: dict[str, Sequence[tuple[int, dict[str, float]]]],
    references: dict[str, dict[str, float]],
    out: Path,
    columns: Sequence[str] = ("pass@1", "pass@8", "pass@32", "AVG"),
    title: str = "",
) -> Path:
    """PNG with one panel per column (pass@k or AVG, fractions): one line per method (``series``: label → (step,
    column → value) points) and a dashed line per reference level (``references``: label → column → value)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not series:
        raise ReportError("no training runs to plot against step")
    figure, axes = plt.subplots(1, len(columns), figsize=(3.2 * len(columns), 3.4), squeeze=False)
    for axis, column in zip(axes[0], columns):
        for i, (label, points) in enumerate(series.items()):
            steps = [step for step, _ in points]
            axis.plot(steps, [100 * values[column] for _, values in points], marker="o", color=f"C{i}", label=label)
        for j, (label, levels) in enumerate(references.items()):
            axis.axhline(100 * levels[column], color="0.3", linestyle=("--", ":", "-.")[j % 3], label=label)
        axis.set_title(column)
        axis.set_xlabel("training step")
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("held-out questions (%)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    figure.suptitle(title)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out


def flip_report(before: dict, after: dict) -> Table:
    """Per-problem flips between two runs: solved (at least one correct sample) in one and not the other."""
    table = Table(
        ["benchmark", "index", "correct before", "correct after", "flip"],
        title=f"{run_label(before)} → {run_label(after)}",
    )
    for name in sorted(set(before["benchmarks"]) & set(after["benchmarks"])):
        old, new = before["benchmarks"][name]["correct_counts"], after["benchmarks"][name]["correct_counts"]
        if set(old) != set(new):
            raise ReportError(
                f"flip report: benchmark {name} has different problems in the two runs; compare like with like"
            )
        for index in sorted(old, key=int):
            if (old[index] > 0) != (new[index] > 0):
                table.rows.append(
                    [
                        PAPER_BENCHMARK_NAMES.get(name, name),
                        int(index),
                        old[index],
                        new[index],
                        "fail→pass" if new[index] > 0 else "pass→fail",
                    ]
                )
    return table


# --------------------------------------------------------------------------------------------------------------
# Table 3: general-domain retention (lm-evaluation-harness scores, written by `python -m eval.general`)

GENERAL_COLUMNS = ("IFEval", "BBH", "GPQA", "MuSR", "MMLU-Pro")


def general_table(methods: Sequence[tuple[str, dict[str, float]]], title: str = "") -> Table:
    """Table 3: one row per method with its score per task (percent) and Δ per task vs the first row (the base)."""
    table = Table(["method", *GENERAL_COLUMNS, *(f"Δ{c}" for c in GENERAL_COLUMNS)], title=title)
    base = methods[0][1] if methods else {}
    for label, scores in methods:
        values = [scores.get(c) for c in GENERAL_COLUMNS]
        deltas = [
            Delta(v - base[c]) if v is not None and base.get(c) is not None else None
            for c, v in zip(GENERAL_COLUMNS, values)
        ]
        table.rows.append([label, *values, *deltas])
    return table


def read_paper_general(paper_csv: Path, model: str) -> dict[str, dict[str, float]]:
    """{method: {task column: score}} of ``model`` in the paper's Table 3 CSV. The reference file's header names
    six columns (method and the five tasks) above rows of seven (model first), so a header without ``model`` one
    field short of its rows is read as ``model`` + header."""
    with Path(paper_csv).open(encoding="utf-8", newline="") as handle:
        lines = [row for row in csv.reader(handle) if row]
    if not lines:
        raise ReportError(f"{paper_csv}: empty")
    header, rows = lines[0], lines[1:]
    if "model" not in header and rows and all(len(row) == len(header) + 1 for row in rows):
        header = ["model", *header]
    missing = [c for c in ("model", "method", *GENERAL_COLUMNS) if c not in header]
    if missing:
        raise ReportError(f"{paper_csv}: columns {header}; missing {missing} (a Table 3 CSV needs them)")
    found: dict[str, dict[str, float]] = {}
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ReportError(f"{paper_csv}:{number}: {len(row)} fields, header has {len(header)}")
        record = dict(zip(header, row))
        if record["model"] == model:
            found[record["method"]] = {c: float(record[c]) for c in GENERAL_COLUMNS}
    if not found:
        models = sorted({row[header.index("model")] for row in rows})
        raise ReportError(f"{paper_csv}: no rows for model {model!r}; models: {models}")
    return found


def general_side_by_side(ours: Table, paper_csv: Path, model: str) -> Table:
    """Table 3 with the paper's score per task next to ours (``paper <task>``), rows matched on the method label
    (the part before any " (" suffix); a method the paper does not have gets '-'."""
    paper = read_paper_general(paper_csv, model)
    merged = Table([*ours.columns, *(f"paper {c}" for c in GENERAL_COLUMNS)], title=ours.title)
    for row in ours.rows:
        numbers = paper.get(row[0].split(" (")[0], {})
        merged.rows.append([*row, *(numbers.get(c) for c in GENERAL_COLUMNS)])
    return merged
