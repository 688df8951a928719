"""The one-hour clock: page on arrival, then escalate open removal orders before their deadline
and when overdue, by webhook to the platform and by e-mail to the on-call address. Runs in a
background thread (compliance/worker.py) and from `bastion order check`. Each escalation is
claimed as a unique row first, so concurrent passes page once; e-mails go out with no
transaction open, and a failed one is tried again on the next pass."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bastion.actions.webhooks import enqueue
from bastion.audit import record
from bastion.compliance.orders import public_order
from bastion.db.base import utcnow
from bastion.db.models import OrderEscalation, RemovalOrder
from bastion.runtime import Bastion

log = logging.getLogger("bastion.orders")


@dataclass(frozen=True)
class Mailer:
    """Where on-call e-mails go, and through which SMTP server."""

    host: str
    port: int
    sender: str
    to: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    def send(self, subject: str, body: str) -> None:
        """Send one plain-text message (raises on failure)."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, self.to, subject
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def due(order: RemovalOrder, now: datetime, marks: tuple[int, ...], sent: set[str]) -> list[str]:
    """The escalation this order needs now, if any: `received` (page on arrival, also for an
    incomplete order: someone must ask the authority), then `30m`, `15m`, `overdue`."""
    if order.status not in ("executing", "incomplete"):
        return []
    levels = ["received"]
    if order.status == "executing" and order.deadline_at is not None:
        left = (order.deadline_at - now).total_seconds() / 60
        levels += [f"{m}m" for m in sorted(marks, reverse=True) if 0 < left <= m]
        if left <= 0:
            levels.append("overdue")
    # Only the most urgent unsent level is worth a page; lower ones are implied.
    fresh = [level for level in levels if level not in sent]
    return fresh[-1:] if fresh else []


def _clock_key(order: RemovalOrder) -> datetime:
    # While the clock waits for missing information there is no deadline; the receipt stands in.
    return order.deadline_at or order.received_at


def _sent(session: Session, order: RemovalOrder) -> set[str]:
    rows = session.scalars(
        select(OrderEscalation.level).where(
            OrderEscalation.order_id == order.id,
            OrderEscalation.deadline_at == _clock_key(order),
        )
    )
    return set(rows)


def check_clocks(session: Session, *, now: datetime | None = None, marks: tuple[int, ...]) -> int:
    """One pass: record and webhook every escalation that is due; returns how many. E-mails
    go out afterwards, outside any transaction (`send_pending_emails`): a hanging SMTP server
    must never hold the database while an order is arriving."""
    now = now or utcnow()
    orders = session.scalars(
        select(RemovalOrder)
        .where(RemovalOrder.status.in_(("executing", "incomplete")))
        .order_by(RemovalOrder.deadline_at, RemovalOrder.id)
    )
    sent = 0
    for order in orders:
        for level in due(order, now, marks, _sent(session, order)):
            sent += _escalate(session, order, level, now)
    return sent


def _escalate(session: Session, order: RemovalOrder, level: str, now: datetime) -> int:
    """Claim the level (unique row), then webhook it; a concurrent pass that claimed it first
    wins and this one sends nothing."""
    try:
        with session.begin_nested():
            session.add(OrderEscalation(order_id=order.id, deadline_at=_clock_key(order),
                                        level=level, created_at=now))  # fmt: skip
            session.flush()
    except IntegrityError:
        return 0
    enqueue(session, "order.escalation", {"level": level, "order": public_order(order, now)})
    # Reassign rather than append: the JSON column only notices a new list.
    order.escalations = [*order.escalations, level]
    record(session, "clock", "order.escalate", f"order:{order.id}", {"level": level})
    return 1


@dataclass(frozen=True)
class Page:
    """One e-mail to send: which escalation row, and what it says."""

    escalation_id: int
    subject: str
    body: str


def pending_pages(session: Session, now: datetime | None = None) -> list[Page]:
    """Escalations whose e-mail has not gone out yet."""
    now = now or utcnow()
    rows = session.execute(
        select(OrderEscalation, RemovalOrder)
        .join(RemovalOrder, RemovalOrder.id == OrderEscalation.order_id)
        .where(OrderEscalation.email_sent_at.is_(None))
        .order_by(OrderEscalation.id)
        .limit(100)
    )
    return [
        Page(row.id, _subject(order, row.level), _body(order, row.level, now))
        for row, order in rows
    ]


def send_pending_emails(bastion: Bastion, mailer: Mailer, now: datetime | None = None) -> int:
    """Send each pending page with no transaction open, then mark it in a short one; a failed
    send is kept and tried again on the next pass."""
    with bastion.session() as session:
        pages = pending_pages(session, now)
    sent = 0
    for page in pages:
        try:
            mailer.send(page.subject, page.body)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("on-call e-mail %s failed (%s); retrying", page.escalation_id, exc)
            with bastion.session() as session:
                row = session.get(OrderEscalation, page.escalation_id)
                if row is not None:
                    row.email_error = str(exc)[:1000]
            continue
        with bastion.session() as session:
            row = session.get(OrderEscalation, page.escalation_id)
            if row is not None:
                row.email_sent_at, row.email_error = utcnow(), None
        sent += 1
    return sent


def _subject(order: RemovalOrder, level: str) -> str:
    if level == "received":
        what = (
            "received, one hour to remove"
            if order.status == "executing"
            else ("received INCOMPLETE, ask the authority")
        )
    elif level == "overdue":
        what = "OVERDUE"
    else:
        what = f"{level.removesuffix('m')} minutes left"
    return f"[Bastion] Removal order {order.reference or '#' + str(order.id)}: {what}"


def _body(order: RemovalOrder, level: str, now: datetime) -> str:
    deadline = order.deadline_at.isoformat() if order.deadline_at else "-"
    left = int((order.deadline_at - now).total_seconds() // 60) if order.deadline_at else 0
    return (
        f"Removal order {order.reference} from {order.authority} ({order.member_state}).\n"
        f"Received {order.received_at.isoformat()}, deadline {deadline} "
        f"({'overdue by ' + str(-left) if left < 0 else str(left)} minutes).\n"
        f"Targets: {len(order.targets)}; none confirmed removed yet.\n"
        + (f"Missing or wrong: {', '.join(order.missing)}.\n" if order.missing else "")
        + "\n"
        f"Open the order: /console/orders/{order.id}\n"
        "Confirm the removal (Annex II) or report why it cannot be done (Annex III).\n"
    )


def mailer_for(bastion: Bastion) -> Mailer | None:
    """The configured on-call mailer, or None when no SMTP server or address is set."""
    s = bastion.settings
    if not s.smtp_host or not s.oncall_email:
        return None
    return Mailer(
        host=s.smtp_host,
        port=s.smtp_port,
        sender=s.smtp_sender,
        to=s.oncall_email,
        starttls=s.smtp_starttls,
        username=s.smtp_username,
        password=s.smtp_password,
    )


def check_once(bastion: Bastion, now: datetime | None = None) -> int:
    """One pass: escalations in their own transaction, then the e-mails."""
    with bastion.session() as session:
        escalated = check_clocks(session, now=now, marks=bastion.settings.order_escalation_marks)
    mailer = mailer_for(bastion)
    if mailer is not None:
        send_pending_emails(bastion, mailer, now)
    return escalated
