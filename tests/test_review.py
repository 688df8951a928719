"""Review cases: queues by priority, exclusive claims with a timeout, audited decisions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bastion.db.base import utcnow
from bastion.db.models import AuditEvent, Decision, Delivery, Item
from bastion.errors import Conflict, InvalidInput
from bastion.review.cases import claim, decide, queue
from bastion.runtime import Bastion


def _case(bastion: Bastion, external_id: str, priority: float, name: str = "general") -> int:
    with bastion.session() as session:
        item = Item(
            platform="acme",
            external_id=external_id,
            kind="url",
            content_sha256=external_id.ljust(64, "0"),
            verdict="review",
            queue=name,
            priority=priority,
            status="scanned",
            received_at=utcnow(),
        )
        session.add(item)
        session.flush()
        return item.id


def test_queue_is_ordered_by_priority(bastion: Bastion) -> None:
    low, high = _case(bastion, "low", 1.0), _case(bastion, "high", 4.5)
    _case(bastion, "other", 9.0, name="urgent")
    with bastion.session() as session:
        assert [i.id for i in queue(session, "general")] == [high, low]
        assert len(queue(session)) == 3


def test_two_moderators_never_decide_the_same_case(bastion: Bastion) -> None:
    case = _case(bastion, "c1", 2.0)
    with bastion.session() as session:
        claim(session, case, "user:ana")
    with bastion.session() as session, pytest.raises(Conflict) as taken:
        claim(session, case, "user:ben")
    assert taken.value.details == {"claimed_by": "user:ana"}
    with bastion.session() as session, pytest.raises(Conflict, match="claimed by user:ana"):
        decide(session, case, "user:ben", "remove")
    with bastion.session() as session:
        decision = decide(session, case, "user:ana", "remove", note="recruitment poster")
        assert decision.automation == "none"
    with bastion.session() as session, pytest.raises(Conflict, match="already decided"):
        decide(session, case, "user:ana", "leave_up")
    with bastion.session() as session:
        assert queue(session) == []
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions == ["case.claim", "case.decide"]
        delivery = session.scalars(select(Delivery)).one()
        assert delivery.event == "decision.remove"
        from bastion.pipeline.intake import get_item, item_public

        assert item_public(get_item(session, case))["decision"]["outcome"] == "remove"
        assert delivery.payload["external_id"] == "c1"


def test_an_expired_claim_can_be_taken_over(bastion: Bastion) -> None:
    case = _case(bastion, "c2", 2.0)
    with bastion.session() as session:
        claim(session, case, "user:ana", ttl=timedelta(seconds=-1))  # already expired
    with bastion.session() as session:
        assert claim(session, case, "user:ben").claimed_by == "user:ben"
    with bastion.session() as session, pytest.raises(Conflict):
        decide(session, case, "user:ana", "remove")


def test_not_terrorist_content_needs_a_reason(bastion: Bastion) -> None:
    case = _case(bastion, "c3", 2.0)
    with bastion.session() as session:
        claim(session, case, "user:ana")
    with bastion.session() as session, pytest.raises(InvalidInput, match="journalism"):
        decide(session, case, "user:ana", "not_tvec")
    with bastion.session() as session:
        decision = decide(session, case, "user:ana", "not_tvec", exclusion="journalism")
        assert decision.exclusion == "journalism"


def test_a_decision_made_on_a_stale_read_loses(bastion: Bastion) -> None:
    # A double-click or a retried request: the second decision was prepared while the case
    # still looked undecided, and must not become a second final decision.
    case = _case(bastion, "race", 2.0)
    with bastion.session() as session:
        claim(session, case, "user:ana")
    late = bastion.sessions()
    try:
        assert late.get(Item, case).decision is None  # type: ignore[union-attr]
        with bastion.session() as session:
            decide(session, case, "user:ana", "remove")
        with pytest.raises(Conflict, match="already decided"):
            decide(late, case, "user:ana", "leave_up")
        late.rollback()
    finally:
        late.close()
    with bastion.session() as session:
        assert [d.outcome for d in session.scalars(select(Decision))] == ["remove"]
        assert [d.event for d in session.scalars(select(Delivery))] == ["decision.remove"]


def test_only_review_cases_can_be_claimed(bastion: Bastion) -> None:
    with bastion.session() as session:
        item = Item(
            platform="acme",
            external_id="plain",
            kind="url",
            content_sha256="p" * 64,
            verdict="ignore",
            status="scanned",
            received_at=utcnow(),
        )
        session.add(item)
        session.flush()
        plain = item.id
    with bastion.session() as session, pytest.raises(Conflict, match="not waiting for review"):
        claim(session, plain, "user:ana")
