"""Import and export formats for bank entries, and picking one from a file's name and start."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import PurePath
from types import MappingProxyType
from typing import TextIO, cast

from bastion.banks.formats import native_csv, native_jsonl, tcap_csv, threatexchange_file
from bastion.banks.formats.base import (
    MAX_LINE_LENGTH,
    ExportRow,
    Format,
    ImportRow,
    Reader,
    RowError,
    Writer,
)
from bastion.errors import InvalidInput

__all__ = [
    "FORMATS",
    "ExportRow",
    "Format",
    "ImportRow",
    "Reader",
    "RowError",
    "Writer",
    "detect_format",
    "get_format",
    "reader_for",
    "writer_for",
]

# Order matters for detection: the first format whose sniffer accepts the first line wins.
FORMATS: Mapping[str, Format] = MappingProxyType(
    {
        f.name: f
        for f in (
            native_csv.FORMAT,
            native_jsonl.FORMAT,
            threatexchange_file.FORMAT,
            tcap_csv.FORMAT,
        )
    }
)


def get_format(name: str) -> Format:
    """The format of that name, or InvalidInput naming the known ones."""
    found = FORMATS.get(name.strip().lower())
    if found is None:
        raise InvalidInput(
            f"Unknown format {name!r}; use one of: {', '.join(FORMATS)}.",
            code="unknown_format",
        )
    return found


def detect_format(filename: str | None, first_line: str) -> Format:
    """The format a file is in, from its first line, else from its extension."""
    line = first_line.removeprefix("\ufeff").strip()
    if line:
        for candidate in FORMATS.values():
            if candidate.sniff(line):
                return candidate
    suffix = PurePath(filename or "").suffix.lower()
    for candidate in FORMATS.values():
        if suffix and suffix in candidate.extensions:
            return candidate
    raise InvalidInput(
        f"Cannot tell the format of {filename or 'the file'!r} from its name or first line; "
        f"choose one of: {', '.join(FORMATS)}.",
        code="unknown_format",
    )


def reader_for(name: str, filename: str | None, stream: TextIO) -> Iterator[ImportRow | RowError]:
    """Rows of the stream in the named format, or the detected one for `auto`."""
    if name.strip().lower() != "auto":
        return get_format(name).read(stream)
    first_line, stream = _peek_line(stream)
    return detect_format(filename, first_line).read(stream)


def writer_for(name: str) -> Writer:
    """The writer of the named format."""
    return get_format(name).write


def _peek_line(stream: TextIO) -> tuple[str, TextIO]:
    """The first line, and a stream that still starts with it."""
    try:
        return _peek(stream)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "The file is not valid UTF-8 text (in its first line); save it as UTF-8.",
            code="not_utf8",
        ) from exc


def _peek(stream: TextIO) -> tuple[str, TextIO]:
    if stream.seekable():
        position = stream.tell()
        line = stream.readline(MAX_LINE_LENGTH)
        stream.seek(position)
        return line, stream
    line = stream.readline(MAX_LINE_LENGTH)
    return line, cast(TextIO, _Prepended(line, stream))


class _Prepended:
    """A read-only text stream: a line already read, then the rest of another stream.

    Only what the readers use (readline, read, iteration) is provided.
    """

    def __init__(self, head: str, rest: TextIO) -> None:
        self._head = head
        self._rest = rest

    def readline(self, size: int = -1, /) -> str:
        """The next line, or at most size characters of it."""
        if self._head:
            cut = len(self._head) if size < 0 else size
            text, self._head = self._head[:cut], self._head[cut:]
            return text
        return self._rest.readline(size)

    def read(self, size: int = -1, /) -> str:
        """At most size characters (all that is left if size < 0)."""
        head, self._head = self._head, ""
        if size < 0:
            return head + self._rest.read()
        if len(head) >= size:
            self._head = head[size:]
            return head[:size]
        return head + self._rest.read(size - len(head))

    def __iter__(self) -> Iterator[str]:
        while line := self.readline():
            yield line
