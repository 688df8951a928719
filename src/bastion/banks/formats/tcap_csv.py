"""Tech Against Terrorism's TCAP data as CSV: hash list entries and URL alerts, one per row.

TCAP (the Terrorist Content Analytics Platform) publishes no CSV layout of its own: it serves
JSON. Its records, as the public clients read them, have these fields:

- Hash list (`api/hash-list/v2/all`), per `TATHashListEntry` in facebook/ThreatExchange
  `python-threatexchange/threatexchange/exchanges/clients/techagainstterrorism/api.py`:
  `id`, `hash_digest`, `algorithm` (`PDQ`, `MD5`, `SHA256`, `SHA512`, `TMK` per TCAP's hash
  verification docs; v1 lists spelt the key `algorithim` and used `ImagePDQ`/`VideoMD5`),
  `ideology` (`islamist`, `far-right`), `file_type`, `deleted`, `updated_on`. HMA's `tat`
  exchange (`exchanges/impl/techagainstterrorism_api.py`) imports PDQ and MD5 and treats
  `deleted` as a removal.
- URL alerts, per Jigsaw's Altitude importer (`signal-service/src/importers/tcap_api.py` in
  Jigsaw-Code/altitude): `id`, `url`, `terrorist_group` (`name`, `description`), `created_on`,
  `url_status`, `pii_flag`, `extreme_content_flag`.

This format flattens both into one CSV with a header (names matched case-insensitively, spaces
as underscores): `id`, `hash_digest`, `algorithm`, `url`, `terrorist_group`, `ideology`,
`deleted`; any other column (`file_type`, `created_on`, `url_status`, `platform` ...) is
ignored, since TCAP records carry many fields Bastion has no place for. Accepted header
spellings: `algorithim`, `hash_type`, `hash` and `hash_value`; `group`, `organisation`,
`organization`, `terrorist_organisation`, `terrorist_organization` and `terrorist_entity`.

Mapping to Bastion:

- `algorithm` -> signal type: PDQ and ImagePDQ -> `pdq`, MD5 and VideoMD5 -> `md5` (any file
  type: Bastion holds file digests of everything), SHA256 -> `sha256`. Rows with algorithms
  Bastion cannot match (SHA512, TMK) are skipped, as HMA's `tat` exchange does, and so are
  rows with `deleted` true (a TCAP tombstone is not content to match); the number skipped is
  logged. A row with `url` gives a `url` entry; a row with both a hash and a URL gives two.
- `terrorist_group` (several separated by `|`) -> `entities`, as tags made from the names
  ("Islamic State" -> `islamic_state`); `ideology` -> an `ideology:<name>` entity tag.
- `id` -> `external_id`; `source` is always `tcap`. TCAP assigns no TCO category, behaviours
  or notes, and `file_type` has no Bastion label, so those are empty on import and not
  written on export. `url_md5`/`url_sha256` entries have no TCAP form and are left out.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import TextIO

from bastion.banks.formats.base import (
    ExportRow,
    Format,
    ImportRow,
    RowError,
    escape_formula,
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
from bastion.banks.labels import EntryLabels, build_labels, tag_from_text
from bastion.errors import InvalidInput

logger = logging.getLogger(__name__)

COLUMNS = ("id", "hash_digest", "algorithm", "url", "terrorist_group", "ideology", "deleted")
SOURCE = "tcap"
IDEOLOGY_PREFIX = "ideology:"

_HEADER_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "algorithim": "algorithm",
        "hash_type": "algorithm",
        "hash": "hash_digest",
        "hash_value": "hash_digest",
        "group": "terrorist_group",
        "organisation": "terrorist_group",
        "organization": "terrorist_group",
        "terrorist_organisation": "terrorist_group",
        "terrorist_organization": "terrorist_group",
        "terrorist_entity": "terrorist_group",
    }
)
_ALGORITHMS: Mapping[str, str] = MappingProxyType(
    {"pdq": "pdq", "imagepdq": "pdq", "md5": "md5", "videomd5": "md5", "sha256": "sha256"}
)
_UNSUPPORTED_ALGORITHMS = frozenset({"sha512", "tmk", "tmk+pdqf", "videotmk"})
_EXPORT_ALGORITHMS: Mapping[str, str] = MappingProxyType(
    {"pdq": "PDQ", "md5": "MD5", "sha256": "SHA256"}
)
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f", ""})


def read(stream: TextIO) -> Iterator[ImportRow | RowError]:
    """Rows of a TCAP CSV file, streamed; deleted and SHA512/TMK rows are skipped."""
    header: list[str] | None = None
    skipped = 0
    for record in read_records(stream):
        if isinstance(record, RowError):
            yield record
            if header is None:
                return
            continue
        if header is None:
            header = [_HEADER_ALIASES.get(n, n) for n in header_names(record.fields)]
            problem = _header_problem(record.line, header)
            if problem is not None:
                yield problem
                return
            continue
        rows = _rows(record, header)
        if not rows:
            skipped += 1
        yield from rows
    if header is None:
        yield RowError(1, "the file is empty; the first line must be a header")
    if skipped:
        logger.info("TCAP import skipped %d deleted or SHA512/TMK rows", skipped)


def write(rows: Iterable[ExportRow], stream: TextIO, *, header: bool = True) -> int:
    """Write rows in TCAP's columns; returns how many were written (URL digests are skipped)."""
    writer = csv.writer(stream)
    if header:
        writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        algorithm = _EXPORT_ALGORITHMS.get(row.signal_type, "")
        if not algorithm and row.signal_type != "url":
            continue
        ideologies = [e for e in row.labels.entities if e.startswith(IDEOLOGY_PREFIX)]
        groups = [e for e in row.labels.entities if not e.startswith(IDEOLOGY_PREFIX)]
        writer.writerow(
            (
                escape_formula(row.external_id or ""),
                row.value if algorithm else "",
                algorithm,
                row.value if not algorithm else "",
                "|".join(groups),
                "|".join(i.removeprefix(IDEOLOGY_PREFIX) for i in ideologies),
                "false",
            )
        )
        count += 1
    return count


