"""CSV reading shared by the CSV formats: records with the line they start on, header checks.

Handles what spreadsheets and scripts produce: a UTF-8 byte order mark, CRLF or LF line ends,
quoted fields holding commas, quotes and line breaks, blank lines and rows of empty cells.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from bastion.banks.formats.base import MAX_LINE_LENGTH, NOT_UTF8, RowError


class _LineTooLong(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Record:
    """A CSV record and the 1-based line it starts on."""

    line: int
    fields: list[str]


def read_records(stream: TextIO) -> Iterator[Record | RowError]:
    """Records of a CSV stream, skipping blank ones; a malformed record becomes a RowError."""
    lines = _bounded_lines(stream)
    reader = csv.reader(lines, strict=True)
    first = True
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(start, f"malformed CSV: {exc}")
            continue
        except _LineTooLong:
            yield RowError(reader.line_num + 1, f"line longer than {MAX_LINE_LENGTH} characters")
            return
        except UnicodeDecodeError:
            yield RowError(reader.line_num + 1, NOT_UTF8)
            return
        if first and fields:
            fields[0] = fields[0].removeprefix("\ufeff")
            first = False
        if any(field.strip() for field in fields):
            yield Record(start, fields)


def header_names(fields: list[str]) -> list[str]:
    """Header cells as lookup keys: trimmed, lower-case, spaces and dashes as underscores."""
    return ["_".join(field.strip().lower().replace("-", " ").split()) for field in fields]


def duplicate_error(line: int, names: list[str]) -> RowError | None:
    """The error for a header naming a column twice, if it does."""
    seen: set[str] = set()
    repeated: list[str] = []
    for name in names:
        if name in seen:
            repeated.append(name)
        seen.add(name)
    if repeated:
        return RowError(line, f"column(s) {', '.join(map(repr, repeated))} appear twice")
    return None


def width_error(record: Record, width: int) -> RowError | None:
    """The error for a record whose field count differs from the header's."""
    if len(record.fields) == width:
        return None
    return RowError(
        record.line,
        f"expected {width} fields like the header, found {len(record.fields)} "
        "(is a comma in a value not quoted?)",
    )


def _bounded_lines(stream: TextIO) -> Iterator[str]:
    """The stream's lines, refusing one that is too long to hold in memory."""
    while True:
        text = stream.readline(MAX_LINE_LENGTH + 1)
        if not text:
            return
        if len(text) > MAX_LINE_LENGTH and not text.endswith("\n"):
            raise _LineTooLong
        yield text
