"""Notices to the uploader (TCO Art. 11, DSA Art. 17) and complaints against removals
(TCO Art. 10, DSA Art. 20), through the real app on a real database: decisions taken in the
console and over the API, removal orders from an authority token, complaints forwarded by the
platform, reviewed by someone other than the original decider."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from bastion.app import create_app
from bastion.compliance import complaints
from bastion.compliance.notices import (
    notify_due,
    record_notice,
    release_due_notices,
    renew_non_disclosure,
)
from bastion.db.base import utcnow
from bastion.db.models import AuditEvent, Complaint, Decision, Delivery, Item, Notice, RemovalOrder
from bastion.errors import Conflict, InvalidInput
from bastion.runtime import Bastion
from builders.api import add_file, image_bytes, make_bank
from builders.console import PASSWORD, csrf_of, login, make_user
from conftest import _token

BANK = "iron-dawn-bank"  # a distinctive name: notices must never mention it
HTTPS = "https://testserver"


@pytest.fixture
def app(bastion: Bastion) -> FastAPI:
    """The real app."""
    return create_app(bastion)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTPS client (console cookies are Secure) with the app's lifespan."""
    with TestClient(app, base_url=HTTPS, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def authority(bastion: Bastion) -> dict[str, str]:
    return _token(bastion, "authority")


def browser(app: FastAPI, bastion: Bastion, username: str, role: str = "moderator") -> Browser:
    """A console user logged in with a browser of their own."""
    make_user(bastion, username, role)
    web = TestClient(app, base_url=HTTPS, follow_redirects=False)
    return Browser(web, login(web, username))


class Browser:
    """A logged-in console client and its CSRF token."""

    def __init__(self, web: TestClient, csrf: str) -> None:
        self.web, self.csrf = web, csrf

    def post(self, path: str, **data: str) -> Any:
        return self.web.post(path, data={"csrf_token": self.csrf, **data})


def review_item(
    client: TestClient, admin: dict[str, str], platform: dict[str, str], seed: int
) -> int:
    """An image the platform uploads that matches a category (c) entry: a review case."""
    if client.get(f"/v1/banks/{BANK}", headers=admin).status_code == 404:
        make_bank(client, admin, BANK)
    data = image_bytes(seed)
    add_file(client, admin, BANK, data, category="c")
    response = client.post(
        "/v1/items",
        files={"file": (f"u-{seed}.jpg", data, "image/jpeg")},
        data={"external_id": f"post-{seed}"},
        headers=platform,
    )
    assert response.status_code == 201, response.text
    assert response.json()["verdict"]["outcome"] == "review"
    return int(response.json()["id"])


def console_decide(moderator: Browser, case: int, outcome: str = "remove") -> None:
    """Claim and decide a case through the console's forms."""
    assert moderator.post(f"/console/cases/{case}/claim").status_code == 303
    response = moderator.post(f"/console/cases/{case}/decision", outcome=outcome)
    assert response.status_code == 303, response.text


def api_decide(client: TestClient, headers: dict[str, str], case: int, outcome: str) -> int:
    """Claim and decide a case over the API; returns the decision id."""
    assert client.post(f"/v1/cases/{case}/claim", headers=headers).status_code == 200
    body: dict[str, Any] = {"outcome": outcome}
    if outcome == "not_tvec":
        body["exclusion"] = "journalism"
    response = client.post(f"/v1/cases/{case}/decision", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def latest(bastion: Bastion, item_id: int) -> Decision:
    with bastion.session() as session:
        decision = complaints.latest_decision(session, item_id)
        assert decision is not None
        session.expunge(decision)
        return decision


def notify(bastion: Bastion, item_id: int, now: datetime | None = None) -> Notice | None:
    """What the lead's wiring does after a decision: record the uploader's notice."""
    with bastion.session() as session:
        decision = complaints.latest_decision(session, item_id)
        assert decision is not None
        notice = record_notice(
            session,
            decision,
            complaint_info=bastion.settings.complaint_info,
            complaint_days=bastion.settings.complaint_days,
            now=now,
        )
        if notice is not None:
            session.flush()
            session.expunge(notice)
        return notice


def deliveries(bastion: Bastion, event: str) -> list[dict[str, Any]]:
    with bastion.session() as session:
        rows = session.scalars(
            select(Delivery).where(Delivery.event == event).order_by(Delivery.id)
        )
        return [d.payload for d in rows]


def audit(bastion: Bastion, action: str) -> list[AuditEvent]:
    with bastion.session() as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        session.expunge_all()
        return rows


def file(
    client: TestClient, headers: dict[str, str], text: str = "This was news footage.", **ref: Any
) -> Any:
    return client.post("/v1/complaints", json={"text": text, **ref}, headers=headers)


def send_order(
    client: TestClient, authority: dict[str, str], url: str, reference: str, **extra: Any
) -> dict[str, Any]:
    body = {
        "reference": reference,
        "authority": "Office central (test)",
        "member_state": "FR",
        "issued_at": "2026-11-26T09:00:00+01:00",
        "urls": [url],
        "categories": ["a"],
        "reasons": "Glorification of an attack by the (invented) Iron Dawn Brigade.",
        "redress": "Appeal to the administrative court of Paris within two months.",
        **extra,
    }
    response = client.post("/v1/orders", json=body, headers=authority)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def url_item(client: TestClient, platform: dict[str, str], n: int) -> int:
    response = client.post(
        "/v1/items",
        json={"external_id": f"link-{n}", "url": f"https://videos.example.net/watch?v={n}"},
        headers=platform,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


# --- Notices -------------------------------------------------------------------------------


def test_a_removal_notice_goes_to_the_platform_at_once(
    app: FastAPI,
    client: TestClient,
    bastion: Bastion,
    admin: dict[str, str],
    platform: dict[str, str],
) -> None:
    mona = browser(app, bastion, "mona")
    case = review_item(client, admin, platform, seed=1)
    console_decide(mona, case)
    notice = notify(bastion, case)
    assert notice is not None and notice.status == "sent" and notice.sent_at is not None
    assert notice.hold_until is None
    [sent] = deliveries(bastion, "notice.uploader")
    assert sent["notice_id"] == notice.id
    assert sent["item_id"] == case and sent["external_id"] == "post-1"
    assert sent["platform"] == "acme" and sent["outcome"] == "remove"
    assert sent["automated"] is False
    assert "Article 2(7)" in sent["ground"] and "participate" in sent["ground"]
    assert [c["point"] for c in sent["categories"]] == ["c"]
    assert sent["complaint"] == {
        "possible": True,
        "how": bastion.settings.complaint_info,
        "decided_within_days": 14,
    }
    text = json.dumps(sent)
    assert "mona" not in text and BANK not in text  # no moderator, no bank named
    # Once per decision; a decision that restricts nothing gets none.
    assert notify(bastion, case) is not None
    assert len(deliveries(bastion, "notice.uploader")) == 1
    other = review_item(client, admin, platform, seed=2)
    console_decide(mona, other, "leave_up")
    assert notify(bastion, other) is None


def test_an_automatic_removal_notice_says_it_was_automated(
    client: TestClient, bastion: Bastion, admin: dict[str, str], platform: dict[str, str]
) -> None:
    make_bank(client, admin, "vetted", vetted=True)
    policy = '[[rule]]\nname = "vetted"\nbanks = ["vetted"]\nmax_distance = 8\naction = "auto"\n'
    assert client.put("/v1/policy", content=policy.encode(), headers=admin).status_code == 200
    add_file(client, admin, "vetted", image_bytes(3), category="a")
    item = client.post(
        "/v1/items",
        data={"external_id": "auto-1"},
        files={"file": ("u.jpg", image_bytes(3))},
        headers=platform,
    ).json()
    assert item["decision"]["outcome"] == "remove"
    notice = notify(bastion, item["id"])
    assert notice is not None
    assert notice.payload["automated"] is True and notice.payload["automation"] == "full"
    assert "policy" not in json.dumps(notice.payload)


def test_an_order_notice_is_held_during_non_disclosure_then_released(
    client: TestClient,
    bastion: Bastion,
    authority: dict[str, str],
    platform: dict[str, str],
) -> None:
    item = url_item(client, platform, 1)
    now = utcnow()
    until = (now + timedelta(days=7)).replace(microsecond=0)
    order = send_order(
        client,
        authority,
        "https://videos.example.net/watch?v=1",
        "FR-ND-1",
        non_disclosure_until=until.isoformat(),
    )
    decision = latest(bastion, item)
    assert decision.decided_by == f"order:{order['id']}"
    notice = notify(bastion, item, now=now)
    assert notice is not None and notice.status == "held" and notice.hold_until == until
    assert deliveries(bastion, "notice.uploader") == []
    assert notice.payload["ground"] == (
        "removal order FR-ND-1 issued by Office central (test) (FR) under Regulation (EU) 2021/784"
    )
    assert notice.payload["order"]["reasons"].startswith("Glorification")
    assert "administrative court" in notice.payload["order"]["redress"]
    assert notice.payload["complaint"]["possible"] is False
    assert [a.details["until"] for a in audit(bastion, "notice.hold")] == [until.isoformat()]

    with bastion.session() as session:
        assert release_due_notices(session, now + timedelta(days=3)) == 0
        row = session.get(RemovalOrder, order["id"])
        assert row is not None
        renewed = until + timedelta(weeks=6)
        renew_non_disclosure(session, row, renewed, actor="user:root", now=now)
        assert row.non_disclosure_renewals == 1
        assert session.scalars(select(Notice)).one().hold_until == renewed
        # Art. 11(3): renewable once.
        with pytest.raises(Conflict, match="renewed once") as refused:
            renew_non_disclosure(session, row, renewed + timedelta(days=1), actor="x", now=now)
        assert refused.value.code == "non_disclosure_renewed"
    [event] = audit(bastion, "order.non_disclosure_renew")
    assert event.actor == "user:root" and event.details["notices_held"] == 1

    with bastion.session() as session:
        # The first period's end has passed, but the renewal holds the notice back.
        assert release_due_notices(session, until + timedelta(days=1)) == 0
        assert deliveries(bastion, "notice.uploader") == []
        assert release_due_notices(session, renewed + timedelta(seconds=1)) == 1
        assert release_due_notices(session, renewed + timedelta(days=1)) == 0
    [sent] = deliveries(bastion, "notice.uploader")
    assert sent["item_id"] == item and sent["ground"].startswith("removal order FR-ND-1")
    with bastion.session() as session:
        assert session.scalars(select(Notice)).one().status == "sent"


def test_a_renewal_is_at_most_six_weeks_and_only_while_it_runs(
    client: TestClient, bastion: Bastion, authority: dict[str, str], platform: dict[str, str]
) -> None:
    url_item(client, platform, 2)
    until = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    order = send_order(
        client,
        authority,
        "https://videos.example.net/watch?v=2",
        "FR-ND-2",
        non_disclosure_until=until.isoformat(),
    )
    with bastion.session() as session:
        row = session.get(RemovalOrder, order["id"])
        assert row is not None
        too_long = until + timedelta(weeks=6, seconds=1)
        with pytest.raises(InvalidInput, match="at most six weeks"):
            renew_non_disclosure(session, row, too_long, actor="x")
        with pytest.raises(InvalidInput, match="after the current period"):
            renew_non_disclosure(session, row, until - timedelta(hours=1), actor="x")
        with pytest.raises(Conflict, match="ended"):
            renew_non_disclosure(session, row, until + timedelta(days=1), actor="x", now=until)
        assert row.non_disclosure_renewals == 0


def test_an_order_without_non_disclosure_is_notified_at_once(
    client: TestClient, bastion: Bastion, authority: dict[str, str], platform: dict[str, str]
) -> None:
    item = url_item(client, platform, 3)
    send_order(client, authority, "https://videos.example.net/watch?v=3", "FR-3")
    notice = notify(bastion, item)
    assert notice is not None and notice.status == "sent"
    [sent] = deliveries(bastion, "notice.uploader")
    assert sent["order"]["reference"] == "FR-3"


def test_every_removal_path_gets_its_notice_from_the_background_pass(
    client: TestClient,
    bastion: Bastion,
    admin: dict[str, str],
    platform: dict[str, str],
    authority: dict[str, str],
) -> None:
    reviewed = review_item(client, admin, platform, seed=4)
    api_decide(client, admin, reviewed, "remove")
    ordered = url_item(client, platform, 4)
    send_order(client, authority, "https://videos.example.net/watch?v=4", "FR-W-4")
    make_bank(client, admin, "vetted", vetted=True)
    policy = '[[rule]]\nname = "vetted"\nbanks = ["vetted"]\nmax_distance = 8\naction = "auto"\n'
    assert client.put("/v1/policy", content=policy.encode(), headers=admin).status_code == 200
    add_file(client, admin, "vetted", image_bytes(5), category="a")
    auto = client.post(
        "/v1/items",
        data={"external_id": "auto-5"},
        files={"file": ("u.jpg", image_bytes(5))},
        headers=platform,
    ).json()["id"]
    with bastion.session() as session:
        assert notify_due(session, complaint_info="Use the appeal form.") == 3
        assert notify_due(session, complaint_info="Use the appeal form.") == 0
        notices = {n.item_id: n.status for n in session.scalars(select(Notice))}
    assert notices == {reviewed: "sent", ordered: "sent", auto: "sent"}
    assert len(deliveries(bastion, "notice.uploader")) == 3


# --- Complaints ----------------------------------------------------------------------------


def test_a_complaint_is_reviewed_by_someone_else_and_reinstates(
    app: FastAPI,
    client: TestClient,
    bastion: Bastion,
    admin: dict[str, str],
    platform: dict[str, str],
) -> None:
    mona, rita = browser(app, bastion, "mona"), browser(app, bastion, "rita")
    case = review_item(client, admin, platform, seed=10)
    console_decide(mona, case)
    before = utcnow()
    filed = file(client, platform, "It is a news report about the attack.", item_id=case)
    assert filed.status_code == 201, filed.text
    body = filed.json()
    complaint_id = body["id"]
    assert body["status"] == "open" and body["overdue"] is False and body["days_left"] == 14
    received = datetime.fromisoformat(body["received_at"])
    assert received >= before
    assert datetime.fromisoformat(body["due_at"]) - received == timedelta(days=14)
    assert "original_decider" not in body  # the platform is not told who decided

    listing = client.get("/v1/complaints?status=open", headers=admin).json()["complaints"]
    assert [c["id"] for c in listing] == [complaint_id]
    assert listing[0]["original_decider"] == "user:mona"

    # The original decider sees it, but no form, and cannot claim or decide it.
    page = mona.web.get(f"/console/complaints/{complaint_id}")
    assert page.status_code == 200
    assert 'id="own-decision"' in page.text and 'id="complaint-form"' not in page.text
    assert 'id="claim"' not in page.text
    refused = mona.post(f"/console/complaints/{complaint_id}/claim")
    assert refused.status_code == 409 and "another reviewer" in refused.text
    refused = mona.post(
        f"/console/complaints/{complaint_id}/decision", outcome="reinstate", reasons="Mine."
    )
    assert refused.status_code == 409

    # Someone else claims, reveals and reinstates through the forms.
    queue = rita.web.get("/console/complaints")
    assert queue.status_code == 200 and f"/console/complaints/{complaint_id}" in queue.text
    assert "14 days left" in queue.text
    page = rita.web.get(f"/console/complaints/{complaint_id}")
    assert "It is a news report about the attack." in page.text
    assert f"/console/cases/{case}/media?view=safe" in page.text  # blurred by default
    assert 'id="claim"' in page.text
    csrf = csrf_of(page.text)
    assert (
        rita.web.post(
            f"/console/complaints/{complaint_id}/claim", data={"csrf_token": csrf}
        ).status_code
        == 303
    )
    page = rita.web.get(f"/console/complaints/{complaint_id}")
    assert 'id="complaint-form"' in page.text and 'id="reveal"' in page.text
    assert rita.post(f"/console/complaints/{complaint_id}/reveal").status_code == 303
    page = rita.web.get(f"/console/complaints/{complaint_id}")
    assert f"/console/cases/{case}/media?view=full" in page.text
    assert rita.web.get(f"/console/cases/{case}/media?view=full").status_code == 200
    missing = rita.post(f"/console/complaints/{complaint_id}/decision", outcome="reinstate")
    assert missing.status_code == 422  # reasons are required
    done = rita.post(
        f"/console/complaints/{complaint_id}/decision",
        outcome="reinstate",
        reasons="Reporting on the attack, not glorification (Art. 1(3)).",
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/console/complaints?decided={complaint_id}"

    [sent] = deliveries(bastion, "complaint.reinstate")
    assert sent["complaint_id"] == complaint_id and sent["item_id"] == case
    assert sent["external_id"] == "post-10" and sent["platform"] == "acme"
    assert "rita" not in json.dumps(sent)
    item = client.get(f"/v1/items/{case}", headers=platform).json()
    assert item["decision"]["outcome"] == "reinstate"
    reinstated = latest(bastion, case)
    assert reinstated.outcome == "reinstate" and reinstated.decided_by == "user:rita"
    assert reinstated.automation == "none" and reinstated.note and "Reporting" in reinstated.note
    [filed_event] = audit(bastion, "complaint.file")
    assert filed_event.actor.startswith("token:") and filed_event.actor.endswith(":test-platform")
    assert [e.actor for e in audit(bastion, "complaint.claim")] == ["user:rita"]
    [decided] = audit(bastion, "complaint.decide")
    assert decided.actor == "user:rita" and decided.details["outcome"] == "reinstate"
    assert decided.details["decision_id"] == reinstated.id
    assert any(
        e.details.get("complaint_id") == complaint_id for e in audit(bastion, "media.reveal")
    )

    # The platform reads its own complaint, without reviewer names.
    own = client.get(f"/v1/complaints/{complaint_id}", headers=platform).json()
    assert own["status"] == "decided" and own["outcome"] == "reinstate"
    assert "decided_by" not in own and "claim" not in own
    # Decided: no second decision, and nothing left to complain about.
    again = rita.post(f"/console/complaints/{complaint_id}/decision", outcome="uphold", reasons="x")
    assert again.status_code == 409
    assert file(client, platform, item_id=case).status_code == 422


def test_an_upheld_complaint_tells_the_platform_why(
    app: FastAPI,
    client: TestClient,
    bastion: Bastion,
    admin: dict[str, str],
    platform: dict[str, str],
) -> None:
    mona = browser(app, bastion, "mona")
    case = review_item(client, admin, platform, seed=11)
    console_decide(mona, case)
    complaint_id = file(client, platform, item_id=case).json()["id"]
    # An admin token reviews over the API: claim, then decide.
    unclaimed = client.post(
        f"/v1/complaints/{complaint_id}/decision",
        json={"outcome": "uphold", "reasons": "It glorifies the attack."},
        headers=admin,
    )
    assert unclaimed.status_code == 409 and unclaimed.json()["error"]["code"] == "not_claimed"
    claimed = client.post(f"/v1/complaints/{complaint_id}/claim", headers=admin)
    assert claimed.status_code == 200 and claimed.json()["claim"]["claimed_by"].startswith("token:")
    other = _token(bastion, "admin")
    taken = client.post(f"/v1/complaints/{complaint_id}/claim", headers=other)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "claimed"
    bad = client.post(
        f"/v1/complaints/{complaint_id}/decision",
        json={"outcome": "overturn", "reasons": "x"},
        headers=admin,
    )
    assert bad.status_code == 422
    empty = client.post(
        f"/v1/complaints/{complaint_id}/decision",
        json={"outcome": "uphold", "reasons": "  "},
        headers=admin,
    )
    assert empty.status_code == 422
    upheld = client.post(
        f"/v1/complaints/{complaint_id}/decision",
        json={"outcome": "uphold", "reasons": "It glorifies the attack."},
        headers=admin,
    )
    assert upheld.status_code == 200, upheld.text
    assert upheld.json()["outcome"] == "uphold"
    [sent] = deliveries(bastion, "complaint.upheld")
    assert sent["reasons"] == "It glorifies the attack." and sent["item_id"] == case
    assert deliveries(bastion, "complaint.reinstate") == []
    assert latest(bastion, case).outcome == "remove"
    page = mona.web.get(f"/console/complaints/{complaint_id}")
    assert 'id="outcome"' in page.text and "It glorifies the attack." in page.text


def test_the_original_decider_cannot_review_over_the_api_either(
    client: TestClient, bastion: Bastion, admin: dict[str, str], platform: dict[str, str]
) -> None:
    case = review_item(client, admin, platform, seed=12)
    api_decide(client, admin, case, "restrict")
    complaint_id = file(client, platform, item_id=case).json()["id"]
    refused = client.post(f"/v1/complaints/{complaint_id}/claim", headers=admin)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "own_decision"
    other = _token(bastion, "admin")
    assert client.post(f"/v1/complaints/{complaint_id}/claim", headers=other).status_code == 200


def test_automatic_decisions_may_be_reviewed_by_anyone() -> None:
    row = Complaint(id=1, original_decider="policy")
    complaints._not_own_decision(row, "user:policy")  # a person called policy is not the rule
    row.original_decider = "token:3:ops"
    with pytest.raises(Conflict):
        complaints._not_own_decision(row, "token:3:ops-renamed")  # same token
    complaints._not_own_decision(row, "token:4:ops")
    assert not complaints.same_reviewer("user:ana", "user:anabel")


def test_one_complaint_per_decision(
    client: TestClient, bastion: Bastion, admin: dict[str, str], platform: dict[str, str]
) -> None:
    case = review_item(client, admin, platform, seed=13)
    api_decide(client, admin, case, "remove")
    first = file(client, platform, external_id="post-13")
    assert first.status_code == 201, first.text
    assert first.json()["item_id"] == case
    second = file(client, platform, "Again.", item_id=case)
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "duplicate_complaint"
    assert error["details"]["complaint_id"] == first.json()["id"]
    assert error["details"]["url"] == f"/v1/complaints/{first.json()['id']}"


def test_removals_under_an_order_are_challenged_in_court_not_here(
    client: TestClient, bastion: Bastion, authority: dict[str, str], platform: dict[str, str]
) -> None:
    item = url_item(client, platform, 20)
    send_order(client, authority, "https://videos.example.net/watch?v=20", "FR-20")
    refused = file(client, platform, item_id=item)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "order_redress"
    assert "Art. 9" in error["message"] and "administrative court of Paris" in error["message"]


def test_nothing_to_complain_about(
    client: TestClient, bastion: Bastion, admin: dict[str, str], platform: dict[str, str]
) -> None:
    left_up = review_item(client, admin, platform, seed=21)
    api_decide(client, admin, left_up, "leave_up")
    response = file(client, platform, item_id=left_up)
    assert response.status_code == 422 and "leave_up" in response.json()["error"]["message"]
    waiting = review_item(client, admin, platform, seed=22)
    response = file(client, platform, item_id=waiting)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "nothing_to_complain"


def test_a_platform_complains_only_about_its_own_items(
    client: TestClient, bastion: Bastion, admin: dict[str, str], platform: dict[str, str]
) -> None:
    case = review_item(client, admin, platform, seed=23)
    api_decide(client, admin, case, "remove")
    stranger = _token(bastion, "platform", "other")
    assert file(client, stranger, item_id=case).status_code == 404
    assert file(client, stranger, external_id="post-23").status_code == 404
    complaint_id = file(client, platform, item_id=case).json()["id"]
    assert client.get(f"/v1/complaints/{complaint_id}", headers=stranger).status_code == 404
    assert client.get("/v1/complaints", headers=stranger).json() == {"complaints": []}
    assert client.post(f"/v1/complaints/{complaint_id}/claim", headers=platform).status_code == 403
    authority = _token(bastion, "authority")
    assert client.get("/v1/complaints", headers=authority).status_code == 403
    assert file(client, authority, item_id=case).status_code == 403
    assert client.get("/v1/complaints").status_code == 401
    assert client.post("/v1/complaints").status_code == 401  # auth before the body


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "   \n"},
        {"text": "a" * 10_001},
        {"text": "nul \x00 inside"},
        {"text": "both", "external_id": "post-24"},
        {"text": "neither", "item_id": None},
        {"text": 5},
        {"text": "extra", "uploader": "someone"},
    ],
)
def test_bad_complaints_are_refused(
    client: TestClient,
    bastion: Bastion,
    admin: dict[str, str],
    platform: dict[str, str],
    body: dict[str, Any],
) -> None:
    case = review_item(client, admin, platform, seed=24)
    api_decide(client, admin, case, "remove")
    payload = {"item_id": case, **body}
    response = client.post("/v1/complaints", json=payload, headers=platform)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in ("invalid_input", "bad_text")
    assert file(client, platform, "a" * 10_000, item_id=case).status_code == 201


def test_overdue_complaints_come_first_and_are_flagged(
    app: FastAPI,
    client: TestClient,
    bastion: Bastion,
    admin: dict[str, str],
    platform: dict[str, str],
) -> None:
    fresh, stale = (review_item(client, admin, platform, seed=s) for s in (30, 31))
    api_decide(client, admin, fresh, "remove")
    api_decide(client, admin, stale, "remove")
    now = utcnow()
    with bastion.session() as session:
        for item_id, received in ((fresh, now), (stale, now - timedelta(days=15, hours=-1))):
            row = complaints.file_complaint(
                session,
                platform="acme",
                item_id=item_id,
                text="Please look again.",
                days=bastion.settings.complaint_days,
                actor="test",
                now=received,
            )
            assert row.due_at == received + timedelta(days=14)
    listing = client.get("/v1/complaints", headers=admin).json()["complaints"]
    assert [(c["item_id"], c["overdue"]) for c in listing] == [(stale, True), (fresh, False)]
    assert listing[0]["days_left"] == -1 and listing[1]["days_left"] == 14
    rita = browser(app, bastion, "rita")
    page = rita.web.get("/console/complaints")
    assert page.status_code == 200
    assert page.text.index(f"#{stale}") < page.text.index(f"#{fresh}")
    assert 'class="error">overdue by 1 day<' in page.text
    stale_id = listing[0]["id"]
    assert 'class="error">overdue<' in rita.web.get(f"/console/complaints/{stale_id}").text


def test_console_pages_are_for_complaint_reviewers(
    app: FastAPI,
    client: TestClient,
    bastion: Bastion,
    admin: dict[str, str],
    platform: dict[str, str],
) -> None:
    case = review_item(client, admin, platform, seed=40)
    api_decide(client, admin, case, "remove")
    complaint_id = file(client, platform, item_id=case).json()["id"]
    auditor = browser(app, bastion, "otto", "auditor")
    for path in ("/console/complaints", f"/console/complaints/{complaint_id}"):
        assert auditor.web.get(path).status_code == 403
    assert auditor.post(f"/console/complaints/{complaint_id}/claim").status_code == 403
    root = browser(app, bastion, "root", "admin")
    assert root.web.get(f"/console/complaints/{complaint_id}").status_code == 200
    # Forms need the CSRF token.
    forged = root.web.post(f"/console/complaints/{complaint_id}/claim", data={"csrf_token": "x"})
    assert forged.status_code == 403
    anonymous = TestClient(app, base_url=HTTPS, follow_redirects=False)
    assert anonymous.get("/console/complaints").status_code == 303


def test_reinstating_never_undoes_a_later_decision(
    app: FastAPI,
    client: TestClient,
    bastion: Bastion,
    admin: dict[str, str],
    platform: dict[str, str],
    authority: dict[str, str],
) -> None:
    case = url_item(client, platform, 50)
    with bastion.session() as session:
        item = session.get(Item, case)
        assert item is not None
        session.add(
            Decision(item_id=case, outcome="remove", decided_by="user:mona", automation="none")
        )
        item.decision = "remove"
    complaint_id = file(client, platform, item_id=case).json()["id"]
    with bastion.session() as session:  # then an order names the same item
        session.add(
            Decision(item_id=case, outcome="remove", decided_by="order:1", automation="none")
        )
    rita = browser(app, bastion, "rita")
    assert rita.post(f"/console/complaints/{complaint_id}/claim").status_code == 303
    refused = rita.post(
        f"/console/complaints/{complaint_id}/decision", outcome="reinstate", reasons="News."
    )
    assert refused.status_code == 409 and "decided again" in refused.text
    assert (
        rita.post(
            f"/console/complaints/{complaint_id}/decision", outcome="uphold", reasons="Order."
        ).status_code
        == 303
    )


# --- In a real browser: axe on both pages ---------------------------------------------------

CHROMIUM = os.environ.get("BASTION_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def served(app: FastAPI) -> Iterator[str]:
    """The app (complaint routers included) served by uvicorn on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ready = threading.Event()
    for _ in range(200):
        if server.started:
            break
        ready.wait(0.05)
    assert server.started, "uvicorn did not start"
    # localhost: browsers accept Secure cookies over plain HTTP only there.
    yield f"http://localhost:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.browser
@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason=f"no Chromium at {CHROMIUM}"
)
def test_complaint_pages_are_accessible_in_a_real_browser(
    served: str,
    client: TestClient,
    bastion: Bastion,
    admin: dict[str, str],
    platform: dict[str, str],
) -> None:
    from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
    from playwright.sync_api import expect, sync_playwright

    case = review_item(client, admin, platform, seed=60)
    api_decide(client, admin, case, "remove")
    assert file(client, platform, item_id=case).status_code == 201
    make_user(bastion, "rita", "moderator")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = chromium.new_page(viewport={"width": 1366, "height": 820})
        page.goto(f"{served}/console/login?next=%2Fconsole%2Fcomplaints")
        page.get_by_label("Username").fill("rita")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Complaints")).to_be_visible()
        for step in ("queue", "complaint", "claimed"):
            results = Axe().run(page)
            assert results.violations_count == 0, (step, results.generate_report())
            if step == "queue":
                page.get_by_role("link", name="#1", exact=True).click()
            elif step == "complaint":
                page.get_by_role("button", name="Claim this complaint").click()
                expect(
                    page.get_by_label("Reasons (sent to the platform for the uploader)")
                ).to_be_visible()
        page.get_by_label("Uphold the decision").check()
        page.get_by_label("Reasons (sent to the platform for the uploader)").fill("It glorifies.")
        page.get_by_role("button", name="Decide").click()
        expect(page.get_by_role("status")).to_contain_text("Complaint 1 decided")
        chromium.close()
