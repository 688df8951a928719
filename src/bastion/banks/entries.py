"""Bank entries: add known content from files or raw hashes, look at it, remove it."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bastion.audit import record
from bastion.banks.labels import EntryLabels
from bastion.db.models import Bank, BankEntry, EntrySignal
from bastion.errors import InvalidInput, NotFound
from bastion.signals.file_signals import FileSignals, bank_view_hashes, compute_file_signals
from bastion.signals.registry import canonical_signal_type, normalize_value
from bastion.signals.url import url_digests
from bastion.text.signals import TextSignals, compute_text_signals, text_signal_rows


def signal_rows(signal_type: str, value: str) -> list[dict[str, Any]]:
    """The `entry_signals` rows for one normalised value of a signal type."""
    if signal_type == "url":
        key = url_digests(value)["sha256"]
    elif signal_type == "text_minhash":  # too long for the key column; never looked up exactly
        key = hashlib.sha256(value.encode()).hexdigest()
    else:
        key = value
    return [{"signal_type": signal_type, "value": value, "lookup_key": key}]


def file_signal_rows(signals: FileSignals) -> list[dict[str, Any]]:
    """Rows for a file: its digests and, for an image, the PDQ hash of every bank view."""
    rows: list[dict[str, Any]] = [
        {"signal_type": "md5", "value": signals.md5, "lookup_key": signals.md5},
        {"signal_type": "sha256", "value": signals.sha256, "lookup_key": signals.sha256},
    ]
    if signals.image is not None:
        for view in bank_view_hashes(signals.image, signals.pdq):
            rows.append(
                {
                    "signal_type": "pdq",
                    "value": view.hash.hex,
                    "lookup_key": view.hash.hex,
                    "view": view.view,
                    "quality": view.hash.quality,
                }
            )
    return rows


def labels_columns(labels: EntryLabels) -> dict[str, Any]:
    """The entry's label columns from a labels object."""
    return {
        "category": labels.category,
        "behaviours": list(labels.behaviours),
        "entities": list(labels.entities),
        "source": labels.source,
        "note": labels.note,
    }


def entry_labels(entry: BankEntry) -> dict[str, Any]:
    """The labels of an entry as the API shows them."""
    return {
        "category": entry.category,
        "behaviours": entry.behaviours or [],
        "entities": entry.entities or [],
        "source": entry.source,
        "note": entry.note,
    }


def add_entry(
    session: Session,
    bank: Bank,
    rows: list[dict[str, Any]],
    labels: EntryLabels,
    *,
    origin: str,
    actor: str,
    external_id: str | None = None,
    filename: str | None = None,
) -> BankEntry:
    """Store an entry and its signal rows in the caller's transaction."""
    if external_id is not None and len(external_id) > 256:
        raise InvalidInput("`external_id` is longer than 256 characters.")
    entry = BankEntry(
        bank_id=bank.id,
        external_id=external_id,
        origin=origin,
        filename=filename[-512:] if filename else None,
        **labels_columns(labels),
    )
    session.add(entry)
    session.flush()
    session.add_all(EntrySignal(entry_id=entry.id, bank_id=bank.id, **row) for row in rows)
    session.flush()
    record(
        session,
        actor,
        "bank.entry.add",
        f"bank:{bank.name}/entry:{entry.id}",
        {"origin": origin, "signals": sorted({r["signal_type"] for r in rows})},
    )
    return entry


def add_file_entry(
    session: Session,
    bank: Bank,
    data: bytes,
    labels: EntryLabels,
    *,
    max_pixels: int,
    actor: str,
    filename: str | None = None,
    external_id: str | None = None,
) -> tuple[BankEntry, FileSignals]:
    """Add an entry from a file: its digests and, for an image, a PDQ hash per bank view."""
    signals = compute_file_signals(data, max_pixels=max_pixels)
    entry = add_entry(
        session,
        bank,
        file_signal_rows(signals),
        labels,
        origin="file",
        actor=actor,
        external_id=external_id,
        filename=filename,
    )
    return entry, signals


def add_hash_entry(
    session: Session,
    bank: Bank,
    signal_type: str,
    value: str,
    labels: EntryLabels,
    *,
    actor: str,
    external_id: str | None = None,
) -> BankEntry:
    """Add an entry from a raw hash or URL (validated and normalised)."""
    kind = canonical_signal_type(signal_type)
    rows = signal_rows(kind, normalize_value(kind, value))
    return add_entry(
        session, bank, rows, labels, origin="hash", actor=actor, external_id=external_id
    )


def add_text_entry(
    session: Session,
    bank: Bank,
    text: str,
    labels: EntryLabels,
    *,
    max_bytes: int,
    actor: str,
    external_id: str | None = None,
    filename: str | None = None,
) -> tuple[BankEntry, TextSignals]:
    """Add known text (a post, a manifesto): exact and near-duplicate copies will match."""
    signals = compute_text_signals(text, max_bytes=max_bytes)
    entry = add_entry(
        session,
        bank,
        text_signal_rows(signals),
        labels,
        origin="text",
        actor=actor,
        external_id=external_id,
        filename=filename,
    )
    return entry, signals


def get_entry(session: Session, bank: Bank, entry_id: int) -> BankEntry:
    """An entry of the bank, or a 404."""
    entry = session.get(BankEntry, entry_id)
    if entry is None or entry.bank_id != bank.id:
        raise NotFound(f"Bank {bank.name!r} has no entry {entry_id}.", code="unknown_entry")
    return entry


def remove_entry(session: Session, bank: Bank, entry_id: int, *, actor: str) -> list[int]:
    """Delete an entry; returns the ids of its PDQ rows (for the in-memory index)."""
    entry = get_entry(session, bank, entry_id)
    pdq_ids = list(
        session.scalars(
            select(EntrySignal.id).where(
                EntrySignal.entry_id == entry.id, EntrySignal.signal_type == "pdq"
            )
        )
    )
    session.execute(delete(EntrySignal).where(EntrySignal.entry_id == entry.id))
    session.execute(delete(BankEntry).where(BankEntry.id == entry.id))
    record(session, actor, "bank.entry.remove", f"bank:{bank.name}/entry:{entry_id}", {})
    return pdq_ids


def entry_public(entry: BankEntry, signals: list[EntrySignal] | None = None) -> dict[str, Any]:
    """An entry as the API and the CLI show it."""
    out: dict[str, Any] = {
        "id": entry.id,
        "external_id": entry.external_id,
        "origin": entry.origin,
        "filename": entry.filename,
        "labels": entry_labels(entry),
        "created_at": entry.created_at.isoformat(),
    }
    if signals is not None:
        chunks = [s for s in signals if s.signal_type == "text_minhash"]
        # A long document has thousands of chunk signatures: show a few and count them.
        shown = [s for s in signals if s.signal_type != "text_minhash"] + chunks[:3]
        out["signals"] = [
            {"signal_type": s.signal_type, "value": s.value, "view": s.view, "quality": s.quality}
            for s in shown
        ]
        if chunks:
            out["text_chunks"] = len(chunks)
    return out
