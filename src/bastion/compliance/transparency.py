"""The transparency report (TCO Art. 7, DSA Art. 15): what was removed or disabled in a period,
by source, category and automation; removal orders and why some were not executed;
complaints and reinstatements; and error and overturn rates by language and by source, so
that over-enforcement against one language or community shows.

`build_report` only reads. Counts that need no JSON are aggregated in SQL; the rest (a
decision's source, category and language live in JSON columns) is read in pages of
decisions by keyset, so memory stays flat on big tables, with portable SQL only (SQLite and
PostgreSQL). The result is JSON-ready and its keys are stable (see `VERSION`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    MetaData,
    Table,
    and_,
    case,
    exists,
    func,
    inspect,
    null,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from bastion import __version__
from bastion.classify.evaluation import wilson
from bastion.compliance.orders import OBSTACLES, exposure
from bastion.db.base import utcnow
from bastion.db.models import Decision, Item, ItemMatch, ItemSignal, RemovalOrder
from bastion.errors import InvalidInput

VERSION = 1
SOURCES = ("order", "hash_match", "classifier", "user_flag", "other")
OWN_DETECTION = ("hash_match", "classifier")
CATEGORIES = ("a", "b", "c", "d", "e", "unknown")
AUTOMATION = ("full", "partial", "none")
OUTCOMES = ("remove", "restrict", "leave_up", "escalate", "not_tvec", "reinstate")
REMOVALS = ("remove", "restrict")
REVIEWED = ("remove", "restrict", "leave_up", "not_tvec")
WRONG = ("leave_up", "not_tvec")
# A later decision with one of these outcomes reverses a removal.
REVERSALS = ("reinstate", "leave_up", "not_tvec")
# Matches against known content (bastion.policy.model.HASH_SIGNALS, plus video PDQ).
HASH_TYPES = (
    "pdq",
    "vpdq",
    "md5",
    "sha256",
    "url",
    "url_md5",
    "url_sha256",
    "text_sha256",
    "text_minhash",
)
PAGE = 1000
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LANG = re.compile(r"^[a-z]{2,3}(?:[-_][a-z0-9]{2,8})?$")

METHOD = [
    "Period: decisions whose time falls in [from 00:00 UTC, the day after `to` 00:00 UTC); "
    "both dates are whole UTC days and `to` is included.",
    "A removal is a decision with outcome remove or restrict (content removed or access "
    "disabled). Each decision counts once; Bastion records no second removal of content "
    "that is already removed.",
    "Source of a decision: `order` when a TCO removal order decided it; `hash_match` when the "
    "item matched known content in a bank (PDQ, vPDQ, MD5, SHA-256, URL, exact or "
    "near-duplicate text; allow-list and suppressed matches excluded); `classifier` when it did "
    "not, but the text classifier put it in the review or high band; `user_flag` when the "
    "platform sent it as flagged by a user; `other` otherwise. Own detection = hash_match + "
    "classifier.",
    "Category: the TCO Art. 2(7) point (a-e) of the closest matched bank entry, else the "
    "classifier's likely category, else the first category named by the removal order, else "
    "unknown.",
    "Language: the language the text classifier identified, else the language the platform "
    "gave, else unknown (images and URLs are usually unknown).",
    "Error rate: among decisions a person took (automation none or partial; outcomes remove, "
    "restrict, leave_up or not_tvec), the share decided leave_up or not_tvec: the detection "
    "flagged something that was not terrorist content. Removal orders are not a detection and "
    "no moderator reviews them, so they are left out of the error rate.",
    "Overturn rate: among removals in the period, the share reversed by a later decision "
    "(reinstate, leave_up or not_tvec) or by a complaint decided `reinstate`, as known when "
    "the report was made; a report made again later may show more.",
    "Complaints: those received in the period, by outcome (`open` while undecided).",
    "Every rate comes with its count (n) and a Wilson 95% interval: with small n the interval "
    "is wide and the rate says little.",
    "Orders: received in the period; executed within one hour when the removal was confirmed "
    "by the deadline (the clock restarts after an Annex III obstacle ends); not executed with "
    "the Annex III reason, `incomplete` (information missing) or `pending` (clock running).",
]


@dataclass(frozen=True)
class Fact:
    """One decision as the report sees it."""

    outcome: str
    automation: str
    source: str
    category: str
    language: str
    reversed: bool


def parse_period(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """`YYYY-MM-DD` days (UTC) to the half-open interval [start 00:00, day after end 00:00)."""
    days: list[date] = []
    for name, value in (("from", start), ("to", end)):
        if not value or not _DAY.match(value):
            raise InvalidInput(f"`{name}` must be a date as YYYY-MM-DD; got {value!r}.")
        try:
            days.append(date.fromisoformat(value))
        except ValueError as exc:
            raise InvalidInput(f"`{name}` is not a real date: {value!r} ({exc}).") from exc
    first, last = days
    if last < first:
        raise InvalidInput(f"`to` ({last}) is before `from` ({first}).")
    if last == date.max:
        raise InvalidInput("`to` must be before 9999-12-31.")
    return _midnight(first), _midnight(last + timedelta(days=1))


def default_period(today: date | None = None) -> tuple[str, str]:
    """The last 12 months: 365 days up to and including today (UTC)."""
    today = today or utcnow().date()
    return (today - timedelta(days=364)).isoformat(), today.isoformat()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def build_report(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """The transparency report for decisions and orders in [start, end)."""
    facts = list(_facts(session, start, end))
    removals = [f for f in facts if f.outcome in REMOVALS]
    reviewed = [
        f
        for f in facts
        if f.automation in ("none", "partial") and f.outcome in REVIEWED and f.source != "order"
    ]
    complaints = _complaints(session, start, end)
    reinstated = sum(1 for f in facts if f.outcome == "reinstate")
    return {
        "report": "transparency",
        "version": VERSION,
        "bastion": __version__,
        "regulations": ["Regulation (EU) 2021/784, Art. 7", "Regulation (EU) 2022/2065, Art. 15"],
        "period": {
            "from": start.date().isoformat(),
            "to": (end - timedelta(days=1)).date().isoformat(),
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
        "generated_at": utcnow().replace(microsecond=0).isoformat(),
        "decisions": _decision_counts(session, start, end),
        "removals": {
            "total": len(removals),
            "by_source": _count(removals, "source", SOURCES),
            "own_detection": sum(1 for f in removals if f.source in OWN_DETECTION),
            "by_category": _count(removals, "category", CATEGORIES),
            "by_automation": _count(removals, "automation", AUTOMATION),
            "by_outcome": _count(removals, "outcome", REMOVALS),
        },
        "orders": _orders(session, start, end),
        "complaints": complaints,
        "reinstatements": {"decisions": reinstated, "complaints": complaints["reinstate"]},
        "rates": {
            "error": _rates(reviewed, lambda f: f.outcome in WRONG),
            "overturn": _rates(removals, lambda f: f.reversed),
        },
        "method": METHOD,
    }


def _count(facts: Iterable[Fact], field: str, keys: Iterable[str]) -> dict[str, int]:
    counts = Counter(str(getattr(f, field)) for f in facts)
    out = {key: counts.pop(key, 0) for key in keys}
    return out | dict(sorted(counts.items()))


def _decision_counts(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    rows = session.execute(
        select(Decision.outcome, Decision.automation, func.count())
        .where(Decision.created_at >= start, Decision.created_at < end)
        .group_by(Decision.outcome, Decision.automation)
    ).all()
    by_outcome: Counter[str] = Counter()
    by_automation: Counter[str] = Counter()
    for outcome, automation, count in rows:
        by_outcome[outcome] += count
        by_automation[automation] += count
    return {
        "total": sum(by_outcome.values()),
        "by_outcome": _fixed(by_outcome, OUTCOMES),
        "by_automation": _fixed(by_automation, AUTOMATION),
    }


def _fixed(counts: Counter[str], keys: Iterable[str]) -> dict[str, int]:
    rest = {k: v for k, v in sorted(counts.items()) if k not in keys}
    return {k: counts.get(k, 0) for k in keys} | rest


def _facts(session: Session, start: datetime, end: datetime) -> Iterator[Fact]:
    """Every decision in the period, a page at a time (keyset on the id: other queries can
    run between pages on any backend, which an open streaming cursor does not allow)."""
    later = aliased(Decision)
    reversed_later: ColumnElement[bool] = exists().where(
        later.item_id == Decision.item_id, later.id > Decision.id, later.outcome.in_(REVERSALS)
    )
    complaints = _complaints_table(session)
    if complaints is not None and {"decision_id", "outcome"} <= set(complaints.c.keys()):
        # A complaint that reinstated the content reverses the decision it was against.
        reinstated = exists().where(
            complaints.c["decision_id"] == Decision.id, complaints.c["outcome"] == "reinstate"
        )
        reversed_later = or_(reversed_later, reinstated)
    query = (
        select(
            Decision.id,
            Decision.item_id,
            Decision.outcome,
            Decision.automation,
            Decision.decided_by,
            Item.context,
            reversed_later.label("reversed"),
        )
        .join(Item, Item.id == Decision.item_id)
        .where(Decision.created_at >= start, Decision.created_at < end)
        .order_by(Decision.id)
        .limit(PAGE)
    )
    last = 0
    while True:
        rows = session.execute(query.where(Decision.id > last)).all()
        if not rows:
            return
        last = rows[-1].id
        items = _item_facts(session, {r.item_id for r in rows})
        orders = _order_categories(session, [r.decided_by for r in rows])
        for row in rows:
            yield _fact(row, items.get(row.item_id, {}), orders)
        if len(rows) < PAGE:
            return


def _item_facts(session: Session, ids: set[int]) -> dict[int, dict[str, Any]]:
    """For each item: its closest hash match's category and its classifier result."""
    out: dict[int, dict[str, Any]] = {i: {} for i in ids}
    matches = session.execute(
        select(ItemMatch.item_id, ItemMatch.labels)
        .where(
            ItemMatch.item_id.in_(ids),
            ItemMatch.signal_type.in_(HASH_TYPES),
            ItemMatch.allow.is_(False),
            ItemMatch.suppressed.is_(False),
        )
        .order_by(ItemMatch.item_id, ItemMatch.distance, ItemMatch.id)
    )
    for item_id, labels in matches:
        facts = out[item_id]
        facts["hash_match"] = True
        category = labels.get("category") if isinstance(labels, dict) else None
        if "match_category" not in facts and category:
            facts["match_category"] = category
    signals = session.execute(
        select(ItemSignal.item_id, ItemSignal.value).where(
            ItemSignal.item_id.in_(ids), ItemSignal.signal_type == "text_classifier"
        )
    )
    for item_id, value in signals:
        try:
            result = json.loads(value)
        except ValueError:
            continue
        if isinstance(result, dict):
            out[item_id]["classifier"] = result
    return out


