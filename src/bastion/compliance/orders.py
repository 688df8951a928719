"""The removal-order desk (TCO Art. 3): receive an order, record the exact time, disable what
it names at once through the platform webhook, and run the one-hour clock to the Annex II
report, or stop it with an Annex III response and restart it when the cause ends.

Every order is stored the moment it arrives, even a malformed one (status `incomplete`,
with the missing fields named): the clock starts when the information is complete.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bastion.actions.webhooks import enqueue
from bastion.audit import record
from bastion.compliance.order_form import OrderForm, describe, read_order
from bastion.db.base import utcnow
from bastion.db.models import (
    Decision,
    Item,
    ItemSignal,
    OrderNotice,
    OrderTarget,
    RemovalOrder,
)
from bastion.errors import Conflict, InvalidInput, NotFound

DEADLINE = timedelta(hours=1)
PRIOR_NOTICE = timedelta(hours=12)  # Art. 3(2): before an authority's first order
NON_DISCLOSURE = timedelta(weeks=6)  # Art. 11(3), renewable once
SCRUTINY_WINDOW = timedelta(hours=48)  # Art. 4(1): a request for scrutiny within 48 hours
EXPOSURE_WINDOW = timedelta(days=365)
EXPOSED_AFTER = 2  # Art. 5(4): two or more final orders in the last 12 months
# Annex III, section B: why an order cannot be executed (yet).
OBSTACLES = {
    "force_majeure": "force majeure",
    "technical": "de facto impossibility not attributable to the provider (technical or "
    "operational reasons)",
    "manifest_error": "the order contains manifest errors",
    "missing_information": "the order does not contain sufficient information",
}
# These stop the clock until the cause ends; the others until a clarification arrives.
OPEN_STATUSES = ("executing", "incomplete", "paused")


def receive_order(
    session: Session, raw: Any, *, actor: str, via: str, now: datetime | None = None
) -> tuple[RemovalOrder, OrderForm]:
    """Record an order as received and, when complete, execute it. The caller commits even
    when the form has problems: the receipt must survive the 422 that reports them."""
    received_at = now or utcnow()
    form = read_order(raw)
    if form.reference is not None and _by_reference(session, form.reference) is not None:
        raise _duplicate(session, form.reference, actor, via)
    capped = _cap_non_disclosure(form, received_at)
    order = RemovalOrder(
        received_at=received_at,
        received_via=via,
        received_by=actor,
        raw=raw if isinstance(raw, dict) else {"body": raw},
        status="incomplete",
        escalations=[],
    )
    _apply(order, form)
    try:
        with session.begin_nested():  # a racing duplicate hits the unique reference here
            session.add(order)
            session.flush()
    except IntegrityError:
        raise _duplicate(session, form.reference or "", actor, via) from None
    record(
        session,
        actor,
        "order.receive",
        f"order:{order.id}",
        {"reference": order.reference, "via": via, "missing": form.missing, **capped},
    )
    if not form.problems:
        _start(session, order, received_at, actor)
    return order, form


def _by_reference(session: Session, reference: str) -> RemovalOrder | None:
    return session.scalar(select(RemovalOrder).where(RemovalOrder.reference == reference))


def _duplicate(session: Session, reference: str, actor: str, via: str) -> Conflict:
    """The 409 for a reference received before, pointing at the first order."""
    existing = _by_reference(session, reference)
    if existing is None:  # the clash was with a row not visible to us yet
        return Conflict(f"An order with reference {reference!r} exists.", code="duplicate_order")
    record(session, actor, "order.duplicate", f"order:{existing.id}", {"via": via})
    return Conflict(
        f"An order with reference {reference!r} was already received "
        f"(order {existing.id}, {existing.received_at.isoformat()}).",
        code="duplicate_order",
        details={"order_id": existing.id, "url": f"/v1/orders/{existing.id}"},
    )


def _cap_non_disclosure(form: OrderForm, received_at: datetime) -> dict[str, Any]:
    """Art. 11(3): non-disclosure lasts at most six weeks. A longer one does not make the
    removal order invalid (the content must still go), so it is cut to six weeks and the
    audit log says so."""
    limit = received_at + NON_DISCLOSURE
    if form.non_disclosure_until is None or form.non_disclosure_until <= limit:
        return {}
    asked = form.non_disclosure_until
    form.non_disclosure_until = limit
    return {"non_disclosure_capped": {"asked": asked.isoformat(), "kept": limit.isoformat()}}


def _apply(order: RemovalOrder, form: OrderForm) -> None:
    order.reference = form.reference or order.reference
    order.authority = form.authority or order.authority
    order.member_state = form.member_state or order.member_state
    order.issued_at = form.issued_at or order.issued_at
    order.urls, order.identifiers = form.urls, dict(form.identifiers)
    order.categories = form.categories
    order.reasons, order.redress = form.reasons, form.redress
    order.emergency, order.non_disclosure_until = form.emergency, form.non_disclosure_until
    order.missing = form.missing


def _start(
    session: Session, order: RemovalOrder, now: datetime, actor: str, *, resend: bool = False
) -> None:
    """Start (or restart) the one-hour clock and disable everything the order names; on a
    restart the platform is told again about what it could not act on before."""
    order.status, order.deadline_at, order.missing = "executing", now + DEADLINE, []
    order.escalations = []
    if resend:
        for target in order.targets:
            item = session.get(Item, target.item_id) if target.item_id else None
            _disable(session, order, target, item, now, actor)
    known = {(t.locator, t.value) for t in order.targets}
    form_targets = OrderForm(urls=order.urls, identifiers=order.identifiers)
    for locator, value in form_targets.targets():
        if (locator, value) in known:
            continue
        found = _items_for(session, locator, value, form_targets.platform)
        items: list[Item | None] = [*found] or [None]
        for item in items:
            target = OrderTarget(locator=locator, value=value, item_id=item.id if item else None)
            order.targets.append(target)
            _disable(session, order, target, item, now, actor)
    session.flush()


def _items_for(
    session: Session, locator: str, value: str, platform: str | None = None
) -> list[Item]:
    """Every stored item an order's locator names (all copies, on every platform; a platform's
    own ids only on the platform the order names, when it names one)."""
    if locator == "url":
        where = Item.url == value
    elif locator == "external_id":
        where = Item.external_id == value
        if platform is not None:
            where = where & (Item.platform == platform)
    elif locator == "sha256":
        where = Item.content_sha256 == value
    else:
        signal = select(ItemSignal.item_id).where(
            ItemSignal.signal_type == locator, ItemSignal.value == value
        )
        where = Item.id.in_(signal)
    return list(session.scalars(select(Item).where(where).order_by(Item.id).limit(1000)))


def _disable(
    session: Session,
    order: RemovalOrder,
    target: OrderTarget,
    item: Item | None,
    now: datetime,
    actor: str,
) -> None:
    """Tell the platform to disable the content in every Member State, now. Content Bastion
    never saw is still named to the platform by its locator: the platform hosts it."""
    payload: dict[str, Any] = {
        "action": "disable",
        "scope": "all_member_states",
        "order": _order_ref(order),
        "locator": {"type": target.locator, "value": target.value},
    }
    if item is not None:
        payload |= {
            "item_id": item.id,
            "external_id": item.external_id,
            "platform": item.platform,
            "content_sha256": item.content_sha256,
        }
        if item.decision != "remove":
            session.add(
                Decision(
                    item_id=item.id,
                    outcome="remove",
                    decided_by=f"order:{order.id}",
                    automation="none",
                    note=f"TCO removal order {order.reference} ({order.authority})",
                )
            )
            item.decision, item.claimed_by, item.claim_expires_at = "remove", None, None
    enqueue(session, "order.disable", payload)
    target.disabled_at = now
    record(
        session,
        actor,
        "order.disable",
        f"order:{order.id}",
        {"locator": target.locator, "value": target.value, "item_id": item and item.id},
    )


def _order_ref(order: RemovalOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        "reference": order.reference,
        "authority": order.authority,
        "member_state": order.member_state,
        "deadline_at": order.deadline_at.isoformat() if order.deadline_at else None,
    }


def get_order(session: Session, order_id: int) -> RemovalOrder:
    """One order, or 404."""
    order = session.get(RemovalOrder, order_id)
    if order is None:
        raise NotFound(f"No removal order {order_id}.", code="order_not_found")
    return order


def list_orders(
    session: Session,
    *,
    status: str | None = None,
    limit: int = 100,
    received_by: str | None = None,
) -> list[Any]:
    """Orders (of one sender, when given), open ones first by deadline, then the newest."""
    statement = select(RemovalOrder)
    if status is not None:
        statement = statement.where(RemovalOrder.status == status)
    if received_by is not None:
        statement = statement.where(RemovalOrder.received_by == received_by)
    statement = statement.order_by(RemovalOrder.received_at.desc()).limit(limit)
    orders = list(session.scalars(statement))
    open_first = sorted(
        orders,
        key=lambda o: (o.status not in OPEN_STATUSES, o.deadline_at is None, o.deadline_at),
    )
    return open_first


def concerns_platform(session: Session, order: RemovalOrder, platform: str) -> bool:
    """Whether the order names something of this platform: one of its items, or content
    Bastion never stored (which any platform of the instance may host)."""
    item_ids = [t.item_id for t in order.targets if t.item_id is not None]
    if len(item_ids) < len(order.targets):
        return True
    owned = session.scalar(
        select(func.count())
        .select_from(Item)
        .where(Item.id.in_(item_ids), Item.platform == platform)
    )
    return bool(owned)


def confirm_removal(
    session: Session, order: RemovalOrder, *, actor: str, removed_at: datetime | None = None
) -> RemovalOrder:
    """The platform has removed or disabled the content: the order is executed (Annex II)."""
    if order.status == "removed":
        return order  # platforms retry; the first confirmation's time stands
    if order.status != "executing":
        raise Conflict(
            f"Order {order.id} is {order.status}; only an executing order can be confirmed.",
            code="order_not_executing",
        )
    now = utcnow()
    when = removed_at or now
    if when > now + timedelta(minutes=5) or when < order.received_at - timedelta(minutes=5):
        raise InvalidInput(
            "`removed_at` must lie between the order's receipt and now.", code="bad_time"
        )
    order.status, order.removed_at = "removed", when
    record(
        session,
        actor,
        "order.removed",
        f"order:{order.id}",
        {"removed_at": when.isoformat(), "on_time": _on_time(order)},
    )
    return order


def report_obstacle(
    session: Session, order: RemovalOrder, *, reason: str, details: str, actor: str
) -> RemovalOrder:
    """The provider cannot comply (yet): stop the clock and produce the Annex III response."""
    if reason not in OBSTACLES:
        raise InvalidInput(
            f"Unknown reason {reason!r}; use one of {', '.join(OBSTACLES)}.", code="bad_reason"
        )
    if not details.strip() or len(details) > 20_000:
        raise InvalidInput("Explain the reason in `details` (1-20,000 characters).")
    if order.status not in ("executing", "incomplete"):
        raise Conflict(f"Order {order.id} is {order.status}.", code="order_not_open")
    order.status = "paused"
    order.obstacle, order.obstacle_details, order.obstacle_at = reason, details, utcnow()
    order.deadline_at = None
    record(session, actor, "order.obstacle", f"order:{order.id}", {"reason": reason})
    return order


def resume_order(
    session: Session, order: RemovalOrder, *, actor: str, clarification: Any = None
) -> tuple[RemovalOrder, OrderForm | None]:
    """The cause has ended, or the authority's clarification arrived: the one hour restarts
    now. A clarification is merged into the order (its fields replace the ones sent)."""
    if order.status not in ("paused", "incomplete"):
        raise Conflict(f"Order {order.id} is {order.status}; nothing to resume.")
    form = None
    if clarification is not None:
        if not isinstance(clarification, dict):
            raise InvalidInput("Send the clarification as a JSON object of order fields.")
        if "non_disclosure_until" in clarification:
            raise InvalidInput(
                "A clarification cannot change the non-disclosure period; the authority renews "
                "it with POST /v1/orders/{id}/non-disclosure (once, Art. 11(3))."
            )
        merged = {**order.raw, **clarification}
        reference = order.reference
        form = read_order(merged)
        if form.reference != reference and reference is not None:
            raise InvalidInput("A clarification cannot change the order's reference.")
        if form.reference is not None and form.reference != reference:
            other = _by_reference(session, form.reference)
            if other is not None and other.id != order.id:
                raise _duplicate(session, form.reference, actor, "clarification")
        _cap_non_disclosure(form, order.received_at)
        order.raw = merged
        _apply(order, form)
        if form.problems:
            order.status = "incomplete"
            record(
                session, actor, "order.clarified", f"order:{order.id}", {"missing": form.missing}
            )
            return order, form
    elif order.missing:
        raise InvalidInput(
            "This order is still missing " + ", ".join(order.missing) + "; send the "
            "authority's clarification with those fields.",
            code="order_incomplete",
            details={"missing": order.missing},
        )
    now = utcnow()
    record(session, actor, "order.resume", f"order:{order.id}", {"obstacle": order.obstacle})
    _start(session, order, now, actor, resend=True)
    return order, form


def mark_final(session: Session, order: RemovalOrder, *, actor: str) -> RemovalOrder:
    """The order became final (no appeal in time, or confirmed on appeal): it counts towards
    the Art. 5 exposure threshold."""
    if order.final_at is None:
        order.final_at = utcnow()
        record(session, actor, "order.final", f"order:{order.id}", {})
    return order


def exposure(session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Final orders in the last 12 months, and whether the platform is 'exposed' (Art. 5)."""
    since = (now or utcnow()) - EXPOSURE_WINDOW
    count = session.scalar(
        select(func.count()).select_from(RemovalOrder).where(RemovalOrder.final_at >= since)
    )
    return {"final_orders_12_months": count or 0, "exposed": (count or 0) >= EXPOSED_AFTER}


