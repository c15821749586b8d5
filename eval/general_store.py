"""Storage of lm-evaluation-harness results for Table 3, one folder per model/checkpoint/task::

    <root>/<model>/<checkpoint>/<task>/results.json            {"sept": {...header...}, "lm_eval": {...}}
    <root>/<model>/<checkpoint>/<task>/samples/<leaf task>.jsonl   lm-eval's per-sample logs, one line per document

``lm_eval`` is the dict lm-eval's ``simple_evaluate`` returned, without its ``samples``; ``sept`` records who wrote
it (lm-eval version, settings). A task folder appears atomically (written beside it, then renamed), so a folder
that exists is complete and a relaunch skips it; a crash leaves only a ``.partial-*`` folder, removed next time.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from eval.store import _SLUG

RESULTS = "results.json"
SAMPLES = "samples"
PARTIAL_PREFIX = ".partial-"


class GeneralStoreError(ValueError):
    """A stored result that cannot be used or reused; the message names the folder and what to do."""


def task_dir(root: Path, model: str, checkpoint: str, task: str) -> Path:
    for field, value in (("model", model), ("checkpoint", checkpoint), ("task", task)):
        if not _SLUG.match(value):
            raise GeneralStoreError(f"{field} name {value!r}: use letters, digits and . _ + - only (no '/')")
    return Path(root, model, checkpoint, task)


def read_stored(folder: Path) -> dict:
    """The ``results.json`` of one task folder."""
    path = folder / RESULTS
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        stored["sept"], stored["lm_eval"]["results"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GeneralStoreError(
            f"{path}: not a results file of `python -m eval.general` ({exc!r}); move the folder away to rerun the task"
        ) from None
    return stored


def check_reusable(folder: Path, settings: dict) -> bool:
    """True when ``folder`` holds this task's results under the same settings (a relaunch skips it), False when
    there is none. Results of another lm-eval version or other settings are an error: reusing them would mix
    numbers that are not comparable, and rerunning over them would lose them."""
    if not (folder / RESULTS).exists():
        return False
    stored = read_stored(folder)["sept"]
    differing = {k: (stored.get(k), v) for k, v in settings.items() if stored.get(k) != v}
    if "lm_eval_version" in differing:
        old, new = differing["lm_eval_version"]
        raise GeneralStoreError(
            f"{folder} was written by lm-eval {old}; this is lm-eval {new}. Use another --out, or move that folder "
            "away to rerun the task with this version"
        )
    if differing:
        detail = "; ".join(f"{k}: stored {old!r}, requested {new!r}" for k, (old, new) in sorted(differing.items()))
        raise GeneralStoreError(
            f"{folder} holds results under other settings ({detail}). Use another --out or --checkpoint, or move "
            "that folder away to rerun"
        )
    return True


def write_task(folder: Path, header: dict, results: dict) -> Path:
    """Store one task's lm-eval results and per-sample logs atomically; refuses to replace an existing folder."""
    from lm_eval.utils import handle_non_serializable

    folder.parent.mkdir(parents=True, exist_ok=True)
    for stale in folder.parent.glob(f"{PARTIAL_PREFIX}{folder.name}-*"):
        shutil.rmtree(stale)
    partial = Path(tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{folder.name}-", dir=folder.parent))
    samples = results.get("samples") or {}
    (partial / SAMPLES).mkdir()
    for leaf, rows in samples.items():
        with (partial / SAMPLES / f"{leaf}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, default=handle_non_serializable, ensure_ascii=False) + "\n")
    summary = {k: v for k, v in results.items() if k != "samples"}
    document = {"sept": {**header, "samples": {leaf: len(rows) for leaf, rows in samples.items()}}, "lm_eval": summary}
    text = json.dumps(document, default=handle_non_serializable, indent=1, ensure_ascii=False)
    (partial / RESULTS).write_text(text + "\n", encoding="utf-8")
    try:
        partial.rename(folder)
    except OSError as exc:
        shutil.rmtree(partial)
        raise GeneralStoreError(f"{folder} appeared while this task ran (another launch?); kept it ({exc})") from None
    return folder


def task_score(stored: dict, group: str, metrics: tuple[str, ...]) -> float:
    """The table's number for one stored task: the mean of ``metrics`` of lm-eval's ``group`` entry, in percent."""
    entry = stored["lm_eval"]["results"].get(group)
    if entry is None or any(m not in entry for m in metrics):
        have = sorted(entry) if entry else sorted(stored["lm_eval"]["results"])
        raise GeneralStoreError(f"stored results have no {list(metrics)} for {group!r}; found {have}")
    return 100 * sum(float(entry[m]) for m in metrics) / len(metrics)
