"""Sentence windows: a short call pasted among ordinary posts is diluted, and the whole text
scores low. With windows on (off by default: `BASTION_TEXT_WINDOWS`, `--windows`), every two
consecutive sentences of a text of three or more are scored too, and a window in the high
band sends a text the whole-text score left alone to review, never higher.

Out of fold it finds 55-60% of diluted calls in English and French and 47% in Arabic (none
are found without it), for 2-3 more benign texts of three or more sentences per language in
review, nearly all counter-speech that quotes a recruiter (research/counter-speech/README.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.classify.long_texts import SENTENCE_END

SENTENCES = 2  # sentences per window
MIN_SENTENCES = 3  # fewer, and the whole text is already its own window
# A 1 MB text has thousands of windows: these many, from its most suspicious pieces first.
MAX_WINDOWS = 64


def windows(pieces: Sequence[str], suspicion: Sequence[float]) -> list[str]:
    """The windows of a text read as `pieces` (with the first stage's score of each), most
    suspicious pieces first; none if the text has fewer than MIN_SENTENCES sentences."""
    sentences = [[s for s in SENTENCE_END.split(p) if s.strip()] for p in pieces]
    if sum(len(group) for group in sentences) < MIN_SENTENCES:
        return []
    out: list[str] = []
    for index in sorted(range(len(pieces)), key=lambda i: -suspicion[i]):
        group = sentences[index]
        for start in range(max(1, len(group) - SENTENCES + 1)):
            out.append(" ".join(group[start : start + SENTENCES]))
            if len(out) == MAX_WINDOWS:
                return out
    return out
