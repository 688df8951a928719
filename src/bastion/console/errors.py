"""Console errors as pages: a missing login goes to the login page, anything else is an
HTML page with the same message the API would give."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.console.pages import came_from, is_htmx, redirect, render

HEADINGS = {
    401: "Please log in",
    405: "Not possible here",
    403: "Not allowed",
    404: "Not found",
    409: "Someone else got there first",
    413: "Too large",
    422: "Please check the input",
    429: "Too many attempts",
    503: "Busy",
}
# Pages and media must not be cached, framed, sniffed or leak their address onward.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self'; media-src 'self'; style-src 'self'; "
        b"script-src 'self'; object-src 'none'; base-uri 'none'; "
        b"frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


def is_console(request: Request) -> bool:
    """Whether the request is for a console page (errors there are HTML, not JSON)."""
    return request.url.path == "/console" or request.url.path.startswith("/console/")


def console_error(request: Request, status: int, code: str, message: str) -> Response:
    """The error as a page, or a redirect to the login page when there is no login."""
    if code == "login_required":
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        else:  # after logging in, go back to the page the form was on, not to its POST address
            target = came_from(request)
        login_url = "/console/login?next=" + quote(target, safe="")
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": login_url})
        return redirect(login_url)
    login = getattr(request.state, "viewer", None)
    response = render(
        request,
        "error.html",
        login,
        status_code=status,
        status=status,
        heading=HEADINGS.get(status, "Something went wrong"),
        message=message,
        code=code,
        back=came_from(request),
    )
    # The catch-all 500 handler runs outside the middleware that adds these.
    for name, value in SECURITY_HEADERS:
        response.headers[name.decode()] = value.decode()
    return response


class SecurityHeaders:
    """Add the console's security headers to every console response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/console" or path.startswith("/console/")):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
