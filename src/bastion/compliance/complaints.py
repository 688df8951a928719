"""Complaints against removals (TCO Art. 10, DSA Art. 20).

The platform forwards its uploader's complaint against the latest remove/restrict decision on
an item. Someone other than the person who took that decision reviews it within
`complaint_days` (two weeks by default) and either reinstates the content (a new `reinstate`
decision, sent as a `complaint.reinstate` webhook) or upholds the decision with reasons (a
`complaint.upheld` webhook, so the platform can tell the uploader, Art. 10(2)).

Removals under a removal order are not complained about here: the order is challenged before
the courts of the issuing Member State (Art. 9), as its redress information says.

Claims and decisions are conditional UPDATEs, as for review cases: of two racing reviewers
exactly one wins, and the loser is told who holds the complaint.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bastion.actions.webhooks import enqueue
from bastion.audit import record
from bastion.compliance.notices import order_of
from bastion.compliance.statements import RESTRICTIVE
from bastion.db.base import utcnow
from bastion.db.models import Complaint, Decision, Item
from bastion.errors import Conflict, InvalidInput, NotFound
from bastion.review.claims import refuse_unclaimed

OUTCOMES = ("reinstate", "uphold")
STATUSES = ("open", "decided")
MAX_TEXT = 10_000
MAX_REASONS = 4000
CLAIM_TTL = timedelta(minutes=15)
# Decisions a machine took: nobody is excluded from reviewing them.
_MACHINES = ("policy",)


def file_complaint(
    session: Session,
    *,
    platform: str | None,
    text: str,
    days: int,
    actor: str,
    item_id: int | None = None,
    external_id: str | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Record an uploader's complaint against the latest restrictive decision on an item.

    `platform` limits the lookup to one platform's items (None: any, for admins)."""
    _check_text(text, "The complaint", MAX_TEXT)
    item = _find_item(session, platform, item_id, external_id)
    decision = _complainable(session, item)
    moment = now or utcnow()
    complaint = Complaint(
        decision_id=decision.id,
        item_id=item.id,
        platform=item.platform,
        text=text,
        received_at=moment,
        due_at=moment + timedelta(days=days),
        status="open",
        original_decider=decision.decided_by,
    )
    try:
        with session.begin_nested():  # the unique decision_id settles a race between two posts
            session.add(complaint)
            session.flush()
    except IntegrityError:
        _refuse_duplicate(session, decision)
        raise
    record(
        session,
        actor,
        "complaint.file",
        f"complaint:{complaint.id}",
        {"item_id": item.id, "decision_id": decision.id, "due_at": complaint.due_at.isoformat()},
    )
    return complaint


def _check_text(text: str, what: str, limit: int) -> None:
    if not text.strip() or len(text) > limit:
        raise InvalidInput(f"{what} must be 1-{limit:,} characters of text.", code="bad_text")
    if "\x00" in text:
        raise InvalidInput(f"{what} contains a NUL character; remove it.", code="bad_text")


def _find_item(
    session: Session, platform: str | None, item_id: int | None, external_id: str | None
) -> Item:
    if (item_id is None) == (external_id is None):
        raise InvalidInput("Name the item by `item_id` or by `external_id` (one of them).")
    query = select(Item)
    if platform is not None:
        query = query.where(Item.platform == platform)
    if item_id is not None:
        item = session.scalar(query.where(Item.id == item_id))
    else:
        # The same external id can be sent again with other bytes: the newest restricted
        # copy is the one the uploader complains about.
        copies = list(
            session.scalars(query.where(Item.external_id == external_id).order_by(Item.id.desc()))
        )
        item = next((c for c in copies if c.decision in RESTRICTIVE), copies[0] if copies else None)
    if item is None:
        named = f"id {item_id}" if item_id is not None else f"external id {external_id!r}"
        raise NotFound(f"No item with {named}.", code="unknown_item")
    return item


def _complainable(session: Session, item: Item) -> Decision:
    """The decision a complaint can be about: the item's latest, if it restricts something
    and was not taken under a removal order."""
    decision = latest_decision(session, item.id)
    if decision is None:
        raise InvalidInput(
            f"Item {item.id} has no decision to complain about.", code="nothing_to_complain"
        )
    if decision.outcome not in RESTRICTIVE:
        raise InvalidInput(
            f"The latest decision on item {item.id} is {decision.outcome}: it removed or "
            "restricted nothing, so there is nothing to complain about.",
            code="nothing_to_complain",
        )
    order = order_of(session, decision)
    if decision.decided_by.startswith("order:"):
        redress = order.redress if order is not None and order.redress else "see the order"
        raise InvalidInput(
            f"Item {item.id} was removed under a removal order"
            + (f" ({order.reference}, {order.authority})" if order else "")
            + ", which the platform cannot review: the uploader can challenge the order "
            f"itself before the courts of the issuing Member State (TCO Art. 9): {redress}",
            code="order_redress",
            details={"order_id": order.id if order else None, "redress": redress},
        )
    existing = session.scalar(select(Complaint).where(Complaint.decision_id == decision.id))
    if existing is not None:
        _refuse_duplicate(session, decision)
    return decision


