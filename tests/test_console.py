"""The review console over HTTP: logins, CSRF, claims, reveals, decisions, oversight pages."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageFilter
from sqlalchemy import select

from bastion.app import create_app
from bastion.db.models import AuditEvent, BankEntry, Delivery, PolicyVersion
from bastion.runtime import Bastion
from builders.api import image_bytes, make_bank
from builders.console import PASSWORD, csrf_of, login, make_user, review_case


@pytest.fixture
def web(bastion: Bastion) -> Iterator[TestClient]:
    """A browser-like client: HTTPS (the session cookie is Secure), no automatic redirects."""
    with TestClient(
        create_app(bastion), base_url="https://testserver", follow_redirects=False
    ) as client:
        yield client


@contextmanager
def two_moderators(bastion: Bastion) -> Iterator[tuple[tuple[TestClient, str], ...]]:
    """Moderators ana and ben, each logged in with a browser of their own: (client, CSRF)."""
    app = create_app(bastion)
    with (
        TestClient(app, base_url="https://testserver", follow_redirects=False) as ana,
        TestClient(app, base_url="https://testserver", follow_redirects=False) as ben,
    ):
        make_user(bastion, "ana", "moderator")
        make_user(bastion, "ben", "moderator")
        yield (ana, login(ana, "ana")), (ben, login(ben, "ben"))


def _events(bastion: Bastion, action: str) -> list[AuditEvent]:
    with bastion.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _detail(jpeg: bytes) -> float:
    """How much fine detail an image has (mean absolute Laplacian-like edge response)."""
    image = Image.open(io.BytesIO(jpeg)).convert("L")
    edges = np.asarray(image.filter(ImageFilter.FIND_EDGES), dtype=np.float64)
    return float(edges[2:-2, 2:-2].mean())


def test_login_sets_a_strict_session_cookie(web: TestClient, bastion: Bastion) -> None:
    make_user(bastion, "ana", "moderator")
    page = web.get("/console/login")
    response = web.post(
        "/console/login",
        data={"username": "ana", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303
    cookie = next(
        value
        for name, value in response.headers.multi_items()
        if name == "set-cookie" and value.startswith("bastion_session=")
    )
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
    assert response.headers["location"] == "/console"
    assert web.get("/console").headers["location"] == "/console/queue"
    assert len(_events(bastion, "login.success")) == 1


def test_wrong_password_is_refused_audited_and_rate_limited(
    web: TestClient, bastion: Bastion
) -> None:
    make_user(bastion, "ana", "moderator")
    statuses = []
    for _ in range(6):
        token = csrf_of(web.get("/console/login").text)
        response = web.post(
            "/console/login",
            data={"username": "ana", "password": "wrong password!", "csrf_token": token},
        )
        statuses.append(response.status_code)
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    assert "Too many failed logins" in response.text
    assert len(_events(bastion, "login.failure")) == 5
    assert "bastion_session" not in web.cookies


def test_login_form_without_its_token_is_refused(web: TestClient, bastion: Bastion) -> None:
    make_user(bastion, "ana", "moderator")
    response = web.post("/console/login", data={"username": "ana", "password": PASSWORD})
    assert response.status_code == 403
    assert "expired" in response.text


def test_anonymous_pages_redirect_to_login(web: TestClient) -> None:
    response = web.get("/console/queue?name=general")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=%2Fconsole%2Fqueue%3Fname%3Dgeneral"
    htmx = web.post("/console/cases/1/reveal", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].startswith("/console/login")


def test_a_login_may_only_redirect_inside_the_console(web: TestClient, bastion: Bastion) -> None:
    make_user(bastion, "ana", "moderator")
    page = web.get("/console/login?next=https://evil.example/")
    assert 'name="next" value="/console"' in page.text
    response = web.post(
        "/console/login",
        data={
            "username": "ana",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/",
        },
    )
    assert response.headers["location"] == "/console"


def test_forms_without_the_csrf_token_are_refused(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    case = review_case(web, admin, seed=1)
    make_user(bastion, "ana", "moderator")
    token = login(web, "ana")
    assert web.post(f"/console/cases/{case}/claim").status_code == 403
    wrong = web.post(f"/console/cases/{case}/claim", data={"csrf_token": "forged"})
    assert wrong.status_code == 403 and "security token" in wrong.text
    assert web.post(f"/console/cases/{case}/claim", data={"csrf_token": token}).status_code == 303
    header = web.post(f"/console/cases/{case}/reveal", headers={"X-CSRF-Token": token})
    assert header.status_code == 303


def test_moderator_reveals_and_decides_a_case(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    case = review_case(web, admin, seed=2)
    make_user(bastion, "ana", "moderator")
    token = login(web, "ana")
    queue = web.get("/console/queue")
    assert f"/console/cases/{case}" in queue.text
    page = web.get(f"/console/cases/{case}")
    assert "media?view=safe" in page.text and "view=full" not in page.text
    assert "Claim this case" in page.text
    safe = web.get(f"/console/cases/{case}/media?view=safe")
    assert safe.headers["content-type"] == "image/jpeg"
    assert safe.headers["cache-control"] == "no-store"
    assert Image.open(io.BytesIO(safe.content)).mode == "L"  # grayscale
    assert web.get(f"/console/cases/{case}/media?view=full").status_code == 422
    not_claimed = web.post(f"/console/cases/{case}/reveal", data={"csrf_token": token})
    assert not_claimed.status_code == 422

    web.post(f"/console/cases/{case}/claim", data={"csrf_token": token})
    revealed = web.post(
        f"/console/cases/{case}/reveal", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert revealed.status_code == 200
    assert "view=full" in revealed.text and 'hx-swap-oob="true"' in revealed.text
    full = web.get(f"/console/cases/{case}/media?view=full")
    assert full.status_code == 200
    assert _detail(full.content) > 3 * _detail(safe.content)  # the placeholder hides detail
    web.post(f"/console/cases/{case}/reveal", data={"csrf_token": token})  # again: not recounted
    assert [e.target for e in _events(bastion, "media.reveal")] == [f"item:{case}"]

    decided = web.post(
        f"/console/cases/{case}/decision",
        data={"csrf_token": token, "outcome": "remove", "note": "recruitment poster"},
    )
    assert decided.status_code == 303
    assert f"decided={case}" in decided.headers["location"]
    assert f'/console/cases/{case}"' not in web.get("/console/queue").text
    assert "Decided <strong>remove</strong> by user:ana" in web.get(f"/console/cases/{case}").text
    with bastion.session() as session:
        delivery = session.scalars(
            select(Delivery).where(Delivery.event == "decision.remove")
        ).one()
        assert delivery.payload["item_id"] == case
        assert delivery.payload["automation"] == "none"
    (event,) = _events(bastion, "case.decide")
    assert event.actor == "user:ana" and event.details["outcome"] == "remove"


def test_a_case_held_by_someone_else_cannot_be_decided(
    bastion: Bastion, admin: dict[str, str]
) -> None:
    with two_moderators(bastion) as ((ana, ana_token), (ben, ben_token)):
        case = review_case(ana, admin, seed=3)
        assert ana.post(f"/console/cases/{case}/claim", data={"csrf_token": ana_token}).is_redirect
        taken = ben.post(f"/console/cases/{case}/claim", data={"csrf_token": ben_token})
        assert taken.status_code == 409 and "claimed by user:ana" in taken.text
        refused = ben.post(
            f"/console/cases/{case}/decision", data={"csrf_token": ben_token, "outcome": "leave_up"}
        )
        assert refused.status_code == 409 and "user:ana" in refused.text
        ana.post(
            f"/console/cases/{case}/decision", data={"csrf_token": ana_token, "outcome": "leave_up"}
        )
        again = ana.post(
            f"/console/cases/{case}/decision", data={"csrf_token": ana_token, "outcome": "remove"}
        )
        assert again.status_code == 409 and "already decided" in again.text


def test_an_escalated_case_waits_in_the_escalation_queue(
    bastion: Bastion, admin: dict[str, str]
) -> None:
    with two_moderators(bastion) as ((ana, ana_token), (ben, ben_token)):
        case = review_case(ana, admin, seed=14)
        ana.post(f"/console/cases/{case}/claim", data={"csrf_token": ana_token})
        ana.post(
            f"/console/cases/{case}/decision",
            data={"csrf_token": ana_token, "outcome": "escalate", "note": "unsure"},
        )
        own = ana.post(f"/console/cases/{case}/claim", data={"csrf_token": ana_token})
        assert own.status_code == 409 and "another reviewer decides it" in own.text
        assert f"/console/cases/{case}" in ben.get("/console/queue?name=escalated").text
        claimed = ben.post(
            "/console/queue/next", data={"csrf_token": ben_token, "name": "escalated"}
        )
        assert claimed.headers["location"] == f"/console/cases/{case}"
        page = ben.get(f"/console/cases/{case}").text
        assert "Escalated by user:ana" in page and 'id="decision-form"' in page
        final = ben.post(
            f"/console/cases/{case}/decision", data={"csrf_token": ben_token, "outcome": "restrict"}
        )
        assert final.status_code == 303
    with bastion.session() as session:
        events = [d.event for d in session.scalars(select(Delivery).order_by(Delivery.id))]
    assert events == ["decision.escalate", "decision.restrict"]


def test_platform_text_is_escaped(web: TestClient, bastion: Bastion, admin: dict[str, str]) -> None:
    case = review_case(web, admin, seed=15, context='{"caption": "<script>alert(1)</script>"}')
    make_user(bastion, "ana", "moderator")
    login(web, "ana")
    page = web.get(f"/console/cases/{case}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_claim_next_takes_the_most_urgent_free_case(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    first, second = review_case(web, admin, seed=4), review_case(web, admin, seed=5)
    make_user(bastion, "ana", "moderator")
    token = login(web, "ana")
    got = {
        web.post("/console/queue/next", data={"csrf_token": token}).headers["location"]
        for _ in range(2)
    }
    # Both cases have the same priority: the first claim is kept, the next call takes the
    # other one rather than the one already held.
    assert got == {f"/console/cases/{first}"} or got == {
        f"/console/cases/{first}",
        f"/console/cases/{second}",
    }
    release = web.post(f"/console/cases/{first}/release", data={"csrf_token": token})
    assert release.status_code == 303


def test_deciding_adds_to_a_bank_in_the_same_step(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    case = review_case(web, admin, seed=6)
    make_bank(web, admin, "confirmed")
    make_bank(web, admin, "cleared", allow=True)
    make_user(bastion, "ana", "moderator")
    token = login(web, "ana")
    web.post(f"/console/cases/{case}/claim", data={"csrf_token": token})
    wrong = web.post(
        f"/console/cases/{case}/decision",
        data={"csrf_token": token, "outcome": "remove", "bank": "cleared"},
    )
    assert wrong.status_code == 422 and "allow-list" in wrong.text
    done = web.post(
        f"/console/cases/{case}/decision",
        data={"csrf_token": token, "outcome": "remove", "bank": "confirmed"},
    )
    assert done.status_code == 303
    with bastion.session() as session:
        entry = session.scalars(select(BankEntry).join(BankEntry.bank)).all()[-1]
        assert entry.bank.name == "confirmed"
        assert entry.category == "c" and entry.entities == ["example_front"]
        assert entry.source == "moderator"
    match = web.post(
        "/v1/match", files={"file": ("q.jpg", image_bytes(6), "image/jpeg")}, headers=admin
    ).json()
    assert {m["bank"] for m in match["matches"]} >= {"confirmed"}


def test_a_wrong_match_goes_to_an_allow_list(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    case = review_case(web, admin, seed=7)
    make_bank(web, admin, "cleared", allow=True)
    make_user(bastion, "ana", "moderator")
    token = login(web, "ana")
    web.post(f"/console/cases/{case}/claim", data={"csrf_token": token})
    needs_reason = web.post(
        f"/console/cases/{case}/decision",
        data={"csrf_token": token, "outcome": "not_tvec", "bank": "cleared"},
    )
    assert needs_reason.status_code == 422 and "journalism" in needs_reason.text
    done = web.post(
        f"/console/cases/{case}/decision",
        data={
            "csrf_token": token,
            "outcome": "not_tvec",
            "exclusion": "journalism",
            "bank": "cleared",
        },
    )
    assert done.status_code == 303
    again = web.post(
        "/v1/items",
        files={"file": ("again.jpg", image_bytes(7), "image/jpeg")},
        data={"external_id": "post-7-again"},
        headers=admin,
    ).json()
    assert again["verdict"]["outcome"] == "ignore", again  # the allow-list suppresses it


def test_settings_turn_the_blur_off_and_breaks_are_suggested(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    cases = [review_case(web, admin, seed=s) for s in (8, 9)]
    make_user(bastion, "ana", "moderator")
    token = login(web, "ana")
    saved = web.post(
        "/console/settings",
        data={"csrf_token": token, "grayscale": "on", "break_after": "2"},
    )
    assert saved.status_code == 303
    for case in cases:
        web.post(f"/console/cases/{case}/claim", data={"csrf_token": token})
        page = web.get(f"/console/cases/{case}")
        assert "view=full" in page.text  # no blur: opening the claimed case reveals it
    reveals = _events(bastion, "media.reveal")
    assert [e.details["automatic"] for e in reveals] == [True, True]
    page = web.get("/console/settings")
    assert "Consider a short break" in page.text
    web.post("/console/break", data={"csrf_token": token, "back": "/console/settings"})
    assert "Consider a short break" not in web.get("/console/settings").text
    assert _events(bastion, "user.preferences")[0].details["blur_media"] is False
    bad = web.post("/console/settings", data={"csrf_token": token, "break_after": "0"})
    assert bad.status_code == 422


def test_auditor_browses_and_verifies_the_audit_log(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    make_user(bastion, "olga", "auditor")
    login(web, "olga")
    assert web.get("/console").headers["location"] == "/console/audit"
    page = web.get("/console/audit?check=true")
    assert "The chain is intact" in page.text
    assert "login.success" in page.text and "user:olga" in page.text
    filtered = web.get("/console/audit?action=user.")
    assert "user.create" in filtered.text and "login.success" not in filtered.text
    assert web.get("/console/queue").status_code == 403
    assert web.get("/console/policy").status_code == 200  # read-only
    assert 'name="policy"' not in web.get("/console/policy").text


def test_admin_edits_the_policy_in_the_console(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    make_bank(web, admin, "known")
    make_user(bastion, "root", "admin")
    token = login(web, "root")
    bad = web.post(
        "/console/policy",
        data={"csrf_token": token, "policy": '[[rule]]\nname = "x"\nbanks = ["nope"]\n'},
    )
    assert bad.status_code == 422
    assert "Nothing was applied" in bad.text and "line" in bad.text and "nope" in bad.text
    good = web.post(
        "/console/policy",
        data={
            "csrf_token": token,
            "policy": '[[rule]]\nname = "known"\nbanks = ["known"]\naction = "review"\n',
        },
    )
    assert good.status_code == 200 and "Saved as version" in good.text
    with bastion.session() as session:
        assert session.scalar(select(PolicyVersion.actor)) == "user:root"
    assert _events(bastion, "policy.update")[0].actor == "user:root"


def test_admin_resends_a_dead_letter(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    with bastion.session() as session:
        session.add(
            Delivery(
                event="decision.remove",
                payload={"item_id": 1},
                status="dead",
                attempts=12,
                last_error="HTTP 500",
            )
        )
    make_user(bastion, "root", "admin")
    token = login(web, "root")
    page = web.get("/console/webhooks")
    assert "HTTP 500" in page.text and "Re-send" in page.text
    (delivery_id,) = [int(x) for x in [page.text.split("/console/webhooks/")[1].split("/")[0]]]
    response = web.post(f"/console/webhooks/{delivery_id}/resend", data={"csrf_token": token})
    assert response.status_code == 303
    with bastion.session() as session:
        assert session.get(Delivery, delivery_id).status == "pending"  # type: ignore[union-attr]
    assert _events(bastion, "webhook.resend")[0].actor == "user:root"


def test_logout_and_disabling_end_the_session(web: TestClient, bastion: Bastion) -> None:
    from bastion.auth.users import disable_user

    make_user(bastion, "ana", "moderator")
    token = login(web, "ana")
    secret = web.cookies["bastion_session"]
    assert web.post("/console/logout", data={"csrf_token": token}).status_code == 303
    web.cookies.clear()
    stale = web.get("/console/settings", headers={"Cookie": f"bastion_session={secret}"})
    assert stale.status_code == 303
    login(web, "ana")
    assert web.get("/console/settings").status_code == 200
    with bastion.session() as session:
        disable_user(session, "ana", actor="test")
    assert web.get("/console/settings").status_code == 303


def test_console_pages_carry_security_headers(web: TestClient, bastion: Bastion) -> None:
    response = web.get("/console/login")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert web.get("/console/static/htmx.min.js").status_code == 200


def test_video_stays_hidden_until_revealed_and_starts_muted(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    make_bank(web, admin, "clips")
    clip = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8  # stands in for a video file
    web.post(
        "/v1/banks/clips/entries",
        files={"file": ("clip.mp4", clip, "video/mp4")},
        headers=admin,
    )
    item = web.post(
        "/v1/items",
        files={"file": ("clip.mp4", clip, "video/mp4")},
        data={"external_id": "clip-1"},
        headers=admin,
    ).json()
    case = item["id"]
    make_user(bastion, "ana", "moderator")
    token = login(web, "ana")
    web.post(f"/console/cases/{case}/claim", data={"csrf_token": token})
    page = web.get(f"/console/cases/{case}").text
    assert "<video" not in page and "hidden until revealed" in page
    assert web.get(f"/console/cases/{case}/media?view=full").status_code == 422
    web.post(f"/console/cases/{case}/reveal", data={"csrf_token": token})
    page = web.get(f"/console/cases/{case}").text
    assert "<video" in page and " muted " in page
    served = web.get(f"/console/cases/{case}/media?view=full")
    assert served.content == clip and served.headers["content-type"] == "video/mp4"


def test_no_password_or_session_secret_reaches_the_logs(
    web: TestClient, bastion: Bastion, caplog: pytest.LogCaptureFixture
) -> None:
    make_user(bastion, "ana", "moderator")
    with caplog.at_level("DEBUG"):
        login(web, "ana")
        secret = web.cookies["bastion_session"]
        web.cookies.clear()
        token = csrf_of(web.get("/console/login").text)
        web.post(
            "/console/login",
            data={"username": "ana", "password": "wrong-pass-123", "csrf_token": token},
        )
    logged = caplog.text
    assert PASSWORD not in logged and "wrong-pass-123" not in logged
    assert secret not in logged


def test_a_decision_can_cover_identical_copies(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    case = review_case(web, admin, seed=16)
    copy = web.post(
        "/v1/items",
        files={"file": ("again.jpg", image_bytes(16), "image/jpeg")},
        data={"external_id": "post-16-copy"},
        headers=admin,
    ).json()["id"]
    make_user(bastion, "ana", "moderator")
    token = login(web, "ana")
    web.post(f"/console/cases/{case}/claim", data={"csrf_token": token})
    assert "Apply to the 1 identical copy" in web.get(f"/console/cases/{case}").text
    web.post(
        f"/console/cases/{case}/decision",
        data={"csrf_token": token, "outcome": "remove", "copies": "on"},
    )
    item = web.get(f"/v1/items/{copy}", headers=admin).json()
    assert item["decision"]["outcome"] == "remove"
    assert item["decision"]["automation"] == "partial"
    with bastion.session() as session:
        events = [d.payload["automation"] for d in session.scalars(select(Delivery))]
    assert sorted(events) == ["none", "partial"]
    decided = [e.details for e in _events(bastion, "case.decide")]
    assert {d["automation"] for d in decided} == {"none", "partial"}


def test_odd_input_gets_a_clear_answer_never_a_500(web: TestClient, bastion: Bastion) -> None:
    make_user(bastion, "root", "admin")
    forged = web.post(
        "/console/login", data={"username": "root", "password": PASSWORD, "csrf_token": "é"}
    )
    assert forged.status_code == 403
    login(web, "root")
    assert web.get("/console/audit?before=9223372036854775808").status_code == 422
    assert web.get("/console/audit?before=x").status_code == 422
    assert web.get("/console/queue?name=%00").status_code in (200, 422)
    assert web.get("/console/audit?actor=%00").status_code in (200, 422)
    assert web.get("/console/cases/99999999999999999999").status_code == 422
    assert web.get("/console/cases/123").status_code == 404
    long_name = web.post("/console/login", data={"username": "a" * 300, "password": "x"})
    assert long_name.status_code in (303, 422)


def test_failed_logins_do_not_grow_memory_without_bound(bastion: Bastion) -> None:
    app = create_app(bastion)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        for attempt in range(40):
            token = csrf_of(client.get("/console/login").text)
            client.post(
                "/console/login",
                data={"username": f"nobody{attempt}", "password": "x" * 12, "csrf_token": token},
            )
        # Blocked after 5 failures from this address: later names are not even tracked.
        assert app.state.login_limiter.tracked() <= 6 + 1


def test_an_expired_login_returns_to_the_page_after_logging_in(web: TestClient) -> None:
    response = web.post(
        "/console/cases/7/decision",
        data={"outcome": "remove"},
        headers={"Referer": "https://testserver/console/cases/7"},
    )
    assert response.headers["location"] == "/console/login?next=%2Fconsole%2Fcases%2F7"
    offsite = web.post("/console/cases/7/claim", headers={"Referer": "https://evil.example/x"})
    assert offsite.headers["location"] == "/console/login?next=%2Fconsole"


def test_only_admins_add_to_a_vetted_bank(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    case = review_case(web, admin, seed=17)
    make_bank(web, admin, "vetted-list", vetted=True)
    make_user(bastion, "ana", "moderator")
    token = login(web, "ana")
    web.post(f"/console/cases/{case}/claim", data={"csrf_token": token})
    assert "vetted-list" not in web.get(f"/console/cases/{case}").text
    refused = web.post(
        f"/console/cases/{case}/decision",
        data={"csrf_token": token, "outcome": "remove", "bank": "vetted-list"},
    )
    assert refused.status_code == 403 and "only an admin" in refused.text


def test_a_text_case_shows_its_text(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    from builders.text import edited, text

    make_bank(web, admin, "posts")
    original = text(61)
    web.post(
        "/v1/banks/posts/entries", json={"signal_type": "text", "value": original}, headers=admin
    )
    case = web.post(
        "/v1/items", json={"external_id": "t-9", "text": edited(original, 0.05, 9)}, headers=admin
    ).json()["id"]
    make_user(bastion, "ana", "moderator")
    login(web, "ana")
    page = web.get(f"/console/cases/{case}").text
    assert 'class="text-item"' in page and original.split()[10] in page
    assert "text_minhash" in page


def test_a_classified_text_case_shows_the_explanation(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    item = web.post(
        "/v1/items",
        json={
            "external_id": "cls-1",
            "text": "Rise, brothers of the Crimson Oath Movement! Swear allegiance to our "
            "commander and take your place in the ranks; only the sword restores our honour.",
        },
        headers=admin,
    ).json()
    assert item["verdict"]["outcome"] == "review"
    make_user(bastion, "ana", "moderator")
    login(web, "ana")
    page = web.get(f"/console/cases/{item['id']}").text
    assert "Text classifier" in page and "Closest labelled examples" in page
    assert "never removes anything" in page and "Scored by model tvec-v3" in page
    assert "Read twice: first stage" in page


def test_a_text_case_added_to_a_bank_matches_its_copies(
    web: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    from builders.text import edited, text

    make_bank(web, admin, "posts")
    make_bank(web, admin, "confirmed")
    original = text(91)
    web.post(
        "/v1/banks/posts/entries", json={"signal_type": "text", "value": original}, headers=admin
    )
    case = web.post(
        "/v1/items", json={"external_id": "t-91", "text": original}, headers=admin
    ).json()["id"]
    make_user(bastion, "ana", "moderator")
    token = login(web, "ana")
    web.post(f"/console/cases/{case}/claim", data={"csrf_token": token})
    done = web.post(
        f"/console/cases/{case}/decision",
        data={"csrf_token": token, "outcome": "remove", "bank": "confirmed"},
    )
    assert done.status_code == 303
    copy = web.post(
        "/v1/match",
        json={"signal_type": "text", "value": edited(original, 0.05, 3), "banks": ["confirmed"]},
        headers=admin,
    ).json()
    assert copy["matches"] and copy["matches"][0]["bank"] == "confirmed"
