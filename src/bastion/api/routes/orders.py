"""Removal orders (TCO Art. 3) over the API: authorities (or their relay) send them, the
platform confirms removal, admins handle obstacles, and everyone entitled reads the clock."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from bastion.api.deps import SessionDep, require
from bastion.auth.permissions import Action
from bastion.auth.tokens import Principal
from bastion.compliance import notices, orders
from bastion.compliance.order_form import parse_time
from bastion.db.models import RemovalOrder
from bastion.errors import InvalidInput, NotFound

router = APIRouter(prefix="/v1/orders", tags=["removal orders"])
OrderId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Sender = Annotated[Principal, Depends(require(Action.ORDERS_SUBMIT))]
Reader = Annotated[Principal, Depends(require(Action.ORDERS_READ))]
Manager = Annotated[Principal, Depends(require(Action.ORDERS_MANAGE))]
Confirmer = Annotated[Principal, Depends(require(Action.ORDERS_CONFIRM))]
MAX_ORDER_BYTES = 1_000_000


class Removed(BaseModel):
    """The platform's confirmation that the content is gone."""

    model_config = {"extra": "forbid"}

    removed_at: str | None = Field(
        default=None, description="When it was removed (ISO 8601); default: now."
    )


class Obstacle(BaseModel):
    """Why the order cannot be executed (yet): Annex III."""

    model_config = {"extra": "forbid"}

    reason: str = Field(
        description="force_majeure, technical, manifest_error or missing_information"
    )
    details: str = Field(max_length=20_000, description="The explanation sent to the authority.")


class NonDisclosure(BaseModel):
    """The authority renews its non-disclosure decision (once, by at most six weeks)."""

    model_config = {"extra": "forbid"}

    until: str = Field(description="The new end (ISO 8601 with a time zone).")


class Resume(BaseModel):
    """The cause has ended, or the authority's clarification arrived."""

    model_config = {"extra": "forbid"}

    clarification: dict[str, Any] | None = Field(
        default=None, description="Order fields that replace or complete the ones received."
    )


@router.post("", status_code=201, summary="Receive a removal order")
async def receive(request: Request, session: SessionDep, who: Sender) -> dict[str, Any]:
    """Record the order with its exact receipt time, disable what it names, start the clock.
    A malformed order is still recorded; the 422 names every missing or wrong field."""
    body = await request.body()
    if len(body) > MAX_ORDER_BYTES:
        raise InvalidInput(f"An order is at most {MAX_ORDER_BYTES} bytes of JSON.")
    try:
        raw: Any = json.loads(body, parse_constant=_no_constants, parse_float=_finite)
    except (ValueError, RecursionError):
        raw = {"body": body[:100_000].decode("utf-8", "replace")}
    order, form = orders.receive_order(session, raw, actor=who.actor, via="api")
    if form.problems:
        session.commit()  # the receipt stands even though the order cannot run yet
        raise InvalidInput(
            f"Order {order.id} was received at {order.received_at.isoformat()} but cannot "
            "be executed: " + form.describe(),
            code="order_incomplete",
            details={
                "order_id": order.id,
                "received_at": order.received_at.isoformat(),
                "missing": form.missing,
                "problems": form.problems,
            },
        )
    return orders.public_order(order, session=session)


@router.post("/notices", status_code=201, summary="Receive an authority's advance notice")
def receive_notice(body: dict[str, Any], session: SessionDep, who: Sender) -> dict[str, Any]:
    """Art. 3(2): an authority tells the platform, at least 12 hours ahead, that a first
    removal order may follow (authority, member_state, text)."""
    notice = orders.record_notice(session, body, actor=who.actor)
    return {
        "id": notice.id,
        "authority": notice.authority,
        "member_state": notice.member_state,
        "received_at": notice.received_at.isoformat(),
    }


