"""Review cases over the API: for platforms (or admins) that review in their own tools.

The same services as the console: a claim locks a case, deciding needs the claim, and a
decision is audited and sent to the platform as a webhook.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from bastion.api.deps import BastionDep, CurrentPrincipal, SessionDep, require
from bastion.auth.permissions import ROLE_PERMISSIONS, Action, ensure_permission
from bastion.auth.tokens import Principal
from bastion.db.models import Decision, Item
from bastion.pipeline.intake import item_public
from bastion.review import cases

router = APIRouter(prefix="/v1/cases", tags=["review"])
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Reviewer = Annotated[Principal, Depends(require(Action.CASES_REVIEW))]


class DecisionCreate(BaseModel):
    """A decision on a claimed case."""

    model_config = {"extra": "forbid"}

    outcome: str = Field(description="remove, restrict, leave_up, escalate or not_tvec")
    exclusion: str | None = Field(
        default=None,
        description="For not_tvec: journalism, counter_speech, research_education, art or "
        "religious_practice (TCO Art. 1(3)).",
    )
    note: str | None = Field(default=None, max_length=4000)
    bank: str | None = Field(
        default=None,
        description="Also add the item to this bank (an ordinary bank for remove/restrict, "
        "an allow-list bank for not_tvec/leave_up).",
    )
    copies: bool = Field(
        default=False,
        description="Apply the same decision to every other waiting case with identical bytes "
        "(recorded as partly automated).",
    )


def _case(item: Item) -> dict[str, Any]:
    out = item_public(item)
    out["claim"] = {
        "claimed_by": item.claimed_by,
        "expires_at": item.claim_expires_at.isoformat() if item.claim_expires_at else None,
    }
    return out


def _decision(decision: Decision) -> dict[str, Any]:
    return {
        "id": decision.id,
        "item_id": decision.item_id,
        "outcome": decision.outcome,
        "exclusion": decision.exclusion,
        "note": decision.note,
        "decided_by": decision.decided_by,
        "automation": decision.automation,
        "created_at": decision.created_at.isoformat(),
    }


@router.get("", summary="Open review cases, most urgent first")
def list_cases(
    session: SessionDep,
    who: Reviewer,
    queue: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Undecided cases (optionally of one queue) and the count per queue."""
    return {
        "queues": cases.queue_counts(session),
        "cases": [_case(item) for item in cases.queue(session, queue, limit)],
    }


@router.post("/{item_id}/claim", summary="Claim a case (409 naming the holder if taken)")
def claim_case(
    bastion: BastionDep, session: SessionDep, who: Reviewer, item_id: ItemId
) -> dict[str, Any]:
    """Lock the case for the caller for BASTION_CLAIM_MINUTES."""
    ttl = timedelta(minutes=bastion.settings.claim_minutes)
    return _case(cases.claim(session, item_id, who.actor, ttl))


@router.post(
    "/{item_id}/decision",
    status_code=201,
    summary="Decide a claimed case (409 if someone else holds it or it was decided)",
)
def decide_case(
    bastion: BastionDep,
    session: SessionDep,
    who: CurrentPrincipal,
    item_id: ItemId,
    body: DecisionCreate,
    _: Reviewer,
) -> dict[str, Any]:
    """Record the decision, optionally add the item to a bank, and tell the platform."""
    target = None
    if body.bank:
        ensure_permission(who.role, Action.BANKS_CONTRIBUTE)
        target = cases.BankTarget(
            body.bank,
            bastion.media,
            bastion.settings.max_image_pixels,
            may_use_vetted=Action.BANKS_WRITE in ROLE_PERMISSIONS.get(who.role, frozenset()),
        )
    decision = cases.decide(
        session,
        item_id,
        who.actor,
        body.outcome,
        exclusion=body.exclusion,
        note=body.note,
        bank=target,
        copies=body.copies,
    )
    return _decision(decision)
