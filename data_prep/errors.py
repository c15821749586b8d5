"""The one exception type data_prep raises for bad input or bad requests."""

from __future__ import annotations


class DataPrepError(Exception):
    """A problem the user can fix: the message names the file, row, column and value, and what to do.

    The CLI prints the message without a traceback and exits with status 2.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: object = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        fix: str | None = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.value = value
        self.fix = fix
        self.problem = problem
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = ", ".join(where) + ": " + self.problem if where else self.problem
        if self.value is not None:
            shown = repr(self.value)
            text += f" (value: {shown[:120] + '...' if len(shown) > 120 else shown})"
        if self.fix:
            text += f". {self.fix}"
        return text
