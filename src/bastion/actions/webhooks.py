"""Signed webhooks through a database outbox.

`enqueue` writes a delivery in the caller's transaction, so an action exists exactly when the
change that caused it was committed. `deliver_due` sends what is due: a 2xx marks it
delivered; anything else (an error, a timeout, a 500) schedules a retry with exponential
backoff, and after `max_attempts` the delivery is dead-lettered, visible and re-sendable.
Because the state lives in the database, retries survive restarts.

Each request carries `X-Bastion-Timestamp` and `X-Bastion-Signature: sha256=<hex>`, the
HMAC-SHA256 of `<timestamp>.<body>`; receivers should reject timestamps older than five
minutes (replay) and compare signatures in constant time (`verify_signature`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.audit import record
from bastion.db.base import utcnow
from bastion.db.models import Delivery
from bastion.errors import NotFound

BASE_DELAY_S = 5.0
MAX_DELAY_S = 3600.0
REPLAY_WINDOW_S = 300


def enqueue(session: Session, event: str, payload: dict[str, Any]) -> Delivery:
    """Queue a webhook in the caller's transaction."""
    delivery = Delivery(event=event, payload=payload, status="pending", attempts=0)
    session.add(delivery)
    session.flush()
    return delivery


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for a body sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None
) -> bool:
    """What a receiver checks: a fresh timestamp and a matching signature."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - sent) > REPLAY_WINDOW_S:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try: 5 s, 10 s, 20 s ... at most an hour."""
    return timedelta(seconds=min(MAX_DELAY_S, BASE_DELAY_S * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Endpoint:
    """Where and how deliveries are sent."""

    url: str
    secret: str
    max_attempts: int = 12
    timeout_s: float = 10.0


def deliver_due(
    session: Session,
    endpoint: Endpoint,
    client: httpx.Client,
    *,
    now: datetime | None = None,
    limit: int = 50,
) -> int:
    """Send the deliveries that are due; returns how many were attempted."""
    moment = now or utcnow()
    query = (
        select(Delivery)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= moment)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # several workers never send twice
    due = list(session.scalars(query))
    for delivery in due:
        _attempt(delivery, endpoint, client, moment)
    return len(due)


def _attempt(delivery: Delivery, endpoint: Endpoint, client: httpx.Client, now: datetime) -> None:
    body = json.dumps(
        {"id": delivery.id, "event": delivery.event, "data": delivery.payload},
        separators=(",", ":"),
    ).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Bastion-Delivery": str(delivery.id),
        "X-Bastion-Event": delivery.event,
        "X-Bastion-Timestamp": str(timestamp),
        "X-Bastion-Signature": sign(endpoint.secret, timestamp, body),
    }
    delivery.attempts += 1
    try:
        response = client.post(
            endpoint.url, content=body, headers=headers, timeout=endpoint.timeout_s
        )
        error = None if response.is_success else f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    if error is None:
        delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
        return
    delivery.last_error = error[:1000]
    if delivery.attempts >= endpoint.max_attempts:
        delivery.status = "dead"
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)


def dead_letters(session: Session, limit: int | None = None) -> list[Delivery]:
    """Deliveries that were given up on, newest first."""
    query = select(Delivery).where(Delivery.status == "dead").order_by(Delivery.id.desc())
    return list(session.scalars(query.limit(limit) if limit else query))


def resend(session: Session, delivery_id: int, *, actor: str) -> Delivery:
    """Put a dead-lettered (or any) delivery back in the queue, due now."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"No delivery {delivery_id}.", code="unknown_delivery")
    delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, utcnow()
    record(session, actor, "webhook.resend", f"delivery:{delivery_id}", {})
    return delivery
