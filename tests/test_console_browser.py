"""The console in a real browser (Playwright driving Debian's Chromium) against a real server.

A moderator logs in, sees a blurred case, claims and reveals it with the keyboard, decides;
the platform's webhook receiver gets a correctly signed payload; an auditor sees all of it in
the audit log. Screenshots go to $BASTION_SCREENSHOTS when set (docs/screenshots/ holds the
committed ones).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import uvicorn

from bastion.actions.webhooks import verify_signature
from bastion.app import create_app
from bastion.runtime import Bastion
from bastion.settings import Settings
from builders.api import image_bytes
from builders.console import PASSWORD, make_user
from conftest import _token

CHROMIUM = os.environ.get("BASTION_CHROMIUM", "/usr/bin/chromium")
SECRET = "a-webhook-secret-of-more-than-32-characters"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason=f"no Chromium at {CHROMIUM} (`make test` installs Debian's chromium)",
    ),
]


@dataclass
class Received:
    """One request the stand-in platform received."""

    headers: dict[str, str]
    body: bytes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def receiver() -> Iterator[tuple[str, queue.Queue[Received]]]:
    """A local HTTP server standing in for the platform's webhook endpoint."""
    inbox: queue.Queue[Received] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            inbox.put(Received({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", inbox
    server.shutdown()


@pytest.fixture
def live(
    tmp_path: Path, receiver: tuple[str, queue.Queue[Received]]
) -> Iterator[tuple[str, Bastion]]:
    """Bastion served by uvicorn on a free port, sending webhooks to the receiver."""
    settings = Settings(data_dir=tmp_path / "data", webhook_url=receiver[0], webhook_secret=SECRET)
    bastion = Bastion(settings).start()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(bastion), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(200):
        if server.started:
            started.set()
            break
        started.wait(0.05)
    assert server.started, "uvicorn did not start"
    # localhost, not 127.0.0.1: browsers accept Secure cookies over plain HTTP only there.
    yield f"http://localhost:{port}", bastion
    server.should_exit = True
    thread.join(timeout=10)


def _case(base: str, bastion: Bastion) -> int:
    admin = _token(bastion, "admin")
    with httpx.Client(base_url=base, headers=admin) as api:
        assert api.post("/v1/banks", json={"name": "known"}).status_code == 201
        data = image_bytes(21)
        entry = api.post(
            "/v1/banks/known/entries",
            files={"file": ("known.jpg", data, "image/jpeg")},
            data={"category": "c", "entities": "example_front", "note": "invented test poster"},
        )
        assert entry.status_code == 201, entry.text
        item = api.post(
            "/v1/items",
            files={"file": ("upload.jpg", data, "image/jpeg")},
            data={"external_id": "post-21", "context": json.dumps({"caption": "join us"})},
        )
        assert item.status_code == 201, item.text
        return int(item.json()["id"])


def _accessible(page: object) -> None:
    """No axe-core violations (WCAG 2 A/AA and best practices) on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def _shoot(page: object, name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    target = os.environ.get("BASTION_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def test_moderator_reveals_and_decides_in_a_real_browser(
    live: tuple[str, Bastion], receiver: tuple[str, queue.Queue[Received]], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, bastion = live
    case = _case(base, bastion)
    make_user(bastion, "ana", "moderator")
    make_user(bastion, "olga", "auditor")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1366, "height": 820})
        page.goto(f"{base}/console/queue")
        expect(page).to_have_url(f"{base}/console/login?next=%2Fconsole%2Fqueue")
        _accessible(page)
        page.get_by_label("Username").fill("ana")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Review queues")).to_be_visible()
        _shoot(page, "queue", tmp_path)
        _accessible(page)

        page.get_by_role("link", name=f"#{case}").click()
        blurred = page.get_by_alt_text(f"Item {case}, blurred until revealed")
        expect(blurred).to_be_visible()
        assert "view=safe" in (blurred.get_attribute("src") or "")
        page.keyboard.press("c")  # claim
        expect(page.get_by_text("Claimed by you")).to_be_visible()
        _shoot(page, "case-blurred", tmp_path)
        _accessible(page)
        page.keyboard.press("v")  # reveal, through htmx
        revealed = page.get_by_alt_text(f"Item {case}, revealed")
        expect(revealed).to_be_visible()
        assert page.evaluate("document.querySelector('img.shown').naturalWidth") > 0, (
            "the revealed image did not load"
        )
        expect(page.locator("#exposure")).to_contain_text("1")
        _shoot(page, "case-revealed", tmp_path)
        page.keyboard.press("r")  # choose remove; focus moves to Decide
        expect(page.locator("input[value=remove]")).to_be_checked()
        page.keyboard.press("Enter")
        expect(page.get_by_text(f"Decision on item {case} recorded")).to_be_visible()

        sent = receiver[1].get(timeout=20)
        assert verify_signature(
            SECRET,
            sent.headers["x-bastion-timestamp"],
            sent.body,
            sent.headers["x-bastion-signature"],
        )
        payload = json.loads(sent.body)
        assert payload["event"] == "decision.remove"
        assert payload["data"]["item_id"] == case
        assert payload["data"]["external_id"] == "post-21"
        assert payload["data"]["automation"] == "none"

        auditor = browser.new_page(viewport={"width": 1366, "height": 820})
        auditor.goto(f"{base}/console/login")
        auditor.get_by_label("Username").fill("olga")
        auditor.get_by_label("Password").fill(PASSWORD)
        auditor.get_by_role("button", name="Log in").click()
        expect(auditor.get_by_role("heading", name="Audit log")).to_be_visible()
        for action in ("login.success", "case.claim", "media.reveal", "case.decide"):
            expect(auditor.get_by_role("cell", name=action, exact=True).first).to_be_visible()
        auditor.get_by_role("link", name="Verify the chain now").click()
        expect(auditor.get_by_text("The chain is intact")).to_be_visible()
        _shoot(auditor, "audit-log", tmp_path)
        _accessible(auditor)
        browser.close()


def test_removal_order_countdown_ticks_in_a_real_browser(
    live: tuple[str, Bastion], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, bastion = live
    authority = _token(bastion, "authority")
    order = {
        "reference": "FR-2026-0042",
        "authority": "Office central (test)",
        "member_state": "FR",
        "issued_at": "2026-11-26T09:00:00+01:00",
        "urls": ["https://videos.example.net/watch?v=AAA"],
        "categories": ["a"],
        "reasons": "Glorification (invented group).",
        "redress": "Administrative court.",
    }
    with httpx.Client(base_url=base, headers=authority) as api:
        assert api.post("/v1/orders", json=order).status_code == 201
    make_user(bastion, "root", "admin")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1366, "height": 820})
        page.goto(f"{base}/console/login?next=%2Fconsole%2Forders")
        page.get_by_label("Username").fill("root")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Removal orders")).to_be_visible()
        expect(page.locator("#exposure")).to_have_text("Revealed: 0")  # the reveal counter
        expect(page.locator("#exposure-status")).to_contain_text("Not exposed")
        clock = page.locator("#orders time.countdown")
        expect(clock).to_contain_text(":")
        first = clock.text_content()
        # The countdown is live: it changes without a reload.
        page.wait_for_function(
            "first => document.querySelector('#orders time.countdown').textContent !== first",
            arg=first,
            timeout=5000,
        )
        assert page.locator("#orders time.countdown").text_content().startswith(("59:", "60:"))
        _shoot(page, "orders", tmp_path)
        _accessible(page)
        page.get_by_role("link", name="1", exact=True).click()
        expect(page.get_by_role("heading", name="Removal order FR-2026-0042")).to_be_visible()
        _accessible(page)
        browser.close()