def _refuse_duplicate(session: Session, decision: Decision) -> None:
    existing = session.scalar(select(Complaint).where(Complaint.decision_id == decision.id))
    if existing is None:
        return
    raise Conflict(
        f"A complaint against this decision was already filed (complaint {existing.id}, "
        f"{existing.received_at.isoformat()}); one complaint per decision.",
        code="duplicate_complaint",
        details={"complaint_id": existing.id, "url": f"/v1/complaints/{existing.id}"},
    )


def latest_decision(session: Session, item_id: int) -> Decision | None:
    """The newest decision on an item."""
    return session.scalar(
        select(Decision).where(Decision.item_id == item_id).order_by(Decision.id.desc()).limit(1)
    )


def get_complaint(session: Session, complaint_id: int, *, platform: str | None = None) -> Complaint:
    """One complaint (only one platform's when `platform` is given), or 404."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or (platform is not None and complaint.platform != platform):
        raise NotFound(f"No complaint with id {complaint_id}.", code="unknown_complaint")
    return complaint


def list_complaints(
    session: Session,
    *,
    status: str | None = None,
    platform: str | None = None,
    limit: int = 100,
) -> list[Complaint]:
    """Open complaints first, soonest due (so overdue) on top; then decided ones, newest first."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.")
    found: list[Complaint] = []
    orders = {
        "open": (Complaint.due_at, Complaint.id),
        "decided": (Complaint.decided_at.desc(), Complaint.id.desc()),
    }
    for wanted in (status,) if status else STATUSES:
        query = select(Complaint).where(Complaint.status == wanted)
        if platform is not None:
            query = query.where(Complaint.platform == platform)
        found += session.scalars(query.order_by(*orders[wanted]).limit(limit - len(found)))
        if len(found) >= limit:
            break
    return found


def is_overdue(complaint: Complaint, now: datetime) -> bool:
    """Whether an open complaint is past its due date."""
    return complaint.status == "open" and complaint.due_at < now


def days_left(complaint: Complaint, now: datetime) -> int:
    """Whole days to the due date, rounded up (negative when overdue)."""
    seconds = (complaint.due_at - now).total_seconds()
    return math.ceil(seconds / 86400) if seconds >= 0 else -math.ceil(-seconds / 86400)


def same_reviewer(a: str, b: str) -> bool:
    """Whether two actor names are the same person or token (`user:NAME`, `token:ID:NAME`:
    a token is the same token whatever its name says)."""

    def key(actor: str) -> str:
        parts = actor.split(":")
        return ":".join(parts[:2])

    return key(a) == key(b)


def _not_own_decision(complaint: Complaint, reviewer: str) -> None:
    # Art. 10 / DSA Art. 20(6): a complaint is not reviewed by the one who took the decision.
    decider = complaint.original_decider
    if decider not in _MACHINES and same_reviewer(decider, reviewer):
        raise Conflict(
            f"You took the decision complaint {complaint.id} is about; another reviewer "
            "must decide it.",
            code="own_decision",
        )


def _held_by(reviewer: str, now: datetime) -> ColumnElement[bool]:
    return and_(Complaint.claimed_by == reviewer, Complaint.claim_expires_at >= now)


def _free_for(reviewer: str, now: datetime) -> ColumnElement[bool]:
    return or_(
        Complaint.claimed_by.is_(None),
        Complaint.claim_expires_at < now,
        Complaint.claimed_by == reviewer,
    )


def claim_complaint(
    session: Session,
    complaint_id: int,
    reviewer: str,
    ttl: timedelta = CLAIM_TTL,
    *,
    now: datetime | None = None,
) -> Complaint:
    """Lock an open complaint for `reviewer`; 409 naming the holder if someone else has it."""
    moment = now or utcnow()
    complaint = get_complaint(session, complaint_id)
    _not_own_decision(complaint, reviewer)
    result = session.execute(
        update(Complaint)
        .where(
            Complaint.id == complaint_id,
            Complaint.status == "open",
            _free_for(reviewer, moment),
        )
        .values(claimed_by=reviewer, claim_expires_at=moment + ttl)
        .execution_options(synchronize_session=False)
    )
    session.refresh(complaint)
    if not cast(CursorResult[Any], result).rowcount:
        _refuse(complaint, reviewer)
    record(session, reviewer, "complaint.claim", f"complaint:{complaint_id}", {})
    return complaint


