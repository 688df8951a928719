"""Statements of reasons (DSA Art. 17) over the API: what was (or will be) sent to the
Transparency Database, and why a statement was held back. Read-only oversight."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from bastion.api.deps import SessionDep, require
from bastion.auth.permissions import Action
from bastion.auth.tokens import Principal
from bastion.compliance import statements
from bastion.errors import InvalidInput

router = APIRouter(prefix="/v1/statements", tags=["compliance"])
StatementId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Overseer = Annotated[Principal, Depends(require(Action.AUDIT_READ))]


@router.get("", summary="Statements of reasons, newest first")
def list_statements(
    session: SessionDep,
    who: Overseer,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Statements (of one status: pending, submitted, invalid or off), without payloads."""
    if status is not None and status not in statements.STATUSES:
        raise InvalidInput(f"status is one of {', '.join(statements.STATUSES)}.")
    rows = statements.list_statements(session, status, limit)
    return {"statements": [statements.statement_public(s, payload=False) for s in rows]}


@router.get("/{statement_id}", summary="One statement: its payload, status and problems")
def get_statement(session: SessionDep, who: Overseer, statement_id: StatementId) -> dict[str, Any]:
    """The statement as sent (or to be sent), where it stands, and any rule it broke."""
    return statements.statement_public(statements.get_statement(session, statement_id))
