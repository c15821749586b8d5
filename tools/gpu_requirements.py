"""Read the groups of requirements-gpu.txt (the GPU install's pins, installed one group at a time).

A line ``#[name] comment`` starts group ``name``; the requirement lines up to the next such line belong to it; other
comments and blank lines are ignored. ``scripts/setup_gpu_env.sh`` writes each group to a file with this module's
command line, so the bash script, ``tools/check_gpu_install.py`` and the tests read the file through one parser:

    python tools/gpu_requirements.py requirements-gpu.txt torch      # prints the torch group, one line each
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

GROUP_LINE = re.compile(r"^#\[([a-z0-9-]+)\]")
GROUP_ORDER = ("torch", "flash-attn", "rest")


class RequirementsFormatError(ValueError):
    """requirements-gpu.txt does not have the expected groups."""


def read_groups(path: str | Path) -> dict[str, list[str]]:
    """{group name: [requirement lines]} in file order. Fails on a requirement before the first group, an unknown
    or repeated group, or a missing one, so a hand edit cannot silently drop a step of the install."""
    groups: dict[str, list[str]] = {}
    current = None
    for number, raw in enumerate(Path(path).read_text().splitlines(), start=1):
        line = raw.strip()
        match = GROUP_LINE.match(line)
        if match:
            current = match.group(1)
            if current not in GROUP_ORDER or current in groups:
                raise RequirementsFormatError(
                    f"{path}:{number}: group [{current}] is unknown or repeated; expected each of {GROUP_ORDER} once"
                )
            groups[current] = []
        elif line and not line.startswith("#"):
            if current is None:
                raise RequirementsFormatError(f"{path}:{number}: {line!r} comes before the first #[group] line")
            groups[current].append(line)
    if tuple(groups) != GROUP_ORDER:
        raise RequirementsFormatError(f"{path}: groups {tuple(groups)}; expected {GROUP_ORDER} in this order")
    return groups


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(
            f"usage: python {Path(__file__).name} REQUIREMENTS_FILE GROUP  (groups: {', '.join(GROUP_ORDER)})",
            file=sys.stderr,
        )
        return 2
    path, group = argv
    try:
        groups = read_groups(path)
    except (OSError, RequirementsFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if group not in groups:
        print(f"error: no group [{group}] in {path}; groups: {', '.join(groups)}", file=sys.stderr)
        return 1
    print("\n".join(groups[group]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
