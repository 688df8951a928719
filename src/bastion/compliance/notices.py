"""Notices to the uploader (TCO Art. 11, DSA Art. 17): what the platform tells the person whose
content it removed or restricted, why, and how to complain.

Bastion never talks to uploaders: it writes the notice and sends it to the platform as a
`notice.uploader` webhook. A notice for content removed under a removal order whose authority
decided non-disclosure (Art. 11(3)) is `held` until that decision ends, then sent by
`release_due_notices`; a renewal of the non-disclosure moves the hold. The notice names no
moderator and no bank: who reviewed it and which hash lists the platform uses are not the
uploader's business, and the reasons stand on their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from bastion.actions.webhooks import enqueue
from bastion.audit import record
from bastion.compliance.statements import ART_2_7, RESTRICTIVE, TCO, art_2_7_categories
from bastion.db.base import utcnow
from bastion.db.models import Decision, Item, Notice, RemovalOrder, Statement
from bastion.errors import Conflict, InvalidInput, NotFound

EVENT = "notice.uploader"
# Art. 11(3): non-disclosure lasts at most six weeks and may be renewed once, by as much.
NON_DISCLOSURE_PERIOD = timedelta(weeks=6)
MAX_RENEWALS = 1
ORDER_PREFIX = "order:"
_ACTOR = "notices"


def record_notice(
    session: Session,
    decision: Decision,
    *,
    complaint_info: str,
    complaint_days: int | None = None,
    now: datetime | None = None,
) -> Notice | None:
    """Write the uploader's notice for a remove/restrict decision, send it now or hold it.

    Returns None for decisions that restrict nothing; once per decision."""
    if decision.outcome not in RESTRICTIVE:
        return None
    if decision.id is None:  # a decision just added (the order desk adds without flushing)
        session.add(decision)
        session.flush()
    existing = session.scalar(select(Notice).where(Notice.decision_id == decision.id))
    if existing is not None:
        return existing
    item = session.get(Item, decision.item_id)
    if item is None:
        raise NotFound(f"No item with id {decision.item_id}.", code="unknown_item")
    moment = now or utcnow()
    order = order_of(session, decision)
    notice = Notice(
        decision_id=decision.id,
        item_id=item.id,
        order_id=order.id if order else None,
        status="held",
        payload=notice_payload(session, decision, item, order, complaint_info, complaint_days),
        created_at=moment,
    )
    session.add(notice)
    session.flush()
    hold = order.non_disclosure_until if order else None
    if hold is not None and hold > moment:
        notice.hold_until = hold
        record(
            session,
            _ACTOR,
            "notice.hold",
            f"notice:{notice.id}",
            {"order_id": order.id if order else None, "until": hold.isoformat()},
        )
    else:
        _send(session, notice, moment)
    return notice


def order_of(session: Session, decision: Decision) -> RemovalOrder | None:
    """The removal order a decision was made under (`decided_by == "order:<id>"`), if any."""
    if not decision.decided_by.startswith(ORDER_PREFIX):
        return None
    order_id = decision.decided_by.removeprefix(ORDER_PREFIX)
    return session.get(RemovalOrder, int(order_id)) if order_id.isdigit() else None


def notice_payload(
    session: Session,
    decision: Decision,
    item: Item,
    order: RemovalOrder | None,
    complaint_info: str,
    complaint_days: int | None,
) -> dict[str, Any]:
    """What the platform tells its uploader: what happened, on which ground, how to complain."""
    payload: dict[str, Any] = {
        "decision_id": decision.id,
        "item_id": item.id,
        "external_id": item.external_id,
        "platform": item.platform,
        "outcome": decision.outcome,
        "decided_at": decision.created_at.isoformat() if decision.created_at else None,
        # DSA Art. 17(3)(c): whether automated means were used to take the decision.
        "automated": decision.automation in ("full", "partial"),
        "automation": decision.automation,
    }
    if order is not None:
        return payload | _order_ground(order)
    categories = art_2_7_categories(item)
    return payload | {
        "ground": _statement_ground(session, decision, categories),
        "legal_basis": TCO if decision.outcome == "remove" else "terms of service",
        "categories": [{"point": c, "text": ART_2_7[c]} for c in categories],
        "complaint": {
            "possible": True,
            "how": complaint_info,
            "decided_within_days": complaint_days,
        },
    }


def _order_ground(order: RemovalOrder) -> dict[str, Any]:
    # Art. 11(2): the reasons of the order and the right to challenge it (Art. 9), which is a
    # matter for the courts of the issuing Member State, not the platform's complaint form.
    ground = (
        f"removal order {order.reference} issued by {order.authority} ({order.member_state}) "
        "under Regulation (EU) 2021/784"
    )
    return {
        "ground": ground,
        "legal_basis": TCO,
        "categories": [{"point": c, "text": ART_2_7[c]} for c in order.categories if c in ART_2_7],
        "order": {
            "reference": order.reference,
            "authority": order.authority,
            "member_state": order.member_state,
            "issued_at": order.issued_at.isoformat() if order.issued_at else None,
            "reasons": order.reasons,
            "redress": order.redress,
        },
        "complaint": {
            "possible": False,
            "how": "Challenge the removal order itself: " + (order.redress or "see the order."),
            "decided_within_days": None,
        },
    }


def _statement_ground(session: Session, decision: Decision, categories: list[str]) -> str:
    """The ground as the statement of reasons gives it, so both tell the same story."""
    statement = session.scalar(select(Statement).where(Statement.decision_id == decision.id))
    if statement is not None:
        explained = statement.payload.get("illegal_content_explanation") or statement.payload.get(
            "incompatible_content_explanation"
        )
        if explained:
            return str(explained)
    what = "; ".join(ART_2_7[c] for c in categories)
    if decision.outcome == "remove":
        return "Terrorist content within the meaning of Article 2(7) of Regulation (EU) " + (
            f"2021/784: it {what}." if what else "2021/784."
        )
    return "The content promotes or glorifies terrorism in a way the platform's terms forbid."


def _send(session: Session, notice: Notice, now: datetime) -> None:
    enqueue(session, EVENT, {"notice_id": notice.id, **notice.payload})
    notice.status, notice.sent_at, notice.hold_until = "sent", now, None


def notify_due(
    session: Session,
    *,
    complaint_info: str,
    complaint_days: int | None = None,
    now: datetime | None = None,
    limit: int = 500,
) -> int:
    """Write the notice of every remove/restrict decision that has none yet (a background
    pass, like the vault: decisions never wait on it, and a crash loses no notice)."""
    noticed = exists().where(Notice.decision_id == Decision.id)
    decisions = session.scalars(
        select(Decision)
        .where(Decision.outcome.in_(RESTRICTIVE), ~noticed)
        .order_by(Decision.id)
        .limit(limit)
    )
    written = 0
    for decision in decisions:
        notice = record_notice(
            session, decision, complaint_info=complaint_info, complaint_days=complaint_days,
            now=now,
        )  # fmt: skip
        written += notice is not None
    return written


def release_due_notices(session: Session, now: datetime | None = None) -> int:
    """Send the held notices whose non-disclosure has ended; returns how many were sent."""
    moment = now or utcnow()
    query = (
        select(Notice)
        .where(Notice.status == "held", Notice.hold_until <= moment)
        .order_by(Notice.hold_until, Notice.id)
        .limit(500)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # two workers never send twice
    sent = 0
    for notice in session.scalars(query):
        order = session.get(RemovalOrder, notice.order_id) if notice.order_id else None
        # Re-read the order: a renewal after the hold was set moves it.
        until = order.non_disclosure_until if order else None
        if until is not None and until > moment:
            notice.hold_until = until
            continue
        _send(session, notice, moment)
        record(session, _ACTOR, "notice.release", f"notice:{notice.id}", {})
        sent += 1
    return sent


def renew_non_disclosure(
    session: Session,
    order: RemovalOrder,
    until: datetime,
    *,
    actor: str,
    now: datetime | None = None,
) -> RemovalOrder:
    """Extend an order's non-disclosure once (Art. 11(3)), by at most six weeks; held
    notices move with it."""
    moment = now or utcnow()
    current = _check_renewal(order, until, moment)
    order.non_disclosure_until = until
    order.non_disclosure_renewals = (order.non_disclosure_renewals or 0) + 1
    held = session.scalars(
        select(Notice).where(Notice.order_id == order.id, Notice.status == "held")
    )
    moved = 0
    for notice in held:
        notice.hold_until, moved = until, moved + 1
    record(
        session,
        actor,
        "order.non_disclosure_renew",
        f"order:{order.id}",
        {"from": current.isoformat(), "until": until.isoformat(), "notices_held": moved},
    )
    return order


def _check_renewal(order: RemovalOrder, until: datetime, now: datetime) -> datetime:
    """The current end of non-disclosure, once the renewal to `until` is known to be allowed."""
    current = order.non_disclosure_until
    if until.tzinfo is None:
        raise InvalidInput("Give the new end of non-disclosure with a time zone.")
    if current is None:
        raise Conflict(
            f"Order {order.id} has no non-disclosure decision to renew.", code="no_non_disclosure"
        )
    if (order.non_disclosure_renewals or 0) >= MAX_RENEWALS:
        raise Conflict(
            f"The non-disclosure of order {order.id} was already renewed once; Regulation "
            "(EU) 2021/784 Art. 11(3) allows a single renewal, so the uploader will be told "
            f"on {current.isoformat()}.",
            code="non_disclosure_renewed",
        )
    if current <= now:
        raise Conflict(
            f"The non-disclosure of order {order.id} ended on {current.isoformat()}; an "
            "ended period cannot be renewed.",
            code="non_disclosure_ended",
        )
    if until <= current:
        raise InvalidInput(
            f"A renewal must end after the current period ({current.isoformat()}).",
            code="bad_time",
        )
    if until - current > NON_DISCLOSURE_PERIOD:
        raise InvalidInput(
            "A renewal of non-disclosure is at most six weeks (Art. 11(3)): it can end at "
            f"the latest on {(current + NON_DISCLOSURE_PERIOD).isoformat()}.",
            code="bad_time",
        )
    return current
