"""Verifier audit: grade stored generations in both grading modes and report what the grader's quirks move.

    python -m eval.audit <generations dir> [--out DIR] [--sample 10] [--workers 2] [--timeout 30] [--skip-bad]

Grades every stored response faithfully (the authors' verdicts) and strictly (``eval.grader.STRICT_RULES``),
then writes to ``--out`` (default: the generations directory):

* ``audit.md``: per benchmark (seeds of one configuration averaged, the unweighted benchmark mean last) the
  verdicts that differ, by rule, and pass@1/pass@8/pass@32/AVG in both modes with their change; then a sample
  of differing answers per benchmark;
* ``audit.csv``: the same table; ``audit_differences.csv``: every distinct differing (answer, ground truth);
* ``metrics_faithful.json``, ``metrics_strict.json``: ``eval.regrade``'s metrics in each mode, so that
  ``python -m eval.report metrics_faithful.json --other-mode metrics_strict.json ...`` prints any paper-shaped
  table in both modes side by side without grading again.

A verdict change is credited to the rules that change it alone (faithful + that one rule gives the strict
verdict); ``combined`` when only several rules together do. Every differing answer is graded again with 10x the
stage budgets first: one that then grades alike in both modes differed because a budget ran out under load in
one pass (column ``budget-bound``; both modes use the settled verdict), not because of a rule.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from eval.grader import (
    DEFAULT_BUDGET_SCALE,
    DEFAULT_TIMEOUT_S,
    DEFAULT_WORKERS,
    STRICT_RULES,
    grade_many,
)
from eval.metrics import AVG_KS, mean_pass_at_k
from eval.regrade import load_generations, metrics_document, response_pairs
from eval.store import GenerationsError, Record, RunKey

COMBINED = "combined"
SETTLE_SCALE = 10.0  # stage budgets x this when a differing verdict is graded again (see _settle)
MEAN_ROW = "mean"


@dataclass
class Cell:
    """One (configuration, benchmark) of the audit: pass@k per mode (summed over seeds) and the changes."""

    seeds: int = 0
    passes: dict[str, Counter] = field(default_factory=lambda: {"faithful": Counter(), "strict": Counter()})
    by_rule: Counter = field(default_factory=Counter)  # rule -> verdicts changed (accepted or rejected)
    accepted: int = 0  # strict correct, faithful wrong
    rejected: int = 0  # strict wrong, faithful correct
    samples: int = 0
    budget_bound: int = 0  # differed only because a stage budget ran out in one pass (settled: the same verdict)


def audit(
    root: Path,
    workers: int = DEFAULT_WORKERS,
    timeout: float = DEFAULT_TIMEOUT_S,
    on_bad: str = "error",
    budget_scale: float = DEFAULT_BUDGET_SCALE,
    n_boot: int = 1000,
) -> tuple[dict[tuple, Cell], list[dict], dict[str, dict]]:
    """Cells by (configuration, benchmark), the distinct differing answers (most frequent first), and the
    metrics file's content in each mode (``eval.regrade``'s layout, from the settled verdicts)."""
    loaded, report = load_generations(root, on_bad)
    pairs = response_pairs(loaded)
    if not pairs:
        raise GenerationsError(f"{root}: the generation files hold no responses, so there is nothing to audit")
    settings = {"timeout": timeout, "workers": workers, "budget_scale": budget_scale}
    faithful = grade_many(pairs, mode="faithful", **settings)
    strict = grade_many(pairs, mode="strict", **settings)
    settled = _settle(pairs, faithful, strict, settings)
    for position, ((_, truth), before) in enumerate(zip(pairs, faithful)):
        if (before["pred"], truth) in settled:
            faithful[position], strict[position], _ = settled[(before["pred"], truth)]
    cells: dict[tuple, Cell] = defaultdict(Cell)
    differences: dict[tuple, dict] = {}
    verdicts = iter(zip(pairs, faithful, strict))
    for key, records in loaded:
        cell = cells[(_configuration(key), key.benchmark)]
        cell.seeds += 1
        graded = [[next(verdicts) for _ in record.responses] for record in records]
        _add_passes(cell, records, graded)
        for (_, truth), before, after in (item for problem in graded for item in problem):
            cell.samples += 1
            if before["acc"] == after["acc"]:
                cell.budget_bound += (before["pred"], truth) in settled
                continue
            rules = settled[(before["pred"], truth)][2]
            cell.by_rule.update(rules)
            cell.accepted += after["acc"]
            cell.rejected += before["acc"]
            row = differences.setdefault(
                (key.benchmark, before["pred"], truth),
                {"benchmark": key.benchmark, "pred": before["pred"], "ground_truth": truth, "count": 0,
                 "faithful": before["reason"], "strict": after["reason"], "rules": " ".join(rules)},
            )  # fmt: skip
            row["count"] += 1
    ordered = sorted(differences.values(), key=lambda row: (-row["count"], row["benchmark"], row["pred"]))
    metrics = {
        mode: metrics_document(loaded, graded, mode, report, n_boot)
        for mode, graded in (("faithful", faithful), ("strict", strict))
    }
    return dict(cells), ordered, metrics


def _configuration(key: RunKey) -> tuple:
    """What seeds of one evaluated configuration share: model, checkpoint, style, τ, n."""
    return key.model, key.checkpoint, key.style, key.tau, key.n


def _add_passes(cell: Cell, records: list[Record], graded: list[list[tuple]]) -> None:
    n = len(records[0].responses) if records else 0
    for index, mode in enumerate(("faithful", "strict"), start=1):
        counts = [(n, sum(item[index]["acc"] for item in problem)) for problem in graded]
        for k in (k for k in AVG_KS if k <= n):
            cell.passes[mode][k] += mean_pass_at_k(counts, k) if counts else 0.0


def _settle(pairs: list, faithful: list[dict], strict: list[dict], settings: dict) -> dict[tuple, tuple]:
    """Each distinct differing (answer, ground truth) graded again with ``SETTLE_SCALE`` times the stage budgets:
    (faithful result, strict result, the rules that change the verdict on their own). On a loaded machine a
    stage can run out of time in one mode's pass only (the reference's budgets are wall-clock); a difference that
    the generous budgets make disappear is the load's, not a rule's: both results then agree, and no rule is named.
    """
    differing = {}
    for (response, truth), before, after in zip(pairs, faithful, strict):
        if before["acc"] != after["acc"]:
            differing.setdefault((before["pred"], truth), (response, truth))
    items = list(differing.values())
    generous = {**settings, "budget_scale": settings["budget_scale"] * SETTLE_SCALE}
    modes = {mode: grade_many(items, mode=mode, **generous) for mode in ("faithful", "strict")}
    alone = {rule: grade_many(items, rules=[rule], **generous) for rule in STRICT_RULES}
    settled = {}
    for position, key in enumerate(differing):
        before, after = modes["faithful"][position], modes["strict"][position]
        rules = [rule for rule in STRICT_RULES if alone[rule][position]["acc"] == after["acc"]] or [COMBINED]
        settled[key] = (before, after, rules if before["acc"] != after["acc"] else [])
    return settled


# --------------------------------------------------------------------------------------------------------------
# Rendering

COLUMNS = [
    "configuration", "benchmark", "samples", "differing", "strict accepts", "strict rejects", "budget-bound",
    *(f"by {rule}" for rule in (*STRICT_RULES, COMBINED)),
    *(f"{label} {mode}" for label in ("pass@1", "pass@8", "pass@32", "AVG") for mode in ("faithful", "strict", "Δ")),
]  # fmt: skip


def table_rows(cells: dict[tuple, Cell]) -> list[list]:
    """One row per (configuration, benchmark), then the configuration's benchmark mean; pass@k in percent."""
    rows = []
    by_configuration: dict[tuple, list[tuple[str, Cell]]] = defaultdict(list)
    for (configuration, benchmark), cell in sorted(cells.items()):
        by_configuration[configuration].append((benchmark, cell))
    for configuration, benchmarks in by_configuration.items():
        label = "{}/{} {} τ={:g} n={}".format(*configuration)
        per_benchmark = [(name, _scores(cell)) for name, cell in benchmarks]
        for (name, cell), (_, scores) in zip(benchmarks, per_benchmark):
            rows.append([label, name, *_counts(cell), *scores])
        columns = zip(*(scores for _, scores in per_benchmark))
        mean = [None if None in values else sum(values) / len(values) for values in columns]
        total = Cell(samples=sum(c.samples for _, c in benchmarks))
        for _, cell in benchmarks:
            total.by_rule.update(cell.by_rule)
            total.accepted, total.rejected = total.accepted + cell.accepted, total.rejected + cell.rejected
            total.budget_bound += cell.budget_bound
        rows.append([label, MEAN_ROW, *_counts(total), *mean])
    return rows


