"""Moderation pages: queues, a case, claiming, revealing media, deciding."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from bastion.api.deps import BastionDep, SessionDep
from bastion.audit import record
from bastion.auth.permissions import Action, ensure_permission
from bastion.console.deps import LoginDep, may
from bastion.console.pages import is_htmx, page, redirect, render, safe_next
from bastion.console.preferences import preferences_for
from bastion.console.preview import render_preview
from bastion.console.sessions import note_reveal, take_break
from bastion.db.base import utcnow
from bastion.db.models import Bank, ConsoleSession, Decision, Item
from bastion.errors import InvalidInput
from bastion.pipeline.intake import get_item
from bastion.review import cases
from bastion.runtime import Bastion

router = APIRouter(prefix="/console")
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1)]
TEXT_SHOWN = 20_000
QueueName = Annotated[str | None, Query(max_length=64)]


def actor(login: ConsoleSession) -> str:
    """How the audit log and claims name a console user."""
    return f"user:{login.user.username}"


def _queue_url(name: str | None, **extra: int) -> str:
    query = urlencode({**({"name": name} if name else {}), **extra})
    return "/console/queue" + (f"?{query}" if query else "")


def _ttl(bastion: Bastion) -> timedelta:
    return timedelta(minutes=bastion.settings.claim_minutes)


@page(router, "GET", "/queue", Action.CASES_REVIEW)
def queue_page(
    request: Request,
    session: SessionDep,
    login: LoginDep,
    name: QueueName = None,
    decided: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """The moderator's queues and the cases in the chosen one, most urgent first."""
    counts = cases.queue_counts(session)
    rows = cases.queue(session, name, limit=100)
    return render(
        request,
        "queue.html",
        login,
        counts=counts,
        cases=rows,
        current=name,
        decided=decided,
        me=actor(login),
    )


