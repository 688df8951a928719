"""Bastion's own CSV format: one signal per row, labels in columns.

Header row required. Columns (any order, any case):

- `signal_type`, `value`: required; the type may be a peer's name (`video_md5`, `HASH_PDQ`).
- `category`: a TCO Art. 2(7) point (`a`..`e`, `2(7)(a)`, `incitement` ...).
- `behaviours`, `entities`: tags separated by `|`.
- `source`, `note`, `external_id`: text.
- `entry_id`: written on export so rows can be traced back. On import, consecutive rows with
  the same `entry_id` become one entry with several signals (a text's chunk signatures, an
  image's PDQ and file hashes); entries get new ids in the bank they are imported into.

Any other column is an error, so that a misspelt `categroy` cannot silently drop labels from
an all-or-nothing import, except columns named `x_...`, which are ignored and free for the
uploader's own bookkeeping.

Free-text cells (`note`, `external_id`) that a spreadsheet would run as a formula (starting
with `=`, `+`, `-`, `@`) are written with a leading `'`, which the reader removes again.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import TextIO

from bastion.banks.formats.base import (
    NATIVE_FIELDS,
    ExportRow,
    Format,
    ImportRow,
    RowError,
    escape_formula,
    header_error,
    make_row,
    split_tags,
    unescape_formula,
)
from bastion.banks.formats.csv_records import (
    Record,
    duplicate_error,
    header_names,
    read_records,
    width_error,
)
from bastion.banks.labels import EntryLabels, build_labels
from bastion.errors import InvalidInput

COLUMNS = NATIVE_FIELDS
REQUIRED = ("signal_type", "value")


def read(stream: TextIO) -> Iterator[ImportRow | RowError]:
    """Rows of a Bastion CSV file, streamed; a bad header stops the read with one error."""
    header: list[str] | None = None
    for record in read_records(stream):
        if isinstance(record, RowError):
            yield record
            if header is None:
                return
            continue
        if header is None:
            problem = _header_problem(record)
            if problem is not None:
                yield problem
                return
            header = header_names(record.fields)
            continue
        yield _row(record, header)
    if header is None:
        yield RowError(1, f"the file is empty; the first line must be a header ({_HEADER_HINT})")


def write(rows: Iterable[ExportRow], stream: TextIO, *, header: bool = True) -> int:
    """Write rows as Bastion CSV; returns how many were written."""
    writer = csv.writer(stream)
    if header:
        writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        labels = row.labels
        writer.writerow(
            (
                row.entry_id,
                row.signal_type,
                row.value,
                labels.category or "",
                "|".join(labels.behaviours),
                "|".join(labels.entities),
                labels.source or "",
                escape_formula(labels.note or ""),
                escape_formula(row.external_id or ""),
            )
        )
        count += 1
    return count


def sniff(first_line: str) -> bool:
    """Whether the line is a Bastion CSV header."""
    try:
        names = header_names(next(csv.reader([first_line])))
    except (csv.Error, StopIteration):
        return False
    return all(name in names for name in REQUIRED)


_HEADER_HINT = "signal_type,value and optionally " + ",".join(COLUMNS[3:])


def _header_problem(record: Record) -> RowError | None:
    names = header_names(record.fields)
    unknown = [n for n in names if n not in COLUMNS and not n.startswith("x_")]
    if unknown:
        return header_error(record.line, unknown, COLUMNS)
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        return RowError(
            record.line,
            f"missing required column(s) {', '.join(missing)}; the header must name {_HEADER_HINT}",
        )
    return duplicate_error(record.line, names)


def _row(record: Record, header: list[str]) -> ImportRow | RowError:
    problem = width_error(record, len(header))
    if problem is not None:
        return problem
    cells = dict(zip(header, record.fields, strict=True))
    try:
        labels = _labels(
            cells.get("category", ""),
            cells.get("behaviours", ""),
            cells.get("entities", ""),
            cells.get("source", ""),
            cells.get("note", ""),
        )
    except InvalidInput as exc:
        return RowError(record.line, exc.message)
    return make_row(
        record.line,
        cells.get("signal_type"),
        cells.get("value"),
        labels=labels,
        external_id=unescape_formula(cells.get("external_id", "")),
        group=cells.get("entry_id"),
    )


@lru_cache(maxsize=256)  # big files repeat a few label sets; small so long notes can't pile up
def _labels(category: str, behaviours: str, entities: str, source: str, note: str) -> EntryLabels:
    return build_labels(
        category=category or None,
        behaviours=split_tags(behaviours),
        entities=split_tags(entities),
        source=source or None,
        note=unescape_formula(note) or None,
    )


FORMAT = Format(
    name="csv",
    description="Bastion CSV: signal_type, value and label columns, one signal per row",
    extensions=(".csv",),
    read=read,
    write=write,
    sniff=sniff,
)
