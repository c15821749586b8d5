"""Does the GPU install resolve? pip's resolver on everything scripts/setup_gpu_env.sh installs except flash-attn's build.

    python -m tools.check_gpu_install [--python PY] [--report FILE]     (from the repository root)

Runs ``pip install --dry-run --ignore-installed --report`` on the [torch] and [rest] groups of requirements-gpu.txt
(plus ``-e .`` when the project has a pyproject.toml), the same requirement lines the setup script installs, for this
interpreter's platform (Linux x86_64 here, as on a GPU machine; no GPU is needed to resolve). flash-attn is left out
because pip cannot even read its requirements without torch installed (its sdist's build imports torch); what it
adds (torch, einops) is checked against the resolution instead. Needs the network to PyPI, and a few minutes: it is
not part of the test suite. Prints one table row per pinned requirement and a summary; exits 1 when pip cannot
resolve or a pin resolves to another version.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools.gpu_requirements import read_groups

REPO = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO / "requirements-gpu.txt"
# flash-attn 2.8.3's own install_requires (setup.py), which the resolution must already provide.
FLASH_ATTN_NEEDS = ("torch", "einops")
# Pulled in by verl[vllm] rather than named in the file, but worth a row: what verl and vLLM run on.
ALSO_SHOWN = ("ray", "tensordict", "numpy", "flashinfer-python", "nvidia-cuda-runtime", "triton")


def resolve(python: str, groups: dict[str, list[str]], report: Path) -> tuple[int, str, float]:
    """pip's dry run; returns (exit code, stderr tail, seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = []
        for name in ("torch", "rest"):
            path = Path(tmp) / f"{name}.txt"
            path.write_text("\n".join(groups[name]) + "\n")
            args += ["-r", str(path)]
        if (REPO / "pyproject.toml").is_file():
            args += ["-e", str(REPO)]
        cmd = [
            python,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            "--quiet",
            "--report",
            str(report),
            *args,
        ]
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        return proc.returncode, "\n".join(proc.stderr.splitlines()[-30:]), time.monotonic() - start


def resolved_versions(report: Path) -> dict[str, tuple[str, str]]:
    """{canonical name: (version, 'wheel' | 'sdist')} from pip's installation report."""
    out = {}
    for item in json.loads(report.read_text())["install"]:
        url = item["download_info"]["url"]
        kind = "wheel" if url.endswith(".whl") else "sdist"
        out[canonicalize_name(item["metadata"]["name"])] = (item["metadata"]["version"], kind)
    return out


def table_rows(groups: dict[str, list[str]], resolved: dict[str, tuple[str, str]]) -> list[tuple[str, ...]]:
    """(requirement, group, resolved version, verdict) for every line of the file and the extra names shown."""
    rows = []
    for group, lines in groups.items():
        for line in lines:
            req = Requirement(line)
            if group == "flash-attn":
                missing = [n for n in FLASH_ATTN_NEEDS if n not in resolved]
                verdict = f"not resolved (built in step 2); its needs {FLASH_ATTN_NEEDS}: " + (
                    f"MISSING {missing}" if missing else "present"
                )
                rows.append((line, group, "-", verdict))
                continue
            version, _ = resolved.get(canonicalize_name(req.name), (None, None))
            if version is None:
                verdict = "MISSING"
            else:
                verdict = "ok" if req.specifier.contains(version, prereleases=True) else f"MISMATCH ({req.specifier})"
            rows.append((line, group, version or "-", verdict))
    for name in ALSO_SHOWN:
        version, _ = resolved.get(canonicalize_name(name), ("not pulled in", None))
        rows.append((name, "(via verl/vLLM)", version, "shown"))
    return rows


def print_table(rows: list[tuple[str, ...]]) -> None:
    print("| requirement | group | resolved | check |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter whose pip resolves (default: this one)")
    parser.add_argument("--report", type=Path, help="keep pip's JSON report here")
    args = parser.parse_args(argv)
    groups = read_groups(REQUIREMENTS)
    with tempfile.TemporaryDirectory() as tmp:
        report = args.report or Path(tmp) / "report.json"
        print(
            f"resolving the [torch] and [rest] groups of {REQUIREMENTS.name} with {args.python} "
            f"(pip --dry-run --ignore-installed; network, a few minutes) ...",
            flush=True,
        )
        code, stderr, seconds = resolve(args.python, groups, report)
        if code != 0:
            print(f"FAIL: pip could not resolve (exit {code}, {seconds:.0f} s):\n{stderr}")
            return 1
        resolved = resolved_versions(report)
    rows = table_rows(groups, resolved)
    print_table(rows)
    sdists = sorted(name for name, (_, kind) in resolved.items() if kind == "sdist")
    bad = [r for r in rows if r[3].startswith(("MISSING", "MISMATCH")) or "MISSING [" in r[3]]
    print(
        f"\n{len(resolved)} packages resolved in {seconds:.0f} s on {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; source archives (built at install): {', '.join(sdists) or 'none'}"
    )
    print("FAIL: " + "; ".join(r[0] for r in bad) if bad else "PASS: every pin resolves as written")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
