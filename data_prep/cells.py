"""Typed reads of one raw row's cells; every error names the file, row, column and value."""

from __future__ import annotations

import json
import math

from data_prep.errors import DataPrepError


class Cells:
    """One raw row plus where it came from, so a bad cell can be reported precisely."""

    def __init__(self, where: str, number: int, row: dict) -> None:
        self.where = where
        self.number = number
        self.row = row

    def _fail(self, column: str, problem: str, fix: str) -> DataPrepError:
        return DataPrepError(
            problem, file=self.where, row=self.number, column=column, value=self.row.get(column), fix=fix
        )

    def _string(self, column: str, value) -> str | None:
        """``value`` as text if it is text (bytes must be UTF-8), None if it is not text at all."""
        if isinstance(value, bytes):
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError as error:
                raise self._fail(column, "text is not UTF-8", "Re-encode the file as UTF-8") from error
        return value if isinstance(value, str) else None

    def text(self, column: str) -> str:
        """A text cell; a missing value (null) reads as empty text so the caller can count or reject it."""
        value = self.row[column]
        if value is None or _is_nan(value):
            return ""
        text = self._string(column, value)
        if text is None:
            raise self._fail(column, f"expected text, got {type(value).__name__}", "Store this column as strings")
        return text

    def answer(self, column: str) -> str:
        """A ground-truth cell: text as is, numbers written without a trailing ``.0`` (27.0 -> "27")."""
        value = self.row[column]
        if isinstance(value, bool):
            raise self._fail(column, "expected an answer, got a boolean", "Store answers as text or numbers")
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float) and math.isfinite(value):
            return str(int(value)) if value.is_integer() else repr(value)
        return self.text(column)

    def ident(self, column: str) -> str:
        """An id cell (text or integer) as text."""
        value = self.row[column]
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.text(column)

    def listing(self, column: str) -> list:
        """A list cell; CSV cannot hold lists, so there the cell must be a JSON array."""
        value = self.row[column]
        if hasattr(value, "tolist"):  # numpy arrays, as pandas hands list columns over
            value = value.tolist()
        if isinstance(value, (str, bytes)):
            try:
                value = json.loads(self._string(column, value))
            except json.JSONDecodeError as error:
                raise self._fail(column, "expected a list (JSON array text)", "Write the list as JSON") from error
        if not isinstance(value, (list, tuple)):
            raise self._fail(column, f"expected a list, got {type(value).__name__}", "Store this column as a list")
        return list(value)

    def text_list(self, column: str) -> list[str]:
        """A list of text items (OlympiadBench ``final_answer``)."""
        items = self.listing(column)
        if not all(isinstance(item, str) for item in items):
            raise self._fail(column, "expected a list of strings", "Store every item as text")
        return items

    def messages(self, column: str, keys: tuple[str, str]) -> list[tuple[str, str]]:
        """A list of chat turns as ``(speaker, text)`` pairs, read from dicts with the two ``keys``."""
        turns = []
        for item in self.listing(column):
            if not isinstance(item, dict) or not all(isinstance(item.get(key), str) for key in keys):
                raise self._fail(
                    column, f"expected turns with text fields {keys[0]!r} and {keys[1]!r}", "Fix the turn list"
                )
            turns.append((item[keys[0]], item[keys[1]]))
        return turns


def _is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)
