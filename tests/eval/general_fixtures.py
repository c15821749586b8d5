"""Small local datasets in the Hub schema of each Table 3 task, in ``eval.general_tasks``'s ``--data-dir`` layout.

A handful of rows per file, short enough for the tiny byte-level model. BBH's rows are lm-eval's own few-shot
examples of each subtask (real BBH rows, read from its YAMLs); the others are written here in the Hub columns.
"""

from __future__ import annotations

import json
from pathlib import Path

from eval.general_tasks import TASKS, leaf_tasks

# IFEval rows as google's input_data.jsonl: every kwargs dict carries the union of the keys (null where unused), as
# the Hub's Arrow schema does. number_sentences exercises NLTK's Punkt (sentence counting); capital_word_frequency
# its word tokenizer; no_comma neither.
_IFEVAL_KWARGS = {"num_sentences": None, "relation": None, "capital_frequency": None, "capital_relation": None}
IFEVAL_ROWS = [
    {
        "key": 1001,
        "prompt": "Describe a cat in fewer than 3 sentences.",
        "instruction_id_list": ["length_constraints:number_sentences"],
        "kwargs": [{**_IFEVAL_KWARGS, "num_sentences": 3, "relation": "less than"}],
    },
    {
        "key": 1002,
        "prompt": "Name two colours. Do not use any commas. Use fewer than 2 words in all capitals.",
        "instruction_id_list": ["punctuation:no_comma", "change_case:capital_word_frequency"],
        "kwargs": [_IFEVAL_KWARGS, {**_IFEVAL_KWARGS, "capital_frequency": 2, "capital_relation": "less than"}],
    },
]
GPQA_ROWS = [
    {
        "Question": "Which gas do plants take in for photosynthesis?",
        "Correct Answer": "carbon dioxide",
        "Incorrect Answer 1": "helium",
        "Incorrect Answer 2": "neon",
        "Incorrect Answer 3": "argon",
    },
    {
        "Question": "What is 2 + 3?",
        "Correct Answer": "5",
        "Incorrect Answer 1": "4",
        "Incorrect Answer 2": "6",
        "Incorrect Answer 3": "23",
    },
]
MUSR_ROWS = [
    {
        "narrative": "Ana and Bo were in the hall. The vase broke. Ana held a hammer.",
        "question": "Who most likely broke the vase?",
        "choices": "['Ana', 'Bo']",
        "answer_index": 0,
        "answer_choice": "Ana",
    },
    {
        "narrative": "Cy put the key in the box. Di moved it to the drawer while Cy was out.",
        "question": "Where will Cy look for the key?",
        "choices": "['box', 'drawer']",
        "answer_index": 0,
        "answer_choice": "box",
    },
]


def _mmlu_pro_row(number: int) -> dict:
    return {
        "question_id": number,
        "question": f"What is {number} + 1?",
        "options": [str(number), str(number + 1), str(number + 2), str(number + 3)],
        "answer": "B",
        "answer_index": 1,
        "cot_content": "",
        "category": "math",
        "src": "fixture",
    }


def rows_for(leaf, split: str) -> list[dict]:
    """The fixture rows of one leaf task's split."""
    if leaf.name.startswith("leaderboard_bbh_"):
        from lm_eval.tasks._yaml_loader import load_yaml

        samples = load_yaml(leaf.yaml_path, resolve_func=False)["fewshot_config"]["samples"]
        return [{"input": s["input"], "target": s["target"]} for s in samples[:2]]
    if leaf.name == "leaderboard_ifeval":
        return IFEVAL_ROWS
    if leaf.name.startswith("leaderboard_gpqa_"):
        return GPQA_ROWS
    if leaf.name.startswith("leaderboard_musr_"):
        return MUSR_ROWS
    if leaf.name == "leaderboard_mmlu_pro":
        # five validation rows: the leaderboard's 5-shot examples are the first five of that split
        return [_mmlu_pro_row(n) for n in (range(10, 15) if split == "validation" else range(1, 3))]
    raise KeyError(leaf.name)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_fixture_data(data_dir: Path, task_keys=tuple(TASKS)) -> dict[str, int]:
    """Every split of the tasks' leaf tasks under ``data_dir``; returns {leaf task: rows evaluated}."""
    evaluated = {}
    for key in task_keys:
        for leaf in leaf_tasks(TASKS[key]):
            for split in leaf.splits:
                rows = rows_for(leaf, split)
                write_jsonl(Path(data_dir, leaf.dataset_path, leaf.dataset_name or "default", f"{split}.jsonl"), rows)
                if split == leaf.splits[0]:
                    evaluated[leaf.name] = len(rows)
    return evaluated
