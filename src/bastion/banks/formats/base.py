"""What every import/export format shares: row types, the reader and writer shapes, helpers.

Readers stream: they yield one row (or one error) at a time and hold at most one line or
record in memory, so a million-row file is read in constant memory. They never raise for bad
data; each bad row comes back as a RowError with the 1-based line where its record starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, TextIO

from bastion.banks.labels import EntryLabels, build_labels
from bastion.errors import InvalidInput
from bastion.signals.registry import canonical_signal_type, normalize_value

# The fields of the native formats (CSV columns, JSONL keys), in export order.
NATIVE_FIELDS = (
    "entry_id",
    "signal_type",
    "value",
    "category",
    "behaviours",
    "entities",
    "source",
    "note",
    "external_id",
)
MAX_LINE_LENGTH = 1 << 20  # a JSON object or signal line; far above any real row
MAX_EXTERNAL_ID_LENGTH = 256
# Text streams decode ahead of the line being read, so the bad bytes may be a little later.
NOT_UTF8 = "the file is not valid UTF-8 text (at or after this line)"
_NO_LABELS = EntryLabels()  # shared: the model is frozen, and formats without labels are big


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One valid row of an import file, its value already normalised."""

    line: int
    signal_type: str
    value: str
    labels: EntryLabels
    external_id: str | None = None
    # The exporting bank's entry id (native formats): consecutive rows that share it are the
    # signals of one entry (a text's chunk signatures, an image's PDQ and file hashes).
    group: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that cannot be imported: where it starts and what is wrong with it."""

    line: int
    message: str


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One signal of a bank entry, as written to an export file."""

    entry_id: int
    signal_type: str
    value: str
    labels: EntryLabels
    external_id: str | None = None


class Reader(Protocol):
    """Reads a text stream into rows and errors, one at a time."""

    def __call__(self, stream: TextIO) -> Iterator[ImportRow | RowError]: ...


class Writer(Protocol):
    """Writes rows to a text stream (with the header, if the format has one) and counts them."""

    def __call__(
        self, rows: Iterable[ExportRow], stream: TextIO, *, header: bool = True
    ) -> int: ...


class Sniffer(Protocol):
    """Whether a file's first line (BOM removed) looks like this format."""

    def __call__(self, first_line: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Format:
    """A file format bank entries can be imported from and exported to."""

    name: str
    description: str
    extensions: tuple[str, ...]
    read: Reader
    write: Writer
    sniff: Sniffer


def make_row(
    line: int,
    signal_type: str | None,
    value: str | None,
    *,
    labels: EntryLabels | Mapping[str, object] | None = None,
    external_id: str | None = None,
    group: str | None = None,
) -> ImportRow | RowError:
    """Validate one row's fields into an ImportRow, or say what is wrong with them."""
    if not signal_type or not signal_type.strip():
        return RowError(line, "signal_type: missing")
    if value is None or not value.strip():
        return RowError(line, "value: missing")
    try:
        kind = canonical_signal_type(signal_type)
    except InvalidInput as exc:
        return RowError(line, f"signal_type: {exc.message}")
    try:
        normal = normalize_value(kind, value)
    except InvalidInput as exc:
        return RowError(line, f"value: {exc.message}")
    if labels is None:
        labels = _NO_LABELS
    elif not isinstance(labels, EntryLabels):
        try:
            labels = labels_from_fields(labels)
        except InvalidInput as exc:
            return RowError(line, exc.message)
    ident = external_id.strip() if external_id else ""
    if len(ident) > MAX_EXTERNAL_ID_LENGTH:
        return RowError(line, f"external_id: longer than {MAX_EXTERNAL_ID_LENGTH} characters")
    return ImportRow(line, kind, normal, labels, ident or None, (group or "").strip() or None)


def labels_from_fields(fields: Mapping[str, object]) -> EntryLabels:
    """EntryLabels from a row's label cells, reusing the result for rows labelled alike."""
    key = tuple(
        (name, tuple(value) if isinstance(value, list) else value)
        for name, value in sorted(fields.items())
    )
    try:
        return _labels_for(key)
    except TypeError:  # an unhashable cell value: validate it uncached (and reject it)
        return build_labels(**fields)


# Big files repeat the same few label sets; validating each once saves most of the per-row
# cost. Small, so that distinct long notes cannot pile up in memory.
@lru_cache(maxsize=256)
def _labels_for(key: tuple[tuple[str, object], ...]) -> EntryLabels:
    return build_labels(**{k: list(v) if isinstance(v, tuple) else v for k, v in key})


def split_tags(text: str | None) -> list[str]:
    """The values of a `|`-separated multi-value cell."""
    return [part for part in (text or "").split("|") if part.strip()]


def iter_lines(stream: TextIO, max_length: int = MAX_LINE_LENGTH) -> Iterator[tuple[int, str]]:
    """Numbered lines (1-based, newline removed), reading an overlong one in pieces.

    A line longer than max_length comes back as its first max_length + 1 characters, so the
    caller can report it without the whole line ever being held in memory.
    """
    number = 0
    while True:
        text = stream.readline(max_length + 1)
        if not text:
            return
        number += 1
        if len(text) > max_length and not text.endswith("\n"):
            while (rest := stream.readline(max_length)) and not rest.endswith("\n"):
                pass  # skip the remainder of the overlong line
        if number == 1:
            text = text.removeprefix("\ufeff")
        yield number, text.rstrip("\r\n")


# Cells starting with these are run as formulas by spreadsheet programs (CSV injection).
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")


def escape_formula(text: str) -> str:
    """A free-text CSV cell made safe to open in a spreadsheet; unescape_formula undoes it."""
    return "'" + text if _FORMULA.match(text) else text


def unescape_formula(text: str) -> str:
    """The cell as it was before escape_formula."""
    return text[1:] if text.startswith("'") and _FORMULA.match(text[1:]) else text


def header_error(
    line: int, unknown: Sequence[str], allowed: Iterable[str], *, noun: str = "column"
) -> RowError:
    """The error for columns (or JSON keys) the format does not know."""
    names = ", ".join(repr(name) if name else "(unnamed)" for name in unknown)
    return RowError(
        line,
        f"unknown {noun}(s) {names}; the {noun}s are {', '.join(allowed)} "
        f"(prefix your own {noun}s with x_ to have them ignored)",
    )
