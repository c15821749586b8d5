"""Paper Table 3 from the results of ``python -m eval.general``: base vs trained methods, Δ vs base per task.

    python -m eval.general_report results/general --method Base=qwen2.5-math-7b/base \\
        --method SePT=qwen2.5-math-7b/sept-step200 --method GRPO=qwen2.5-math-7b/grpo-step200 \\
        [--format md|csv|latex] [--paper ../shared/reference/paper-tables/table3_general_domain.csv
        --paper-model Qwen2.5-Math-7B]

The first ``--method`` is the base row that Δ columns compare against. A task not stored for a method prints '-'.
Rows evaluated under different settings (lm-eval version, backend, chat template, data, limit) are refused:
their numbers are not comparable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eval.general_store import GeneralStoreError, read_stored, task_dir, task_score
from eval.general_tasks import TASKS
from eval.tables import ReportError, general_side_by_side, general_table

# Settings that must be equal across the rows of one table.
COMPARED = (
    "lm_eval_version",
    "backend",
    "chat_template",
    "fewshot_as_multiturn",
    "gen_kwargs",
    "data_dir",
    "limit",
    "seeds",
)


def method_scores(root: Path, model: str, checkpoint: str) -> tuple[dict[str, float], dict[str, dict]]:
    """({paper column: score}, {task: stored settings}) of one model/checkpoint; absent tasks are left out."""
    scores, settings = {}, {}
    for task in TASKS.values():
        folder = task_dir(root, model, checkpoint, task.key)
        if not (folder / "results.json").exists():
            continue
        stored = read_stored(folder)
        scores[task.label] = task_score(stored, task.group, task.metrics)
        settings[f"{model}/{checkpoint}/{task.key}"] = stored["sept"]
    return scores, settings


def build_table(root: Path, specs: list[str], title: str):
    methods, settings = [], {}
    for item in specs:
        label, sep, spec = item.partition("=")
        model, slash, checkpoint = spec.partition("/")
        if not (sep and slash and label and model and checkpoint):
            raise ReportError(f"--method {item!r}: use LABEL=MODEL/CHECKPOINT, e.g. SePT=qwen2.5-math-7b/sept-step200")
        scores, found = method_scores(root, model, checkpoint)
        if not scores:
            raise ReportError(f"--method {item!r}: nothing stored under {root / model / checkpoint}")
        methods.append((label, scores))
        settings.update(found)
    for key in COMPARED:
        values = {name: s.get(key) for name, s in settings.items()}
        if len({repr(v) for v in values.values()}) > 1:
            listed = "; ".join(f"{name}: {value!r}" for name, value in sorted(values.items()))
            raise ReportError(f"rows were evaluated with different {key} ({listed}); rerun them alike")
    return general_table(methods, title=title)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="the --out folder of python -m eval.general")
    parser.add_argument("--method", action="append", required=True, metavar="LABEL=MODEL/CHECKPOINT")
    parser.add_argument("--format", choices=("md", "csv", "latex"), default="md")
    parser.add_argument("--paper", type=Path, help="the paper's Table 3 CSV to print side by side")
    parser.add_argument("--paper-model", help="the paper's model name in that CSV (e.g. Qwen2.5-Math-7B)")
    args = parser.parse_args(argv)
    try:
        table = build_table(args.results, args.method, "General-domain retention (%)")
        if args.paper:
            if not args.paper_model:
                raise ReportError("--paper needs --paper-model (the model name as the paper's CSV spells it)")
            table = general_side_by_side(table, args.paper, args.paper_model)
        print(table.render(args.format), end="")
    except (ReportError, GeneralStoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
