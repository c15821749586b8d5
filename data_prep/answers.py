"""Opt-in ground-truth normalisation (``--normalize-answers``); off by default because the paper graded the
answers exactly as the sources write them.

Two rewrites, each reported per file in the manifest and listed in ``reports/answer_normalization.json``:

- math wrapped in dollars, alone or as a comma list (OlympiadBench: ``$2^{1009}$``, ``$69$,$84$``) loses the
  dollars;
- plain e-notation (Minerva: ``4.5e33``, ``1e-5``) becomes LaTeX (``4.5 \\times 10^{33}``).
"""

from __future__ import annotations

import re

_DOLLAR_LIST = re.compile(r"\$[^$]*\$(?:\s*,\s*\$[^$]*\$)*")
_E_NOTATION = re.compile(r"([+-]?\d+(?:\.\d+)?)e([+-]?\d+)")


def normalize_answer(answer: str) -> str:
    """The normalised form of one ground truth (unchanged when neither rewrite applies)."""
    text = answer.strip()
    if _DOLLAR_LIST.fullmatch(text):
        return text.replace("$", "")
    number = _E_NOTATION.fullmatch(text)
    if number:
        mantissa, exponent = number.groups()
        return f"{mantissa} \\times 10^{{{int(exponent)}}}"
    return answer
