"""Moderators' decisions on texts as labelled examples, in the dataset's own format: measure the
classifier on your own platform (`bastion eval`) and retrain it with them (`bastion train`).

A text's latest decision by a person is its label: remove or restrict is propaganda; leave
up, not terrorist content, or a reinstatement after a complaint is benign, in the slice that
the moderator's Art. 1(3) exclusion names (`everyday` when none was given). Automatic removals
and removals under an authority's order are not reviews and are left out. An escalation is
not final, so its text waits. Copies of one text (the same normal form: case, spacing,
invisible characters aside) share a template, so that they never sit on both sides of a
train/test split, and are exported once, with the latest decision among them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from bastion.classify.classifier import SLICE_OF_EXCLUSION
from bastion.classify.dataset import PROPAGANDA
from bastion.classify.language import detect_language
from bastion.db.models import Decision, Item, ItemSignal
from bastion.media_store import MediaStore

BENIGN = "benign"
LABEL_OF_OUTCOME = {
    "remove": PROPAGANDA,
    "restrict": PROPAGANDA,
    "leave_up": BENIGN,
    "not_tvec": BENIGN,
    "reinstate": BENIGN,
}
# Removals carry no functionality (call to join, pledge ...): they get this slice.
REVIEWED_SLICE = "reviewed"
# Decisions no person took on this text: automatic removals (a vetted bank matched) and
# removals under an authority's order (`order:N`) label the bank or the order, not a review.
MACHINES = ("policy",)
CHUNK = 500


@dataclass
class ExportSummary:
    """What an export wrote and what it could not."""

    rows: Counter[str] = field(default_factory=Counter)  # "lang label" -> count
    missing_text: int = 0

    def public(self) -> dict[str, Any]:
        """As the CLI prints it."""
        return {"rows": dict(sorted(self.rows.items())), "missing_text": self.missing_text}


def reviewed_rows(
    session: Session, media: MediaStore, *, since: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """One labelled row per decided text (its content read from the media folder)."""
    people = ~Decision.decided_by.in_(MACHINES) & ~Decision.decided_by.like("order:%")
    latest = (
        select(Decision.item_id, func.max(Decision.id).label("decision_id"))
        .where(people)
        .group_by(Decision.item_id)
        .subquery()
    )
    normal = aliased(ItemSignal)
    key = func.coalesce(normal.value, Item.content_sha256)
    query = (
        select(Item, Decision, key)
        .join(latest, latest.c.item_id == Item.id)
        .join(Decision, Decision.id == latest.c.decision_id)
        .outerjoin(normal, (normal.item_id == Item.id) & (normal.signal_type == "text_sha256"))
        .where(Item.kind == "text")
        .order_by(key, Decision.id.desc())
        .execution_options(yield_per=CHUNK)
    )
    previous = None
    for chunk in session.execute(query).partitions(CHUNK):
        results = _classifier_results(session, [item.id for item, _, _ in chunk])
        for item, decision, text_key in chunk:
            if text_key == previous:
                continue  # an older decision on a copy of the same text
            previous = text_key
            if decision.outcome not in LABEL_OF_OUTCOME:
                continue  # the newest word on this text is an escalation: not final yet
            if since is not None and decision.created_at < since:
                continue
            yield _row(item, decision, media, results.get(item.id), text_key)


def export_reviewed(
    session: Session, media: MediaStore, out: Any, *, since: datetime | None = None
) -> ExportSummary:
    """Write the labelled rows as JSON Lines to `out`; texts no longer stored are counted."""
    summary = ExportSummary()
    for row in reviewed_rows(session, media, since=since):
        if row["text"] is None:
            summary.missing_text += 1
            continue
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        summary.rows[f"{row['lang']} {row['label']}"] += 1
    return summary


def _row(
    item: Item,
    decision: Decision,
    media: MediaStore,
    result: dict[str, Any] | None,
    text_key: str,
) -> dict[str, Any]:
    data = media.get(item.content_sha256)
    text = data.decode("utf-8", errors="replace") if data is not None else None
    label = LABEL_OF_OUTCOME[decision.outcome]
    if label == PROPAGANDA:
        slice_ = REVIEWED_SLICE
    else:
        slice_ = SLICE_OF_EXCLUSION.get(decision.exclusion or "", "everyday")
    lang = (result or {}).get("lang") or (detect_language(text).code if text else "und")
    return {
        "id": f"item-{item.id}",
        "lang": lang,
        "label": label,
        "slice": slice_,
        "category": (result or {}).get("category") if label == PROPAGANDA else None,
        "template": f"text-{text_key[:16]}",
        "text": text,
        "decision": decision.outcome,
        "exclusion": decision.exclusion,
        "automation": decision.automation,
        "decided_at": decision.created_at.isoformat(),
        "classifier": {k: (result or {}).get(k) for k in ("score", "band", "model")}
        if result
        else None,
    }


def _classifier_results(session: Session, item_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = session.execute(
        select(ItemSignal.item_id, ItemSignal.value).where(
            ItemSignal.item_id.in_(item_ids), ItemSignal.signal_type == "text_classifier"
        )
    )
    out: dict[int, dict[str, Any]] = {}
    for item_id, value in rows:
        try:
            parsed = json.loads(value)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            out[item_id] = parsed
    return out
