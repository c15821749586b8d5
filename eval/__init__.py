"""Offline evaluation for the SePT reproduction: grading, pass@k metrics, stored generations and reports.

`eval.grader` is self-contained (stdlib, sympy, pylatexenc, math_verify) so verl can load it by file path as a
custom reward function; the other modules import it as `eval.grader`.
"""
