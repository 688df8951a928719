"""API tokens: random secrets shown once; only their SHA-256 is stored.

A fast hash is right here (unlike passwords): the secret has 256 bits of entropy, so it
cannot be guessed from its digest, and every API call must check it quickly.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.audit import record
from bastion.auth.permissions import TOKEN_ROLES
from bastion.db.base import utcnow
from bastion.db.models import ApiToken
from bastion.errors import InvalidInput, Unauthorized

PREFIX = "bst_"
_PLATFORM = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, name, role and platform."""

    token_id: int
    name: str
    role: str
    platform: str

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"token:{self.token_id}:{self.name}"[:128]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session, *, name: str, role: str, platform: str = "default", actor: str = "cli"
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is never shown again."""
    if role not in TOKEN_ROLES:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(TOKEN_ROLES)}.")
    if not _PLATFORM.match(platform):
        raise InvalidInput(
            f"Platform {platform!r} is not valid: 1-64 lowercase letters, digits, '_', '.', '-'."
        )
    if not name.strip() or len(name) > 128:
        raise InvalidInput("A token needs a name of 1-128 characters (who or what uses it).")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name.strip(),
        role=role,
        platform=platform,
        secret_sha256=_digest(secret),
        prefix=secret[:10],
    )
    session.add(token)
    session.flush()
    record(session, actor, "token.create", f"token:{token.id}", {"role": role, "name": name})
    return token, secret


def authenticate(session: Session, secret: str) -> Principal:
    """The principal behind a bearer secret, or 401."""
    token = session.scalar(select(ApiToken).where(ApiToken.secret_sha256 == _digest(secret)))
    if token is None or token.revoked_at is not None:
        raise Unauthorized("The API token is unknown or revoked.", code="invalid_token")
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now  # coarse, so that every request does not write
    return Principal(token.id, token.name, token.role, token.platform)


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, newest first."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, token_id: int, *, actor: str = "cli") -> ApiToken:
    """Revoke a token so it no longer authenticates."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise InvalidInput(f"No token with id {token_id}.")
    token.revoked_at = utcnow()
    record(session, actor, "token.revoke", f"token:{token_id}", {})
    return token
