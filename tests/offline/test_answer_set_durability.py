"""The offline set under a real SIGKILL between its two files and a full disk (RLIMIT_FSIZE), in a child process:
a relaunch never trusts a half-written set, and running out of space names the file and keeps the folder's set."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from offline.answer_set import MANIFEST_FILE, SET_FILE, load_set, sha256_file, write_set
from tests.helpers import REPO

REQUEST = {"tau_s": 0.6, "n": 2}

CHILD = textwrap.dedent(
    """
    import os, resource, signal, sys
    from pathlib import Path
    from offline.answer_set import write_set
    from tests.offline.test_answer_set_durability import REQUEST, rows
    mode, folder = sys.argv[1], Path(sys.argv[2])
    if mode == "kill":
        # SIGKILL after train.parquet is in place, before the manifest (the second file) is renamed.
        calls, fsync = [], os.fsync
        def fsync_then_die(fd):
            calls.append(fd)
            fsync(fd)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        os.fsync = fsync_then_die
    else:
        resource.setrlimit(resource.RLIMIT_FSIZE, (2_000, 2_000))
    write_set(folder, rows(400), REQUEST, {})
    """
)


def rows(n: int) -> list[dict]:
    """SFT rows as ``build_rows`` makes them (the fields the manifest's statistics read)."""
    return [
        {
            "messages": [{"role": "user", "content": f"{i} + 1 = ?"}, {"role": "assistant", "content": str(i + 1)}],
            "index": i,
            "sample": 0,
            "finish_reason": "stop",
            "response_tokens": 2,
            "sft_tokens": 12,
            "token_exact": True,
            "sampler_nll": 0.5,
        }
        for i in range(n)
    ]


def child(mode: str, folder: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", CHILD, mode, str(folder)]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_killed_between_the_parquet_and_the_manifest_is_regenerated(tmp_path):
    assert child("kill", tmp_path).returncode == -9
    assert (tmp_path / SET_FILE).is_file() and not (tmp_path / MANIFEST_FILE).exists()
    # The relaunch finds no complete set and generates it again; then the set is complete.
    assert load_set(tmp_path, REQUEST) is None
    manifest = write_set(tmp_path, rows(400), REQUEST, {})
    assert load_set(tmp_path, REQUEST) == manifest and list(tmp_path.glob(".*.tmp")) == []


def test_full_disk_names_the_file_and_keeps_the_set_that_was_there(tmp_path):
    manifest = write_set(tmp_path, rows(3), REQUEST, {})
    before = sha256_file(tmp_path / SET_FILE)
    proc = child("full", tmp_path)
    assert proc.returncode == 1
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("data_prep.schema.NoSpaceError") and str(tmp_path / SET_FILE) in message
    assert "the file already there is untouched" in message
    assert sha256_file(tmp_path / SET_FILE) == before and load_set(tmp_path, REQUEST) == manifest
    assert list(tmp_path.glob(".*.tmp")) == []
