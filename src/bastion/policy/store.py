"""Policy versions in the database: load (validated, audited) and read the current one."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.audit import record
from bastion.db.models import Bank, PolicyVersion
from bastion.policy.model import Policy, parse_policy


def load_policy(session: Session, text: str, *, actor: str) -> PolicyVersion:
    """Validate a TOML policy against the banks that exist and make it the current one."""
    known = set(session.scalars(select(Bank.name)))
    parse_policy(text, known)  # raises with line numbers; nothing is stored then
    digest = hashlib.sha256(text.encode()).hexdigest()
    version = PolicyVersion(text=text, sha256=digest, actor=actor)
    session.add(version)
    session.flush()
    record(session, actor, "policy.update", f"policy:{version.id}", {"sha256": digest})
    return version


def current_version(session: Session) -> PolicyVersion | None:
    """The newest policy version, or None when none was ever loaded."""
    return session.scalar(select(PolicyVersion).order_by(PolicyVersion.id.desc()).limit(1))


def current_policy(session: Session) -> Policy:
    """The policy in force: the newest version, or the defaults (everything to review)."""
    version = current_version(session)
    return Policy() if version is None else _parsed(version.id, version.text)


@lru_cache(maxsize=8)
def _parsed(version_id: int, text: str) -> Policy:
    # Every submitted item asks for the policy; versions never change once stored.
    return parse_policy(text)
