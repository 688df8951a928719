"""Sentence windows: a short call pasted among ordinary posts is diluted, and the whole text
scores low. With windows on (off by default: `BASTION_TEXT_WINDOWS`, `--windows`), every two
consecutive sentences of a text of three or more are scored too, and a window in the high
band sends a text the whole-text score left alone to review, never higher.

Out of fold it finds 55-60% of diluted calls in English and French and 47% in Arabic (none
are found without it), for 2-3 more benign texts of three or more sentences per language in
review, nearly all counter-speech that quotes a recruiter (research/counter-speech/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from bastion.classify.long_texts import suspicion
from bastion.classify.model import TextModel

SENTENCES = 2  # sentences per window
MIN_SENTENCES = 3  # fewer, and the whole text is already its own window
# A 1 MB text has thousands of windows: these many, the most suspicious by the first stage's
# cheap lexical score.
MAX_WINDOWS = 64
# Sentence ends, and every line break: chat-style posts put one message a line, unpunctuated.
BREAK = re.compile(r"(?<=[.!?\u061f])\s+|\s*\n\s*")


def windows(pieces: Sequence[str], model: TextModel) -> list[str]:
    """The distinct windows of a text read as `pieces` (each window inside one piece), in text
    order; none if the text has fewer than MIN_SENTENCES sentences."""
    sentences = [[s for s in BREAK.split(p) if s.strip()] for p in pieces]
    if sum(len(group) for group in sentences) < MIN_SENTENCES:
        return []
    found = list(
        dict.fromkeys(
            " ".join(group[start : start + SENTENCES])
            for group in sentences
            for start in range(max(1, len(group) - SENTENCES + 1))
        )
    )
    if len(found) > MAX_WINDOWS:
        chosen = np.argsort(-suspicion(found, model), kind="stable")[:MAX_WINDOWS]
        found = [found[i] for i in sorted(chosen)]
    return found
