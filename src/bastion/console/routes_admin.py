"""Oversight and administration pages: the audit log, the policy, webhooks, settings."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from bastion.actions.webhooks import dead_letters, resend
from bastion.api.deps import BastionDep, SessionDep
from bastion.audit import verify
from bastion.auth.permissions import Action
from bastion.console.deps import LoginDep, may
from bastion.console.pages import page, redirect, render
from bastion.console.preferences import save_preferences
from bastion.db.models import AuditEvent, Delivery, PolicyVersion
from bastion.errors import BastionError
from bastion.policy.store import current_version, load_policy

router = APIRouter(prefix="/console")
AUDIT_PAGE = 100
Filter = Annotated[str, Query(max_length=256)]


@page(router, "GET", "/audit", Action.AUDIT_READ)
def audit_page(
    request: Request,
    session: SessionDep,
    login: LoginDep,
    actor: Filter = "",
    action: Filter = "",
    target: Filter = "",
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    check: Annotated[bool, Query()] = False,
) -> Response:
    """The audit log, newest first, filtered by actor, action or target prefix."""
    query = select(AuditEvent)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    if target:
        query = query.where(AuditEvent.target.startswith(target, autoescape=True))
    if before:
        query = query.where(AuditEvent.id < before)
    events = list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE)))
    return render(
        request,
        "audit.html",
        login,
        events=events,
        filters={"actor": actor, "action": action, "target": target},
        older=events[-1].id if len(events) == AUDIT_PAGE else None,
        verification=verify(session) if check else None,
    )


@page(router, "GET", "/policy", Action.POLICY_READ)
def policy_page(request: Request, session: SessionDep, login: LoginDep) -> Response:
    """The routing policy in force, editable by admins."""
    return _policy(request, session, login)


def _policy(
    request: Request,
    session: SessionDep,
    login: LoginDep,
    *,
    text: str | None = None,
    error: BastionError | None = None,
    saved: bool = False,
) -> Response:
    version = current_version(session)
    versions = list(
        session.scalars(select(PolicyVersion).order_by(PolicyVersion.id.desc()).limit(20))
    )
    return render(
        request,
        "policy.html",
        login,
        status_code=error.status_code if error else 200,
        version=version,
        text=text if text is not None else (version.text if version else ""),
        versions=versions,
        error=error,
        saved=saved,
        editable=may(login, Action.POLICY_WRITE),
    )


@page(router, "POST", "/policy", Action.POLICY_WRITE)
def save_policy(
    request: Request,
    session: SessionDep,
    login: LoginDep,
    policy: Annotated[str, Form(max_length=256 * 1024)] = "",
) -> Response:
    """Validate and store a new policy version; on an error nothing is applied."""
    try:
        # A policy that fails validation raises before anything is written.
        load_policy(session, policy, actor=f"user:{login.user.username}")
    except BastionError as error:
        return _policy(request, session, login, text=policy, error=error)
    return _policy(request, session, login, saved=True)


@page(router, "GET", "/webhooks", Action.WEBHOOKS_MANAGE)
def webhooks_page(
    request: Request, bastion: BastionDep, session: SessionDep, login: LoginDep
) -> Response:
    """Deliveries to the platform: counts by status and the dead-letter list."""
    counts = dict(
        session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    )
    return render(
        request,
        "webhooks.html",
        login,
        counts=counts,
        dead=dead_letters(session, limit=200),
        endpoint=_without_secrets(bastion.settings.webhook_url),
    )


def _without_secrets(url: str | None) -> str | None:
    # The endpoint URL may carry credentials or a token in its query; show where, not how.
    if not url:
        return None
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


@page(router, "POST", "/webhooks/{delivery_id}/resend", Action.WEBHOOKS_MANAGE)
def resend_delivery(
    session: SessionDep, login: LoginDep, delivery_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> Response:
    """Put a dead-lettered delivery back in the queue, due now."""
    resend(session, delivery_id, actor=f"user:{login.user.username}")
    return redirect("/console/webhooks?resent=1")


@page(router, "GET", "/settings", Action.CONSOLE)
def settings_page(request: Request, login: LoginDep, saved: bool = False) -> Response:
    """The user's own console settings."""
    return render(request, "settings.html", login, saved=saved)


@page(router, "POST", "/settings", Action.CONSOLE)
def save_settings(
    session: SessionDep,
    login: LoginDep,
    blur_media: Annotated[str, Form(max_length=8)] = "",
    grayscale: Annotated[str, Form(max_length=8)] = "",
    break_after: Annotated[int, Form(ge=1, le=1000)] = 25,
) -> Response:
    """Store the user's settings (unchecked boxes are not sent, so absence means off)."""
    save_preferences(
        session,
        login.user,
        blur_media=blur_media == "on",
        grayscale=grayscale == "on",
        break_after=break_after,
    )
    return redirect("/console/settings?saved=true")
