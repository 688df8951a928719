"""Bastion's JSON Lines format: the CSV format's twin, one JSON object per line.

Keys as the CSV columns (`signal_type`, `value` required; `category`, `source`, `note`,
`external_id` strings or null; `behaviours`, `entities` arrays of strings; `entry_id` written
on export; on import, consecutive lines with the same `entry_id` become one entry). Unknown
keys are errors unless they start with `x_`. Blank lines are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from bastion.banks.formats.base import (
    MAX_LINE_LENGTH,
    NATIVE_FIELDS,
    NOT_UTF8,
    ExportRow,
    Format,
    ImportRow,
    RowError,
    header_error,
    iter_lines,
    make_row,
)

KEYS = NATIVE_FIELDS
_TEXT_KEYS = ("signal_type", "value", "category", "source", "note", "external_id")
_LIST_KEYS = ("behaviours", "entities")


def read(stream: TextIO) -> Iterator[ImportRow | RowError]:
    """Rows of a Bastion JSON Lines file, streamed."""
    number = 0
    try:
        for number, text in iter_lines(stream):
            if len(text) > MAX_LINE_LENGTH:
                yield RowError(number, f"line longer than {MAX_LINE_LENGTH} characters")
            elif text.strip():
                yield _row(number, text)
    except UnicodeDecodeError:
        yield RowError(number + 1, NOT_UTF8)


def write(rows: Iterable[ExportRow], stream: TextIO, *, header: bool = True) -> int:
    """Write rows as JSON Lines; returns how many were written (there is no header)."""
    count = 0
    for row in rows:
        labels = row.labels
        record = {
            "entry_id": row.entry_id,
            "signal_type": row.signal_type,
            "value": row.value,
            "category": labels.category,
            "behaviours": labels.behaviours,
            "entities": labels.entities,
            "source": labels.source,
            "note": labels.note,
            "external_id": row.external_id,
        }
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def sniff(first_line: str) -> bool:
    """Whether the line looks like a JSON object."""
    return first_line.lstrip().startswith("{")


def _row(number: int, text: str) -> ImportRow | RowError:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        return RowError(number, f"malformed JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return RowError(number, "malformed JSON: nested too deeply")
    except ValueError as exc:  # e.g. an integer with thousands of digits
        return RowError(number, f"malformed JSON: {exc}")
    if not isinstance(data, dict):
        return RowError(number, f"expected a JSON object, found {type(data).__name__}")
    unknown = [k for k in data if k not in KEYS and not k.startswith("x_")]
    if unknown:
        return header_error(number, unknown, KEYS, noun="key")
    if isinstance(data.get("external_id"), int) and not isinstance(data["external_id"], bool):
        data["external_id"] = str(data["external_id"])  # peers' ids are often numbers
    for key in _TEXT_KEYS:
        if data.get(key) is not None and not isinstance(data[key], str):
            return RowError(number, f"{key}: expected a string, found {_kind(data[key])}")
    for key in _LIST_KEYS:
        values = data.get(key)
        if values is None:
            continue
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return RowError(number, f"{key}: expected an array of strings")
    group = data.get("entry_id")
    if group is not None and (isinstance(group, bool) or not isinstance(group, int | str)):
        return RowError(number, f"entry_id: expected a number or a string, found {_kind(group)}")
    labels: dict[str, object] = {key: data.get(key) for key in ("category", "source", "note")}
    labels.update({key: data.get(key) or [] for key in _LIST_KEYS})
    return make_row(
        number,
        data.get("signal_type"),
        data.get("value"),
        labels=labels,
        external_id=data.get("external_id"),
        group=None if group is None else str(group),
    )


def _kind(value: object) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", list: "an array"}.get(
        type(value), "an object"
    )


FORMAT = Format(
    name="jsonl",
    description="Bastion JSON Lines: one object per line with the CSV format's keys",
    extensions=(".jsonl", ".ndjson"),
    read=read,
    write=write,
    sniff=sniff,
)
