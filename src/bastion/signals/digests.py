"""Cryptographic digests of a file's bytes: exact-copy signals for any kind of file."""

from __future__ import annotations

import hashlib
import re

from bastion.errors import InvalidInput

_HEX_LENGTHS = {"md5": 32, "sha256": 64}


def file_digests(data: bytes) -> dict[str, str]:
    """The md5 and sha256 of the bytes, as lowercase hex."""
    return {
        "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def parse_digest(signal_type: str, value: str) -> str:
    """Validate a hex digest of the given type and return it in lowercase."""
    length = _HEX_LENGTHS[signal_type]
    text = value.strip().lower()
    if not re.fullmatch(rf"[0-9a-f]{{{length}}}", text):
        raise InvalidInput(
            f"A {signal_type} digest is {length} hexadecimal digits; got {len(text)} characters.",
            code="malformed_hash",
        )
    return text
