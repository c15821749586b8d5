"""Paper Table 3 (general-domain retention: IFEval, BBH, GPQA, MuSR, MMLU-Pro) through lm-evaluation-harness.

    python -m eval.general --model PATH_OR_ID [--model-name NAME] [--checkpoint NAME] [--tasks ifeval bbh ...]
        [--out DIR] [--data-dir DIR] [--backend vllm|hf] [--chat-template auto|on|off] [--model-args k=v,...]
    python -m eval.general --export-data DIR [--tasks ...]     # once, where the Hub is reachable
    python -m eval.general_report DIR --method Base=MODEL/base --method SePT=MODEL/CKPT ...   # the table

lm-eval's Open LLM Leaderboard v2 tasks (``leaderboard_ifeval``, ``_bbh``, ``_gpqa``, ``_musr``, ``_mmlu_pro``) with
their own prompts and few-shot counts, batch size ``auto``, lm-eval's default seeds (the leaderboard's), and the
leaderboard's chat-template rule: chat models (``--chat-template auto``: "instruct"/"chat" in the model's name)
get the chat template with few-shot examples as turns; base models plain prompts. The model is loaded once; each
task is stored as soon as it finishes (``eval/general_store.py``), and a relaunch skips the stored ones.

``--data-dir`` reads every dataset from local files instead of the Hub (layout: ``eval/general_tasks.py``), and
sets ``HF_DATASETS_OFFLINE=1``. IFEval's NLTK tokenizer data is written locally; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from eval.general_store import GeneralStoreError, check_reusable, task_dir, write_task
from eval.general_tasks import (
    GeneralTask,
    GeneralTaskError,
    check_local_data,
    export_hub_data,
    leaderboard_dir,
    resolve_tasks,
    write_override_yamls,
    write_punkt_tab,
)

DEFAULT_OUT = Path("results/general")
# lm-eval's default seeds (python random, numpy, torch, few-shot sampler), which the leaderboard runs with. Python's
# seed also fixes GPQA's answer order (its process_docs shuffles the four choices).
SEEDS = {"random_seed": 0, "numpy_random_seed": 1234, "torch_random_seed": 1234, "fewshot_random_seed": 1234}
CHAT_MODEL_NAME = re.compile(r"instruct|chat", re.IGNORECASE)


class GeneralEvalError(ValueError):
    """A request that cannot run; the message names the argument or task and what to do."""


def model_source(model: str) -> str:
    """A local folder (absolute path) or a Hub id; a path that does not exist is an error, not a Hub lookup."""
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise GeneralEvalError(f"--model {model}: folder has no config.json (a Hugging Face model folder expected)")
        return str(path.resolve())
    if model.startswith(("/", ".", "~")) or model.count("/") > 1:
        raise GeneralEvalError(f"--model {model}: no such folder (give a Hugging Face model folder or a Hub id)")
    return model


def use_chat_template(mode: str, source: str, name: str) -> bool:
    if mode != "auto":
        return mode == "on"
    return bool(CHAT_MODEL_NAME.search(Path(source).name) or CHAT_MODEL_NAME.search(name))


def settings_of(args: argparse.Namespace, source: str, chat: bool) -> dict:
    """What a stored result must match to be reused (and what the report checks is equal across rows)."""
    return {
        "lm_eval_version": version("lm_eval"),
        "model_source": source,
        "backend": args.backend,
        "chat_template": chat,
        "fewshot_as_multiturn": chat,
        "model_args": args.model_args,
        "gen_kwargs": args.gen_kwargs,
        "data_dir": str(Path(args.data_dir).resolve()) if args.data_dir else None,
        "limit": args.limit,
        "seeds": SEEDS,
    }


def parse_model_args(text: str | None) -> dict:
    """``k=v,k=v`` (lm-eval's --model_args syntax) to a dict, values as lm-eval parses them."""
    if not text:
        return {}
    from lm_eval.utils import simple_parse_args_string

    return simple_parse_args_string(text)


def load_model(backend: str, source: str, model_args: dict):
    """One lm-eval model for all tasks: vLLM (``LLM`` in this process) or Hugging Face transformers."""
    if backend == "vllm":
        from lm_eval.models.vllm_causallms import VLLM

        return VLLM(pretrained=source, batch_size="auto", seed=SEEDS["torch_random_seed"], **model_args)
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=source, batch_size="auto", **{"device": "cuda" if _has_cuda() else "cpu", **model_args})


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def evaluate_task(lm, task: GeneralTask, task_manager, chat: bool, limit: float | None, gen_kwargs: str | None) -> dict:
    """lm-eval's ``simple_evaluate`` on one Table 3 task; Hub failures become an error naming the task."""
    from lm_eval import simple_evaluate

    try:
        return simple_evaluate(
            model=lm,
            tasks=[task.group],
            task_manager=task_manager,
            batch_size="auto",
            log_samples=True,
            apply_chat_template=chat,
            fewshot_as_multiturn=chat,
            limit=limit,
            gen_kwargs=gen_kwargs,
            **SEEDS,
        )
    except Exception as exc:
        if not _is_hub_error(exc):
            raise
        raise GeneralEvalError(
            f"task {task.key} ({task.group}): its dataset could not be loaded from the Hugging Face Hub "
            f"({type(exc).__name__}: {exc}). Offline, pass --data-dir with local files (`python -m eval.general "
            "--export-data DIR` where the Hub is reachable); GPQA is gated: accept its terms on the Hub and log in"
        ) from exc


