"""Signed webhooks: delivered to a real local receiver, retried, dead-lettered, re-sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select

from bastion.actions.webhooks import (
    Endpoint,
    backoff,
    dead_letters,
    deliver_due,
    enqueue,
    resend,
    verify_signature,
)
from bastion.db.base import utcnow
from bastion.db.models import Delivery
from bastion.runtime import Bastion

SECRET = "s" * 40


class Receiver:
    """A platform's endpoint on 127.0.0.1 that answers with scripted status codes."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.slow = threading.Event()  # while set, answers only after the client gave up
        self.released = threading.Event()
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                if receiver.slow.is_set():
                    receiver.released.wait(5)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def test_delivery_is_signed_and_verifiable(bastion: Bastion, receiver: Receiver) -> None:
    endpoint = Endpoint(receiver.url, SECRET)
    with bastion.session() as session:
        enqueue(session, "action.remove", {"item_id": 7})
    with bastion.session() as session, httpx.Client() as client:
        assert deliver_due(session, endpoint, client) == 1
    headers, body = receiver.received[0]
    assert json.loads(body)["data"] == {"item_id": 7}
    assert verify_signature(
        SECRET, headers["X-Bastion-Timestamp"], body, headers["X-Bastion-Signature"]
    )
    assert not verify_signature(
        "wrong" * 8, headers["X-Bastion-Timestamp"], body, headers["X-Bastion-Signature"]
    )
    stale = int(headers["X-Bastion-Timestamp"]) + 3600
    assert not verify_signature(
        SECRET, headers["X-Bastion-Timestamp"], body, headers["X-Bastion-Signature"], now=stale
    )
    with bastion.session() as session:
        assert session.scalars(select(Delivery)).one().status == "delivered"


def test_failures_are_retried_with_backoff_then_dead_lettered(
    bastion: Bastion, receiver: Receiver
) -> None:
    endpoint = Endpoint(receiver.url, SECRET, max_attempts=3)
    receiver.statuses = [500, 503, 500]
    with bastion.session() as session:
        enqueue(session, "action.remove", {"item_id": 1})
    now = utcnow()
    with httpx.Client() as client:
        for attempt in range(1, 4):
            with bastion.session() as session:
                assert deliver_due(session, endpoint, client, now=now) == 1
                # Not due again until the backoff has passed.
                assert deliver_due(session, endpoint, client, now=now) == 0
            now += backoff(attempt) + timedelta(seconds=1)
    with bastion.session() as session:
        dead = dead_letters(session)
        assert [(d.attempts, d.last_error) for d in dead] == [(3, "HTTP 500")]
        resend(session, dead[0].id, actor="admin")
    with bastion.session() as session, httpx.Client() as client:
        assert deliver_due(session, endpoint, client) == 1
        assert session.scalars(select(Delivery)).one().status == "delivered"
    assert len(receiver.received) == 4


def test_an_endpoint_that_is_down_loses_nothing_across_a_restart(
    settings,
    receiver: Receiver,  # type: ignore[no-untyped-def]
) -> None:
    down = Endpoint("http://127.0.0.1:9/unreachable", SECRET, timeout_s=2)
    first = Bastion(settings).start()
    with first.session() as session:
        enqueue(session, "action.remove", {"item_id": 2})
    with first.session() as session, httpx.Client() as client:
        deliver_due(session, down, client)
    first.close()
    second = Bastion(settings).start()  # a restart: only the database carries state
    later = utcnow() + timedelta(minutes=5)
    with second.session() as session, httpx.Client() as client:
        assert deliver_due(session, Endpoint(receiver.url, SECRET), client, now=later) == 1
        delivery = session.scalars(select(Delivery)).one()
        assert (delivery.status, delivery.attempts) == ("delivered", 2)
    second.close()


def test_auto_verdicts_send_a_remove_action(client, admin, platform, bastion) -> None:  # type: ignore[no-untyped-def]
    from builders.api import add_file, image_bytes, make_bank

    make_bank(client, admin, "vetted", vetted=True)
    add_file(client, admin, "vetted", image_bytes(111), category="c")
    policy = b'[[rule]]\nname = "vetted"\nbanks = ["vetted"]\nmax_distance = 10\naction = "auto"\n'
    assert client.put("/v1/policy", content=policy, headers=admin).status_code == 200
    item = client.post(
        "/v1/items",
        data={"external_id": "post-111"},
        files={"file": ("u.jpg", image_bytes(111))},
        headers=platform,
    ).json()
    with bastion.session() as session:
        delivery = session.scalars(select(Delivery)).one()
    assert delivery.event == "action.remove"
    assert delivery.payload["external_id"] == "post-111"
    assert delivery.payload["item_id"] == item["id"]
    assert delivery.payload["automation"] == "full"
    assert delivery.payload["matches"][0]["bank"] == "vetted"


def test_a_webhook_url_without_a_strong_secret_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bastion.settings import Settings

    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        Settings(data_dir=tmp_path, webhook_url="https://platform.example/hook", webhook_secret="x")


def test_a_slow_endpoint_times_out_and_is_retried(bastion: Bastion, receiver: Receiver) -> None:
    endpoint = Endpoint(receiver.url, SECRET, timeout_s=0.3)
    with bastion.session() as session:
        enqueue(session, "decision.remove", {"item_id": 1})
    receiver.slow.set()
    with bastion.session() as session, httpx.Client() as client:
        assert deliver_due(session, endpoint, client) == 1
    receiver.released.set()
    with bastion.session() as session:
        delivery = session.scalars(select(Delivery)).one()
        assert delivery.status == "pending" and "Timeout" in (delivery.last_error or "")
        due = delivery.next_attempt_at
    receiver.slow.clear()
    with bastion.session() as session, httpx.Client() as client:
        assert deliver_due(session, endpoint, client, now=due) == 1
        assert session.scalars(select(Delivery)).one().status == "delivered"
