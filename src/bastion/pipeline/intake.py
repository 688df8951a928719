"""Intake: a platform submits an item; it is stored, hashed, matched and recorded.

Idempotent on (platform, external_id, content digest): the same submission twice returns the
first result. The scan runs inside the request's transaction, so an accepted item is always
stored in its final state (`scanned`) or not at all.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bastion.actions.webhooks import enqueue
from bastion.audit import record
from bastion.classify.classifier import classify_texts
from bastion.classify.language import detect_language
from bastion.classify.model import TextModel
from bastion.compliance.statements import record_statement
from bastion.db.base import utcnow
from bastion.db.models import Decision, Item, ItemMatch, ItemSignal
from bastion.errors import InvalidInput, NotFound
from bastion.matching.service import Match, Matcher, MatchResult
from bastion.media_store import MediaStore
from bastion.policy.model import CLASSIFIER, MatchFacts, evaluate
from bastion.policy.store import current_policy
from bastion.signals.file_signals import compute_file_signals
from bastion.signals.registry import normalize_value
from bastion.text.normalize import decode_text
from bastion.text.signals import compute_text_signals

KINDS = ("image", "file", "url", "text")


@dataclass(frozen=True)
class Submission:
    """What the platform sent: its id, and the file's bytes, a URL or a text (kind `text`:
    the bytes are UTF-8 text)."""

    platform: str
    external_id: str
    kind: str | None = None
    data: bytes | None = None
    url: str | None = None
    filename: str | None = None
    media_type: str | None = None
    context: dict[str, Any] | None = None


def submit_item(
    session: Session,
    submission: Submission,
    *,
    matcher: Matcher,
    media: MediaStore,
    max_pixels: int,
    max_text_bytes: int = 1_000_000,
    classifier: TextModel | None = None,
    text_windows: bool = False,
) -> tuple[Item, bool]:
    """Store and scan an item; returns it and whether it was new."""
    kind = _check(submission)
    if submission.data is not None:
        sha256 = hashlib.sha256(submission.data).hexdigest()
    else:
        canonical = normalize_value("url", submission.url or "")
        sha256 = hashlib.sha256(canonical.encode()).hexdigest()
    existing = _existing(session, submission, sha256)
    if existing is not None:
        return existing, False
    item = Item(
        platform=submission.platform,
        external_id=submission.external_id,
        kind=kind,
        content_sha256=sha256,
        filename=submission.filename,
        media_type=submission.media_type,
        context=submission.context or {},
        status="received",
        received_at=utcnow(),
    )
    if kind == "text" and submission.data is not None:
        result = _scan_text(
            session, item, submission.data, matcher, max_text_bytes, classifier, text_windows
        )
        media.put(sha256, submission.data)
    elif submission.data is not None:
        result = _scan_file(session, item, submission.data, kind, matcher, max_pixels)
        media.put(sha256, submission.data)
    else:
        item.url = canonical
        item.signals = [ItemSignal(signal_type="url", value=canonical)]
        result = matcher.match_value(session, "url", submission.url or canonical)
    item.matches = (
        [_match_row(m) for m in result.matches]
        + [_match_row(m, allow=True) for m in result.allowed]
        + [_match_row(m, suppressed=True) for m in result.suppressed]
    )
    _route(session, item, result, submission.data if kind == "text" else None)
    item.status = "scanned"
    item.scanned_at = utcnow()
    try:
        # Platforms retry: the same submission may be racing itself. The loser of the race
        # returns the winner's item instead of failing.
        with session.begin_nested():
            session.add(item)
            session.flush()
            if item.verdict == "auto":
                _record_automatic_decision(session, item)
                enqueue(session, "action.remove", action_payload(item))
    except IntegrityError:
        existing = _existing(session, submission, sha256)
        if existing is None:
            raise
        return existing, False
    return item, True


def _route(session: Session, item: Item, result: MatchResult, text: bytes | None) -> None:
    """The policy's verdict on the item's matches and classifier result."""
    classified = _classifier_result(item)
    lang = classified.get("lang") if classified else None
    if lang is None and text is not None:
        lang = detect_language(decode_text(text)).code  # the classifier is off
    facts = [_facts(m, lang) for m in result.matches] + _classifier_facts(classified)
    verdict = evaluate(current_policy(session), facts)
    item.verdict, item.queue, item.priority = verdict.outcome, verdict.queue, verdict.priority
    item.automation, item.verdict_reasons = verdict.automation, verdict.reasons


def _existing(session: Session, submission: Submission, sha256: str) -> Item | None:
    return session.scalar(
        select(Item).where(
            Item.platform == submission.platform,
            Item.external_id == submission.external_id,
            Item.content_sha256 == sha256,
        )
    )


def _check(submission: Submission) -> str:
    if not submission.external_id or len(submission.external_id) > 256:
        raise InvalidInput("`external_id` is required: the platform's own id, 1-256 characters.")
    if (submission.data is None) == (submission.url is None):
        raise InvalidInput("Send exactly one of `file` (the content) or `url`.")
    kind = submission.kind or ("url" if submission.url is not None else None)
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"Unknown kind {kind!r}; use one of {', '.join(KINDS)}.")
    if kind == "url" and submission.url is None:
        raise InvalidInput("An item of kind 'url' needs the `url` field.")
    if submission.url is not None and kind != "url":
        raise InvalidInput(f"An item sent as a `url` has kind 'url', not {kind!r}.")
    for name, value, limit in (
        ("filename", submission.filename, 512),
        ("media type", submission.media_type, 128),
    ):
        if value is not None and len(value) > limit:
            raise InvalidInput(f"The {name} is longer than {limit} characters.")
    return kind or "file"


def _scan_file(
    session: Session, item: Item, data: bytes, kind: str, matcher: Matcher, max_pixels: int
) -> MatchResult:
    signals = compute_file_signals(
        data, max_pixels=max_pixels, require_image=kind == "image", for_lookup=True
    )
    if kind == "file" and signals.image is not None:
        item.kind = "image"
    item.size_bytes = signals.size
    item.signals = [
        ItemSignal(signal_type="md5", value=signals.md5),
        ItemSignal(signal_type="sha256", value=signals.sha256),
    ]
    if signals.pdq is not None:
        item.signals.append(
            ItemSignal(signal_type="pdq", value=signals.pdq.hex, quality=signals.pdq.quality)
        )
    return matcher.match_file(session, signals)


def _record_automatic_decision(session: Session, item: Item) -> None:
    """An automatic removal is a decision like any other: stored, attributed, audited."""
    decision = Decision(
        item_id=item.id,
        outcome="remove",
        decided_by="policy",
        automation="full",
        note="; ".join(item.verdict_reasons)[:4000] or None,
    )
    session.add(decision)
    item.decision = "remove"
    session.flush()
    record_statement(session, decision)
    details = {"outcome": "remove", "automation": "full", "reasons": item.verdict_reasons}
    record(session, "policy", "case.decide", f"item:{item.id}", details)


def _scan_text(
    session: Session,
    item: Item,
    data: bytes,
    matcher: Matcher,
    max_bytes: int,
    classifier: TextModel | None,
    windows: bool,
) -> MatchResult:
    text = decode_text(data)
    signals = compute_text_signals(text, max_bytes=max_bytes, query=True)
    item.size_bytes = len(data)
    item.media_type = "text/plain; charset=utf-8"
    item.signals = [ItemSignal(signal_type="text_sha256", value=signals.sha256)]
    if classifier is not None:
        (result,) = classify_texts([text], model=classifier, windows=windows)
        item.signals.append(
            ItemSignal(signal_type="text_classifier", value=json.dumps(result.public()))
        )
    return matcher.match_text(session, signals)


def action_payload(item: Item) -> dict[str, Any]:
    """What the platform is told when the policy actions an item without a human."""
    return {
        "action": "remove",
        "item_id": item.id,
        "external_id": item.external_id,
        "platform": item.platform,
        "content_sha256": item.content_sha256,
        "automation": item.automation,
        "reasons": item.verdict_reasons,
        "matches": [
            {
                "bank": m.bank_name,
                "entry_id": m.entry_id,
                "signal_type": m.signal_type,
                "distance": m.distance,
                "category": m.labels.get("category"),
            }
            for m in item.matches
            if not m.allow and not m.suppressed
        ],
    }


def _facts(match: Match, lang: str | None = None) -> MatchFacts:
    return MatchFacts(
        bank=match.bank.name,
        vetted=match.bank.vetted,
        signal_type=match.signal_type,
        distance=match.distance,
        # Text similarity is reported as a distance of (1 - similarity) x 100; 70 is the floor.
        threshold=70 if match.signal_type == "text_minhash" else match.bank.pdq_threshold,
        category=match.entry.category,
        lang=lang,
    )


def _classifier_result(item: Item) -> dict[str, Any] | None:
    for signal in item.signals:
        if signal.signal_type == "text_classifier":
            result: dict[str, Any] = json.loads(signal.value)
            return result
    return None


def _classifier_facts(result: dict[str, Any] | None) -> list[MatchFacts]:
    """A classifier result in the review or high band, as something the policy can route
    (to review at most: the policy never auto-acts on a score)."""
    if result is None or result["band"] == "none":
        return []
    distance = round((1.0 - float(result["score"])) * 100)
    return [
        MatchFacts(
            CLASSIFIER,
            False,
            "text_classifier",
            distance,
            100,
            result["category"],
            band=result["band"],
            lang=result["lang"],
        )
    ]


def _match_row(match: Match, *, allow: bool = False, suppressed: bool = False) -> ItemMatch:
    public = match.public()
    return ItemMatch(
        bank_id=match.bank.id,
        entry_id=match.entry.id,
        bank_name=match.bank.name,
        signal_type=match.signal_type,
        distance=match.distance,
        allow=allow,
        suppressed=suppressed,
        labels={**public["labels"], "view": match.view, "transform": match.transform},
    )


def get_item(session: Session, item_id: int, *, platform: str | None = None) -> Item:
    """An item by id (limited to one platform's items when `platform` is given)."""
    item = session.scalar(
        select(Item)
        .where(Item.id == item_id)
        .options(
            selectinload(Item.signals),
            selectinload(Item.matches),
            selectinload(Item.decisions),
        )
    )
    if item is None or (platform is not None and item.platform != platform):
        raise NotFound(f"No item with id {item_id}.", code="unknown_item")
    return item


def item_public(item: Item) -> dict[str, Any]:
    """An item, its signals and its matches, as the API returns them."""
    signals: dict[str, Any] = {}
    for signal in item.signals:
        if signal.signal_type == "pdq":
            signals["pdq"] = {"hash": signal.value, "quality": signal.quality}
        elif signal.signal_type == "text_classifier":
            signals["text_classifier"] = json.loads(signal.value)
        else:
            signals[signal.signal_type] = signal.value

    def as_match(row: ItemMatch) -> dict[str, Any]:
        labels = {k: v for k, v in row.labels.items() if k not in ("view", "transform")}
        return {
            "bank": row.bank_name,
            "entry_id": row.entry_id,
            "signal_type": row.signal_type,
            "distance": row.distance,
            "labels": labels,
            "view": row.labels.get("view"),
            "transform": row.labels.get("transform"),
        }

    return {
        "id": item.id,
        "external_id": item.external_id,
        "platform": item.platform,
        "kind": item.kind,
        "status": item.status,
        "content_sha256": item.content_sha256,
        "size_bytes": item.size_bytes,
        "filename": item.filename,
        "url": item.url,
        "context": item.context,
        "received_at": item.received_at.isoformat(),
        "scanned_at": item.scanned_at.isoformat() if item.scanned_at else None,
        "signals": signals,
        "verdict": {
            "outcome": item.verdict,
            "queue": item.queue,
            "priority": item.priority,
            "automation": item.automation,
            "reasons": item.verdict_reasons,
        },
        "decision": _decision_public(item),
        "matches": [as_match(m) for m in item.matches if not m.allow and not m.suppressed],
        "allow_matches": [as_match(m) for m in item.matches if m.allow],
        "suppressed": [as_match(m) for m in item.matches if m.suppressed],
    }


def _decision_public(item: Item) -> dict[str, Any] | None:
    # Moderators are not named to the platform: who decided stays in the audit log.
    if not item.decisions:
        return None
    last = item.decisions[-1]
    return {
        "outcome": last.outcome,
        "exclusion": last.exclusion,
        "automation": last.automation,
        "decided_at": last.created_at.isoformat(),
    }
