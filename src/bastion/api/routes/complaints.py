"""Complaints (TCO Art. 10, DSA Art. 20) over the API.

The platform forwards its uploader's complaint (`POST /v1/complaints`) and may read the
complaints it filed, without reviewer names (moderators are not named to the platform). Those
who review complaints (admins over the API, moderators in the console) list, claim and decide
them; the outcome reaches the platform as a `complaint.reinstate` or `complaint.upheld`
webhook.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from bastion.api.deps import BastionDep, CurrentPrincipal, SessionDep, require
from bastion.auth.permissions import ROLE_PERMISSIONS, Action, ensure_permission
from bastion.auth.tokens import Principal
from bastion.compliance import complaints

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])
ComplaintId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Submitter = Annotated[Principal, Depends(require(Action.COMPLAINTS_SUBMIT))]
Reviewer = Annotated[Principal, Depends(require(Action.COMPLAINTS_REVIEW))]


class ComplaintCreate(BaseModel):
    """An uploader's complaint, forwarded by the platform."""

    model_config = {"extra": "forbid"}

    item_id: int | None = Field(default=None, ge=1, le=2**63 - 1, description="Bastion's item id.")
    external_id: str | None = Field(
        default=None, min_length=1, max_length=256, description="Or the platform's own id."
    )
    text: str = Field(
        max_length=complaints.MAX_TEXT, description="The uploader's complaint, as written."
    )


class ComplaintDecision(BaseModel):
    """The outcome of a claimed complaint."""

    model_config = {"extra": "forbid"}

    outcome: str = Field(description="reinstate or uphold")
    reasons: str = Field(
        max_length=complaints.MAX_REASONS,
        description="Why; the platform passes them on to the uploader (Art. 10(2)).",
    )


def _reviews(who: Principal) -> bool:
    return Action.COMPLAINTS_REVIEW in ROLE_PERMISSIONS.get(who.role, frozenset())


def _reader(who: CurrentPrincipal) -> Principal:
    """Reviewers read every complaint; a platform token reads the ones it filed."""
    if not _reviews(who):
        ensure_permission(who.role, Action.COMPLAINTS_SUBMIT)
    return who


Reader = Annotated[Principal, Depends(_reader)]


@router.post("", status_code=201, summary="File an uploader's complaint against a removal")
def file_complaint(
    bastion: BastionDep, session: SessionDep, who: Submitter, body: ComplaintCreate
) -> dict[str, Any]:
    """One complaint per decision (409 names the first); 422 for removals under an order."""
    complaint = complaints.file_complaint(
        session,
        platform=None if who.role == "admin" else who.platform,
        item_id=body.item_id,
        external_id=body.external_id,
        text=body.text,
        days=bastion.settings.complaint_days,
        actor=who.actor,
    )
    return complaints.complaint_public(complaint, internal=_reviews(who))


@router.get("", summary="Complaints: open ones first, soonest due on top")
def list_complaints(
    session: SessionDep,
    who: Reader,
    status: Annotated[str | None, Query(pattern="^(open|decided)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Overdue complaints are flagged `overdue`; a platform sees only its own."""
    internal = _reviews(who)
    found = complaints.list_complaints(
        session, status=status, platform=None if internal else who.platform, limit=limit
    )
    return {"complaints": [complaints.complaint_public(c, internal=internal) for c in found]}


@router.get("/{complaint_id}", summary="One complaint")
def get_complaint(session: SessionDep, who: Reader, complaint_id: ComplaintId) -> dict[str, Any]:
    """A platform reads only its own complaints (others are 404)."""
    internal = _reviews(who)
    complaint = complaints.get_complaint(
        session, complaint_id, platform=None if internal else who.platform
    )
    return complaints.complaint_public(complaint, internal=internal)


@router.post("/{complaint_id}/claim", summary="Claim a complaint (409 naming the holder)")
def claim_complaint(
    bastion: BastionDep, session: SessionDep, who: Reviewer, complaint_id: ComplaintId
) -> dict[str, Any]:
    """Lock the complaint for the caller for BASTION_CLAIM_MINUTES; not for its decider."""
    ttl = timedelta(minutes=bastion.settings.claim_minutes)
    return complaints.complaint_public(
        complaints.claim_complaint(session, complaint_id, who.actor, ttl)
    )


@router.post("/{complaint_id}/decision", summary="Reinstate or uphold a claimed complaint")
def decide_complaint(
    session: SessionDep, who: Reviewer, complaint_id: ComplaintId, body: ComplaintDecision
) -> dict[str, Any]:
    """Record the outcome with reasons and tell the platform by webhook."""
    complaint = complaints.decide_complaint(
        session, complaint_id, who.actor, body.outcome, body.reasons
    )
    return complaints.complaint_public(complaint)