def _on_time(order: RemovalOrder) -> bool | None:
    if order.removed_at is None or order.deadline_at is None:
        return None
    return order.removed_at <= order.deadline_at


def annex_ii(order: RemovalOrder) -> dict[str, Any]:
    """Annex II: information on the removal or disabling of the content, for the authority."""
    if order.status != "removed" or order.removed_at is None:
        raise Conflict(f"Order {order.id} is {order.status}; Annex II needs it executed.")
    return {
        "form": "Regulation (EU) 2021/784, Annex II",
        "addressed_to": order.authority,
        "member_state": order.member_state,
        "order_reference": order.reference,
        "provider_reference": f"BASTION-ORDER-{order.id}",
        "received_at": order.received_at.isoformat(),
        "action": "content removed or access disabled in all Member States",
        "removed_at": order.removed_at.isoformat(),
        "within_one_hour": _on_time(order),
        "content": {"urls": order.urls, "identifiers": order.identifiers},
        "preserved": "content and related data preserved under Art. 6",
    }


def annex_iii(order: RemovalOrder) -> dict[str, Any]:
    """Annex III: why the provider cannot comply with the order (yet)."""
    if order.obstacle is None:
        raise Conflict(f"Order {order.id} has no reported obstacle; nothing for Annex III.")
    return {
        "form": "Regulation (EU) 2021/784, Annex III",
        "addressed_to": order.authority,
        "member_state": order.member_state,
        "order_reference": order.reference,
        "provider_reference": f"BASTION-ORDER-{order.id}",
        "received_at": order.received_at.isoformat(),
        "reason": order.obstacle,
        "reason_text": OBSTACLES[order.obstacle],
        "explanation": order.obstacle_details,
        "missing_or_wrong": order.missing,
        "reported_at": order.obstacle_at.isoformat() if order.obstacle_at else None,
        "clock": "restarts when the cause ends or the clarification arrives",
    }


