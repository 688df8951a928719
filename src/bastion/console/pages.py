"""Shared machinery of console pages: templates, the route decorator that declares each
page's permission (checked in one place, enumerated by the tests), and rendering."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bastion import __version__
from bastion.auth.permissions import Action
from bastion.console.deps import Viewer, may, needs
from bastion.console.preferences import preferences_for
from bastion.db.models import ConsoleSession

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["version"] = __version__
templates.env.globals["Action"] = Action
templates.env.filters["urlquote"] = lambda value: quote(str(value), safe="")

# (method, path) -> the permission it needs; every console page is declared through `page`.
ROUTE_ACTIONS: dict[tuple[str, str], Action] = {}

Handler = TypeVar("Handler", bound=Callable[..., Any])


def page(router: APIRouter, method: str, path: str, action: Action) -> Callable[[Handler], Handler]:
    """Register a console route that needs a login whose role may do `action`."""

    def register(handler: Handler) -> Handler:
        ROUTE_ACTIONS[(method, f"{router.prefix}{path}")] = action
        router.add_api_route(
            path,
            handler,
            methods=[method],
            dependencies=[Depends(needs(action))],
            include_in_schema=False,
            response_class=HTMLResponse,
        )
        return handler

    return register


def render(
    request: Request,
    template: str,
    login: ConsoleSession | Viewer | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page with what every page needs: the user, the CSRF token, the exposure."""
    settings = request.app.state.bastion.settings
    viewer = Viewer.of(login) if isinstance(login, ConsoleSession) else login
    shared: dict[str, Any] = {"user": viewer, "htmx": is_htmx(request)}
    if viewer is not None:
        prefs = preferences_for(viewer.preferences, settings)
        shared.update(
            csrf=viewer.csrf_token,
            prefs=prefs,
            can=lambda action: may(viewer, action),
            exposure=viewer.reveals,
            break_due=viewer.reveals >= prefs.break_after,
        )
    return templates.TemplateResponse(
        request, template, {**shared, **context}, status_code=status_code
    )


def redirect(url: str) -> Response:
    """Post/redirect/get: a 303 to `url`."""
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None) -> str:
    """Only a path inside the console: a link must never redirect off-site."""
    if target and target.startswith("/console") and "//" not in target and "\\" not in target:
        return target
    return "/console"


def came_from(request: Request) -> str:
    """The console page the browser was on (from a same-site Referer), or the console home."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.headers.get("host"):
        return "/console"
    return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))


def is_htmx(request: Request) -> bool:
    """Whether htmx sent the request (it wants a fragment, not a page)."""
    return request.headers.get("hx-request") == "true"
