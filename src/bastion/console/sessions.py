"""Console logins: a random secret in an HttpOnly cookie, only its SHA-256 in the database.

Server-side sessions (rather than signed cookies) so that logging out, disabling a user or
an idle timeout really ends a login, and so each login can carry its CSRF token and its
exposure counter.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.audit import record
from bastion.db.base import utcnow
from bastion.db.models import ConsoleSession, User
from bastion.settings import Settings

COOKIE = "bastion_session"
LOGIN_CSRF_COOKIE = "bastion_login_csrf"
# Remember at most this many revealed items per login (the oldest are forgotten first).
MAX_REMEMBERED_REVEALS = 500


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(session: Session, user: User, settings: Settings) -> str:
    """Open a login for the user; returns the cookie secret (shown to nobody else)."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        ConsoleSession(
            secret_sha256=_digest(secret),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            revealed=[],
            reveals=0,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.console_session_hours),
        )
    )
    session.flush()
    return secret


def resolve_session(session: Session, secret: str, settings: Settings) -> ConsoleSession | None:
    """The live login behind a cookie secret, or None (unknown, ended, expired, idle, disabled)."""
    if not secret or len(secret) > 128:
        return None
    row = session.scalar(
        select(ConsoleSession).where(ConsoleSession.secret_sha256 == _digest(secret))
    )
    now = utcnow()
    if (
        row is None
        or row.ended_at is not None
        or row.expires_at < now
        or row.last_seen_at + timedelta(minutes=settings.console_idle_minutes) < now
        or row.user.disabled_at is not None
    ):
        return None
    # Written at most once a minute: every page view need not be a database write.
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    return row


def end_session(session: Session, row: ConsoleSession) -> None:
    """Log out: the cookie stops working at once."""
    row.ended_at = utcnow()
    record(session, f"user:{row.user.username}", "logout", f"user:{row.user.username}", {})


def check_csrf(row: ConsoleSession, presented: str | None) -> bool:
    """Whether the token sent with a form is this login's CSRF token."""
    if not presented:
        return False
    # Bytes: compare_digest raises on non-ASCII strings, and a forged token must be a 403.
    return secrets.compare_digest(row.csrf_token.encode(), presented.encode("utf-8", "replace"))


def note_reveal(row: ConsoleSession, item_id: int) -> bool:
    """Remember that this login revealed the item; returns False if it already had."""
    if item_id in row.revealed:
        return False
    row.revealed = [*row.revealed, item_id][-MAX_REMEMBERED_REVEALS:]
    row.reveals += 1
    return True


def take_break(row: ConsoleSession) -> None:
    """Reset the exposure counter after a break; revealed items stay viewable."""
    row.reveals = 0
