"""The preservation vault over the API (admins only): list records, open one for a stated
purpose (audited), put one under a legal hold."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from bastion.api.deps import BastionDep, SessionDep, require
from bastion.auth.permissions import Action
from bastion.auth.tokens import Principal
from bastion.compliance import vault
from bastion.compliance.order_form import parse_time
from bastion.db.models import VaultRecord
from bastion.errors import InvalidInput

router = APIRouter(prefix="/v1/vault", tags=["preservation vault"])
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Reader = Annotated[Principal, Depends(require(Action.VAULT_READ))]
Holder = Annotated[Principal, Depends(require(Action.VAULT_HOLD))]


class Opening(BaseModel):
    """Why the record is opened."""

    model_config = {"extra": "forbid"}

    purpose: str = Field(max_length=500, description="Review, complaint, investigation ...")


class Hold(BaseModel):
    """A legal hold."""

    model_config = {"extra": "forbid"}

    until: str = Field(description="Keep the record until then (ISO 8601 with a time zone).")
    reason: str = Field(max_length=2000, description="The authority's or court's request.")


@router.get("", summary="Preserved records")
def list_records(
    session: SessionDep,
    who: Reader,
    item_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Records, newest first (metadata only; opening one is audited)."""
    query = select(VaultRecord).order_by(VaultRecord.id.desc()).limit(limit)
    if item_id is not None:
        query = query.where(VaultRecord.item_id == item_id)
    return {"records": [vault.public_record(r) for r in session.scalars(query)]}


@router.get("/{record_id}", summary="One record's metadata")
def read_record(record_id: RecordId, session: SessionDep, who: Reader) -> dict[str, Any]:
    """What is kept, until when, and any hold."""
    return vault.public_record(vault.get_record(session, record_id))


@router.post("/{record_id}/open", summary="Open a record (audited)")
def open_record(
    record_id: RecordId, body: Opening, session: SessionDep, bastion: BastionDep, who: Reader
) -> dict[str, Any]:
    """The related data and the content (base64), for the stated purpose."""
    keys = vault.vault_from(bastion.settings)
    if keys is None:
        raise InvalidInput("The vault is turned off (BASTION_VAULT=off).", code="vault_off")
    row, header, content = vault.open_record(
        session, keys, record_id, actor=who.actor, purpose=body.purpose
    )
    return {
        **vault.public_record(row),
        "related": header,
        "content_base64": base64.b64encode(content).decode(),
    }


@router.post("/{record_id}/hold", summary="Put a record under a legal hold")
def hold_record(
    record_id: RecordId, body: Hold, session: SessionDep, who: Holder
) -> dict[str, Any]:
    """Keep the record past its six months, until the given time."""
    until = parse_time(body.until, "until")
    assert until is not None  # parse_time returns None only for None
    row = vault.hold(session, record_id, until=until, reason=body.reason, actor=who.actor)
    return vault.public_record(row)
