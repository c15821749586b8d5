"""The generations store under a real SIGKILL mid-write and a full disk (RLIMIT_FSIZE), in a child process:
no half file a relaunch would trust, a clear error, and the file that was there kept byte for byte."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from eval.store import RunKey, all_stored, discover, path_for, read_generations, write_generations
from tests.helpers import REPO

KEY = RunKey("tiny", "base", "question", 1.0, 1, 0, "math500")
OTHER = RunKey("tiny", "base", "question", 1.0, 1, 0, "aime")
LIMIT = 100_000

# kill: SIGKILL at the worst moment (every byte written, not yet renamed); full: a file-size limit below the file.
CHILD = textwrap.dedent(
    """
    import os, resource, signal, sys
    from pathlib import Path
    from eval.store import RunKey, write_generations
    mode, root, size = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    if mode == "kill":
        os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
    else:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    key = RunKey("tiny", "base", "question", 1.0, 1, 0, "math500")
    big = "x" * 200_000
    write_generations(root, key, [dict(data_source="math500", index=i, prompt="p", ground_truth="1",
                      responses=[big], finish_reasons=["stop"], lengths=[1]) for i in range(3)])
    """
)


def records(text="7", n=2):
    return [
        dict(
            data_source="math500",
            index=i,
            prompt="p",
            ground_truth="7",
            responses=[text],
            finish_reasons=["stop"],
            lengths=[1],
        )
        for i in range(n)
    ]


def child(mode: str, root: Path, limit: int = LIMIT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(root), str(limit)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def temp_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.tmp"))


def test_killed_mid_write_leaves_no_file_a_relaunch_trusts(tmp_path):
    write_generations(tmp_path, OTHER, [dict(r, data_source="aime") for r in records()])
    proc = child("kill", tmp_path)
    assert proc.returncode == -9
    assert not path_for(tmp_path, KEY).exists() and len(temp_files(tmp_path)) == 1
    # The relaunch: the killed key is incomplete, the other is kept; the rewrite clears the killed writer's temp.
    assert not all_stored(tmp_path, [KEY, OTHER]) and all_stored(tmp_path, [OTHER])
    assert [key for key, _ in discover(tmp_path)] == [OTHER]
    write_generations(tmp_path, KEY, records())
    assert all_stored(tmp_path, [KEY, OTHER]) and temp_files(tmp_path) == []


def test_killed_mid_rewrite_keeps_the_stored_file(tmp_path):
    stored = write_generations(tmp_path, KEY, records())
    before = stored.read_bytes()
    assert child("kill", tmp_path).returncode == -9
    assert stored.read_bytes() == before
    assert len(read_generations(stored)[1]) == 2


def test_full_disk_is_a_clear_error_and_keeps_the_stored_file(tmp_path):
    stored = write_generations(tmp_path, KEY, records())
    before = stored.read_bytes()
    proc = child("full", tmp_path)
    assert proc.returncode == 1
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("data_prep.schema.NoSpaceError") and str(stored) in message
    assert "the file already there is untouched" in message and "Free space under" in message
    assert stored.read_bytes() == before and temp_files(tmp_path) == []


def test_full_disk_on_a_new_file_writes_nothing(tmp_path):
    proc = child("full", tmp_path)
    assert "nothing was written" in proc.stderr
    assert not path_for(tmp_path, KEY).exists() and temp_files(tmp_path) == []


@pytest.mark.parametrize("limit", [0, 1, 4096])
def test_any_limit_below_the_file_size_is_caught(tmp_path, limit):
    assert "NoSpaceError" in child("full", tmp_path, limit).stderr
    assert not path_for(tmp_path, KEY).exists() and temp_files(tmp_path) == []
