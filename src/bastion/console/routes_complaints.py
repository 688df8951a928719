"""Complaint review in the console (TCO Art. 10): the queue by due date, one complaint with the
decision it is about, claiming, revealing the content, reinstating or upholding with reasons.

The reviewer who took the original decision sees the complaint but no form: someone else
decides it. Media come from the case media route, blurred until the holder of the complaint
reveals them (each reveal audited and counted, as for cases).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from bastion.api.deps import BastionDep, SessionDep
from bastion.audit import record
from bastion.auth.permissions import Action
from bastion.compliance import complaints
from bastion.console.deps import LoginDep
from bastion.console.pages import page, redirect, render
from bastion.console.routes_review import _media_kind, _text_body, actor
from bastion.console.sessions import note_reveal
from bastion.db.base import utcnow
from bastion.db.models import Complaint, ConsoleSession, Decision, Notice, Statement
from bastion.errors import InvalidInput
from bastion.pipeline.intake import get_item
from bastion.runtime import Bastion

router = APIRouter(prefix="/console")
ComplaintId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@page(router, "GET", "/complaints", Action.COMPLAINTS_REVIEW)
def complaints_page(
    request: Request,
    session: SessionDep,
    login: LoginDep,
    status: Annotated[str | None, Query(pattern="^(open|decided)$")] = None,
    decided: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Open complaints by due date (overdue first, in red), then decided ones."""
    now = utcnow()
    rows = complaints.list_complaints(session, status=status, limit=200)
    return render(
        request,
        "complaints.html",
        login,
        rows=[_row(c, now) for c in rows],
        current=status,
        decided=decided,
        me=actor(login),
    )


def _row(complaint: Complaint, now: Any) -> dict[str, Any]:
    return {
        "c": complaint,
        "overdue": complaints.is_overdue(complaint, now),
        "days_left": complaints.days_left(complaint, now),
    }


@page(router, "GET", "/complaints/{complaint_id}", Action.COMPLAINTS_REVIEW)
def complaint_page(
    request: Request,
    bastion: BastionDep,
    session: SessionDep,
    login: LoginDep,
    complaint_id: ComplaintId,
) -> Response:
    """The complaint, the decision it is about with its reasons, the content, the form."""
    complaint = complaints.get_complaint(session, complaint_id)
    context = _context(bastion, session, login, complaint)
    return render(request, "complaint.html", login, **context)


def _context(
    bastion: Bastion, session: SessionDep, login: ConsoleSession, complaint: Complaint
) -> dict[str, Any]:
    now = utcnow()
    item = get_item(session, complaint.item_id)
    me = actor(login)
    decision = session.get(Decision, complaint.decision_id)
    statement = session.scalar(
        select(Statement).where(Statement.decision_id == complaint.decision_id)
    )
    notice = session.scalar(select(Notice).where(Notice.decision_id == complaint.decision_id))
    return {
        "complaint": complaint,
        "item": item,
        "decision": decision,
        "ground": _ground(statement),
        "notice": notice,
        "own": complaint.original_decider not in ("policy",)
        and complaints.same_reviewer(complaint.original_decider, me),
        "mine": _holds(complaint, me, now),
        "held_by_other": complaint.claimed_by not in (None, me)
        and complaint.claim_expires_at is not None
        and complaint.claim_expires_at > now,
        "overdue": complaints.is_overdue(complaint, now),
        "days_left": complaints.days_left(complaint, now),
        "revealed": item.id in login.revealed,
        "media_kind": _media_kind(item),
        "text_body": _text_body(bastion, item),
        "outcomes": complaints.OUTCOMES,
        "claim_minutes": bastion.settings.claim_minutes,
    }


def _ground(statement: Statement | None) -> str | None:
    """The ground the statement of reasons gives, as the uploader and the public read it."""
    if statement is None:
        return None
    payload = statement.payload
    return payload.get("illegal_content_explanation") or payload.get(
        "incompatible_content_explanation"
    )


def _holds(complaint: Complaint, me: str, now: Any) -> bool:
    return (
        complaint.status == "open"
        and complaint.claimed_by == me
        and complaint.claim_expires_at is not None
        and complaint.claim_expires_at > now
    )


@page(router, "POST", "/complaints/{complaint_id}/claim", Action.COMPLAINTS_REVIEW)
def claim_complaint(
    bastion: BastionDep, session: SessionDep, login: LoginDep, complaint_id: ComplaintId
) -> Response:
    """Lock the complaint for this reviewer (not for the one who took the decision)."""
    ttl = timedelta(minutes=bastion.settings.claim_minutes)
    complaints.claim_complaint(session, complaint_id, actor(login), ttl)
    return redirect(f"/console/complaints/{complaint_id}")


@page(router, "POST", "/complaints/{complaint_id}/reveal", Action.COMPLAINTS_REVIEW)
def reveal(session: SessionDep, login: LoginDep, complaint_id: ComplaintId) -> Response:
    """Show the complained-about media unblurred to the complaint's holder; audited, counted."""
    complaint = complaints.get_complaint(session, complaint_id)
    if not _holds(complaint, actor(login), utcnow()):
        raise InvalidInput("Claim the complaint before revealing its media.", code="not_claimed")
    if note_reveal(login, complaint.item_id):
        details = {"automatic": False, "complaint_id": complaint.id}
        record(session, actor(login), "media.reveal", f"item:{complaint.item_id}", details)
    return redirect(f"/console/complaints/{complaint_id}")


@page(router, "POST", "/complaints/{complaint_id}/decision", Action.COMPLAINTS_REVIEW)
def decide_complaint(
    session: SessionDep,
    login: LoginDep,
    complaint_id: ComplaintId,
    outcome: Annotated[str, Form(max_length=16)] = "",
    reasons: Annotated[str, Form(max_length=complaints.MAX_REASONS)] = "",
) -> Response:
    """Reinstate or uphold with reasons, and return to the queue."""
    if not outcome:
        raise InvalidInput("Choose an outcome: reinstate or uphold.")
    complaints.decide_complaint(session, complaint_id, actor(login), outcome, reasons)
    return redirect(f"/console/complaints?decided={complaint_id}")
