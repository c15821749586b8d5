"""Prepare the SePT benchmarks and training sets as verl RL parquet files (``python -m data_prep``).

Errors the user can fix (DataPrepError) are printed as one line without a traceback; exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from data_prep.errors import DataPrepError
from data_prep.prepare import DECONTAMINATION_MODES, Options, prepare
from data_prep.schema import PROMPT_STYLES
from data_prep.sources import SOURCES
from data_prep.synthetic import write_arithmetic_sets


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _input(text: str) -> tuple[str, Path]:
    name, separator, path = text.partition("=")
    if not separator or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=FILE, got {text!r}")
    return name, Path(path)


def _add_prepare(commands) -> None:
    parser = commands.add_parser("prepare", help="prepare the benchmarks and training sets (hub or local files)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (e.g. data/prepared)")
    parser.add_argument(
        "--datasets", type=_names, default=tuple(SOURCES), help=f"comma list of: {','.join(SOURCES)} (default: all)"
    )
    parser.add_argument(
        "--styles", type=_names, default=PROMPT_STYLES, help=f"comma list of: {','.join(PROMPT_STYLES)} (default: all)"
    )
    parser.add_argument(
        "--input",
        type=_input,
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="local file for one dataset, same columns as the hub dataset (repeatable)",
    )
    parser.add_argument("--local-dir", type=Path, help="folder of NAME.parquet|jsonl|json|csv files")
    parser.add_argument(
        "--no-hub", action="store_true", help="fail instead of downloading a dataset that has no local file"
    )
    parser.add_argument(
        "--decontaminate",
        choices=DECONTAMINATION_MODES,
        default="off",
        help="check training questions against the benchmarks: report overlaps, or drop them",
    )
    parser.add_argument(
        "--normalize-answers",
        action="store_true",
        help="strip $...$ and rewrite e-notation in ground truths (off: keep the paper's answers)",
    )
    parser.set_defaults(run=_run_prepare)


def _run_prepare(args) -> None:
    prepare(
        Options(
            out_dir=args.out,
            datasets=args.datasets,
            styles=args.styles,
            inputs=dict(args.input),
            local_dir=args.local_dir,
            allow_hub=not args.no_hub,
            decontaminate=args.decontaminate,
            normalize_answers=args.normalize_answers,
        )
    )


def _add_synthetic(commands) -> None:
    parser = commands.add_parser("synthetic", help="write small seeded arithmetic train/val sets (CPU preset)")
    parser.add_argument("--out", type=Path, required=True, help="folder for train.parquet and val.parquet")
    parser.add_argument("--train-rows", type=int, default=64)
    parser.add_argument("--val-rows", type=int, default=16)
    parser.add_argument(
        "--extra-val-rows",
        type=int,
        default=0,
        help="validation questions drawn after the training ones (the other two splits unchanged)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--style", choices=PROMPT_STYLES, default="reasoning")
    parser.set_defaults(run=_run_synthetic)


def _run_synthetic(args) -> None:
    paths = write_arithmetic_sets(args.out, args.train_rows, args.val_rows, args.seed, args.style, args.extra_val_rows)
    for split, path in paths.items():
        print(f"{split}: {path}")


def _add_sources(commands) -> None:
    parser = commands.add_parser("sources", help="list the datasets, their hub ids, revisions and columns")
    parser.set_defaults(run=_run_sources)


def _run_sources(args) -> None:
    for source in SOURCES.values():
        config = f" config={source.config}" if source.config else ""
        print(
            f"{source.name:<14}{source.role:<10}{source.hub_id}{config} split={source.split} revision={source.revision}"
        )
        print(f"{'':<24}data_source={source.data_source} columns={','.join(source.columns)}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m data_prep", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    _add_prepare(commands)
    _add_synthetic(commands)
    _add_sources(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except DataPrepError as error:
        print(f"data_prep: error: {error}", file=sys.stderr)
        return 2
    return 0