@page(router, "POST", "/queue/next", Action.CASES_REVIEW)
def claim_next(
    bastion: BastionDep,
    session: SessionDep,
    login: LoginDep,
    name: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Claim the most urgent free case of a queue (or of all queues) and open it."""
    item = cases.claim_next(session, name or None, actor(login), _ttl(bastion))
    if item is None:
        return redirect(_queue_url(name or None, empty=1))
    return redirect(f"/console/cases/{item.id}")


@page(router, "GET", "/cases/{item_id}", Action.CASES_REVIEW)
def case_page(
    request: Request, bastion: BastionDep, session: SessionDep, login: LoginDep, item_id: ItemId
) -> Response:
    """Everything needed to decide a case, media blurred until revealed."""
    item = get_item(session, item_id)
    return render(request, "case.html", login, **_case_context(bastion, session, login, item))


def _case_context(
    bastion: Bastion, session: SessionDep, login: ConsoleSession, item: Item
) -> dict[str, Any]:
    prefs = preferences_for(login.user, bastion.settings)
    me = actor(login)
    mine = _holds(item, login)
    if mine and not prefs.blur_media and _has_media(item) and note_reveal(login, item.id):
        # With the blur turned off, opening a claimed case is the reveal, so it is audited.
        record(session, me, "media.reveal", f"item:{item.id}", {"automatic": True})
    banks = list(session.scalars(select(Bank).where(Bank.enabled).order_by(Bank.name)))
    last = session.scalar(
        select(Decision).where(Decision.item_id == item.id).order_by(Decision.id.desc()).limit(1)
    )
    return {
        "item": item,
        "mine": mine,
        "revealed": item.id in login.revealed,
        "media_kind": _media_kind(item),
        "text_body": _text_body(bastion, item),
        "classifier": next(
            (json.loads(s.value) for s in item.signals if s.signal_type == "text_classifier"),
            None,
        ),
        "matches": sorted(item.matches, key=lambda m: (m.suppressed, m.allow, m.distance)),
        "confirm_banks": [
            b for b in banks if not b.allow and (not b.vetted or may(login, Action.BANKS_WRITE))
        ],
        "allow_banks": [b for b in banks if b.allow],
        "outcomes": cases.OUTCOMES,
        "exclusions": cases.EXCLUSIONS,
        "decision": last if item.decision is not None else None,
        "escalation": last
        if item.decision is None and last and last.outcome == "escalate"
        else None,
        "copies": len(cases.waiting_copies(session, item)) if mine else 0,
        "claim_minutes": bastion.settings.claim_minutes,
        "now_ts": utcnow().timestamp(),
    }


def _holds(item: Item, login: ConsoleSession) -> bool:
    """Whether this moderator holds a live claim on the undecided case."""
    return (
        item.claimed_by == actor(login)
        and item.decision is None
        and item.claim_expires_at is not None
        and item.claim_expires_at > utcnow()
    )


def _media_kind(item: Item) -> str:
    if item.kind in ("image", "text"):
        return item.kind
    if (item.media_type or "").startswith("video/"):
        return "video"
    return "url" if item.kind == "url" else "file"


def _text_body(bastion: Bastion, item: Item) -> str | None:
    if item.kind != "text":
        return None
    data = bastion.media.get(item.content_sha256)
    if data is None:
        return None
    body = data.decode("utf-8", "replace")
    return body if len(body) <= TEXT_SHOWN else body[:TEXT_SHOWN] + " […]"


def _has_media(item: Item) -> bool:
    return _media_kind(item) in ("image", "video")


@page(router, "POST", "/cases/{item_id}/claim", Action.CASES_REVIEW)
def claim_case(
    bastion: BastionDep, session: SessionDep, login: LoginDep, item_id: ItemId
) -> Response:
    """Lock the case for this moderator (409 naming the holder if someone else has it)."""
    cases.claim(session, item_id, actor(login), _ttl(bastion))
    return redirect(f"/console/cases/{item_id}")


@page(router, "POST", "/cases/{item_id}/release", Action.CASES_REVIEW)
def release_case(session: SessionDep, login: LoginDep, item_id: ItemId) -> Response:
    """Give the case back to its queue."""
    item = cases.release(session, item_id, actor(login))
    return redirect(_queue_url(item.queue))


@page(router, "POST", "/cases/{item_id}/reveal", Action.CASES_REVIEW)
def reveal(
    request: Request, bastion: BastionDep, session: SessionDep, login: LoginDep, item_id: ItemId
) -> Response:
    """Show one item's media unblurred; every reveal is audited and counted."""
    item = get_item(session, item_id)
    if not _holds(item, login):
        raise InvalidInput("Claim the case before revealing its media.", code="not_claimed")
    if note_reveal(login, item.id):
        record(session, actor(login), "media.reveal", f"item:{item.id}", {"automatic": False})
    if not is_htmx(request):
        return redirect(f"/console/cases/{item_id}")
    context = _case_context(bastion, session, login, item)
    return render(request, "_media.html", login, **context)


@page(router, "GET", "/cases/{item_id}/media", Action.CASES_REVIEW)
async def media(
    bastion: BastionDep,
    session: SessionDep,
    login: LoginDep,
    item_id: ItemId,
    view: Annotated[str, Query(pattern="^(safe|full)$")] = "safe",
) -> Response:
    """The item's media: a blurred grayscale placeholder, or the revealed image or video."""
    item = await run_in_threadpool(get_item, session, item_id)
    full = view == "full"
    if full and item.id not in login.revealed:
        raise InvalidInput("Reveal the item before viewing it.", code="not_revealed")
    kind = _media_kind(item)
    if kind not in ("image", "video") or (kind == "video" and not full):
        raise InvalidInput("This item has no viewable media.", code="no_media")
    data = await run_in_threadpool(bastion.media.get, item.content_sha256)
    if data is None:
        raise InvalidInput("The item's content is no longer stored.", code="no_media")
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if kind == "video":
        return Response(data, media_type=item.media_type or "video/mp4", headers=headers)
    prefs = preferences_for(login.user, bastion.settings)
    jpeg = await run_in_threadpool(
        render_preview,
        data,
        revealed=full,
        grayscale=prefs.grayscale,
        max_pixels=bastion.settings.max_image_pixels,
    )
    return Response(jpeg, media_type="image/jpeg", headers=headers)


@page(router, "POST", "/cases/{item_id}/decision", Action.CASES_REVIEW)
def decide_case(
    bastion: BastionDep,
    session: SessionDep,
    login: LoginDep,
    item_id: ItemId,
    outcome: Annotated[str, Form(max_length=32)] = "",
    exclusion: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
    bank: Annotated[str, Form(max_length=64)] = "",
    copies: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Record the decision (and the bank addition, if any) and return to the queue."""
    if not outcome:
        raise InvalidInput("Choose a decision: " + ", ".join(cases.OUTCOMES) + ".")
    target = None
    if bank:
        ensure_permission(login.user.role, Action.BANKS_CONTRIBUTE)
        target = cases.BankTarget(
            bank,
            bastion.media,
            bastion.settings.max_image_pixels,
            may_use_vetted=may(login, Action.BANKS_WRITE),
        )
    decision = cases.decide(
        session,
        item_id,
        actor(login),
        outcome,
        exclusion=exclusion or None,
        note=note.strip() or None,
        bank=target,
        copies=copies == "on",
    )
    item = get_item(session, item_id)
    return redirect(_queue_url(item.queue, decided=decision.item_id))


@page(router, "POST", "/break", Action.CONSOLE)
def take_a_break(
    session: SessionDep, login: LoginDep, back: Annotated[str, Form(max_length=2048)] = ""
) -> Response:
    """Reset the exposure counter once the moderator has taken a break."""
    details = {"reveals": login.reveals}
    record(session, actor(login), "exposure.break", f"user:{login.user.username}", details)
    take_break(login)
    return redirect(safe_next(back))
