"""Batch classification and evaluation of JSON Lines files (`bastion classify`, `bastion eval`).

Input lines carry `id` and `text`; other fields are passed through. A bad line (not JSON, not
UTF-8, no text, over the size limit) becomes an output line with its line number and an
`error`, and the rest of the file is still processed; the command then exits with status 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from bastion.classify.classifier import Classification, classify_texts
from bastion.classify.dataset import PROPAGANDA, split_of
from bastion.classify.evaluation import evaluate
from bastion.classify.model import TextModel
from bastion.classify.parallel import ProcessClassifier
from bastion.errors import BastionError, InvalidInput
from bastion.json_input import parse_object
from bastion.text.normalize import check_text

BATCH = 64
T = TypeVar("T")


@dataclass
class Line:
    """One input line, parsed, or the error that stopped it."""

    number: int
    row: dict[str, Any] = field(default_factory=dict)
    error: BastionError | None = None


def read_lines(path: Path, max_bytes: int) -> Iterator[Line]:
    """Parse a JSONL file line by line; bad lines carry their error."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}.") from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            yield _parse(number, raw, max_bytes)


def _parse(number: int, raw: bytes, max_bytes: int) -> Line:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Line(number, error=InvalidInput(f"line {number}: not UTF-8 (byte {exc.start})."))
    try:
        # Too deep, NaN/Infinity and non-objects are refused here, like in the API.
        row = parse_object(text, "the line")
    except BastionError as exc:
        return Line(number, error=InvalidInput(f"line {number}: not JSON: {exc.message}"))
    if not isinstance(row.get("text"), str):
        return Line(number, error=InvalidInput(f"line {number}: needs a string field `text`."))
    try:
        check_text(row["text"], max_bytes)
    except BastionError as exc:
        return Line(number, row, InvalidInput(f"line {number}: {exc.message}", code=exc.code))
    return Line(number, row)


def classify_file(
    path: Path,
    out: TextIO,
    *,
    max_bytes: int,
    explain: bool = True,
    model: TextModel | None = None,
    workers: int = 1,
    windows: bool = False,
) -> int:
    """Classify every line of `path` into `out`; returns how many lines failed. With
    `workers` > 1, batches are classified in that many processes (at most one per core), each
    with a copy of `model` (or the shipped one), and written in input order."""
    failed = 0

    def batches() -> Iterator[list[Line]]:
        nonlocal failed
        pending: list[Line] = []
        for line in read_lines(path, max_bytes):
            failed += line.error is not None
            pending.append(line)
            if len(pending) >= BATCH:
                yield pending
                pending = []
        if pending:
            yield pending

    keyed = ((pending, _texts(pending)) for pending in batches())
    for pending, results in _classified(keyed, model, workers, explain, windows):
        _write_batch(pending, results, out)
    return failed


def _texts(pending: list[Line]) -> list[str]:
    return [line.row["text"] for line in pending if line.error is None]


def _write_batch(pending: list[Line], classified: list[Classification], out: TextIO) -> None:
    """Every line of a batch in input order: its error, or its fields with its result."""
    results = iter(classified)
    for line in pending:
        if line.error is not None:
            _write(out, {"line": line.number, "id": line.row.get("id"), **line.error.to_dict()})
            continue
        carried = {k: v for k, v in line.row.items() if k != "text"}
        _write(out, {**carried, "id": line.row.get("id"), **next(results).public()})


def _write(out: TextIO, row: dict[str, Any]) -> None:
    line = json.dumps(row, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in a carried field: escape it instead
        line = json.dumps(row, ensure_ascii=True)
    out.write(line + "\n")


def evaluate_file(
    paths: Path | list[Path],
    *,
    max_bytes: int,
    split: str | None = None,
    lang: str | None = None,
    model: TextModel | None = None,
    workers: int = 1,
    windows: bool = False,
) -> tuple[dict[str, Any], int]:
    """Metrics of the classifier on a labelled file (lines need `label`; `lang` and `slice`
    are used when present); returns the metrics for both bands and the bad-line count. With
    `workers` > 1, classified in that many processes (see `classify_file`)."""
    rows: list[dict[str, Any]] = []
    failed = 0
    batch: list[dict[str, Any]] = []
    files: list[Path] = []
    for path in paths if isinstance(paths, list) else [paths]:
        files.extend(sorted(path.glob("*.jsonl")) if path.is_dir() else [path])
    for path in files:
        for line in read_lines(path, max_bytes):
            if line.error is not None or "label" not in line.row:
                failed += 1
                continue
            if split and split_of(str(line.row.get("template", line.row.get("id")))) != split:
                continue
            if lang and line.row.get("lang") != lang:
                continue
            batch.append(line.row)
    chunks = (batch[start : start + BATCH] for start in range(0, len(batch), BATCH))
    keyed = ((chunk, [row["text"] for row in chunk]) for chunk in chunks)
    for chunk, results in _classified(keyed, model, workers, False, windows):
        for row, result in zip(chunk, results, strict=True):
            positive = row["label"] == PROPAGANDA
            rows.append(
                {
                    "label": row["label"],
                    "lang": row.get("lang") or result.lang,
                    "slice": "propaganda" if positive else row.get("slice", "benign"),
                    "band": result.band,
                }
            )
    return {"review": evaluate(rows, "review"), "high": evaluate(rows, "high")}, failed


def _classified(
    keyed: Iterator[tuple[T, list[str]]],
    model: TextModel | None,
    workers: int,
    explain: bool,
    windows: bool,
) -> Iterator[tuple[T, list[Classification]]]:
    """Each (key, texts) batch's key with the results for its texts, in order: in this
    process, or in `workers` processes."""
    if workers <= 1:
        for key, texts in keyed:
            yield key, classify_texts(texts, model=model, explain=explain, windows=windows)
        return
    with ProcessClassifier(workers, model) as pool:
        yield from pool.ordered(keyed, explain=explain, windows=windows)
