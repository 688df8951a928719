"""Cases: claim an item for review (a lock with a timeout), then decide it.

Two moderators never decide the same case: a claim is taken with a conditional UPDATE (only
if unclaimed, expired or already ours), so of two racing claims exactly one wins; deciding
requires holding the claim. Every claim and decision is audited, and a decision is sent to the
platform as a signed webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session

from bastion.actions.webhooks import enqueue
from bastion.audit import record
from bastion.db.base import utcnow
from bastion.db.models import Decision, Item
from bastion.errors import Conflict, InvalidInput, NotFound
from bastion.media_store import MediaStore
from bastion.review.banking import add_item_to_bank

Outcome = Literal["remove", "restrict", "leave_up", "escalate", "not_tvec"]
OUTCOMES = ("remove", "restrict", "leave_up", "escalate", "not_tvec")
# TCO Art. 1(3): material disseminated for these purposes is not terrorist content.
EXCLUSIONS = ("journalism", "counter_speech", "research_education", "art", "religious_practice")
CLAIM_TTL = timedelta(minutes=15)
ESCALATION_QUEUE = "escalated"


@dataclass(frozen=True)
class BankTarget:
    """Add the decided item to this bank, reading its content from the media store."""

    name: str
    media: MediaStore
    max_pixels: int


def queue(session: Session, name: str | None = None, limit: int = 50) -> list[Item]:
    """Undecided review cases, highest priority first, oldest first among equals."""
    query = select(Item).where(Item.verdict == "review", Item.decision.is_(None))
    if name is not None:
        query = query.where(Item.queue == name)
    return list(
        session.scalars(
            query.order_by(Item.priority.desc(), Item.received_at, Item.id).limit(limit)
        )
    )


def claim(session: Session, item_id: int, moderator: str, ttl: timedelta = CLAIM_TTL) -> Item:
    """Lock the case for `moderator`; 409 naming the holder if someone else has it."""
    now = utcnow()
    result = session.execute(
        update(Item)
        .where(
            Item.id == item_id,
            Item.decision.is_(None),
            or_(
                Item.claimed_by.is_(None),
                Item.claimed_by == moderator,
                Item.claim_expires_at < now,
            ),
        )
        .values(claimed_by=moderator, claim_expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    won = cast(CursorResult[Any], result).rowcount
    item = _get(session, item_id)
    if not won:
        session.refresh(item)
        _refuse(item)
    session.refresh(item)
    record(session, moderator, "case.claim", f"item:{item_id}", {})
    return item


def claim_next(
    session: Session, name: str | None, moderator: str, ttl: timedelta = CLAIM_TTL
) -> Item | None:
    """Claim the highest-priority case nobody else holds, or None when the queue is empty."""
    for candidate in queue(session, name, limit=200):
        try:
            with session.begin_nested():
                return claim(session, candidate.id, moderator, ttl)
        except Conflict:
            continue
    return None


def release(session: Session, item_id: int, moderator: str) -> Item:
    """Give a claimed case back to the queue."""
    item = _get(session, item_id)
    if item.decision is not None or item.claimed_by != moderator:
        _refuse(item, moderator)
    item.claimed_by, item.claim_expires_at = None, None
    record(session, moderator, "case.release", f"item:{item_id}", {})
    return item


def queue_counts(session: Session) -> dict[str, int]:
    """How many undecided review cases each queue holds."""
    rows = session.execute(
        select(Item.queue, func.count())
        .where(Item.verdict == "review", Item.decision.is_(None))
        .group_by(Item.queue)
    )
    return {str(name or "default"): int(count) for name, count in rows}


def decide(
    session: Session,
    item_id: int,
    moderator: str,
    outcome: str,
    *,
    exclusion: str | None = None,
    note: str | None = None,
    bank: BankTarget | None = None,
) -> Decision:
    """Record a human decision on a case the moderator holds, and tell the platform."""
    if outcome not in OUTCOMES:
        raise InvalidInput(f"Unknown decision {outcome!r}; use one of {', '.join(OUTCOMES)}.")
    if outcome == "not_tvec" and exclusion not in EXCLUSIONS:
        raise InvalidInput(
            "Say why it is not terrorist content: exclusion is one of " + ", ".join(EXCLUSIONS)
        )
    item = _get(session, item_id)
    now = utcnow()
    if (
        item.decision is not None
        or item.claimed_by != moderator
        or (item.claim_expires_at is not None and item.claim_expires_at < now)
    ):
        _refuse(item, moderator)
    decision = Decision(
        item_id=item.id,
        outcome=outcome,
        exclusion=exclusion if outcome == "not_tvec" else None,
        note=note,
        decided_by=moderator,
        automation="none",
    )
    if note is not None and len(note) > 4000:
        raise InvalidInput("A decision note is at most 4000 characters.")
    session.add(decision)
    item.claimed_by, item.claim_expires_at = None, None
    if outcome == "escalate":
        # Not final: the case moves to the escalation queue for a senior reviewer's decision.
        item.queue = ESCALATION_QUEUE
    else:
        item.decision = outcome
    session.flush()
    details: dict[str, Any] = {
        "outcome": outcome,
        "exclusion": decision.exclusion,
        "automation": "none",
    }
    if bank is not None:
        entry = add_item_to_bank(
            session,
            item,
            bank.name,
            outcome=outcome,
            decision_id=decision.id,
            media=bank.media,
            max_pixels=bank.max_pixels,
            actor=moderator,
        )
        details["bank_entry"] = f"bank:{bank.name}/entry:{entry.id}"
    record(session, moderator, "case.decide", f"item:{item_id}", details)
    enqueue(
        session,
        f"decision.{outcome}",
        {
            "item_id": item.id,
            "external_id": item.external_id,
            "platform": item.platform,
            "decision": outcome,
            "exclusion": decision.exclusion,
            "automation": "none",
            "decision_id": decision.id,
        },
    )
    return decision


def _get(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"No item with id {item_id}.", code="unknown_item")
    return item


def _refuse(item: Item, moderator: str | None = None) -> None:
    if item.decision is not None:
        raise Conflict(f"Item {item.id} was already decided ({item.decision}).", code="decided")
    if item.claimed_by and item.claimed_by != moderator:
        raise Conflict(
            f"Item {item.id} is claimed by {item.claimed_by}.",
            code="claimed",
            details={"claimed_by": item.claimed_by},
        )
    raise Conflict(f"Claim item {item.id} before deciding it.", code="not_claimed")
