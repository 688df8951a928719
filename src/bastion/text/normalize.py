"""One normal form for text, so that copies that differ only in presentation compare equal.

Unicode NFKC (full-width letters, ligatures, styled "math" letters used to dodge filters),
case folding, Latin accents removed, Arabic diacritics (tashkeel), tatweel and letter variants
unified, zero-width and bidi control characters dropped, URLs and @mentions replaced by
placeholders, whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata

from bastion.errors import InvalidInput, TooLarge

DEFAULT_MAX_BYTES = 1_000_000

# Tashkeel (fathatan .. sukun), superscript alef, Quranic marks.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_TATWEEL = "\u0640"
_ARABIC_LETTERS = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ئ": "ي",
        "ؤ": "و",
        "ة": "ه",
        "گ": "ك",
        "ک": "ك",
        "ی": "ي",
        # Arabic-Indic and Persian digits to ASCII.
        **{chr(0x0660 + d): str(d) for d in range(10)},
        **{chr(0x06F0 + d): str(d) for d in range(10)},
    }
)
# Zero-width joiners/spaces, bidi controls, soft hyphen, BOM: invisible, used to dodge filters.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w{1,64}")
_SPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def decode_text(data: bytes, what: str = "The text") -> str:
    """Bytes to text, refusing invalid UTF-8 with the offset of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{what} is not valid UTF-8 (first bad byte at offset {exc.start}); "
            "re-encode it as UTF-8.",
            code="invalid_text",
        ) from None


def check_text(text: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The text if it is usable: not empty, not over the size limit."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise TooLarge(
            f"The text is {size:,} bytes, over the limit of {max_bytes:,} "
            "(BASTION_MAX_TEXT_BYTES); split it or raise the limit.",
            code="text_too_large",
        )
    if not text.strip():
        raise InvalidInput("The text is empty.", code="empty_text")
    return text


def normalize_text(text: str) -> str:
    """The normal form used for matching and classification."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = _URL.sub(" <url> ", text)
    text = _MENTION.sub(" <user> ", text)
    text = text.casefold()
    text = _ARABIC_MARKS.sub("", text).replace(_TATWEEL, "").translate(_ARABIC_LETTERS)
    text = _strip_latin_accents(text)
    return _SPACE.sub(" ", text).strip()


def words(normal: str) -> list[str]:
    """Word tokens of normalised text (punctuation dropped, placeholders kept)."""
    return [t for t in _TOKEN.findall(normal) if t[0].isalnum() or t[0] == "_"]


def _strip_latin_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    # Only combining marks on Latin letters go; Arabic marks were handled above and other
    # scripts keep theirs.
    out = []
    previous_latin = False
    for char in decomposed:
        if unicodedata.combining(char) and previous_latin:
            continue
        out.append(char)
        previous_latin = char < "\u0250" and char.isalpha()
    return unicodedata.normalize("NFC", "".join(out))