def _order_categories(session: Session, deciders: Iterable[str]) -> dict[str, str]:
    ids = {int(d[6:]) for d in deciders if d.startswith("order:") and d[6:].isdigit()}
    if not ids:
        return {}
    rows = session.execute(
        select(RemovalOrder.id, RemovalOrder.categories).where(RemovalOrder.id.in_(ids))
    )
    return {f"order:{i}": cats[0] for i, cats in rows if isinstance(cats, list) and cats}


def _fact(row: Any, item: dict[str, Any], orders: dict[str, str]) -> Fact:
    context = row.context if isinstance(row.context, dict) else {}
    classifier = item.get("classifier") or {}
    flagged = classifier.get("band") in ("review", "high")
    if row.decided_by.startswith("order:"):
        source = "order"
    elif item.get("hash_match"):
        source = "hash_match"
    elif flagged:
        source = "classifier"
    elif context.get("source") == "user_flag":
        source = "user_flag"
    else:
        source = "other"
    category = (
        item.get("match_category")
        or (classifier.get("category") if flagged else None)
        or orders.get(row.decided_by)
    )
    return Fact(
        outcome=row.outcome,
        automation=row.automation,
        source=source,
        category=category if category in CATEGORIES else "unknown",
        language=_language(classifier.get("lang"), context.get("language")),
        reversed=bool(row.reversed),
    )


