"""Logging in and out of the console."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from bastion.api.deps import BastionDep, SessionDep
from bastion.auth.permissions import Action
from bastion.auth.users import LoginLimiter, authenticate_user
from bastion.console.deps import LoginDep
from bastion.console.pages import page, redirect, render, safe_next
from bastion.console.sessions import COOKIE, LOGIN_CSRF_COOKIE, end_session, resolve_session
from bastion.console.sessions import start_session as open_session
from bastion.errors import BastionError
from bastion.runtime import Bastion

router = APIRouter(prefix="/console")


def _limiter(request: Request) -> LoginLimiter:
    limiter: LoginLimiter = request.app.state.login_limiter
    return limiter


def _set_cookie(response: Response, bastion: Bastion, name: str, value: str, max_age: int) -> None:
    # Strict: the browser never sends the console's cookies with a request from another site.
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        secure=bastion.settings.console_secure_cookies,
        samesite="strict",
        path="/console",
    )


@router.get("/login", include_in_schema=False, response_class=HTMLResponse)
def login_form(
    request: Request, bastion: BastionDep, session: SessionDep, next: str | None = None
) -> Response:
    """The login page (or straight on, if already logged in)."""
    secret = request.cookies.get(COOKIE, "")
    if secret and resolve_session(session, secret, bastion.settings) is not None:
        return redirect(safe_next(next))
    return _login_page(request, bastion, next=safe_next(next))


def _login_page(
    request: Request, bastion: Bastion, *, next: str, error: str | None = None, status: int = 200
) -> Response:
    # Double-submit token: the login form has no session yet to carry a CSRF token.
    token = secrets.token_urlsafe(32)
    response = render(
        request, "login.html", None, status_code=status, login_csrf=token, next=next, error=error
    )
    _set_cookie(response, bastion, LOGIN_CSRF_COOKIE, token, 3600)
    return response


@router.post("/login", include_in_schema=False, response_class=HTMLResponse)
async def login(
    request: Request,
    bastion: BastionDep,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/console",
) -> Response:
    """Check the password (rate-limited, audited) and open a session."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    target = safe_next(next)
    if not expected or not secrets.compare_digest(
        expected.encode("utf-8", "replace"), csrf_token.encode("utf-8", "replace")
    ):
        return _login_page(
            request, bastion, next=target, error="The login form expired; try again.", status=403
        )
    client = request.client.host if request.client else "unknown"
    try:
        user = await run_in_threadpool(
            authenticate_user,
            session,
            username,
            password,
            client=client,
            limiter=_limiter(request),
        )
    except BastionError as error:
        return _login_page(
            request, bastion, next=target, error=error.message, status=error.status_code
        )
    secret = await run_in_threadpool(open_session, session, user, bastion.settings)
    response = redirect(target)
    _set_cookie(
        response, bastion, COOKIE, secret, int(bastion.settings.console_session_hours * 3600)
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


@page(router, "POST", "/logout", Action.CONSOLE)
def logout(session: SessionDep, login: LoginDep) -> Response:
    """End the session; the cookie stops working at once."""
    end_session(session, login)
    response = redirect("/console/login")
    response.delete_cookie(COOKIE, path="/console")
    return response


@page(router, "GET", "", Action.CONSOLE)
def home(login: LoginDep) -> Response:
    """Each role's landing page."""
    role = login.user.role
    return redirect("/console/audit" if role == "auditor" else "/console/queue")