def _is_hub_error(exc: BaseException) -> bool:
    """A dataset that is missing, gated or unreachable (datasets / huggingface_hub / requests errors)."""
    while exc is not None:
        if type(exc).__module__.split(".")[0] in ("datasets", "huggingface_hub", "requests", "urllib3", "httpx"):
            return True
        if isinstance(exc, (ConnectionError, FileNotFoundError)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def run(args: argparse.Namespace) -> list[Path]:
    tasks = resolve_tasks(args.tasks)
    source = model_source(args.model)
    name = args.model_name or Path(source).name
    chat = use_chat_template(args.chat_template, source, name)
    settings = settings_of(args, source, chat)
    folders = {task.key: task_dir(args.out, name, args.checkpoint, task.key) for task in tasks}
    # Every stored result is checked before anything runs, so a mismatch stops the launch with nothing touched.
    pending = [task for task in tasks if not check_reusable(folders[task.key], settings)]
    for task in tasks:
        if task not in pending:
            print(f"[general] {name}/{args.checkpoint}/{task.key}: stored, skipped ({folders[task.key]})")
    if not pending:
        return list(folders.values())
    with tempfile.TemporaryDirectory(prefix="sept-general-") as work:
        task_manager = prepare_tasks(pending, args.data_dir, Path(work))
        lm = load_model(args.backend, source, parse_model_args(args.model_args))
        for task in pending:
            started = datetime.datetime.now(datetime.timezone.utc)
            results = evaluate_task(lm, task, task_manager, chat, args.limit, args.gen_kwargs)
            seconds = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
            header = {
                **settings,
                "model": name,
                "checkpoint": args.checkpoint,
                "task": task.key,
                "lm_eval_task": task.group,
                "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "seconds": round(seconds, 1),
            }
            write_task(folders[task.key], header, results)
            print(f"[general] {name}/{args.checkpoint}/{task.key}: {seconds:.0f} s, stored in {folders[task.key]}")
    return list(folders.values())


def prepare_tasks(tasks: list[GeneralTask], data_dir: str | None, work: Path):
    """lm-eval's TaskManager over its leaderboard configs, with local-data overrides; IFEval's NLTK data."""
    import nltk
    from lm_eval.tasks import TaskManager

    if any(task.key == "ifeval" for task in tasks):
        nltk.data.path.insert(0, str(write_punkt_tab(work / "nltk_data")))
    include = [leaderboard_dir()]
    if data_dir is not None:
        for task in tasks:
            write_override_yamls(task, check_local_data(task, Path(data_dir)), work / "tasks" / task.key)
        include.append(work / "tasks")
    return TaskManager(include_path=[str(p) for p in include], include_defaults=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--model", help="Hugging Face model folder or Hub id")
    action.add_argument("--export-data", type=Path, metavar="DIR", help="write the tasks' Hub datasets to DIR")
    parser.add_argument("--model-name", help="storage/table name of the model (default: the folder or id's name)")
    parser.add_argument("--checkpoint", default="base", help="checkpoint name: base (untrained) or e.g. sept-step200")
    parser.add_argument("--tasks", nargs="+", metavar="TASK", help="subset of: ifeval bbh gpqa musr mmlu_pro")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results root (default {DEFAULT_OUT})")
    parser.add_argument("--data-dir", help="local dataset files instead of the Hub (layout: eval/general_tasks.py)")
    parser.add_argument("--backend", choices=("vllm", "hf"), default="vllm")
    parser.add_argument("--chat-template", choices=("auto", "on", "off"), default="auto")
    parser.add_argument(
        "--model-args", help="extra lm-eval model arguments, e.g. tensor_parallel_size=2,dtype=bfloat16"
    )
    parser.add_argument("--limit", type=float, help="documents per leaf task (tests and smoke runs only)")
    parser.add_argument(
        "--gen-kwargs",
        help="override IFEval's generation settings, e.g. max_gen_toks=64 (tests only; default: lm-eval's)",
    )
    args = parser.parse_args(argv)
    if args.data_dir:
        os.environ["HF_DATASETS_OFFLINE"] = "1"  # read by `datasets` when first imported, below
    try:
        if args.export_data:
            for path in export_hub_data(resolve_tasks(args.tasks), args.export_data):
                print(f"wrote {path}")
        else:
            run(args)
    except (GeneralEvalError, GeneralTaskError, GeneralStoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
