"""The signals of a text: the digest of its normal form (exact copies) and chunk signatures
(near-duplicates). Stored in `entry_signals` as `text_sha256` and `text_minhash` rows."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from bastion.errors import InvalidInput
from bastion.text.minhash import PERMUTATIONS, Chunk, chunk_signatures, from_hex, to_hex
from bastion.text.normalize import check_text, normalize_text

_MINHASH_VALUE = re.compile(rf"^(\d{{1,6}}):([0-9a-f]{{{PERMUTATIONS * 4}}})$")


@dataclass(frozen=True)
class TextSignals:
    """A text's normal form, its digest and its chunk signatures."""

    normal: str
    sha256: str
    chunks: list[Chunk]


def compute_text_signals(text: str, *, max_bytes: int, query: bool = False) -> TextSignals:
    """Validate and fingerprint a text (with `query`, also small windows for lookups)."""
    check_text(text, max_bytes)
    normal = normalize_text(text, links=True)
    if not normal:
        raise InvalidInput("The text has no visible characters.", code="empty_text")
    digest = hashlib.sha256(normal.encode("utf-8")).hexdigest()
    return TextSignals(normal, digest, chunk_signatures(text, normal=normal, query=query))


def minhash_value(chunk: Chunk) -> str:
    """How a chunk signature is stored and exchanged: `<shingles>:<512 hex digits>`."""
    return f"{chunk.shingles}:{to_hex(chunk.signature)}"


def parse_minhash_value(value: str) -> tuple[int, Any]:
    """The shingle count and signature of a stored value; raises InvalidInput."""
    found = _MINHASH_VALUE.match(value.strip().lower())
    if not found:
        raise InvalidInput(
            "A text_minhash value is `<shingle count>:<512 hex digits>` (Bastion's chunk "
            "signature, as `bastion bank export` writes it).",
            code="invalid_hash",
        )
    return int(found.group(1)), from_hex(found.group(2))


def normalize_minhash(value: str) -> str:
    """Validate a text_minhash value and return its stored form."""
    shingles, signature = parse_minhash_value(value)
    return f"{shingles}:{to_hex(signature)}"


def text_signal_rows(signals: TextSignals) -> list[dict[str, Any]]:
    """The `entry_signals` rows of a text."""
    rows: list[dict[str, Any]] = [
        {"signal_type": "text_sha256", "value": signals.sha256, "lookup_key": signals.sha256}
    ]
    for chunk in signals.chunks:
        value = minhash_value(chunk)
        rows.append(
            {
                "signal_type": "text_minhash",
                "value": value,
                "lookup_key": hashlib.sha256(value.encode()).hexdigest(),
                "view": f"words:{chunk.start}",
            }
        )
    return rows
