"""The audit log: every change to banks, tokens and (later) decisions leaves a row.

Rows are only ever inserted. Hash chaining and `bastion audit verify` arrive with issue 3.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bastion.db.models import AuditEvent


def record(
    session: Session, actor: str, action: str, target: str | None, details: dict[str, Any]
) -> AuditEvent:
    """Append one event to the log in the caller's transaction."""
    event = AuditEvent(actor=actor, action=action, target=target, details=_jsonable(details))
    session.add(event)
    return event


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, str | int | float | bool | list | dict) or v is None else str(v)
        for k, v in details.items()
    }
