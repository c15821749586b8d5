"""What the lab's pipelines report about a run's cost: the machine's peak used memory, and launches whose output
goes to a log while a one-line progress summary per training step goes to the terminal."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path


def used_memory_gb() -> float:
    """The machine's used memory (MemTotal - MemAvailable) in GiB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    kib = int(fields["MemTotal"].split()[0]) - int(fields["MemAvailable"].split()[0])
    return kib / 2**20


class PeakMemory:
    """Peak of the machine's used memory while a pipeline runs, sampled every second: the runs start Ray, vLLM and
    torch processes, whose sum no single process's RSS shows."""

    def __init__(self) -> None:
        self.start = self.peak = used_memory_gb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(1.0):
            self.peak = max(self.peak, used_memory_gb())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def follow_metrics(path: Path, on_row: Callable[[dict], None], stop: threading.Event, poll_s: float = 1.0) -> None:
    """Call ``on_row`` with every row verl's ``file`` logger appends to ``path`` (``{"step", "data"}``) until
    ``stop`` is set; the file may not exist yet."""
    position = 0
    while True:
        finished = stop.is_set()
        if path.is_file():
            with path.open(encoding="utf-8") as handle:
                handle.seek(position)
                for line in iter(handle.readline, ""):
                    if not line.endswith("\n"):
                        break  # a row being written: read it whole on the next poll
                    position += len(line.encode("utf-8"))
                    on_row(json.loads(line))
        if finished:
            return
        stop.wait(poll_s)


def run_logged(
    cmd: list[str],
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    metrics: Path | None = None,
    on_row: Callable[[dict], None] | None = None,
) -> tuple[int, float]:
    """Run ``cmd`` with its output in ``log``; while it runs, rows of its ``metrics`` file go to ``on_row``.
    Returns (exit code, seconds)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    follower = None
    if metrics is not None and on_row is not None:
        follower = threading.Thread(target=follow_metrics, args=(metrics, on_row, stop), daemon=True)
        follower.start()
    start = time.time()
    try:
        with log.open("w", encoding="utf-8") as handle:
            code = subprocess.run(cmd, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT).returncode
    finally:
        stop.set()
        if follower is not None:
            follower.join()
    return code, time.time() - start


def log_tail(log: Path, lines: int = 15) -> str:
    return "".join(log.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)[-lines:])