def sniff(first_line: str) -> bool:
    """Whether the line is a TCAP header (a hash or URL column, no Bastion signal_type)."""
    try:
        names = {_HEADER_ALIASES.get(n, n) for n in header_names(next(csv.reader([first_line])))}
    except (csv.Error, StopIteration):
        return False
    return "signal_type" not in names and ("hash_digest" in names or "url" in names)


def _header_problem(line: int, header: list[str]) -> RowError | None:
    if "hash_digest" not in header and "url" not in header:
        return RowError(line, "a TCAP file needs a hash_digest (with algorithm) or a url column")
    if "hash_digest" in header and "algorithm" not in header:
        return RowError(line, "a TCAP file with hash_digest needs an algorithm column")
    return duplicate_error(line, header)


def _rows(record: Record, header: list[str]) -> list[ImportRow | RowError]:
    """The entries of one record: none if skipped, a hash and/or a URL entry, or an error."""
    problem = width_error(record, len(header))
    if problem is not None:
        return [problem]
    cells = dict(zip(header, record.fields, strict=True))
    deleted = cells.get("deleted", "").strip().lower()
    if deleted not in _TRUE and deleted not in _FALSE:
        return [RowError(record.line, f"deleted: expected true or false, got {deleted!r}")]
    if deleted in _TRUE:
        return []
    try:
        labels = _labels(cells)
    except InvalidInput as exc:
        return [RowError(record.line, exc.message)]
    external_id = unescape_formula(cells.get("id", ""))
    digest, url = cells.get("hash_digest", "").strip(), cells.get("url", "").strip()
    out: list[ImportRow | RowError] = []
    if digest:
        algorithm = cells.get("algorithm", "").strip().lower().replace("-", "")
        if algorithm in _UNSUPPORTED_ALGORITHMS and not url:
            return []
        if algorithm not in _UNSUPPORTED_ALGORITHMS:
            kind = _ALGORITHMS.get(algorithm)
            if kind is None:
                return [RowError(record.line, _algorithm_message(cells.get("algorithm", "")))]
            out.append(make_row(record.line, kind, digest, labels=labels, external_id=external_id))
    if url:
        out.append(make_row(record.line, "url", url, labels=labels, external_id=external_id))
    if not out:
        return [RowError(record.line, "neither hash_digest nor url has a value")]
    return out


def _labels(cells: dict[str, str]) -> EntryLabels:
    return _labels_for(cells.get("terrorist_group", ""), cells.get("ideology", ""))


@lru_cache(maxsize=256)  # a TCAP list names a few dozen groups over thousands of rows
def _labels_for(groups: str, ideologies: str) -> EntryLabels:
    entities = [tag_from_text(group) for group in split_tags(groups)]
    entities += [IDEOLOGY_PREFIX + tag_from_text(ideology) for ideology in split_tags(ideologies)]
    return build_labels(entities=entities, source=SOURCE)


def _algorithm_message(algorithm: str) -> str:
    if not algorithm.strip():
        return "algorithm: missing for the hash_digest"
    return f"algorithm: unknown {algorithm!r}; expected PDQ, MD5 or SHA256 (SHA512, TMK skipped)"


FORMAT = Format(
    name="tcap",
    description="Tech Against Terrorism TCAP hash list / URL alert CSV (hash_digest, algorithm, "
    "url, terrorist_group, ...)",
    extensions=(".csv",),
    read=read,
    write=write,
    sniff=sniff,
)
