"""Overlap of training questions with the six benchmarks (exact text, and a normalised form).

The paper does not decontaminate, so this is opt-in (``--decontaminate report`` or ``drop``). The normalised
form ignores case, Unicode compatibility forms, whitespace and ``$`` signs, which catches copies that differ
only in formatting.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_SPACE_OR_DOLLAR = re.compile(r"[\s$]+")


def normalize_question(question: str) -> str:
    """The key two questions share when they differ only in case, spacing, ``$`` or Unicode form."""
    return _SPACE_OR_DOLLAR.sub("", unicodedata.normalize("NFKC", question).casefold())


@dataclass(frozen=True)
class Overlap:
    """One training row that matches a benchmark row."""

    train_set: str
    train_row: int  # the raw source row number
    train_id: str
    benchmark: str
    benchmark_id: str
    match: str  # "exact" or "normalized"

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class BenchmarkIndex:
    """Benchmark questions indexed by exact text and by normalised text."""

    def __init__(self, benchmark_records: dict[str, list]) -> None:
        self.exact: dict[str, tuple[str, str]] = {}
        self.normalized: dict[str, tuple[str, str]] = {}
        for name, records in benchmark_records.items():
            for record in records:
                self.exact.setdefault(record.question.strip(), (name, record.row_id))
                self.normalized.setdefault(normalize_question(record.question), (name, record.row_id))

    def find(self, train_set: str, record) -> Overlap | None:
        """The overlap of one training record with any benchmark, exact match preferred."""
        hit = self.exact.get(record.question.strip())
        match = "exact"
        if hit is None:
            hit, match = self.normalized.get(normalize_question(record.question)), "normalized"
        if hit is None:
            return None
        return Overlap(train_set, record.row_number, record.row_id, hit[0], hit[1], match)
