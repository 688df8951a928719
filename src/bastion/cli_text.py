"""`bastion classify` and `bastion eval`: the text classifier on JSON Lines files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from bastion.classify.batch import classify_file, evaluate_file
from bastion.errors import InvalidInput
from bastion.settings import Settings


def classify(
    input: Annotated[Path, typer.Option("--input", help="JSONL: `id`, `text`, any other fields.")],
    output: Annotated[
        Path | None, typer.Option("--output", help="Where to write results (default stdout).")
    ] = None,
    no_explain: Annotated[
        bool, typer.Option("--no-explain", help="Skip explanations (faster).")
    ] = False,
) -> None:
    """Classify texts: one output line per input line (bad lines get an `error` and a line
    number; the rest are still classified, and the exit status is 1)."""
    settings = Settings()
    if output is None:
        failed = classify_file(
            input, sys.stdout, max_bytes=settings.max_text_bytes, explain=not no_explain
        )
    else:
        try:
            handle = output.open("w", encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"Cannot write {output}: {exc.strerror}.") from exc
        with handle:
            failed = classify_file(
                input, handle, max_bytes=settings.max_text_bytes, explain=not no_explain
            )
    if failed:
        typer.echo(f"{failed} line(s) could not be classified; see their `error`.", err=True)
    raise typer.Exit(1 if failed else 0)


def evaluate(
    input: Annotated[
        list[Path],
        typer.Option(
            "--input", help="Labelled JSONL (`text`, `label`), or a folder of them (repeatable)."
        ),
    ],
    split: Annotated[
        str | None,
        typer.Option(help="Only this split of Bastion's dataset (train, dev or test)."),
    ] = None,
    band: Annotated[str, typer.Option(help="review (review or high) or high.")] = "review",
    lang: Annotated[str | None, typer.Option(help="Only lines with this `lang`.")] = None,
) -> None:
    """Precision, recall and false-positive rate with Wilson 95% intervals, per language and
    slice: one JSON line per group, then a summary line."""
    if band not in ("review", "high"):
        raise InvalidInput("--band is review or high.")
    if split not in (None, "train", "dev", "test"):
        raise InvalidInput("--split is train, dev or test.")
    metrics, failed = evaluate_file(
        input, max_bytes=Settings().max_text_bytes, split=split, lang=lang
    )
    for group, values in metrics[band].items():
        typer.echo(json.dumps({"band": band, "group": group, **values}, ensure_ascii=False))
    if failed:
        typer.echo(f"{failed} line(s) skipped: not JSON, no text or no label.", err=True)


def register(app: typer.Typer) -> None:
    """Add the text commands to the main CLI."""
    app.command("classify")(classify)
    app.command("eval")(evaluate)
