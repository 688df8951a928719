"""create_app(): the FastAPI application, built from a `Bastion` instance or from settings."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion import __version__
from bastion.actions.worker import endpoint_for, webhook_worker
from bastion.api.routes import (
    banks,
    cases,
    complaints,
    hashing,
    health,
    items,
    matching,
    orders,
    policy,
    statements,
    vault,
)
from bastion.auth.users import LoginLimiter
from bastion.classify.classifier import warm as warm_classifier
from bastion.compliance.worker import compliance_workers
from bastion.console import (
    routes_admin,
    routes_complaints,
    routes_login,
    routes_orders,
    routes_reports,
    routes_review,
)
from bastion.console.errors import SecurityHeaders, console_error, is_console
from bastion.console.pages import HERE as CONSOLE_DIR
from bastion.errors import BastionError, TooLarge
from bastion.runtime import Bastion
from bastion.settings import Settings

log = logging.getLogger("bastion")


def create_app(source: Bastion | Settings | None = None) -> FastAPI:
    """Build the app; migrations run and indexes load when it starts serving."""
    bastion = source if isinstance(source, Bastion) else Bastion(source or Settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        duties = compliance_workers(bastion)  # first: refuses to start without a vault key
        bastion.start(load_indexes=True)
        if bastion.classifier is not None:  # a bad BASTION_TEXT_MODEL stops the start here
            warm_classifier(bastion.classifier)  # ~1.3 s once, not on the first text item
        endpoint = endpoint_for(bastion)
        if endpoint is not None:
            duties.append(webhook_worker(bastion, endpoint))
        for duty in duties:
            duty.start()
        yield
        for duty in duties:
            duty.stop()
        bastion.close()

    app = FastAPI(
        title="Bastion",
        version=__version__,
        description="Detect known terrorist content on re-upload: hash banks, PDQ, URLs.",
        lifespan=lifespan,
    )
    app.state.bastion = bastion
    app.state.login_limiter = LoginLimiter()
    for module in (
        health,
        hashing,
        matching,
        banks,
        items,
        cases,
        policy,
        orders,
        statements,
        vault,
        complaints,
    ):
        app.include_router(module.router)
    for console in (
        routes_login,
        routes_review,
        routes_admin,
        routes_orders,
        routes_complaints,
        routes_reports,
    ):
        app.include_router(console.router)
    app.mount(
        "/console/static", StaticFiles(directory=CONSOLE_DIR / "static"), name="console-static"
    )
    _install_error_handlers(app)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, limit=bastion.settings.max_upload_bytes)
    return app


def _error_response(request: Request, error: BastionError) -> Response:
    if is_console(request):
        return console_error(request, error.status_code, error.code, error.message)
    body = error.to_dict()
    request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex[:16]
    body["error"]["request_id"] = request_id
    headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
    return JSONResponse(body, status_code=error.status_code, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BastionError)
    async def bastion_error(request: Request, exc: BastionError) -> Response:
        return _error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"]), "problem": err["msg"]}
            for err in exc.errors()
        ]
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        error = BastionError(
            f"Invalid request: {summary}.", details=problems, code="invalid_input", status_code=422
        )
        return _error_response(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
        error = BastionError(
            str(exc.detail),
            code=codes.get(exc.status_code, "http_error"),
            status_code=exc.status_code,
        )
        return _error_response(request, error)

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> Response:
        # PostgreSQL refuses NUL characters and over-long values that SQLite would take.
        error = BastionError(
            "A value in the request cannot be stored: it contains a NUL character or is too "
            "long. Remove control characters and shorten it.",
            code="invalid_input",
            status_code=422,
        )
        return _error_response(request, error)

    @app.exception_handler(OperationalError)
    async def database_busy(request: Request, exc: OperationalError) -> Response:
        if "locked" not in str(exc.orig).lower():
            return await unexpected(request, exc)
        # SQLite has one writer; a long import holds it. The client should simply retry.
        error = BastionError(
            "The database is busy with another write (a large import or delete); "
            "retry in a few seconds.",
            code="busy",
            status_code=503,
        )
        response = _error_response(request, error)
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        request_id = uuid.uuid4().hex[:16]
        log.exception("unhandled error, request %s", request_id)
        request.state.request_id = request_id
        error = BastionError(
            "Internal error; the server log has the details under this request id.",
            code="internal_error",
            status_code=500,
        )
        return _error_response(request, error)


class BodyLimit:
    """Refuse bodies over the limit (413) before they are read into memory."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.configured = limit
        # Multipart framing adds a little to the file itself.
        self.limit = limit + 64 * 1024

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _send_too_large(send, self.configured)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise TooLarge(
                        f"The request body is over the limit of {self.configured:,} bytes."
                    )
            return message

        await self.app(scope, limited, send)


async def _send_too_large(send: Send, limit: int) -> None:
    error = TooLarge(
        f"The request body is over the limit of {limit:,} bytes (BASTION_MAX_UPLOAD_BYTES).",
    )
    body: dict[str, Any] = error.to_dict()
    body["error"]["request_id"] = uuid.uuid4().hex[:16]
    payload = JSONResponse(body, status_code=413).body
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})
