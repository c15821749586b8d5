"""verl's RL row format, the paper's three prompt styles, and atomic parquet writes.

Every file data_prep writes has the same five columns, in this order:

- ``data_source``: the benchmark or training-set name the reward/eval code dispatches on;
- ``prompt``: chat messages, a list of ``{"role", "content"}``;
- ``ability``: always ``"math"``;
- ``reward_model``: ``{"ground_truth": str, "style": "rule"}``;
- ``extra_info``: ``{"index": int, "id": str, "split": str}`` (``id`` is the source row's own id).
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from data_prep.errors import DataPrepError

# The sentence Qwen2.5-Math uses and the authors appended to every question (their data_user_reasoning/ files).
REASONING_PROMPT = "Please reason step by step, and put your final answer within \\boxed{}."

# question: the bare question as one user message (authors' data/).
# reasoning: question + " " + REASONING_PROMPT in one user message (authors' data_user_reasoning/).
# system: REASONING_PROMPT as a system message, the bare question as the user message (paper appendix B.4).
PROMPT_STYLES = ("question", "reasoning", "system")

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
RL_SCHEMA = pa.schema(
    [
        ("data_source", pa.string()),
        ("prompt", pa.list_(MESSAGE)),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("ground_truth", pa.string()), ("style", pa.string())])),
        ("extra_info", pa.struct([("index", pa.int64()), ("id", pa.string()), ("split", pa.string())])),
    ]
)


def check_style(style: str) -> str:
    """Return ``style`` if it is one of PROMPT_STYLES, else raise a DataPrepError saying which exist."""
    if style not in PROMPT_STYLES:
        raise DataPrepError(
            f"unknown prompt style {style!r}", value=style, fix=f"Use one of: {', '.join(PROMPT_STYLES)}"
        )
    return style


def build_messages(question: str, style: str) -> list[dict[str, str]]:
    """Chat messages for one question in one of PROMPT_STYLES."""
    check_style(style)
    if style == "question":
        return [{"role": "user", "content": question}]
    if style == "reasoning":
        return [{"role": "user", "content": f"{question} {REASONING_PROMPT}"}]
    return [{"role": "system", "content": REASONING_PROMPT}, {"role": "user", "content": question}]


def make_row(*, data_source: str, question: str, answer: str, style: str, index: int, row_id: str, split: str) -> dict:
    """One verl RL row; the answer is stored exactly as given (no normalisation here)."""
    return {
        "data_source": data_source,
        "prompt": build_messages(question, style),
        "ability": "math",
        "reward_model": {"ground_truth": answer, "style": "rule"},
        "extra_info": {"index": index, "id": row_id, "split": split},
    }


def rows_to_table(rows: Iterable[dict]) -> pa.Table:
    """Rows as an arrow table with the fixed RL_SCHEMA (so empty and non-empty files agree)."""
    return pa.Table.from_pylist(list(rows), schema=RL_SCHEMA)


# Out of space: a full disk, a quota, a file-size limit (RLIMIT_FSIZE). Told apart from other errors because the
# way out is the same for all three and needs no debugging.
NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class NoSpaceError(OSError):
    """A write that ran out of space; the file it was to replace is untouched. The message says what to do."""


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``: an interrupted run never leaves half a file.

    The temporary file lives in the target folder so ``os.replace`` is an atomic rename on one filesystem. A
    temporary file a killed writer left for the same target is removed first. Out of space, the temporary file is
    removed and ``NoSpaceError`` names the file; whatever ``path`` held before stays as it was.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            stale.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        write(Path(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if out_of_space(exc):
            kept = "the file already there is untouched" if path.exists() else "nothing was written"
            raise NoSpaceError(
                exc.errno or errno.ENOSPC,
                f"{path}: out of space while writing it ({exc}); {kept}. Free space under {path.parent} (or raise "
                "the file-size limit) and rerun: complete files are kept and only the missing ones are redone",
            ) from exc
        raise


def out_of_space(exc: BaseException) -> bool:
    """Whether ``exc`` is a write that ran out of space (pyarrow's errors carry the errno only in the text)."""
    if not isinstance(exc, OSError) or isinstance(exc, NoSpaceError):
        return False
    if exc.errno in NO_SPACE_ERRNOS:
        return True
    return any(f"errno {code}]" in str(exc).lower() for code in NO_SPACE_ERRNOS)


def write_rows(rows: Iterable[dict], path: Path) -> int:
    """Write RL rows to ``path`` atomically; returns the row count.

    Written with pyarrow directly (no pandas metadata) so equal rows give byte-identical files.
    """
    table = rows_to_table(rows)
    atomic_write(Path(path), lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    return table.num_rows


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
