"""A reward function for one e2e launch: grades the hostile answers of ``tools.hostile_answers`` inside a running
training step, in place of what the tiny model sampled (it cannot write them), and records each call.

Calls are counted across reward workers (a file lock); calls ``NORMAL_BEFORE`` .. ``NORMAL_BEFORE + 9`` get the
hostile answers, every other call grades the model's own sample. Each call appends
``{"call", "hostile", "seconds", "reason", "pid"}`` to the file named by ``RECORD_ENV``.
"""

from __future__ import annotations

import fcntl
import json
import os
import time

from recipe.sept.reward import compute_score as grade
from tools.hostile_answers import HOSTILE

RECORD_ENV = "SEPT_TEST_HOSTILE_RECORD"
NORMAL_BEFORE = 16  # own samples graded first: the reference for the grading time after the hostile ones


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    record = os.environ[RECORD_ENV]
    with open(record + ".count", "a+") as counter:
        fcntl.flock(counter, fcntl.LOCK_EX)  # several reward workers may call at once
        counter.seek(0)
        call = len(counter.read())
        counter.write(".")
    names = list(HOSTILE)
    hostile = names[call - NORMAL_BEFORE] if 0 <= call - NORMAL_BEFORE < len(names) else None
    if hostile is not None:
        solution_str, ground_truth = HOSTILE[hostile]
    started = time.perf_counter()
    result = grade(data_source, solution_str, ground_truth, extra_info=extra_info, **kwargs)
    row = {"call": call, "hostile": hostile, "seconds": time.perf_counter() - started, "reason": result["reason"]}
    with open(record, "a", encoding="utf-8") as out:
        out.write(json.dumps({**row, "pid": os.getpid()}) + "\n")
    return result
