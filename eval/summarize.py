"""Print a run's metrics (verl's ``file`` logger JSONL) as Markdown tables: one row per training step, then
validation. ``python -m eval.summarize results/sept_cpu/metrics/<launch>.jsonl``"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# (column title, metric key) for the per-step table.
STEP_COLUMNS = [
    ("tau_s", "sept/tau_s"),
    ("tau_t", "sept/tau_t"),
    ("NLL @tau_t", "sept/nll"),
    ("NLL @tau_s (vLLM)", "sept/rollout_nll"),
    ("entropy @tau_t", "sept/entropy"),
    ("reward (monitor)", "critic/score/mean"),
    ("resp. len", "response_length/mean"),
    ("cut-off", "response_length/clip_ratio"),
    ("gen s", "timing_s/gen"),
    ("update s", "timing_s/update_actor"),
    ("sync s", "timing_s/update_weights"),
    ("step s", "timing_s/step"),
    ("tok/s", "perf/throughput"),
]


def read_metrics(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{n}: not a JSON line ({exc}); is this a verl file-logger metrics file?") from exc
    return rows


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else "-"


def step_table(rows: list[dict]) -> str:
    lines = ["| step | " + " | ".join(t for t, _ in STEP_COLUMNS) + " |", "|---" * (len(STEP_COLUMNS) + 1) + "|"]
    for row in rows:
        data = row["data"]
        if "sept/tau_s" in data:
            lines.append(f"| {row['step']} | " + " | ".join(_fmt(data.get(k)) for _, k in STEP_COLUMNS) + " |")
    return "\n".join(lines)


def validation_table(rows: list[dict]) -> str:
    lines = ["| step | metric | value |", "|---|---|---|"]
    for row in rows:
        for key, value in sorted(row["data"].items()):
            if key.startswith("val-core/"):
                lines.append(f"| {row['step']} | {key} | {_fmt(value)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_file():
        raise SystemExit("usage: python -m eval.summarize METRICS.jsonl (an existing file)")
    rows = read_metrics(Path(args[0]))
    print(f"## Training steps ({args[0]})\n\n{step_table(rows)}\n\n## Validation\n\n{validation_table(rows)}")


if __name__ == "__main__":
    main()
