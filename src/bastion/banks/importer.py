"""Streaming import of bank entries from a file in any supported format.

Rows are read one at a time and written in batches, so a million-row file never becomes a
million-row list. By default an import is all-or-nothing: any bad row and nothing is kept,
and every bad row is reported with its line number.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bastion.audit import record
from bastion.banks.entries import entry_labels, labels_columns, signal_rows
from bastion.banks.formats.base import NOT_UTF8, ExportRow, ImportRow, RowError
from bastion.banks.labels import EntryLabels
from bastion.db.models import Bank, BankEntry, EntrySignal
from bastion.errors import InvalidInput

BATCH = 5000


@dataclass
class ImportReport:
    """What an import did: rows read, entries added, and the bad rows by line number."""

    rows: int = 0
    added: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    committed: bool = True

    def public(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "rows": self.rows,
            "added": self.added,
            "error_count": self.error_count,
            "errors": [{"line": e.line, "message": e.message} for e in self.errors],
            "committed": self.committed,
        }


def import_rows(
    session: Session,
    bank: Bank,
    rows: Iterable[ImportRow | RowError],
    *,
    actor: str,
    all_or_nothing: bool = True,
    max_errors: int = 1000,
) -> ImportReport:
    """Add every row to the bank; in all-or-nothing mode raise (and write nothing) on bad rows."""
    report = ImportReport()
    batch: list[list[ImportRow]] = []  # one list of rows per entry
    for row in _decoded(rows, report):
        report.rows += 1
        if isinstance(row, RowError) and row.message == NOT_UTF8:
            # Text is decoded in blocks, so rows around the bad bytes are lost: even a partial
            # import would silently miss some. Refuse the whole file.
            raise InvalidInput(
                f"The file is not valid UTF-8 text (around line {row.line}); save it as UTF-8 "
                "and import again. Nothing was imported.",
                code="not_utf8",
            )
        if isinstance(row, RowError):
            report.error_count += 1
            if len(report.errors) < max_errors:
                report.errors.append(row)
            continue
        if all_or_nothing and report.error_count:
            continue  # keep reading to report every bad row, but stop writing
        if batch and row.group is not None and batch[-1][0].group == row.group:
            batch[-1].append(row)
            continue
        if len(batch) >= BATCH:
            report.added += _write_batch(session, bank, batch)
            batch = []
        batch.append([row])
    if batch and not (all_or_nothing and report.error_count):
        report.added += _write_batch(session, bank, batch)
    if all_or_nothing and report.error_count:
        report.committed = False
        report.added = 0
        raise InvalidInput(
            f"{report.error_count} of {report.rows} rows are invalid; nothing was imported. "
            "Fix them (see details) or import with partial mode to keep the good rows.",
            code="invalid_rows",
            details=report.public(),
        )
    record(
        session,
        actor,
        "bank.import",
        f"bank:{bank.name}",
        {"rows": report.rows, "added": report.added, "errors": report.error_count},
    )
    return report


def _decoded(
    rows: Iterable[ImportRow | RowError], report: ImportReport
) -> Iterator[ImportRow | RowError]:
    """The rows, with undecodable bytes turned into a clear error instead of a crash."""
    try:
        yield from rows
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"The file is not UTF-8 text: undecodable bytes after row {report.rows} "
            f"({exc.reason}). Save it as UTF-8 and import again; nothing was imported.",
            code="not_utf8",
        ) from exc


def _write_batch(session: Session, bank: Bank, batch: list[list[ImportRow]]) -> int:
    """Insert one entry per group of rows (labels and external id from its first row)."""
    entries = [
        {
            "bank_id": bank.id,
            "external_id": rows[0].external_id,
            "origin": "import",
            **labels_columns(rows[0].labels),
        }
        for rows in batch
    ]
    ids = session.scalars(
        insert(BankEntry).returning(BankEntry.id, sort_by_parameter_order=True), entries
    ).all()
    signals = [
        {"entry_id": entry_id, "bank_id": bank.id, "view": None, "quality": None, **signal}
        for entry_id, rows in zip(ids, batch, strict=True)
        for row in rows
        for signal in signal_rows(row.signal_type, row.value)
    ]
    session.execute(insert(EntrySignal), signals)
    return len(batch)


def export_rows(session: Session, bank: Bank) -> Iterator[ExportRow]:
    """Every entry's primary signals, streamed; derived views (crops, trims) are left out,
    text chunk signatures are not (they are the text's near-duplicate fingerprint)."""
    statement = (
        select(EntrySignal, BankEntry)
        .join(BankEntry, EntrySignal.entry_id == BankEntry.id)
        .where(EntrySignal.bank_id == bank.id)
        .where(
            EntrySignal.view.is_(None)
            | (EntrySignal.view == "full")
            | (EntrySignal.signal_type == "text_minhash")
        )
        .order_by(EntrySignal.entry_id, EntrySignal.id)
        .execution_options(yield_per=5000)
    )
    for signal, entry in session.execute(statement):
        yield ExportRow(
            entry_id=entry.id,
            signal_type=signal.signal_type,
            value=signal.value,
            labels=EntryLabels(**entry_labels(entry)),
            external_id=entry.external_id,
        )
