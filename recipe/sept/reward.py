"""Reward functions verl's reward loop calls on training samples (``reward.custom_reward_function``).

For SePT they are monitoring only: the ``sept`` advantage estimator ignores them, so no score reaches the loss.
``compute_score`` is the project's math grader (``eval/grader.py``), the same one evaluation uses.
``no_score`` is selected by ``sept.monitor_reward=false`` to skip grading; the trainer then drops the reward
metrics, so its zeros are never logged.
"""

from __future__ import annotations


def compute_score(data_source, solution_str, ground_truth, extra_info=None, grader_mode="faithful", **kwargs):
    """The project's math grader (imported on first use, in the reward worker). ``grader_mode`` comes from
    ``reward.custom_reward_function.reward_kwargs.grader_mode`` (verl passes reward_kwargs to every call):
    ``faithful`` reproduces the authors' verdicts, ``strict`` fixes their grader's quirks (docs/grader.md)."""
    from eval.grader import compute_score as grade

    return grade(data_source, solution_str, ground_truth, extra_info=extra_info, grader_mode=grader_mode, **kwargs)


def no_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> float:
    """Skip grading (monitoring off): a constant the trainer never logs."""
    return 0.0
