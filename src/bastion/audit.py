"""The audit log: append-only and hash-chained.

Every change to banks, entries and tokens (and, later, every decision) appends one row. Each
row stores the SHA-256 of the previous row's hash and its own content, so changing or deleting
any row breaks the chain from there on; `bastion audit verify` finds the first broken row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bastion.db.base import utcnow
from bastion.db.models import AuditEvent

GENESIS = "0" * 64
# Any constant works: it names the lock that serialises appends on PostgreSQL.
_CHAIN_LOCK = 0x6261737469
_BATCH = 5000


def record(
    session: Session, actor: str, action: str, target: str | None, details: dict[str, Any]
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        # Held to the end of the transaction, so appends link in commit order.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    event = AuditEvent(
        at=utcnow(), actor=actor, action=action, target=target, details=_jsonable(details)
    )
    session.add(event)
    session.flush()  # takes SQLite's write lock and assigns the id the hash covers
    previous = session.scalar(
        select(AuditEvent.hash)
        .where(AuditEvent.id < event.id)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    event.prev_hash = previous or GENESIS
    event.hash = chain_hash(event.prev_hash, _content(event))
    session.flush()
    return event


def chain_hash(prev_hash: str, content: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the canonical JSON of a row's content."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def _content(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(timespec="microseconds"),
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "details": event.details,
    }


@dataclass(frozen=True)
class Verification:
    """The result of checking the chain: how many rows, and the first broken one if any."""

    events: int
    head: str
    broken_at: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every row is intact and none is missing."""
        return self.broken_at is None


def verify(session: Session) -> Verification:
    """Recompute the whole chain, oldest first, in batches."""
    expected_prev = GENESIS
    count = 0
    for event in _all_events(session):
        count += 1
        if event.prev_hash != expected_prev:
            return Verification(
                count, expected_prev, event.id, "the row before it was changed or deleted"
            )
        if event.hash != chain_hash(event.prev_hash or "", _content(event)):
            return Verification(count, expected_prev, event.id, "its content was changed")
        expected_prev = event.hash
    return Verification(count, expected_prev)


def _all_events(session: Session) -> Iterable[AuditEvent]:
    after = 0
    while True:
        batch = session.scalars(
            select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(_BATCH)
        ).all()
        if not batch:
            return
        yield from batch
        after = batch[-1].id
        session.expunge_all()


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    # A round trip through JSON, so the hashed content is exactly what the database returns.
    loaded: dict[str, Any] = json.loads(json.dumps(details, default=str))
    return loaded
