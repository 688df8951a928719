"""The removal-order desk in the console: live countdowns, entering an order received by
e-mail or fax, and handling it (confirm removal, Annex III obstacle, restart, finality)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from bastion.api.deps import SessionDep
from bastion.auth.permissions import Action
from bastion.compliance import orders
from bastion.compliance.order_form import CATEGORIES, MEMBER_STATES, parse_time
from bastion.console.deps import LoginDep, may
from bastion.console.pages import page, redirect, render
from bastion.errors import BastionError, InvalidInput

router = APIRouter(prefix="/console")
OrderId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Line = Annotated[str, Form(max_length=20_000)]
Lines = Annotated[str, Form(max_length=200_000)]


def _actor(login: LoginDep) -> str:
    return f"user:{login.user.username}"


@page(router, "GET", "/orders", Action.ORDERS_READ)
def orders_page(request: Request, session: SessionDep, login: LoginDep) -> Response:
    """Open orders with their countdowns, then the rest; the entry form for admins."""
    return _orders(request, session, login)


def _orders(
    request: Request,
    session: SessionDep,
    login: LoginDep,
    *,
    form: dict[str, Any] | None = None,
    problems: dict[str, str] | None = None,
    recorded: int | None = None,
    status_code: int = 200,
) -> Response:
    found = orders.list_orders(session, limit=500)
    return render(
        request,
        "orders.html",
        login,
        status_code=status_code,
        orders=[orders.public_order(o) for o in found],
        order_exposure=orders.exposure(session),
        can_enter=may(login, Action.ORDERS_MANAGE),
        member_states=sorted(MEMBER_STATES - {"GR"}),
        categories=CATEGORIES,
        form=form or {},
        problems=problems or {},
        recorded=recorded,
    )


@page(router, "POST", "/orders", Action.ORDERS_MANAGE)
def enter_order(
    request: Request,
    session: SessionDep,
    login: LoginDep,
    reference: Line = "",
    authority: Line = "",
    member_state: Line = "",
    issued_at: Line = "",
    urls: Lines = "",
    external_ids: Lines = "",
    sha256: Lines = "",
    categories: Annotated[list[str] | None, Form(max_length=5)] = None,
    reasons: Line = "",
    redress: Line = "",
    emergency: Annotated[str, Form(max_length=8)] = "",
    non_disclosure_until: Line = "",
) -> Response:
    """Record an order someone received by hand: the receipt time is now."""
    raw: dict[str, Any] = {
        "reference": reference,
        "authority": authority,
        "member_state": member_state,
        "issued_at": issued_at,
        "urls": _lines(urls),
        "identifiers": {"external_ids": _lines(external_ids), "sha256": _lines(sha256)},
        "categories": categories or [],
        "reasons": reasons,
        "redress": redress,
        "emergency": emergency == "on",
        "non_disclosure_until": non_disclosure_until or None,
    }
    try:
        order, form = orders.receive_order(session, raw, actor=_actor(login), via="console")
    except BastionError as error:
        return _orders(request, session, login, form=raw, problems={"order": error.message},
                       status_code=error.status_code)  # fmt: skip
    if form.problems:
        session.commit()  # recorded as received, even though it cannot run yet
        return _orders(
            request, session, login, form=raw, problems=form.problems, recorded=order.id,
            status_code=422,
        )  # fmt: skip
    return redirect(f"/console/orders/{order.id}")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@page(router, "GET", "/orders/{order_id}", Action.ORDERS_READ)
def order_page(
    request: Request, session: SessionDep, login: LoginDep, order_id: OrderId
) -> Response:
    """One order: its clock, targets, escalations, annexes and what can be done next."""
    return _order(request, session, login, order_id)


def _order(
    request: Request,
    session: SessionDep,
    login: LoginDep,
    order_id: int,
    *,
    error: BastionError | None = None,
) -> Response:
    order = orders.get_order(session, order_id)
    return render(
        request,
        "order.html",
        login,
        status_code=error.status_code if error else 200,
        order=orders.public_order(order, session=session),
        raw=json.dumps(order.raw, indent=2, ensure_ascii=False)[:20_000],
        annex_ii=orders.annex_ii(order) if order.status == "removed" else None,
        annex_iii=orders.annex_iii(order) if order.obstacle else None,
        obstacles=orders.OBSTACLES,
        can_manage=may(login, Action.ORDERS_MANAGE),
        error=error,
    )


def _act(
    request: Request, session: SessionDep, login: LoginDep, order_id: int, action: Any
) -> Response:
    """Run one order action; a refused one re-renders the page with its message."""
    order = orders.get_order(session, order_id)
    try:
        action(order)
    except BastionError as error:
        session.rollback()
        return _order(request, session, login, order_id, error=error)
    return redirect(f"/console/orders/{order_id}")


@page(router, "POST", "/orders/{order_id}/removed", Action.ORDERS_MANAGE)
def confirm_removed(
    request: Request,
    session: SessionDep,
    login: LoginDep,
    order_id: OrderId,
    removed_at: Line = "",
) -> Response:
    """Record that the platform removed the content (when it confirmed by other means)."""

    def run(order: Any) -> None:
        when = parse_time(removed_at or None, "removed_at")
        orders.confirm_removal(session, order, actor=_actor(login), removed_at=when)

    return _act(request, session, login, order_id, run)


@page(router, "POST", "/orders/{order_id}/obstacle", Action.ORDERS_MANAGE)
def report_obstacle(
    request: Request,
    session: SessionDep,
    login: LoginDep,
    order_id: OrderId,
    reason: Annotated[str, Form(max_length=32)] = "",
    details: Line = "",
) -> Response:
    """Stop the clock with an Annex III reason."""

    def run(order: Any) -> None:
        orders.report_obstacle(session, order, reason=reason, details=details, actor=_actor(login))

    return _act(request, session, login, order_id, run)


@page(router, "POST", "/orders/{order_id}/resume", Action.ORDERS_MANAGE)
def resume(
    request: Request,
    session: SessionDep,
    login: LoginDep,
    order_id: OrderId,
    clarification: Lines = "",
) -> Response:
    """Restart the hour, with the authority's clarification (JSON) when one is needed."""

    def run(order: Any) -> None:
        fields = None
        if clarification.strip():
            try:
                fields = json.loads(clarification)
            except ValueError as exc:
                raise InvalidInput(f"The clarification is not JSON: {exc}") from exc
        _, form = orders.resume_order(session, order, actor=_actor(login), clarification=fields)
        if form is not None and form.problems:
            session.commit()  # keep what the authority clarified so far
            raise InvalidInput("Still missing or wrong: " + form.describe())

    return _act(request, session, login, order_id, run)


@page(router, "POST", "/orders/{order_id}/final", Action.ORDERS_MANAGE)
def mark_final(
    request: Request, session: SessionDep, login: LoginDep, order_id: OrderId
) -> Response:
    """The order became final (counts towards Art. 5 exposure)."""
    return _act(
        request, session, login, order_id,
        lambda order: orders.mark_final(session, order, actor=_actor(login)),
    )  # fmt: skip
