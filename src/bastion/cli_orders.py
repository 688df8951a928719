"""`bastion order ...`: the removal-order desk from the command line (an order that arrived by
e-mail or through PERCI is entered here or in the console; the API is for relays)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bastion.errors import InvalidInput

order_app = typer.Typer(help="TCO removal orders: receive, list, show, check the clock.")


@order_app.command("receive")
def order_receive(
    file: Annotated[Path, typer.Argument(help="The order as JSON (the API's fields).")],
) -> None:
    """Record an order now (receipt time = now), disable what it names, start the clock."""
    from bastion.cli import emit, state
    from bastion.compliance.orders import public_order, receive_order

    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{file} is not a JSON order: {exc}") from exc
    with state.bastion().session() as session:
        order, form = receive_order(session, raw, actor="cli", via="console")
        session.commit()
        emit(public_order(order))
    if form.problems:
        raise InvalidInput(f"Order {order.id} recorded but incomplete: " + form.describe())


@order_app.command("list")
def order_list(
    status: Annotated[str | None, typer.Option(help="Only orders in this status.")] = None,
) -> None:
    """Orders, open ones first, one JSON line each."""
    from bastion.cli import emit, state
    from bastion.compliance.orders import list_orders, public_order

    with state.bastion().session() as session:
        for order in list_orders(session, status=status, limit=10_000):
            emit(public_order(order))


@order_app.command("show")
def order_show(order_id: int) -> None:
    """One order with its targets, and its Annex II or III when there is one."""
    from bastion.cli import emit, state
    from bastion.compliance.orders import annex_ii, annex_iii, get_order, public_order

    with state.bastion().session() as session:
        order = get_order(session, order_id)
        out = public_order(order)
        if order.status == "removed":
            out["annex_ii"] = annex_ii(order)
        if order.obstacle:
            out["annex_iii"] = annex_iii(order)
        emit(out)


@order_app.command("check")
def order_check() -> None:
    """Run the clock once now: escalate open orders that need it (the server does this every
    BASTION_ORDER_CLOCK_SECONDS)."""
    from bastion.cli import emit, state
    from bastion.compliance.order_clock import check_once

    emit({"escalations": check_once(state.bastion())})
