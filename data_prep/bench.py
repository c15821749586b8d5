"""Time and peak memory of ``python -m data_prep prepare`` on full-size local inputs.

No real copy of the training sets is at hand here, so seeded synthetic stand-ins are generated in a temporary
folder with the real row counts and the real column shapes: the six benchmarks at their paper sizes, DeepScaleR
at 40,315 rows (a JSON array, like ``deepscaler.json``) and an OpenThoughts3-shaped parquet (default 40,000 rows:
2,500 questions x 16 responses, as OpenThoughts3 repeats each math question). The preparation runs in a child
process so its peak RSS is measured alone.

    python -m data_prep.bench [--dsr-rows N] [--otm-rows N] [--response-chars N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from data_prep.sources import SOURCES

BENCHMARK_ROWS = {"math500": 500, "aime24": 30, "aime25": 30, "amc23": 40, "minerva": 272, "olympiadbench": 675}
WORDS = (
    "let",
    "find",
    "the",
    "number",
    "of",
    "integers",
    "such",
    "that",
    "sum",
    "product",
    "triangle",
    "circle",
    "prime",
    "real",
    "value",
)


def _text(rng: random.Random, chars: int) -> str:
    words, length = [], 0
    while length < chars:
        words.append(rng.choice(WORDS) if rng.random() < 0.8 else f"${rng.randint(2, 999)}^{{{rng.randint(2, 9)}}}$")
        length += len(words[-1]) + 1
    return " ".join(words)


def _benchmark_row(name: str, index: int, rng: random.Random) -> dict:
    question, answer = _text(rng, 300) + f" (#{index})?", str(rng.randint(0, 999))
    shapes = {
        "math500": {
            "problem": question,
            "solution": _text(rng, 600),
            "answer": answer,
            "subject": "Algebra",
            "level": 3,
            "unique_id": f"test/algebra/{index}.json",
        },
        "aime24": {"id": index, "problem": question, "solution": f"\\boxed{{{answer}}}", "url": ""},
        "aime25": {"problem": question, "answer": answer, "id": str(index)},
        "amc23": {"id": index, "question": question, "answer": float(answer), "url": ""},
        "minerva": {"question": question, "answer": answer},
        "olympiadbench": {
            "id": index,
            "question": question,
            "final_answer": [f"${answer}$"],
            "solution": [_text(rng, 600)],
        },
    }
    return shapes[name]


def _otm_row(question: str, rng: random.Random) -> dict:
    domain = "math" if rng.random() < 0.85 else "code"
    thinking = _text(rng, rng.randint(1, 2) * 2000)
    response = f"<think>\n{thinking}\n</think>\nThe answer is $\\boxed{{{rng.randint(0, 99)}}}$."
    return {
        "difficulty": rng.randint(1, 10),
        "source": "synthetic",
        "domain": domain,
        "conversations": [{"from": "human", "value": question}, {"from": "gpt", "value": response}],
    }


def write_inputs(folder: Path, dsr_rows: int, otm_rows: int, seed: int = 0) -> None:
    """Full-size hub-shaped input files for every dataset, ``folder/<name>.<ext>``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in BENCHMARK_ROWS.items():
        pd.DataFrame([_benchmark_row(name, index, rng) for index in range(rows)]).to_parquet(folder / f"{name}.parquet")
    dsr = [
        {"problem": _text(rng, 250) + f" [{index}]", "answer": str(rng.randint(0, 999)), "solution": _text(rng, 300)}
        for index in range(dsr_rows)
    ]
    (folder / "dsr.json").write_text(json.dumps(dsr), encoding="utf-8")
    questions = [_text(rng, 300) + f" [{index}]" for index in range(max(1, otm_rows // 16))]
    otm = [_otm_row(questions[index % len(questions)], rng) for index in range(otm_rows)]
    pd.DataFrame(otm).to_parquet(folder / "otm.parquet", row_group_size=2048)


# The child reports its own high-water mark: getrusage would also count the parent's pages, because Linux
# carries ru_maxrss across fork and exec, while VmHWM belongs to the child's fresh address space.
_CHILD = """
import sys
from data_prep.cli import main
status = main(sys.argv[1:])
hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM'))
print('peak_kib', hwm.split()[1], file=sys.stderr)
sys.exit(status)
"""


def run(inputs: Path, out: Path) -> tuple[float, float]:
    """Prepare every dataset in every style from ``inputs``; returns (seconds, peak RSS in MiB) of the child."""
    command = [
        sys.executable,
        "-c",
        _CHILD,
        "prepare",
        "--out",
        str(out),
        "--local-dir",
        str(inputs),
        "--no-hub",
        "--decontaminate",
        "report",
    ]
    started = time.perf_counter()
    done = subprocess.run(
        command, check=True, cwd=Path(__file__).resolve().parents[1], stderr=subprocess.PIPE, text=True
    )
    seconds = time.perf_counter() - started
    peak_kib = int(done.stderr.split("peak_kib")[-1])
    return seconds, peak_kib / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_prep.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--dsr-rows", type=int, default=40315)
    parser.add_argument("--otm-rows", type=int, default=40000)
    parser.add_argument("--keep", type=Path, help="write inputs and outputs here instead of a temporary folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="data_prep_bench_") as scratch:
        root = args.keep or Path(scratch)
        started = time.perf_counter()
        write_inputs(root / "inputs", args.dsr_rows, args.otm_rows)
        input_mib = sum(path.stat().st_size for path in (root / "inputs").iterdir()) / 2**20
        print(f"generated inputs: {input_mib:.0f} MiB in {time.perf_counter() - started:.1f} s")
        seconds, peak_mib = run(root / "inputs", root / "out")
        manifest = json.loads((root / "out" / "manifest.json").read_text())
    rows = sum(entry["rows"] for entry in manifest["files"])
    print(
        f"prepared {len(manifest['files'])} files ({rows} rows, {len(SOURCES)} datasets x "
        f"{len(manifest['styles'])} styles): {seconds:.1f} s wall, peak RSS {peak_mib:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
