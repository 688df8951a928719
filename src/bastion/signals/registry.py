"""The signal types a bank entry can hold, how each is validated, and the names peers use.

Aliases come from the programmes Bastion imports from:

- python-threatexchange / HMA signal type names (`SignalType.get_name()`, the class name in
  snake case): `pdq`, `video_md5`, `photo_md5` (older releases), `video_sha256`, `url`,
  `url_md5`.
- Meta ThreatExchange Graph API indicator types (`INDICATOR_TYPE` in the same classes):
  `HASH_PDQ`, `HASH_MD5`, `HASH_VIDEO_MD5`, `HASH_SHA256`, `HASH_VIDEO_SHA256`,
  `HASH_URL_MD5`, `URI`, `RAW_URI`.
- Tech Against Terrorism's TCAP hash list `algorithm` values: `PDQ`, `MD5`, `SHA256`, and the
  v1 list's `ImagePDQ` and `VideoMD5`.

A file's md5 or sha256 is the same whatever the media type, so the video/photo variants all
fold into `md5` and `sha256`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from bastion.errors import InvalidInput
from bastion.signals.digests import parse_digest
from bastion.signals.pdq import parse_hex
from bastion.signals.url import canonicalize_url

Matching = Literal["hamming", "exact", "similarity"]


@dataclass(frozen=True, slots=True)
class SignalType:
    """One kind of value a bank entry can hold."""

    name: str
    description: str
    matching: Matching
    normalize: Callable[[str], str]


def _pdq(value: str) -> str:
    return parse_hex(value).hex()


def _text_minhash(value: str) -> str:
    from bastion.text.signals import normalize_minhash  # numba-compiled; load only when used

    return normalize_minhash(value)


def _md5(value: str) -> str:
    return parse_digest("md5", value)


def _sha256(value: str) -> str:
    return parse_digest("sha256", value)


SIGNAL_TYPES: Mapping[str, SignalType] = MappingProxyType(
    {
        s.name: s
        for s in (
            SignalType("pdq", "PDQ perceptual hash of an image (64 hex digits)", "hamming", _pdq),
            SignalType("md5", "MD5 of a file's bytes (32 hex digits)", "exact", _md5),
            SignalType("sha256", "SHA-256 of a file's bytes (64 hex digits)", "exact", _sha256),
            SignalType("url", "A web link, stored in canonical form", "exact", canonicalize_url),
            SignalType("url_md5", "MD5 of a canonical URL (32 hex digits)", "exact", _md5),
            SignalType(
                "url_sha256", "SHA-256 of a canonical URL (64 hex digits)", "exact", _sha256
            ),
            SignalType(
                "text_sha256",
                "SHA-256 of a text's normal form (64 hex digits): exact copies",
                "exact",
                _sha256,
            ),
            SignalType(
                "text_minhash",
                "MinHash signature of a text chunk (`<shingles>:<512 hex>`): near-duplicates",
                "similarity",
                _text_minhash,
            ),
        )
    }
)

ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "photo_md5": "md5",
        "video_md5": "md5",
        "hash_md5": "md5",
        "hash_video_md5": "md5",
        "videomd5": "md5",
        "video_sha256": "sha256",
        "hash_sha256": "sha256",
        "hash_video_sha256": "sha256",
        "hash_pdq": "pdq",
        "imagepdq": "pdq",
        "uri": "url",
        "raw_uri": "url",
        "hash_url_md5": "url_md5",
    }
)


def canonical_signal_type(name: str) -> str:
    """Bastion's name for a signal type given by its own or a peer's name, any case."""
    key = name.strip().lower()
    if key in SIGNAL_TYPES:
        return key
    if key in ALIASES:
        return ALIASES[key]
    raise _unknown(name)


def normalize_value(signal_type: str, raw: str) -> str:
    """Validate a value of a (canonical) signal type and return the form stored in a bank."""
    kind = SIGNAL_TYPES.get(signal_type)
    if kind is None:
        raise _unknown(signal_type)
    return kind.normalize(raw)


def _unknown(name: str) -> InvalidInput:
    known = ", ".join(SIGNAL_TYPES)
    alias = ALIASES.get(name.strip().lower())
    hint = f" ({name!r} is a peer's name for {alias!r})" if alias else ""
    return InvalidInput(
        f"Unknown signal type {name!r}{hint}; use one of: {known}.",
        code="unknown_signal_type",
        details={"known": list(SIGNAL_TYPES)},
    )
