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
# Invisible characters used to dodge filters: every format character (Unicode category Cf:
# soft hyphen, zero-width spaces and joiners, bidi controls, the Arabic letter mark, tags),
# the combining grapheme joiner, variation selectors and the Hangul fillers.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160"
    "\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f"
    "\ufeff\uffa0\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001-\U000e007f\U000e0100-\U000e01ef]"
)
# Control characters other than tab and line breaks (NUL included) become spaces.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_URL = re.compile(r"(?:\bhttps?://|(?<![\w.])www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w{1,64}\w*")
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
    """The text if it is usable: valid Unicode, not empty, not over the size limit."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"The text contains an unpaired surrogate at character {exc.start}; send valid "
            "Unicode.",
            code="invalid_text",
        ) from None
    if size > max_bytes:
        raise TooLarge(
            f"The text is {size:,} bytes, over the limit of {max_bytes:,} "
            "(BASTION_MAX_TEXT_BYTES); split it or raise the limit.",
            code="text_too_large",
        )
    if not text.strip():
        raise InvalidInput("The text is empty.", code="empty_text")
    return text


def clean_text(text: str) -> str:
    """NFKC with invisible and control characters removed: what the language detector and
    the embedding model read (case, accents and links kept)."""
    text = unicodedata.normalize("NFKC", text)
    return _CONTROL.sub(" ", _INVISIBLE.sub("", text))


def normalize_text(text: str, *, links: bool = False) -> str:
    """The normal form. For classification URLs and @mentions become placeholders (which link
    says little about purpose); for matching (`links=True`) they are kept as `host/path` and
    `@handle`, so two posts that differ only in their link are not the same post."""
    text = clean_text(text)
    if links:
        text = _URL.sub(lambda m: f" {_link(m.group(0))} ", text)
    else:
        text = _URL.sub(" <url> ", text)
        text = _MENTION.sub(" <user> ", text)
    text = text.casefold()
    text = _ARABIC_MARKS.sub("", text).replace(_TATWEEL, "").translate(_ARABIC_LETTERS)
    text = _strip_latin_accents(text)
    return _SPACE.sub(" ", text).strip()


def _link(url: str) -> str:
    """A URL as matching compares it: host (without www) and path, no scheme or query."""
    rest = re.sub(r"^(?:https?://)?(?:www\.)?", "", url, flags=re.IGNORECASE)
    host_path = re.split(r"[?#]", rest, maxsplit=1)[0].rstrip("/.,;:!)")
    # One word token, so a link weighs as one word in shingles.
    return "url_" + re.sub(r"\W+", "_", host_path)


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