def _language(*candidates: Any) -> str:
    for value in candidates:
        if isinstance(value, str) and _LANG.match(value.strip().lower()):
            return value.strip().lower().replace("_", "-")
    return "unknown"


def _rates(facts: list[Fact], hit: Any) -> dict[str, Any]:
    """A rate overall, by language and by source, each with n and a Wilson 95% interval."""

    def rows(field: str) -> list[dict[str, Any]]:
        totals: Counter[str] = Counter()
        hits: Counter[str] = Counter()
        for fact in facts:
            key = getattr(fact, field)
            totals[key] += 1
            hits[key] += bool(hit(fact))
        ordered = sorted(totals, key=lambda k: (-totals[k], k))
        return [{"key": k, **_rate(hits[k], totals[k])} for k in ordered]

    return {
        "all": _rate(sum(bool(hit(f)) for f in facts), len(facts)),
        "by_language": rows("language"),
        "by_source": rows("source"),
    }


def _rate(hits: int, total: int) -> dict[str, Any]:
    low, high = wilson(hits, total)
    return {
        "n": total,
        "hits": hits,
        "rate": round(hits / total, 4) if total else None,
        "ci95": [round(low, 4), round(high, 4)] if total else None,
    }


def _orders(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    on_time = and_(
        RemovalOrder.removed_at.is_not(None), RemovalOrder.removed_at <= RemovalOrder.deadline_at
    )
    rows = session.execute(
        select(
            RemovalOrder.status,
            RemovalOrder.obstacle,
            func.count(),
            func.sum(case((on_time, 1), else_=0)),
            func.sum(case((RemovalOrder.final_at.is_not(None), 1), else_=0)),
        )
        .where(RemovalOrder.received_at >= start, RemovalOrder.received_at < end)
        .group_by(RemovalOrder.status, RemovalOrder.obstacle)
    ).all()
    by_status: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    executed = within = final = 0
    for status, obstacle, count, in_time, finals in rows:
        by_status[status] += count
        final += int(finals or 0)
        if status == "removed":
            executed += count
            within += int(in_time or 0)
        elif obstacle:
            reasons[obstacle] += count
        else:
            reasons["incomplete" if status == "incomplete" else "pending"] += count
    return {
        "received": sum(by_status.values()),
        "by_status": dict(sorted(by_status.items())),
        "executed": executed,
        "within_one_hour": within,
        "late": executed - within,
        "not_executed": {
            "total": sum(reasons.values()),
            "by_reason": _fixed(reasons, (*OBSTACLES, "incomplete", "pending")),
        },
        "incomplete": by_status.get("incomplete", 0),
        "final": final,
        "exposure": exposure(session, now=min(end, utcnow())),
    }


def _complaints_table(session: Session) -> Table | None:
    """The complaints table as the database has it, or None where it does not exist (read by
    reflection, so the report works before, with and after the complaints feature)."""
    connection = session.connection()
    if not inspect(connection).has_table("complaints"):
        return None
    return Table("complaints", MetaData(), autoload_with=connection)


def _complaints(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """Complaints (Art. 10) by outcome, read defensively: the table may not exist yet."""
    table = _complaints_table(session)
    if table is None:
        return {
            "recorded": False,
            "note": "complaints not recorded",
            "total": 0,
            "reinstate": 0,
            "uphold": 0,
            "by_outcome": {},
        }
    when = next(
        (table.c[n] for n in ("created_at", "received_at", "filed_at") if n in table.c), None
    )
    if "outcome" in table.c:
        query = select(table.c["outcome"], func.count()).group_by(table.c["outcome"])
    else:
        query = select(null(), func.count()).select_from(table)
    if when is not None:
        query = query.where(when >= start, when < end)
    counts: Counter[str] = Counter()
    for outcome, count in session.execute(query).all():
        counts[str(outcome or "open")] += int(count)
    return {
        "recorded": True,
        "note": None if when is not None else "the complaints table has no time column",
        "total": sum(counts.values()),
        "reinstate": counts.get("reinstate", 0),
        "uphold": counts.get("uphold", 0),
        "by_outcome": dict(sorted(counts.items())),
    }