def record_notice(session: Session, raw: Any, *, actor: str) -> OrderNotice:
    """An authority's advance information that a first removal order may follow (Art. 3(2))."""
    if not isinstance(raw, dict):
        raise InvalidInput("Send the notice as a JSON object: authority, member_state, text.")
    form = read_order({**raw, "reference": "-", "issued_at": None})
    problems = {k: v for k, v in form.problems.items() if k in ("authority", "member_state")}
    if problems:
        raise InvalidInput(describe(problems), details=problems)
    text = raw.get("text")
    if text is not None and (not isinstance(text, str) or len(text) > 20_000 or "\x00" in text):
        raise InvalidInput("`text`: at most 20,000 characters of text, no NUL characters.")
    notice = OrderNotice(
        authority=form.authority or "",
        member_state=form.member_state or "",
        received_at=utcnow(),
        received_by=actor,
        text=text,
    )
    session.add(notice)
    session.flush()
    record(
        session, actor, "order.notice", f"order-notice:{notice.id}", {"authority": notice.authority}
    )
    return notice


def prior_notice(session: Session, order: RemovalOrder) -> str:
    """Whether the 12-hour advance information of Art. 3(2) was needed and given:
    `emergency`, `not_first` (the authority sent orders before), `given`, or `missing`."""
    if order.emergency:
        return "emergency"
    if order.authority is None or order.member_state is None:
        return "unknown"
    same = (func.lower(RemovalOrder.authority) == order.authority.lower()) & (
        RemovalOrder.member_state == order.member_state
    )
    earlier = session.scalar(
        select(func.count()).select_from(RemovalOrder).where(same, RemovalOrder.id < order.id)
    )
    if earlier:
        return "not_first"
    issued = order.issued_at or order.received_at
    given = session.scalar(
        select(func.count())
        .select_from(OrderNotice)
        .where(
            func.lower(OrderNotice.authority) == order.authority.lower(),
            OrderNotice.member_state == order.member_state,
            OrderNotice.received_at <= issued - PRIOR_NOTICE,
        )
    )
    return "given" if given else "missing"


