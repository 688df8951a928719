"""The one-hour clock: page on arrival, then escalate open removal orders before their deadline
and when overdue, by webhook to the platform and by e-mail to the on-call address. Runs in a
background thread (compliance/worker.py) and from `bastion order check`; each escalation is
sent once per channel, and a failed e-mail is tried again on the next pass."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.actions.webhooks import enqueue
from bastion.audit import record
from bastion.compliance.orders import public_order
from bastion.db.base import utcnow
from bastion.db.models import RemovalOrder
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


def due(order: RemovalOrder, now: datetime, marks: tuple[int, ...]) -> list[str]:
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
    fresh = [level for level in levels if level not in _sent_levels(order)]
    return fresh[-1:] if fresh else []


def _sent_levels(order: RemovalOrder) -> set[str]:
    return {mark.split(":")[0] for mark in order.escalations if mark.endswith(":webhook")}


def check_clocks(
    session: Session, *, now: datetime | None = None, marks: tuple[int, ...], mailer: Mailer | None
) -> int:
    """One pass: escalate every open order that needs it; returns how many escalations."""
    now = now or utcnow()
    orders = session.scalars(
        select(RemovalOrder)
        .where(RemovalOrder.status.in_(("executing", "incomplete")))
        .order_by(RemovalOrder.deadline_at, RemovalOrder.id)
    )
    sent = 0
    for order in orders:
        for level in due(order, now, marks):
            _escalate(session, order, level, now)
            sent += 1
        if mailer is not None:
            _email_pending(order, mailer, now)
    return sent


def _escalate(session: Session, order: RemovalOrder, level: str, now: datetime) -> None:
    summary = public_order(order, now)
    enqueue(session, "order.escalation", {"level": level, "order": summary})
    # Reassign rather than append: the JSON column only notices a new list.
    order.escalations = [*order.escalations, f"{level}:webhook", f"{level}:email-pending"]
    record(session, "clock", "order.escalate", f"order:{order.id}", {"level": level})


def _email_pending(order: RemovalOrder, mailer: Mailer, now: datetime) -> None:
    pending = [m for m in order.escalations if m.endswith(":email-pending")]
    for mark in pending:
        level = mark.split(":")[0]
        try:
            mailer.send(_subject(order, level), _body(order, level, now))
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("on-call e-mail for order %s failed (%s); retrying", order.id, exc)
            return
        order.escalations = [f"{level}:email" if m == mark else m for m in order.escalations]


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
    """One pass in its own transaction."""
    marks = bastion.settings.order_escalation_marks
    with bastion.session() as session:
        return check_clocks(session, now=now, marks=marks, mailer=mailer_for(bastion))