@router.get("", summary="Removal orders, open ones first")
def list_orders(
    session: SessionDep,
    who: Reader,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Orders with their clocks, and the Art. 5 exposure count."""
    own = who.actor if who.role == "authority" else None
    found = orders.list_orders(session, status=status, limit=limit, received_by=own)
    out: dict[str, Any] = {"orders": [orders.public_order(o, session=session) for o in found]}
    if own is None:  # other authorities' orders are none of an authority's business
        out["exposure"] = orders.exposure(session)
    return out


@router.get("/{order_id}", summary="One removal order")
def read_order(order_id: OrderId, session: SessionDep, who: Reader) -> dict[str, Any]:
    """The order, its targets and its clock."""
    return orders.public_order(_visible(session, order_id, who), session=session)


@router.get("/{order_id}/annex-ii", summary="Annex II: the removal report")
def annex_ii(order_id: OrderId, session: SessionDep, who: Reader) -> dict[str, Any]:
    """Date and time of removal, for the issuing authority."""
    return orders.annex_ii(_visible(session, order_id, who))


@router.get("/{order_id}/annex-iii", summary="Annex III: why the order cannot be executed")
def annex_iii(order_id: OrderId, session: SessionDep, who: Reader) -> dict[str, Any]:
    """The provider's reasons, for the issuing authority."""
    return orders.annex_iii(_visible(session, order_id, who))


@router.post("/{order_id}/removed", summary="Confirm the content is removed")
def confirm(order_id: OrderId, body: Removed, session: SessionDep, who: Confirmer) -> Any:
    """The platform removed or disabled everything the order names (Annex II time)."""
    when = parse_time(body.removed_at, "removed_at")
    order = orders.get_order(session, order_id)
    if who.role == "platform" and not orders.concerns_platform(session, order, who.platform):
        raise NotFound(f"No removal order {order_id} concerns platform {who.platform!r}.")
    return orders.public_order(
        orders.confirm_removal(session, order, actor=who.actor, removed_at=when)
    )


@router.post("/{order_id}/obstacle", summary="Report why the order cannot be executed")
def obstacle(order_id: OrderId, body: Obstacle, session: SessionDep, who: Manager) -> Any:
    """Stop the clock and produce the Annex III response."""
    order = orders.get_order(session, order_id)
    orders.report_obstacle(
        session, order, reason=body.reason, details=body.details, actor=who.actor
    )
    return orders.annex_iii(order)


@router.post("/{order_id}/resume", summary="Restart the clock")
def resume(order_id: OrderId, body: Resume, session: SessionDep, who: Manager) -> Any:
    """The cause ended or the clarification arrived: the one hour starts again now."""
    order = orders.get_order(session, order_id)
    order, form = orders.resume_order(
        session, order, actor=who.actor, clarification=body.clarification
    )
    if form is not None and form.problems:
        session.commit()  # the clarification is kept; the order still cannot run
        raise InvalidInput(
            "The clarification still leaves problems: " + form.describe(),
            code="order_incomplete",
            details={"order_id": order.id, "missing": form.missing, "problems": form.problems},
        )
    return orders.public_order(order)


@router.post("/{order_id}/non-disclosure", summary="Renew the non-disclosure decision")
def renew_non_disclosure(
    order_id: OrderId, body: NonDisclosure, session: SessionDep, who: Sender
) -> Any:
    """Art. 11(3): the uploader's notice stays held until the new end; renewable once."""
    until = parse_time(body.until, "until")
    assert until is not None  # parse_time returns None only for None
    order = _visible(session, order_id, who)
    notices.renew_non_disclosure(session, order, until, actor=who.actor)
    return orders.public_order(order, session=session)


@router.post("/{order_id}/final", summary="Mark the order final")
def final(order_id: OrderId, session: SessionDep, who: Manager) -> Any:
    """No appeal in time, or confirmed on appeal: it counts towards Art. 5 exposure."""
    order = orders.mark_final(session, orders.get_order(session, order_id), actor=who.actor)
    return orders.public_order(order)


def _no_constants(name: str) -> Any:
    # NaN and Infinity are not JSON; PostgreSQL's json type refuses them, and the receipt
    # must be storable, so such a body is kept as text instead.
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e400
        raise ValueError(f"{text[:20]} is out of range")
    return value


def _may_see(who: Principal, order: RemovalOrder) -> bool:
    # An authority reads the orders it sent, not other authorities' orders.
    return who.role != "authority" or order.received_by == who.actor


def _visible(session: SessionDep, order_id: int, who: Principal) -> RemovalOrder:
    order = orders.get_order(session, order_id)
    if not _may_see(who, order):
        raise NotFound(f"No removal order {order_id}.", code="order_not_found")
    return order
