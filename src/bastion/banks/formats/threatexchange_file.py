"""python-threatexchange's local signal file, as read by HMA's and the `threatexchange` CLI's
`local_file` exchange.

Format, from `python-threatexchange/threatexchange/exchanges/impl/file_api.py`
(`LocalFileSignalExchangeAPI.fetch_iter` and `report_opinion`) in facebook/ThreatExchange:
one signal per line, `<signal_type> <signal>`, split at the first space after stripping the
line; lines missing either part are skipped by ThreatExchange (we report them instead, since
a dropped line in a bank import is a silent gap). Writing appends `f"{type} {signal}\\n"`.
The file holds no labels, ids or other metadata, so labels are lost on export and empty on
import (set them bank-wide instead).

Signal type names are python-threatexchange's `SignalType.get_name()`: `pdq`,
`video_md5` (`photo_md5` in old releases), `video_sha256`, `url`, `url_md5`. Bastion's md5
and sha256 are digests of any file, so both video and photo names import as `md5`/`sha256`,
and export uses the names current HMA knows (`video_md5`, `video_sha256`; HMA then matches
them against videos only). `url_sha256` has no ThreatExchange name and is left out of
exports. ThreatExchange's `url_md5` is the md5 of its own URL normal form (see
bastion.signals.url), not of our canonical form; such entries match links hashed the same way.
Other ThreatExchange types (`video_tmk_pdqf`, `raw_text`, `trend_query` ...) are reported as
unsupported rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TextIO

from bastion.banks.formats.base import (
    MAX_LINE_LENGTH,
    NOT_UTF8,
    ExportRow,
    Format,
    ImportRow,
    RowError,
    iter_lines,
    make_row,
)

# Bastion signal type -> python-threatexchange SignalType.get_name()
EXPORT_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "pdq": "pdq",
        "md5": "video_md5",
        "sha256": "video_sha256",
        "url": "url",
        "url_md5": "url_md5",
    }
)
THREATEXCHANGE_NAMES = frozenset({*EXPORT_NAMES.values(), "photo_md5"})


def read(stream: TextIO) -> Iterator[ImportRow | RowError]:
    """Rows of a ThreatExchange signal file, streamed."""
    number = 0
    try:
        for number, text in iter_lines(stream):
            if len(text) > MAX_LINE_LENGTH:
                yield RowError(number, f"line longer than {MAX_LINE_LENGTH} characters")
                continue
            line = text.strip()
            if not line:
                continue
            signal_type, _, signal = line.partition(" ")
            if not signal.strip():
                yield RowError(
                    number,
                    "expected '<signal_type> <value>' separated by a space, e.g. 'pdq f8f8...'",
                )
                continue
            yield make_row(number, signal_type, signal)
    except UnicodeDecodeError:
        yield RowError(number + 1, NOT_UTF8)


def write(rows: Iterable[ExportRow], stream: TextIO, *, header: bool = True) -> int:
    """Write `<type> <signal>` lines; returns how many were written (url_sha256 is skipped)."""
    count = 0
    for row in rows:
        name = EXPORT_NAMES.get(row.signal_type)
        if name is None:
            continue
        stream.write(f"{name} {row.value}\n")
        count += 1
    return count


def sniff(first_line: str) -> bool:
    """Whether the line is `<threatexchange type> <signal>`."""
    name, _, signal = first_line.strip().partition(" ")
    return name in THREATEXCHANGE_NAMES and bool(signal.strip()) and " " not in signal.strip()


FORMAT = Format(
    name="threatexchange",
    description="python-threatexchange / HMA local signal file: '<signal_type> <signal>' lines",
    extensions=(".txt",),
    read=read,
    write=write,
    sniff=sniff,
)
