"""Prepare the SePT paper's benchmarks and training sets as verl RL parquet files.

Run ``python -m data_prep --help`` for the command line; the Python entry points are below.
"""

from data_prep.errors import DataPrepError
from data_prep.prepare import Options, prepare
from data_prep.schema import PROMPT_STYLES, REASONING_PROMPT, build_messages
from data_prep.synthetic import write_arithmetic_sets

__all__ = [
    "PROMPT_STYLES",
    "REASONING_PROMPT",
    "DataPrepError",
    "Options",
    "build_messages",
    "prepare",
    "write_arithmetic_sets",
]