def public_order(
    order: RemovalOrder, now: datetime | None = None, *, session: Session | None = None
) -> dict[str, Any]:
    """An order as the API shows it (with the Art. 3(2) check when a session is given)."""
    now = now or utcnow()
    notice = prior_notice(session, order) if session is not None else None
    left = (order.deadline_at - now).total_seconds() if order.deadline_at else None
    return {
        "id": order.id,
        "reference": order.reference,
        "authority": order.authority,
        "member_state": order.member_state,
        "issued_at": order.issued_at.isoformat() if order.issued_at else None,
        "received_at": order.received_at.isoformat(),
        "received_via": order.received_via,
        "status": order.status,
        "missing": order.missing,
        "deadline_at": order.deadline_at.isoformat() if order.deadline_at else None,
        "seconds_left": None if left is None or order.status != "executing" else round(left),
        "overdue": bool(left is not None and left < 0 and order.status == "executing"),
        "removed_at": order.removed_at.isoformat() if order.removed_at else None,
        "within_one_hour": _on_time(order),
        "scrutiny_request_until": (order.received_at + SCRUTINY_WINDOW).isoformat(),
        "final_at": order.final_at.isoformat() if order.final_at else None,
        "emergency": order.emergency,
        "prior_notice": notice,
        "non_disclosure_until": (
            order.non_disclosure_until.isoformat() if order.non_disclosure_until else None
        ),
        "categories": order.categories,
        "urls": order.urls,
        "identifiers": order.identifiers,
        "obstacle": order.obstacle,
        "escalations": order.escalations,
        "targets": [
            {
                "locator": t.locator,
                "value": t.value,
                "item_id": t.item_id,
                "disabled_at": t.disabled_at.isoformat() if t.disabled_at else None,
            }
            for t in order.targets
        ],
    }
