"""Removal orders (TCO Art. 3): receipt, immediate disabling, the one-hour clock and its
escalations (webhook + e-mail to a real local SMTP server), Annex II/III, exposure."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select

from bastion.app import create_app
from bastion.auth.tokens import create_token
from bastion.compliance.order_clock import Mailer, check_clocks, send_pending_emails
from bastion.db.base import utcnow
from bastion.db.models import Delivery, OrderEscalation, OrderNotice, RemovalOrder
from bastion.runtime import Bastion
from builders.api import image_bytes
from builders.console import login, make_user
from conftest import _token


class Inbox:
    """An aiosmtpd handler that keeps every message; `down` refuses them (SMTP 451)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.down = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.down:
            return "451 try again later"
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, Mailer]]:
    handler = Inbox()
    with socket.socket() as probe:  # aiosmtpd needs a concrete port to check it started
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, Mailer("127.0.0.1", port, "bastion@test.local", "oncall@test.local")
    controller.stop()


@pytest.fixture
def authority(bastion: Bastion) -> dict[str, str]:
    with bastion.session() as session:
        _, secret = create_token(session, name="fr-ocrt", role="authority")
    return {"Authorization": f"Bearer {secret}"}


def order(reference: str = "FR-2026-0001", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reference": reference,
        "authority": "Office central (test)",
        "member_state": "FR",
        "issued_at": "2026-11-26T09:00:00+01:00",
        "urls": ["https://videos.example.net/watch?v=AAA"],
        "categories": ["a", "c"],
        "reasons": "Glorification of an attack by the (invented) Iron Dawn Brigade.",
        "redress": "Appeal to the administrative court within two months.",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def clock_pass(bastion: Bastion, now: Any, mailer: Mailer | None) -> int:
    """One pass of the clock at `now`: escalations, then e-mails, as the server runs it."""
    with bastion.session() as session:
        escalated = check_clocks(session, now=now, marks=(30, 15))
    if mailer is not None:
        send_pending_emails(bastion, mailer, now)
    return escalated


def deliveries(bastion: Bastion, event: str) -> list[dict[str, Any]]:
    with bastion.session() as session:
        rows = session.scalars(
            select(Delivery).where(Delivery.event == event).order_by(Delivery.id)
        )
        return [d.payload for d in rows]


def test_an_order_disables_every_copy_at_once_and_starts_the_clock(
    client: TestClient, platform: dict[str, str], authority: dict[str, str], bastion: Bastion
) -> None:
    url_item = client.post(
        "/v1/items",
        json={"external_id": "post-1", "url": "https://www.videos.example.net/watch?v=AAA"},
        headers=platform,
    ).json()
    data = image_bytes(7)
    image_item = client.post(
        "/v1/items",
        files={"file": ("x.jpg", data, "image/jpeg")},
        data={"external_id": "img-9"},
        headers=platform,
    ).json()
    body = order(
        identifiers={"sha256": [hashlib.sha256(data).hexdigest()], "external_ids": ["gone-1"]},
        urls=["https://videos.example.net/watch?v=AAA", "https://other.example/x"],
    )
    before = utcnow()
    response = client.post("/v1/orders", json=body, headers=authority)
    assert response.status_code == 201, response.text
    got = response.json()
    assert got["status"] == "executing" and got["missing"] == []
    deadline = got["deadline_at"]
    received = got["received_at"]
    assert datetime.fromisoformat(deadline) - datetime.fromisoformat(received) == timedelta(hours=1)
    assert datetime.fromisoformat(received) >= before
    assert 3500 <= got["seconds_left"] <= 3600
    found = {(t["locator"], t["value"]): t["item_id"] for t in got["targets"]}
    assert found[("url", "https://videos.example.net/watch?v=AAA")] == url_item["id"]
    assert found[("sha256", hashlib.sha256(data).hexdigest())] == image_item["id"]
    assert found[("url", "https://other.example/x")] is None  # never seen: still named
    assert found[("external_id", "gone-1")] is None
    assert all(t["disabled_at"] for t in got["targets"])
    sent = deliveries(bastion, "order.disable")
    assert len(sent) == 4
    assert {p["scope"] for p in sent} == {"all_member_states"}
    assert {p.get("item_id") for p in sent} == {url_item["id"], image_item["id"], None}
    assert all(p["order"]["reference"] == "FR-2026-0001" for p in sent)
    # The item itself is decided: removed under the order, not waiting in a review queue.
    shown = client.get(f"/v1/items/{url_item['id']}", headers=platform).json()
    assert shown["decision"]["outcome"] == "remove"


def test_a_malformed_order_is_recorded_and_every_problem_named(
    client: TestClient, authority: dict[str, str], admin: dict[str, str]
) -> None:
    body = order(reference="FR-BAD", member_state="XX", categories=["z"], issued_at=None)
    del body["reasons"]
    response = client.post("/v1/orders", json=body, headers=authority)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "order_incomplete"
    assert error["details"]["missing"] == ["categories", "issued_at", "member_state", "reasons"]
    assert "member_state" in error["message"] and "reasons: missing" in error["message"]
    stored = client.get(f"/v1/orders/{error['details']['order_id']}", headers=admin).json()
    assert stored["status"] == "incomplete" and stored["received_at"]
    assert stored["deadline_at"] is None  # the clock waits for the missing information
    not_json = client.post(
        "/v1/orders", content=b"reference: FR-1\x00", headers=authority | {"content-type": "x"}
    )
    assert not_json.status_code == 422
    assert not_json.json()["error"]["details"]["order_id"] > stored["id"]
    naive = client.post(
        "/v1/orders", json=order("FR-NAIVE", issued_at="2026-11-26T09:00:00"), headers=authority
    )
    assert naive.json()["error"]["details"]["problems"]["issued_at"].startswith("give a time zone")


def test_a_duplicate_reference_points_at_the_first_order(
    client: TestClient, authority: dict[str, str]
) -> None:
    first = client.post("/v1/orders", json=order(), headers=authority).json()
    again = client.post("/v1/orders", json=order(), headers=authority)
    assert again.status_code == 409
    assert again.json()["error"]["details"] == {
        "order_id": first["id"],
        "url": f"/v1/orders/{first['id']}",
    }


def test_confirmed_removal_gives_annex_ii(
    client: TestClient, authority: dict[str, str], platform: dict[str, str]
) -> None:
    created = client.post("/v1/orders", json=order(), headers=authority).json()
    early = client.get(f"/v1/orders/{created['id']}/annex-ii", headers=authority)
    assert early.status_code == 409
    done = client.post(f"/v1/orders/{created['id']}/removed", json={}, headers=platform)
    assert done.status_code == 200 and done.json()["status"] == "removed"
    report = client.get(f"/v1/orders/{created['id']}/annex-ii", headers=authority).json()
    assert report["order_reference"] == "FR-2026-0001"
    assert report["within_one_hour"] is True and report["removed_at"]
    retry = client.post(f"/v1/orders/{created['id']}/removed", json={}, headers=platform)
    assert retry.json()["removed_at"] == done.json()["removed_at"]  # the first time stands
    future = client.post(
        "/v1/orders",
        json=order("FR-2"),
        headers=authority,
    ).json()
    wrong = client.post(
        f"/v1/orders/{future['id']}/removed",
        json={"removed_at": "2030-01-01T00:00:00Z"},
        headers=platform,
    )
    assert wrong.status_code == 422


def test_an_obstacle_stops_the_clock_and_resuming_restarts_it(
    client: TestClient, authority: dict[str, str], admin: dict[str, str], bastion: Bastion
) -> None:
    created = client.post("/v1/orders", json=order(), headers=authority).json()
    annex = client.post(
        f"/v1/orders/{created['id']}/obstacle",
        json={"reason": "technical", "details": "Storage cluster offline since 09:12 UTC."},
        headers=admin,
    )
    assert annex.status_code == 200 and annex.json()["reason"] == "technical"
    paused = client.get(f"/v1/orders/{created['id']}", headers=admin).json()
    assert paused["status"] == "paused" and paused["deadline_at"] is None
    assert client.get(f"/v1/orders/{created['id']}/annex-iii", headers=authority).status_code == 200
    resumed = client.post(f"/v1/orders/{created['id']}/resume", json={}, headers=admin).json()
    assert resumed["status"] == "executing"
    assert resumed["deadline_at"] > created["deadline_at"]  # one full hour from the restart
    assert len(deliveries(bastion, "order.disable")) == 2  # the platform is told again
    bad = client.post(
        f"/v1/orders/{created['id']}/obstacle",
        json={"reason": "too busy", "details": "x"},
        headers=admin,
    )
    assert bad.status_code == 422


def test_a_clarification_completes_an_incomplete_order(
    client: TestClient, authority: dict[str, str], admin: dict[str, str]
) -> None:
    sent = client.post("/v1/orders", json=order(urls=[]), headers=authority)
    order_id = sent.json()["error"]["details"]["order_id"]
    blocked = client.post(f"/v1/orders/{order_id}/resume", json={}, headers=admin)
    assert blocked.status_code == 422 and blocked.json()["error"]["details"]["missing"] == ["urls"]
    still = client.post(
        f"/v1/orders/{order_id}/resume",
        json={"clarification": {"urls": ["not a url"]}},
        headers=admin,
    )
    assert still.status_code == 422
    fixed = client.post(
        f"/v1/orders/{order_id}/resume",
        json={"clarification": {"urls": ["https://videos.example.net/watch?v=BBB"]}},
        headers=admin,
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["status"] == "executing" and fixed.json()["deadline_at"]


def test_escalations_page_by_webhook_and_email_once_each(
    client: TestClient,
    authority: dict[str, str],
    bastion: Bastion,
    inbox: tuple[Inbox, Mailer],
) -> None:
    handler, mailer = inbox
    created = client.post("/v1/orders", json=order(), headers=authority).json()
    with bastion.session() as session:
        received = session.get(RemovalOrder, created["id"]).received_at  # type: ignore[union-attr]

    def tick(minutes: int) -> int:
        return clock_pass(bastion, received + timedelta(minutes=minutes), mailer)

    assert tick(0) == 1 and handler.messages[0]["Subject"].endswith("one hour to remove")
    assert tick(10) == 0
    assert tick(31) == 1
    assert tick(32) == 0  # once per level
    handler.down = True
    assert tick(46) == 1  # the webhook goes out; the e-mail fails and waits
    assert len(handler.messages) == 2
    handler.down = False
    assert tick(47) == 0 and len(handler.messages) == 3  # retried, not duplicated
    assert tick(61) == 1
    levels = [p["level"] for p in deliveries(bastion, "order.escalation")]
    assert levels == ["received", "30m", "15m", "overdue"]
    subjects = [m["Subject"] for m in handler.messages]
    assert subjects[1].endswith("30 minutes left")
    assert "OVERDUE" in subjects[-1] and "FR-2026-0001" in subjects[-1]
    assert handler.messages[0]["To"] == "oncall@test.local"


def test_an_incomplete_order_pages_on_arrival(
    client: TestClient, authority: dict[str, str], bastion: Bastion, inbox: tuple[Inbox, Mailer]
) -> None:
    handler, mailer = inbox
    client.post("/v1/orders", json=order(reasons=None), headers=authority)
    assert clock_pass(bastion, utcnow(), mailer) == 1
    assert "INCOMPLETE" in handler.messages[0]["Subject"]
    assert "Missing or wrong: reasons." in handler.messages[0].get_payload()


def test_a_late_start_sends_only_the_most_urgent_level(
    client: TestClient, authority: dict[str, str], bastion: Bastion
) -> None:
    created = client.post("/v1/orders", json=order(), headers=authority).json()
    with bastion.session() as session:
        row = session.get(RemovalOrder, created["id"])
        assert row is not None
        received = row.received_at
    assert clock_pass(bastion, received + timedelta(hours=2), None) == 1
    assert [p["level"] for p in deliveries(bastion, "order.escalation")] == ["overdue"]


def test_two_clock_passes_at_once_page_once(
    client: TestClient, authority: dict[str, str], bastion: Bastion
) -> None:
    client.post("/v1/orders", json=order(), headers=authority)
    # Two passes that both read the order before either writes (a second server, or
    # `bastion order check` beside the running one): the unique escalation row lets one win.
    first, second = bastion.sessions(), bastion.sessions()
    try:
        orders_seen = [
            list(s.scalars(select(RemovalOrder))) for s in (first, second)
        ]  # both have read
        assert all(len(o) == 1 for o in orders_seen)
        assert check_clocks(first, marks=(30, 15)) == 1
        first.commit()
        assert check_clocks(second, marks=(30, 15)) == 0
        second.commit()
    finally:
        first.close()
        second.close()
    assert [p["level"] for p in deliveries(bastion, "order.escalation")] == ["received"]


def test_a_hanging_smtp_server_never_blocks_an_arriving_order(
    client: TestClient, authority: dict[str, str], bastion: Bastion
) -> None:
    client.post("/v1/orders", json=order(), headers=authority)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        mailer = Mailer("127.0.0.1", silent.getsockname()[1], "b@test", "o@test", timeout=2)
        with bastion.session() as session:
            assert check_clocks(session, marks=(30, 15)) == 1
        done = threading.Event()
        sender = threading.Thread(
            target=lambda: (send_pending_emails(bastion, mailer), done.set()), daemon=True
        )
        sender.start()
        # While the e-mail hangs, a new order is received at once (no database lock held).
        arrived = client.post("/v1/orders", json=order("FR-LATE"), headers=authority)
        assert arrived.status_code == 201
        assert not done.is_set()
        sender.join(timeout=10)
    with bastion.session() as session:
        (row,) = session.scalars(select(OrderEscalation))
        assert row.email_sent_at is None and row.email_error  # kept for the next pass


def test_two_final_orders_in_a_year_make_the_platform_exposed(
    client: TestClient, authority: dict[str, str], admin: dict[str, str]
) -> None:
    ids = [
        client.post("/v1/orders", json=order(f"FR-{i}"), headers=authority).json()["id"]
        for i in range(2)
    ]
    listed = client.get("/v1/orders", headers=admin).json()
    assert listed["exposure"] == {"final_orders_12_months": 0, "exposed": False}
    client.post(f"/v1/orders/{ids[0]}/final", headers=admin)
    assert client.get("/v1/orders", headers=admin).json()["exposure"]["exposed"] is False
    client.post(f"/v1/orders/{ids[1]}/final", headers=admin)
    assert client.get("/v1/orders", headers=admin).json()["exposure"] == {
        "final_orders_12_months": 2,
        "exposed": True,
    }


def test_roles_around_orders(
    client: TestClient,
    authority: dict[str, str],
    platform: dict[str, str],
    bastion: Bastion,
) -> None:
    created = client.post("/v1/orders", json=order(), headers=authority).json()
    assert client.post("/v1/orders", json=order("P-1"), headers=platform).status_code == 403
    assert client.get("/v1/orders", headers=platform).status_code == 403
    assert (
        client.post(
            f"/v1/orders/{created['id']}/obstacle",
            json={"reason": "technical", "details": "x"},
            headers=authority,
        ).status_code
        == 403
    )
    assert (
        client.post(f"/v1/orders/{created['id']}/removed", json={}, headers=authority).status_code
        == 403
    )
    assert client.get("/v1/banks", headers=authority).status_code == 403
    assert (
        client.post(
            "/v1/items", json={"external_id": "a", "url": "https://a.example/"}, headers=authority
        ).status_code
        == 403
    )
    with bastion.session() as session:
        _, secret = create_token(session, name="de-bka", role="authority")
    other = {"Authorization": f"Bearer {secret}"}
    assert client.get(f"/v1/orders/{created['id']}", headers=other).status_code == 404
    assert client.get("/v1/orders", headers=other).json()["orders"] == []


# The console desk


@pytest.fixture
def web(bastion: Bastion) -> Iterator[TestClient]:
    with TestClient(
        create_app(bastion), base_url="https://testserver", follow_redirects=False
    ) as client:
        yield client


def test_an_admin_enters_an_order_in_the_console_and_handles_it(
    web: TestClient, bastion: Bastion
) -> None:
    make_user(bastion, "root", "admin")
    csrf = login(web, "root")
    form = {
        "csrf_token": csrf,
        "reference": "DE-77",
        "authority": "BKA (test)",
        "member_state": "DE",
        "issued_at": "2026-11-26T08:00:00Z",
        "urls": "https://videos.example.net/watch?v=CCC\n\n",
        "categories": ["c"],
        "reasons": "Solicits participation in an invented group.",
        "redress": "Administrative court.",
    }
    created = web.post("/console/orders", data=form)
    assert created.status_code == 303
    page_url = created.headers["location"]
    page = web.get(page_url)
    assert page.status_code == 200
    assert 'class="countdown"' in page.text and "data-deadline=" in page.text
    assert "https://videos.example.net/watch?v=CCC" in page.text
    listing = web.get("/console/orders")
    assert "DE-77" in listing.text and "Not exposed" in listing.text
    broken = web.post("/console/orders", data={**form, "reference": "DE-78", "member_state": ""})
    assert broken.status_code == 422
    assert (
        "<strong>member_state</strong>" in broken.text and "was recorded as received" in broken.text
    )
    stopped = web.post(
        f"{page_url}/obstacle",
        data={"csrf_token": csrf, "reason": "force_majeure", "details": "Data-centre flood."},
    )
    assert stopped.status_code == 303
    paused = web.get(page_url)
    assert "Annex III" in paused.text and "force majeure" in paused.text
    assert web.post(f"{page_url}/resume", data={"csrf_token": csrf}).status_code == 303
    assert web.post(f"{page_url}/removed", data={"csrf_token": csrf}).status_code == 303
    done = web.get(page_url)
    assert "Annex II" in done.text and '"within_one_hour": true' in done.text
    again = web.post(
        f"{page_url}/obstacle", data={"csrf_token": csrf, "reason": "technical", "details": "x"}
    )
    assert again.status_code == 409 and "is removed" in again.text


def test_auditors_see_orders_but_cannot_act(
    web: TestClient, bastion: Bastion, authority: dict[str, str]
) -> None:
    order_id = web.post("/v1/orders", json=order(), headers=authority).json()["id"]
    make_user(bastion, "olga", "auditor")
    login(web, "olga")
    page = web.get(f"/console/orders/{order_id}")
    assert page.status_code == 200 and "FR-2026-0001" in page.text
    assert "/obstacle" not in page.text and "Enter an order" not in web.get("/console/orders").text


def test_the_twelve_hour_advance_notice_is_tracked(
    client: TestClient, authority: dict[str, str], admin: dict[str, str], bastion: Bastion
) -> None:
    first = client.post("/v1/orders", json=order("FR-A"), headers=authority).json()
    assert first["prior_notice"] == "missing"
    second = client.post("/v1/orders", json=order("FR-B"), headers=authority).json()
    assert second["prior_notice"] == "not_first"
    urgent = order("IT-1", authority="Polizia (test)", member_state="IT", emergency=True)
    assert client.post("/v1/orders", json=urgent, headers=authority).json()["prior_notice"] == (
        "emergency"
    )
    notice = client.post(
        "/v1/orders/notices",
        json={"authority": "Guardia (test)", "member_state": "IT", "text": "Procedures ..."},
        headers=authority,
    )
    assert notice.status_code == 201
    with bastion.session() as session:
        row = session.get(OrderNotice, notice.json()["id"])
        assert row is not None
        row.received_at = utcnow() - timedelta(hours=13)
    noticed = order("IT-2", authority="guardia (TEST)", member_state="IT", issued_at=None)
    noticed["issued_at"] = utcnow().isoformat()
    got = client.post("/v1/orders", json=noticed, headers=authority).json()
    assert got["prior_notice"] == "given"
    bad = client.post("/v1/orders/notices", json={"member_state": "XX"}, headers=authority)
    assert bad.status_code == 422 and "authority" in bad.json()["error"]["details"]
    shown = client.get(f"/v1/orders/{first['id']}", headers=admin).json()
    assert shown["prior_notice"] == "missing"


def test_non_disclosure_is_six_weeks_and_renewable_once_over_the_api(
    client: TestClient, authority: dict[str, str], admin: dict[str, str]
) -> None:
    too_long = order("NL-1", member_state="NL", non_disclosure_until="2030-01-01T00:00:00Z")
    capped = client.post("/v1/orders", json=too_long, headers=authority)
    # The content must still go: the order runs, its non-disclosure is cut to six weeks.
    assert capped.status_code == 201 and capped.json()["status"] == "executing"
    kept = datetime.fromisoformat(capped.json()["non_disclosure_until"])
    assert kept - datetime.fromisoformat(capped.json()["received_at"]) == timedelta(weeks=6)
    sneaky = client.post(
        f"/v1/orders/{capped.json()['id']}/resume",
        json={"clarification": {"non_disclosure_until": "2030-01-01T00:00:00Z"}},
        headers=admin,
    )
    assert sneaky.status_code in (409, 422)
    soon = (utcnow() + timedelta(weeks=4)).isoformat()
    created = client.post(
        "/v1/orders", json=order("NL-2", member_state="NL", non_disclosure_until=soon),
        headers=authority,
    ).json()  # fmt: skip
    later = (utcnow() + timedelta(weeks=9)).isoformat()
    renewed = client.post(
        f"/v1/orders/{created['id']}/non-disclosure", json={"until": later}, headers=authority
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["non_disclosure_until"].startswith(later[:16])
    again = client.post(
        f"/v1/orders/{created['id']}/non-disclosure",
        json={"until": (utcnow() + timedelta(weeks=10)).isoformat()},
        headers=authority,
    )
    assert again.status_code == 409


def test_hostile_orders_get_clear_errors_and_are_still_recorded(
    client: TestClient, authority: dict[str, str], admin: dict[str, str]
) -> None:
    for issued in ("0001-01-01T00:30:00+01:00", "9999-12-31T23:00:00-05:00"):
        far = client.post(
            "/v1/orders", json=order(f"X-{issued[:4]}", issued_at=issued), headers=authority
        )
        assert far.status_code == 422 and "between 2000 and 2100" in far.text
    nan = client.post(
        "/v1/orders",
        content=b'{"reference": "N-1", "x": NaN, "y": 1e400}',
        headers=authority | {"content-type": "application/json"},
    )
    assert nan.status_code == 422 and nan.json()["error"]["details"]["order_id"]
    blank = client.post(
        "/v1/orders", json=order("B-1", identifiers={"external_ids": ["  "]}), headers=authority
    )
    assert blank.status_code == 422 and "not blank" in blank.text
    listed = client.get("/v1/orders", headers=admin)
    assert listed.status_code == 200 and len(listed.json()["orders"]) == 4  # every receipt kept
    assert (
        client.post(
            "/v1/orders/notices",
            json={"authority": "A", "member_state": "FR", "text": "a\x00b"},
            headers=authority,
        ).status_code
        == 422
    )


def test_platforms_confirm_only_their_orders_and_authorities_list_only_theirs(
    client: TestClient, authority: dict[str, str], platform: dict[str, str], bastion: Bastion
) -> None:
    mine = client.post(
        "/v1/items",
        json={"external_id": "m-1", "url": "https://acme.example/v/1"},
        headers=platform,
    ).json()
    other = _token(bastion, "platform", "globex")
    theirs = client.post(
        "/v1/items", json={"external_id": "m-1", "url": "https://globex.example/v/1"}, headers=other
    ).json()
    scoped = order("P-1", urls=[], identifiers={"external_ids": ["m-1"], "platform": "acme"})
    created = client.post("/v1/orders", json=scoped, headers=authority).json()
    assert [t["item_id"] for t in created["targets"]] == [mine["id"]]  # not globex's m-1
    assert theirs["id"] != mine["id"]
    refused = client.post(f"/v1/orders/{created['id']}/removed", json={}, headers=other)
    assert refused.status_code == 404
    assert (
        client.post(f"/v1/orders/{created['id']}/removed", json={}, headers=platform).status_code
        == 200
    )
    with bastion.session() as session:
        _, secret = create_token(session, name="de", role="authority")
    de = {"Authorization": f"Bearer {secret}"}
    for n in range(3):
        client.post("/v1/orders", json=order(f"DE-{n}", member_state="DE"), headers=de)
    own = client.get("/v1/orders?limit=3", headers=authority).json()
    assert [o["reference"] for o in own["orders"]] == ["P-1"] and "exposure" not in own


def test_a_racing_duplicate_reference_is_a_409(
    client: TestClient, authority: dict[str, str], bastion: Bastion
) -> None:
    from bastion.compliance.orders import receive_order

    first, second = bastion.sessions(), bastion.sessions()
    try:
        receive_order(first, order("RACE-1"), actor="a", via="api")
        assert first.scalar(select(RemovalOrder.id)) is not None
        # `second` checked for the reference before `first` committed; the insert then clashes.
        first.commit()
        from bastion.compliance import orders as desk
        from bastion.errors import Conflict

        original = desk._by_reference
        desk._by_reference = lambda session, reference: None  # type: ignore[assignment]
        try:
            with pytest.raises(Conflict):
                receive_order(second, order("RACE-1"), actor="b", via="api")
        finally:
            desk._by_reference = original  # type: ignore[assignment]
    finally:
        first.close()
        second.close()