def decide_complaint(
    session: Session,
    complaint_id: int,
    reviewer: str,
    outcome: str,
    reasons: str,
    *,
    now: datetime | None = None,
) -> Complaint:
    """Reinstate or uphold, with reasons, on a complaint the reviewer holds; tell the platform."""
    if outcome not in OUTCOMES:
        raise InvalidInput(f"Unknown outcome {outcome!r}; use one of {', '.join(OUTCOMES)}.")
    _check_text(reasons, "The reasons", MAX_REASONS)
    moment = now or utcnow()
    complaint = get_complaint(session, complaint_id)
    _not_own_decision(complaint, reviewer)
    item = session.get(Item, complaint.item_id)
    if item is None:
        raise NotFound(f"No item with id {complaint.item_id}.", code="unknown_item")
    if outcome == "reinstate":
        _still_latest(session, complaint)
    result = session.execute(
        update(Complaint)
        .where(Complaint.id == complaint_id, Complaint.status == "open", _held_by(reviewer, moment))
        .values(
            status="decided",
            outcome=outcome,
            reasons=reasons,
            decided_by=reviewer,
            decided_at=moment,
            claimed_by=None,
            claim_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(complaint)
    if not cast(CursorResult[Any], result).rowcount:
        _refuse(complaint, reviewer)
    details: dict[str, Any] = {"outcome": outcome, "item_id": item.id, "late": False}
    details["late"] = moment > complaint.due_at
    if outcome == "reinstate":
        details["decision_id"] = _reinstate(session, complaint, item, reviewer, moment).id
    else:
        enqueue(session, "complaint.upheld", _webhook(complaint, item))
    record(session, reviewer, "complaint.decide", f"complaint:{complaint_id}", details)
    return complaint


def _still_latest(session: Session, complaint: Complaint) -> None:
    # A later decision (a removal order, say) must not be undone by reinstating an older one.
    latest = latest_decision(session, complaint.item_id)
    if latest is not None and latest.id != complaint.decision_id:
        raise Conflict(
            f"Item {complaint.item_id} was decided again ({latest.outcome}) after the decision "
            f"complaint {complaint.id} is about; reinstating would undo that. Uphold, or "
            "resolve the newer decision first.",
            code="decided_again",
            details={"decision_id": latest.id},
        )


def _reinstate(
    session: Session, complaint: Complaint, item: Item, reviewer: str, now: datetime
) -> Decision:
    decision = Decision(
        item_id=item.id,
        outcome="reinstate",
        decided_by=reviewer,
        automation="none",
        note=complaint.reasons,
        created_at=now,
    )
    session.add(decision)
    item.decision = "reinstate"
    session.flush()
    enqueue(
        session, "complaint.reinstate", _webhook(complaint, item) | {"decision_id": decision.id}
    )
    return decision


def _webhook(complaint: Complaint, item: Item) -> dict[str, Any]:
    """What the platform needs to act and to tell its uploader (no reviewer names)."""
    return {
        "complaint_id": complaint.id,
        "item_id": item.id,
        "external_id": item.external_id,
        "platform": item.platform,
        "outcome": complaint.outcome,
        "reasons": complaint.reasons,
        "decided_at": complaint.decided_at.isoformat() if complaint.decided_at else None,
    }


def _refuse(complaint: Complaint, reviewer: str) -> None:
    refuse_unclaimed(
        f"Complaint {complaint.id}",
        decided=(complaint.outcome or complaint.status) if complaint.status != "open" else None,
        claimed_by=complaint.claimed_by,
        person=reviewer,
    )


def complaint_public(
    complaint: Complaint, now: datetime | None = None, *, internal: bool = True
) -> dict[str, Any]:
    """A complaint as the API shows it; `internal=False` (for the platform) names no reviewer."""
    moment = now or utcnow()
    out: dict[str, Any] = {
        "id": complaint.id,
        "item_id": complaint.item_id,
        "decision_id": complaint.decision_id,
        "platform": complaint.platform,
        "text": complaint.text,
        "received_at": complaint.received_at.isoformat(),
        "due_at": complaint.due_at.isoformat(),
        "status": complaint.status,
        "overdue": is_overdue(complaint, moment),
        "days_left": days_left(complaint, moment) if complaint.status == "open" else None,
        "outcome": complaint.outcome,
        "reasons": complaint.reasons,
        "decided_at": complaint.decided_at.isoformat() if complaint.decided_at else None,
    }
    if internal:
        out |= {
            "original_decider": complaint.original_decider,
            "decided_by": complaint.decided_by,
            "claim": {
                "claimed_by": complaint.claimed_by,
                "expires_at": (
                    complaint.claim_expires_at.isoformat() if complaint.claim_expires_at else None
                ),
            },
        }
    return out
