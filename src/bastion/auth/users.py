"""Console users: created by an admin (or `bastion user create`), passwords hashed with argon2.

Failed logins are slowed per username and per client address in memory (a sliding window),
and every login, success or failure, is audited.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bastion.audit import record
from bastion.auth.permissions import USER_ROLES
from bastion.db.base import utcnow
from bastion.db.models import ConsoleSession, User
from bastion.errors import BastionError, Conflict, InvalidInput, NotFound, Unauthorized

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verifying against this keeps a login for an unknown user as slow as for a known one.
_DUMMY_HASH = _hasher.hash("bastion-timing-equaliser")


def create_user(session: Session, *, username: str, password: str, role: str, actor: str) -> User:
    """Create a console user; the password is hashed with argon2id."""
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise InvalidInput(
            "A username is 2-64 lowercase letters, digits, '_', '.' or '-', starting with a "
            "letter or digit."
        )
    if role not in USER_ROLES:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(USER_ROLES)}.")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD} characters.")
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict(f"A user named {name!r} already exists.", code="user_exists")
    user = User(username=name, password_hash=_hasher.hash(password), role=role, preferences={})
    session.add(user)
    session.flush()
    record(session, actor, "user.create", f"user:{name}", {"role": role})
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.scalars(select(User).order_by(User.username)))


def disable_user(session: Session, username: str, *, actor: str) -> User:
    """Disable a user: they can no longer log in; their history stays."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"No user named {username!r}.", code="unknown_user")
    user.disabled_at = utcnow()
    # A disabled user's open console logins end now, not at their expiry.
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user.id, ConsoleSession.ended_at.is_(None))
        .values(ended_at=user.disabled_at)
    )
    record(session, actor, "user.disable", f"user:{user.username}", {})
    return user


class TooManyAttempts(BastionError):
    """Login attempts over the limit; try again later."""

    status_code = 429
    code = "too_many_attempts"


class LoginLimiter:
    """At most `attempts` failures per key (username, client address) per `window` seconds."""

    # Beyond this many tracked keys, the stalest are forgotten: a flood of made-up usernames
    # must not grow memory without bound.
    MAX_KEYS = 100_000

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, *keys: str) -> None:
        """Raise 429 if any key is over the limit."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                failures = self._failures.get(key)
                if failures is None:
                    continue
                while failures and now - failures[0] > self.window:
                    failures.popleft()
                if not failures:
                    del self._failures[key]
                    continue
                if len(failures) >= self.attempts:
                    wait = int(self.window - (now - failures[0])) + 1
                    raise TooManyAttempts(
                        f"Too many failed logins; try again in {wait} seconds.",
                        details={"retry_after": wait},
                    )

    def failed(self, *keys: str) -> None:
        """Count a failure against every key."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, deque(maxlen=self.attempts)).append(now)
            if len(self._failures) > self.MAX_KEYS:
                self._forget_stalest(len(self._failures) - self.MAX_KEYS)

    def _forget_stalest(self, count: int) -> None:
        stalest = sorted(self._failures, key=lambda key: self._failures[key][-1])[:count]
        for key in stalest:
            del self._failures[key]

    def tracked(self) -> int:
        """How many keys have recent failures (for tests and metrics)."""
        return len(self._failures)

    def succeeded(self, username_key: str) -> None:
        """Forget the username's failures after a good login."""
        with self._lock:
            self._failures.pop(username_key, None)


def authenticate_user(
    session: Session, username: str, password: str, *, client: str, limiter: LoginLimiter
) -> User:
    """The user for these credentials, or 401; rate-limited and audited either way."""
    name = username.strip().lower()
    keys = (f"user:{name}", f"client:{client}")
    limiter.check(*keys)
    user = session.scalar(select(User).where(User.username == name))
    if not _password_matches(user.password_hash if user else _DUMMY_HASH, password) or (
        user is None or user.disabled_at is not None
    ):
        limiter.failed(*keys)
        record(session, f"client:{client}", "login.failure", f"user:{name}", {})
        session.commit()  # the failure must stay in the audit log although the request fails
        raise Unauthorized("Wrong username or password.", code="bad_credentials")
    limiter.succeeded(keys[0])
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    record(session, f"user:{user.username}", "login.success", f"user:{user.username}", {})
    return user


def _password_matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
