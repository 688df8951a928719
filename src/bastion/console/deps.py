"""Who is using the console, what they may do, and the CSRF check on every form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from bastion.api.deps import BastionDep, SessionDep
from bastion.auth.permissions import ROLE_PERMISSIONS, Action, ensure_permission
from bastion.console.sessions import COOKIE, check_csrf, resolve_session
from bastion.db.models import ConsoleSession
from bastion.errors import BastionError, Forbidden

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class LoginRequired(BastionError):
    """No live console login: the browser is sent to the login page."""

    status_code = 401
    code = "login_required"


@dataclass(frozen=True)
class Viewer:
    """What a page needs to know about the logged-in user, detached from the database (an
    error page is rendered after the request's session has closed)."""

    username: str
    role: str
    csrf_token: str
    reveals: int
    preferences: dict[str, Any]

    @classmethod
    def of(cls, login: ConsoleSession) -> Viewer:
        """Snapshot a login."""
        user = login.user
        return cls(user.username, user.role, login.csrf_token, login.reveals, user.preferences)


def current_login(request: Request, bastion: BastionDep, session: SessionDep) -> ConsoleSession:
    """The login behind the session cookie, or LoginRequired."""
    row = resolve_session(session, request.cookies.get(COOKIE, ""), bastion.settings)
    if row is None:
        raise LoginRequired("Log in to use the console.")
    request.state.viewer = Viewer.of(row)
    return row


LoginDep = Annotated[ConsoleSession, Depends(current_login)]


def needs(action: Action) -> Callable[[Request, ConsoleSession], Awaitable[None]]:
    """A dependency: a live login whose role may do `action`, and a valid CSRF token on
    anything but a read."""

    async def check(request: Request, login: LoginDep) -> None:
        ensure_permission(login.user.role, action)
        if request.method not in SAFE_METHODS:
            presented = request.headers.get("x-csrf-token")
            if presented is None:
                form = await request.form()
                value = form.get("csrf_token")
                presented = value if isinstance(value, str) else None
            if not check_csrf(login, presented):
                raise Forbidden(
                    "The form's security token is missing or stale; reload the page and try again.",
                    code="csrf",
                )

    check.__name__ = f"console_needs_{action.name.lower()}"
    return check


def may(login: ConsoleSession | Viewer, action: Action) -> bool:
    """Whether the logged-in user's role may do `action` (for showing links and forms)."""
    role = login.role if isinstance(login, Viewer) else login.user.role
    return action in ROLE_PERMISSIONS.get(role, frozenset())
