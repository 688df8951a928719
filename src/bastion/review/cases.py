"""Cases: claim an item for review (a lock with a timeout), then decide it.

Two moderators never decide the same case: a claim is taken with a conditional UPDATE (only
if unclaimed, expired or already ours), so of two racing claims exactly one wins; deciding
requires holding the claim. Every claim and decision is audited, and a decision is sent to the
platform as a signed webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, CursorResult, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from bastion.actions.webhooks import enqueue
from bastion.audit import record
from bastion.compliance.statements import record_statement
from bastion.db.base import utcnow
from bastion.db.models import Decision, Item
from bastion.errors import Conflict, InvalidInput, NotFound
from bastion.media_store import MediaStore
from bastion.review.banking import add_item_to_bank
from bastion.review.claims import refuse_unclaimed

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
    # Matches in a vetted bank can remove content without a human, so adding to one stays
    # with those who curate banks (admins).
    may_use_vetted: bool = False


def _open_cases(query: Select[Any], name: str | None) -> Select[Any]:
    """Undecided review cases (of one queue), highest priority first, oldest first."""
    query = query.where(Item.verdict == "review", Item.decision.is_(None))
    if name is not None:
        query = query.where(Item.queue == name)
    return query.order_by(Item.priority.desc(), Item.received_at, Item.id)


def _unheld(now: datetime) -> ColumnElement[bool]:
    """Unclaimed, or claimed with an expired claim."""
    return or_(Item.claimed_by.is_(None), Item.claim_expires_at < now)


def _free_for(moderator: str, now: datetime) -> ColumnElement[bool]:
    """Unheld, or claimed by this moderator."""
    return or_(_unheld(now), Item.claimed_by == moderator)


def queue(session: Session, name: str | None = None, limit: int = 50) -> list[Item]:
    """Undecided review cases, highest priority first, oldest first among equals."""
    query = _open_cases(select(Item).options(selectinload(Item.matches)), name)
    return list(session.scalars(query.limit(limit)))


def claim(session: Session, item_id: int, moderator: str, ttl: timedelta = CLAIM_TTL) -> Item:
    """Lock the case for `moderator`; 409 naming the holder if someone else has it."""
    now = utcnow()
    _not_own_escalation(session, item_id, moderator)
    result = session.execute(
        update(Item)
        .where(
            Item.id == item_id,
            Item.verdict == "review",
            Item.decision.is_(None),
            _free_for(moderator, now),
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
    free = _open_cases(select(Item.id).where(_free_for(moderator, utcnow())), name)
    for candidate in session.scalars(free.limit(50)):
        try:
            # A lost race changes nothing (the claim is a conditional UPDATE), so no savepoint.
            return claim(session, candidate, moderator, ttl)
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
    copies: bool = False,
) -> Decision:
    """Record a human decision on a case the moderator holds, and tell the platform.

    With `copies`, the same decision is applied to every other waiting case with identical
    bytes (same SHA-256) that nobody holds; those decisions are recorded as partly automated.
    """
    _check_outcome(outcome, exclusion, note)
    item = _get(session, item_id)
    if not _close(session, item, outcome, holder=moderator):
        session.refresh(item)
        _refuse(item, moderator)
    decision = _record_decision(session, item, moderator, outcome, exclusion, note, "none")
    details: dict[str, Any] = {}
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
            may_use_vetted=bank.may_use_vetted,
        )
        details["bank_entry"] = f"bank:{bank.name}/entry:{entry.id}"
    if copies and outcome != "escalate":
        applied = [
            _record_decision(session, other, moderator, outcome, exclusion, note, "partial").id
            for other in waiting_copies(session, item)
            if _close(session, other, outcome, holder=None)
        ]
        details["applied_to_copies"] = applied
    _audit_decision(session, decision, moderator, details)
    return decision


def waiting_copies(session: Session, item: Item) -> list[Item]:
    """Other undecided review cases with identical bytes that nobody holds now."""
    return list(
        session.scalars(
            select(Item)
            .where(
                Item.content_sha256 == item.content_sha256,
                Item.id != item.id,
                Item.verdict == "review",
                Item.decision.is_(None),
                _unheld(utcnow()),
            )
            .order_by(Item.id)
            .limit(1000)
        )
    )


def _close(session: Session, item: Item, outcome: str, *, holder: str | None) -> bool:
    """Atomically mark the case decided (or escalated) if it still is as the caller saw it:
    undecided and claimed by `holder` (or, for a copy, held by nobody). Of two racing
    decisions exactly one wins."""
    now = utcnow()
    held = (
        and_(Item.claimed_by == holder, Item.claim_expires_at >= now)
        if holder is not None
        else _unheld(now)
    )
    # Not final when escalated: the case moves to the escalation queue for another reviewer.
    change: dict[str, Any] = (
        {"queue": ESCALATION_QUEUE} if outcome == "escalate" else {"decision": outcome}
    )
    result = session.execute(
        update(Item)
        .where(Item.id == item.id, Item.verdict == "review", Item.decision.is_(None), held)
        .values(claimed_by=None, claim_expires_at=None, **change)
        .execution_options(synchronize_session=False)
    )
    if not cast(CursorResult[Any], result).rowcount:
        return False
    session.refresh(item)
    return True


def _not_own_escalation(session: Session, item_id: int, moderator: str) -> None:
    # Four eyes: whoever escalated a case does not decide it.
    last = session.scalar(
        select(Decision).where(Decision.item_id == item_id).order_by(Decision.id.desc()).limit(1)
    )
    if last is not None and last.outcome == "escalate" and last.decided_by == moderator:
        raise Conflict(
            f"You escalated item {item_id}; another reviewer decides it.", code="own_escalation"
        )


def _check_outcome(outcome: str, exclusion: str | None, note: str | None) -> None:
    if outcome not in OUTCOMES:
        raise InvalidInput(f"Unknown decision {outcome!r}; use one of {', '.join(OUTCOMES)}.")
    if outcome == "not_tvec" and exclusion not in EXCLUSIONS:
        raise InvalidInput(
            "Say why it is not terrorist content: exclusion is one of " + ", ".join(EXCLUSIONS)
        )
    if note is not None and len(note) > 4000:
        raise InvalidInput("A decision note is at most 4000 characters.")


def _record_decision(
    session: Session,
    item: Item,
    actor: str,
    outcome: str,
    exclusion: str | None,
    note: str | None,
    automation: str,
) -> Decision:
    decision = Decision(
        item_id=item.id,
        outcome=outcome,
        exclusion=exclusion if outcome == "not_tvec" else None,
        note=note,
        decided_by=actor,
        automation=automation,
    )
    session.add(decision)
    session.flush()
    record_statement(session, decision)  # DSA Art. 17, for remove and restrict only
    enqueue(
        session,
        f"decision.{outcome}",
        {
            "item_id": item.id,
            "external_id": item.external_id,
            "platform": item.platform,
            "decision": outcome,
            "exclusion": decision.exclusion,
            "automation": automation,
            "decision_id": decision.id,
        },
    )
    if automation != "none":
        _audit_decision(session, decision, actor, {})
    return decision


def _audit_decision(
    session: Session, decision: Decision, actor: str, extra: dict[str, Any]
) -> None:
    details = {
        "outcome": decision.outcome,
        "exclusion": decision.exclusion,
        "automation": decision.automation,
        **extra,
    }
    record(session, actor, "case.decide", f"item:{decision.item_id}", details)


def _get(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"No item with id {item_id}.", code="unknown_item")
    return item


def _refuse(item: Item, moderator: str | None = None) -> None:
    if item.verdict != "review":
        raise Conflict(
            f"Item {item.id} is not waiting for review (its verdict is {item.verdict}).",
            code="not_a_case",
        )
    refuse_unclaimed(
        f"Item {item.id}", decided=item.decision, claimed_by=item.claimed_by, person=moderator
    )
