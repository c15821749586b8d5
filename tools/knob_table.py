"""The knob tables of the README and docs/, generated from the YAML files that define the values.

  .venv/bin/python tools/knob_table.py            print every table
  .venv/bin/python tools/knob_table.py --write    rewrite the tables between their markers in README.md / docs/

Every value is defined once, with its comment above it, in a YAML file; the tables repeat them for reading and are
regenerated from the YAML (``tests/tools/test_knob_table.py`` fails when a table is stale). A table sits between
``<!-- knobs:NAME -->`` and ``<!-- /knobs:NAME -->`` in a Markdown file.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# name -> (YAML file, the key prefixes of the knobs it lists, the prefix the YAML file's keys are read under)
TABLES = {
    "sept": ("configs/sept_base.yaml", ("sept.", "trainer.v1.sampler.sampler_kwargs."), ""),
    "sweep": ("configs/sweep/default.yaml", ("sweep.",), "sweep."),
}
_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w.-]*):(?: (?P<value>.+))?$")


def knobs(path: Path, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted key, value, comment) of every leaf of a YAML file written in the project's style: each value on its
    own line, its comment in the ``#`` lines right above it."""
    stack: list[tuple[int, str]] = []
    comment: list[str] = []
    found = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped.lstrip("#").strip())
            continue
        match = _LINE.match(line)
        if not match:
            comment = [] if not stripped else comment
            continue
        indent, key, value = len(match["indent"]), match["key"], match["value"]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        dotted = prefix + ".".join([k for _, k in stack] + [key])
        if value is None:
            stack.append((indent, key))
        else:
            found.append((dotted, value.strip(), " ".join(comment)))
        comment = []
    return found


def table(name: str) -> str:
    path, prefixes, read_prefix = TABLES[name]
    rows = [row for row in knobs(REPO / path, read_prefix) if row[0].startswith(prefixes)]
    lines = [f"Generated from `{path}` by `tools/knob_table.py`.", "", "| knob | value | meaning |", "|---|---|---|"]
    lines += [f"| `{key}` | `{value}` | {comment.replace('|', '/')} |" for key, value, comment in rows]
    return "\n".join(lines)


def replace_tables(text: str) -> str:
    """``text`` with every marked table regenerated."""
    for name in TABLES:
        pattern = re.compile(rf"(<!-- knobs:{name} -->\n)(?:.*?\n)?(<!-- /knobs:{name} -->)", re.S)
        text = pattern.sub(lambda m, name=name: m[1] + table(name) + "\n" + m[2], text)
    return text


def documents() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the marked tables in README.md and docs/")
    args = parser.parse_args()
    if not args.write:
        print("\n\n".join(table(name) for name in TABLES))
        return
    for path in documents():
        text = path.read_text(encoding="utf-8")
        updated = replace_tables(text)
        if updated != text:
            path.write_text(updated, encoding="utf-8")
            print(f"updated {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