def _counts(cell: Cell) -> list[int]:
    rules = [cell.by_rule.get(rule, 0) for rule in (*STRICT_RULES, COMBINED)]
    return [cell.samples, cell.accepted + cell.rejected, cell.accepted, cell.rejected, cell.budget_bound, *rules]


def _scores(cell: Cell) -> list[float | None]:
    """pass@1, pass@8, pass@32, AVG (percent; seeds averaged), each as faithful, strict, strict − faithful;
    None where n is below k (AVG needs pass@32)."""
    values = []
    per_mode = {mode: {k: 100 * total / cell.seeds for k, total in cell.passes[mode].items()} for mode in cell.passes}
    for mode in per_mode.values():
        mode["avg"] = sum(mode[k] for k in AVG_KS) / len(AVG_KS) if all(k in mode for k in AVG_KS) else None
    for k in (*AVG_KS, "avg"):
        before, after = per_mode["faithful"].get(k), per_mode["strict"].get(k)
        values += [before, after, None if before is None else after - before]
    return values


def render_markdown(cells: dict[tuple, Cell], differences: list[dict], sample: int) -> str:
    rows = table_rows(cells)
    used = [i for i, name in enumerate(COLUMNS) if not name.startswith("by ") or any(row[i] for row in rows)]
    lines = [
        "# Grader audit: faithful vs strict",
        "",
        "Verdicts that differ between the modes, by the rule that changes them alone (docs/grader.md), and pass@k "
        "(%) in both modes; Δ = strict − faithful. budget-bound: differed only because a stage budget ran out "
        "under load in one pass (graded again with 10x budgets, both modes agree: not counted as differing).",
        "",
        "| " + " | ".join(COLUMNS[i] for i in used) + " |",
        "|" + "---|" * len(used),
    ]
    lines += ["| " + " | ".join(_delta(COLUMNS[i], row[i]) for i in used) + " |" for row in rows]
    lines += ["", f"## Differing answers (up to {sample} per benchmark, most frequent first)", ""]
    lines += [
        "| benchmark | answer | ground truth | count | faithful | strict | rules |",
        "|---|---|---|---|---|---|---|",
    ]
    shown: Counter = Counter()
    for row in differences:
        if shown[row["benchmark"]] < sample:
            shown[row["benchmark"]] += 1
            cells_ = [row["benchmark"], _code(row["pred"]), _code(row["ground_truth"]), row["count"]]
            lines.append("| " + " | ".join(map(str, [*cells_, row["faithful"], row["strict"], row["rules"]])) + " |")
    if not differences:
        lines.append("| (none: both modes agree on every response) | | | | | | |")
    return "\n".join(lines) + "\n"


