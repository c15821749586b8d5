"""The eight datasets the paper uses: where each comes from, its raw columns, and how a raw row maps to
(question, ground truth, id).

Hub ids and revisions are pinned here. Commit shas come from public material (dataset pages and other
projects' pinned manifests); where none was found the revision is the branch name and ``revision_note`` says
so. Local files must have the same columns as the hub dataset (see ``columns``).

Ground truths are kept exactly as the source gives them (OlympiadBench keeps its ``$...$``, Minerva its
e-notation) because that is how the paper graded them; see data_prep.answers for the opt-in normalisation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from data_prep.cells import Cells
from data_prep.errors import DataPrepError

Extracted = tuple[str, str, str | None]  # question, ground truth, source id (None: use the row position)


def last_boxed(text: str) -> str:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox{...}``) in ``text``, braces balanced; "" if none."""
    start = max(text.rfind("\\boxed{"), text.rfind("\\fbox{"))
    if start < 0:
        return ""
    opening = text.index("{", start)
    depth = 0
    for position in range(opening, len(text)):
        depth += {"{": 1, "}": -1}.get(text[position], 0)
        if depth == 0:
            return text[opening + 1 : position]
    return ""


@dataclass(frozen=True, kw_only=True)
class Source:
    """One dataset: its hub location, raw columns, output name and row mapping."""

    name: str  # CLI name
    role: str  # "benchmark" (must be complete, kept row for row) or "train" (filtered and deduplicated)
    data_source: str  # the authors' data_source value
    file_name: str  # output file name (the authors' names for benchmarks)
    hub_id: str
    config: str | None
    split: str
    revision: str
    revision_note: str
    columns: tuple[str, ...]
    question_column: str  # named in errors about empty questions
    answer_column: str
    extract: Callable[[Cells], Extracted]
    keep: Callable[[Cells], bool] = lambda cells: True


def _math500(c: Cells) -> Extracted:
    return c.text("problem"), c.answer("answer"), c.ident("unique_id")


def _aime24(c: Cells) -> Extracted:
    # math-ai/aime24 has no answer column; its solution column is the boxed answer ("\\boxed{204}").
    return c.text("problem"), last_boxed(c.text("solution")), c.ident("id")


def _aime25(c: Cells) -> Extracted:
    return c.text("problem"), c.answer("answer"), c.ident("id")


def _amc23(c: Cells) -> Extracted:
    return c.text("question"), c.answer("answer"), c.ident("id")


def _minerva(c: Cells) -> Extracted:
    return c.text("question"), c.answer("answer"), None


def _olympiadbench(c: Cells) -> Extracted:
    # final_answer is a list; several answers are joined with "," as in the authors' file ("$69$,$84$").
    return c.text("question"), ",".join(c.text_list("final_answer")), c.ident("id")


def _deepscaler(c: Cells) -> Extracted:
    return c.text("problem"), c.answer("answer"), None


def _openthoughts(c: Cells) -> Extracted:
    # No ground truth ships with OpenThoughts3: the answer is the last \boxed{} of the first teacher (QwQ-32B)
    # response, unverified. SePT itself never reads it; it only feeds logging and the GRPO comparison.
    turns = c.messages("conversations", ("from", "value"))
    question = next((text for speaker, text in turns if speaker == "human"), "")
    response = next((text for speaker, text in turns if speaker == "gpt"), "")
    return question, last_boxed(response), None


def _is_math(c: Cells) -> bool:
    return c.text("domain") == "math"


_PINNED = "commit sha from public material"


def _registry(*sources: Source) -> dict[str, Source]:
    return {source.name: source for source in sources}


SOURCES = _registry(
    Source(
        name="math500",
        role="benchmark",
        data_source="math500",
        file_name="math500",
        hub_id="HuggingFaceH4/MATH-500",
        config=None,
        split="test",
        revision="33b8b6415e2c3765cb6b0ac1a63b550167e7eb87",
        revision_note=_PINNED,
        columns=("problem", "answer", "unique_id"),
        question_column="problem",
        answer_column="answer",
        extract=_math500,
    ),
    Source(
        name="aime24",
        role="benchmark",
        data_source="aime",
        file_name="aime",
        hub_id="math-ai/aime24",
        config=None,
        split="test",
        revision="83a7f387baaa524a8bda0022eac0541582297103",
        revision_note=_PINNED,
        columns=("id", "problem", "solution"),
        question_column="problem",
        answer_column="solution",
        extract=_aime24,
    ),
    Source(
        name="aime25",
        role="benchmark",
        data_source="aime25",
        file_name="aime25",
        hub_id="math-ai/aime25",
        config=None,
        split="test",
        revision="563bb8404243c5f09de6ec262f2db674fe5bce9b",
        revision_note=_PINNED,
        columns=("id", "problem", "answer"),
        question_column="problem",
        answer_column="answer",
        extract=_aime25,
    ),
    Source(
        name="amc23",
        role="benchmark",
        data_source="amc23",
        file_name="amc23",
        hub_id="math-ai/amc23",
        config=None,
        split="test",
        revision="80815d37005feb82cd7f8fbc6901d5d3eff43057",
        revision_note=_PINNED,
        columns=("id", "question", "answer"),
        question_column="question",
        answer_column="answer",
        extract=_amc23,
    ),
    Source(
        name="minerva",
        role="benchmark",
        data_source="minerva",
        file_name="minerva",
        hub_id="math-ai/minervamath",
        config=None,
        split="test",
        revision="ee46ddc498933b1977577953250ca5c66be64f96",
        revision_note=_PINNED,
        columns=("question", "answer"),
        question_column="question",
        answer_column="answer",
        extract=_minerva,
    ),
    Source(
        name="olympiadbench",
        role="benchmark",
        data_source="olympiadbench",
        file_name="olympiadbench",
        hub_id="Hothan/OlympiadBench",
        config="OE_TO_maths_en_COMP",
        split="train",
        revision="3b426ee1d587c71b495146dde9f3e995ee7ac59f",
        revision_note="main-branch commit shown on the dataset's file page (675-row text-only English maths subset)",
        columns=("id", "question", "final_answer"),
        question_column="question",
        answer_column="final_answer",
        extract=_olympiadbench,
    ),
    Source(
        name="dsr",
        role="train",
        data_source="deepscaler",
        file_name="dsr",
        hub_id="agentica-org/DeepScaleR-Preview-Dataset",
        config=None,
        split="train",
        revision="main",
        revision_note="no full commit sha found in public material (main was at b6ae8c6 when last seen)",
        columns=("problem", "answer"),
        question_column="problem",
        answer_column="answer",
        extract=_deepscaler,
    ),
    Source(
        name="otm",
        role="train",
        data_source="open-thoughts/OpenThoughts3-1.2M",
        file_name="otm",
        hub_id="open-thoughts/OpenThoughts3-1.2M",
        config=None,
        split="train",
        revision="main",
        revision_note="no commit sha found in public material; only rows whose domain is 'math'",
        columns=("domain", "conversations"),
        question_column="conversations",
        answer_column="conversations",
        extract=_openthoughts,
        keep=_is_math,
    ),
)
BENCHMARKS = tuple(name for name, source in SOURCES.items() if source.role == "benchmark")
TRAINING_SETS = tuple(name for name, source in SOURCES.items() if source.role == "train")


def get_source(name: str) -> Source:
    """The Source called ``name``; a clear error listing the known names otherwise."""
    if name not in SOURCES:
        raise DataPrepError(f"unknown dataset name {name!r}", fix=f"Use one of: {', '.join(SOURCES)}")
    return SOURCES[name]