def _delta(column: str, value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:+.2f}" if column.endswith(" Δ") else f"{value:.2f}"
    return str(value)


def _code(text: str, limit: int = 80) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return "`" + shown.replace("|", "\\|").replace("`", "'").replace("\n", " ") + "`"


def render_csv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[f"{v:.4f}" if isinstance(v, float) else v for v in row] for row in rows])  # None: empty
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="generations directory (as eval.regrade reads it)")
    parser.add_argument("--out", type=Path, help="directory for audit.md/audit.csv (default: the generations dir)")
    parser.add_argument("--sample", type=int, default=10, help="differing answers shown per benchmark in audit.md")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per unique (answer, truth)")
    parser.add_argument("--budget-scale", type=float, default=DEFAULT_BUDGET_SCALE)
    parser.add_argument("--skip-bad", action="store_true", help="skip and list bad records instead of stopping")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the metrics files' CIs")
    args = parser.parse_args(argv)
    try:
        cells, differences, metrics = audit(
            args.root, args.workers, args.timeout, "skip" if args.skip_bad else "error", args.budget_scale, args.n_boot
        )
    except GenerationsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = args.out or args.root
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.md").write_text(render_markdown(cells, differences, args.sample), encoding="utf-8")
    (out / "audit.csv").write_text(render_csv(COLUMNS, table_rows(cells)), encoding="utf-8")
    columns = ["benchmark", "pred", "ground_truth", "count", "faithful", "strict", "rules"]
    rows = [[row[c] for c in columns] for row in differences]
    (out / "audit_differences.csv").write_text(render_csv(columns, rows), encoding="utf-8")
    for mode, document in metrics.items():
        text = json.dumps(document, indent=1, allow_nan=False) + "\n"
        (out / f"metrics_{mode}.json").write_text(text, encoding="utf-8")
    changed = sum(row["count"] for row in differences)
    bound = sum(cell.budget_bound for cell in cells.values())
    print(
        f"{changed} verdicts differ ({len(differences)} distinct answers), {bound} more only by a stage budget "
        f"run out under load; wrote {out}/audit.md, audit.csv, metrics_faithful.json, metrics_strict.json\n"
        f"any paper-shaped table in both modes: python -m eval.report {out}/metrics_faithful.json "
        f"--other-mode {out}/metrics_strict.json --model MODEL [--method LABEL=SPEC ...]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
