"""Statements of reasons (DSA Art. 17) and their submission to a stand-in Transparency
Database over real HTTP: mapping, local validation, batches, retries, PUID idempotency."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from bastion.api.routes import statements as statement_routes
from bastion.app import create_app
from bastion.compliance.statement_rules import validate
from bastion.compliance.statements import (
    StatementOptions,
    build_statement,
    record_statement,
)
from bastion.compliance.tdb_client import TdbClient, submit_once
from bastion.db.base import utcnow
from bastion.db.models import Decision, Item, Statement
from bastion.runtime import Bastion
from bastion.settings import Settings
from builders.api import add_file, image_bytes, make_bank
from builders.console import review_case
from builders.tdb_server import TdbServer, check_statement
from conftest import _token


@pytest.fixture
def client(bastion: Bastion) -> Iterator[TestClient]:
    """The real app, with the statements router (mounted here until app.py registers it)."""
    app = create_app(bastion)
    if not any(getattr(route, "path", "") == "/v1/statements" for route in app.routes):
        app.include_router(statement_routes.router)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def tdb() -> Iterator[TdbServer]:
    """The stand-in Transparency Database on a free port."""
    with TdbServer() as server:
        yield server


def _client(tdb: TdbServer, **options: Any) -> TdbClient:
    return TdbClient(tdb.url, tdb.state.token, **options)


def _decide(client: TestClient, admin: dict[str, str], case: int, **body: Any) -> int:
    assert client.post(f"/v1/cases/{case}/claim", headers=admin).status_code == 200
    response = client.post(f"/v1/cases/{case}/decision", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _record(bastion: Bastion, decision_id: int, **options: Any) -> Statement | None:
    with bastion.session() as session:
        decision = session.get(Decision, decision_id)
        assert decision is not None
        opts = StatementOptions(**options) if options else None
        if opts is not None:
            # The decision path already recorded one with the defaults; redo it with these.
            session.execute(delete(Statement).where(Statement.decision_id == decision_id))
        statement = record_statement(session, decision, opts)
        if statement is not None:
            session.flush()
            session.expunge(statement)
        return statement


def _statements(bastion: Bastion) -> list[Statement]:
    with bastion.session() as session:
        rows = list(session.scalars(select(Statement).order_by(Statement.id)))
        session.expunge_all()
        return rows


def _bulk(bastion: Bastion, count: int) -> list[int]:
    """`count` removal decisions recorded with their statements (fast: straight to the
    database; the API path is covered by the mapping tests)."""
    with bastion.session() as session:
        ids = []
        for n in range(count):
            item = Item(
                platform="acme",
                external_id=f"bulk-{n}",
                kind="image",
                content_sha256=f"{n:064x}",
                verdict="review",
                decision="remove",
            )
            session.add(item)
            session.flush()
            decision = Decision(
                item_id=item.id, outcome="remove", decided_by="m", automation="none"
            )
            session.add(decision)
            session.flush()
            statement = record_statement(session, decision)
            assert statement is not None and statement.status == "pending"
            ids.append(statement.id)
        return ids


# --- what a decision becomes -------------------------------------------------------------


def test_decisions_map_to_v2_statements(
    client: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    removed = _decide(client, admin, review_case(client, admin, seed=31), outcome="remove")
    restricted = _decide(client, admin, review_case(client, admin, seed=32), outcome="restrict")
    left = _decide(client, admin, review_case(client, admin, seed=33), outcome="leave_up")
    other = review_case(client, admin, seed=34)
    not_tvec = _decide(client, admin, other, outcome="not_tvec", exclusion="journalism")
    escalated = _decide(client, admin, review_case(client, admin, seed=35), outcome="escalate")

    for quiet in (left, not_tvec, escalated):
        assert _record(bastion, quiet) is None

    statement = _record(bastion, removed)
    assert statement is not None
    assert statement.status == "pending", statement.problems
    s = statement.payload
    assert s["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert s["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert s["illegal_content_legal_ground"] == "Regulation (EU) 2021/784 (TCO)"
    assert "participate in the activities of a terrorist group" in s["illegal_content_explanation"]
    assert s["category"] == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    assert s["category_specification"] == ["KEYWORD_TERRORIST_CONTENT"]
    assert s["content_type"] == ["CONTENT_TYPE_IMAGE"]
    assert s["source_type"] == "SOURCE_VOLUNTARY"
    # A hash match raised it, a person decided it: the flags must not be inverted.
    assert s["automated_detection"] == "Yes"
    assert s["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert s["puid"] == statement.puid and statement.puid.startswith(f"bastion-{removed}-")
    assert len(s["territorial_scope"]) == 30 and "GR" in s["territorial_scope"]
    assert s["application_date"] == utcnow().date().isoformat()
    assert s["decision_facts"].startswith("Detected on the platform's own initiative by matching")
    assert validate(s) == [] and check_statement(s) == {}

    r = (_record(bastion, restricted) or pytest.fail("no statement")).payload
    assert r["decision_visibility"] == ["DECISION_VISIBILITY_OTHER"]
    assert r["decision_visibility_other"]
    assert r["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert r["incompatible_content_ground"] and r["incompatible_content_illegal"] == "No"
    assert "illegal_content_legal_ground" not in r
    assert validate(r) == [] and check_statement(r) == {}


def test_copies_and_automatic_removals_record_their_automation(
    client: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    make_bank(client, admin, "known")
    data = image_bytes(41)
    add_file(client, admin, "known", data, category="a")
    ids = []
    for n in range(2):
        response = client.post(
            "/v1/items",
            files={"file": ("u.jpg", data, "image/jpeg")},
            data={"external_id": f"copy-{n}"},
            headers=admin,
        )
        ids.append(response.json()["id"])
    _decide(client, admin, ids[0], outcome="remove", copies=True)
    make_bank(client, admin, "vetted", vetted=True)
    policy = '[[rule]]\nname = "v"\nbanks = ["vetted"]\nmax_distance = 8\naction = "auto"\n'
    assert client.put("/v1/policy", content=policy.encode(), headers=admin).status_code == 200
    add_file(client, admin, "vetted", image_bytes(42), category="e")
    auto = client.post(
        "/v1/items",
        files={"file": ("v.jpg", image_bytes(42), "image/jpeg")},
        data={"external_id": "auto"},
        headers=admin,
    ).json()
    assert auto["decision"]["automation"] == "full"

    # Every decision path recorded its statement already, in the decision's transaction.
    recorded = _statements(bastion)
    assert len(recorded) == 3
    with bastion.session() as session:
        decisions = list(session.scalars(select(Decision).order_by(Decision.id)))
        by_item = {d.item_id: record_statement(session, d) for d in decisions}
        payloads = {k: v.payload for k, v in by_item.items() if v is not None}
    assert {p["puid"] for p in payloads.values()} == {s.puid for s in recorded}
    assert payloads[ids[1]]["automated_decision"] == "AUTOMATED_DECISION_PARTIALLY"
    assert payloads[auto["id"]]["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert payloads[auto["id"]]["automated_detection"] == "Yes"
    assert "threatens to commit" in payloads[auto["id"]]["illegal_content_explanation"]
    assert len({p["puid"] for p in payloads.values()}) == len(payloads) == 3


def test_record_statement_is_once_per_decision(
    client: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    decision = _decide(client, admin, review_case(client, admin, seed=51), outcome="remove")
    first, again = _record(bastion, decision), _record(bastion, decision)
    assert first is not None and again is not None
    assert (first.id, first.puid) == (again.id, again.puid)
    assert len(_statements(bastion)) == 1


@pytest.mark.parametrize(
    ("kind", "media_type", "expected", "other"),
    [
        ("text", "text/plain", "CONTENT_TYPE_TEXT", None),
        ("url", None, "CONTENT_TYPE_OTHER", "Link (URL) to content"),
        ("file", "video/mp4", "CONTENT_TYPE_VIDEO", None),
        ("file", "application/pdf", "CONTENT_TYPE_OTHER", "File"),
    ],
)
def test_content_type_follows_the_item_kind(
    kind: str, media_type: str | None, expected: str, other: str | None
) -> None:
    now = utcnow()
    item = Item(kind=kind, media_type=media_type, received_at=now, verdict="review", platform="p")
    item.matches, item.signals = [], []
    decision = Decision(id=7, outcome="remove", automation="none", created_at=now)
    s = build_statement(decision, item, "p-7", StatementOptions())
    assert s["content_type"] == [expected]
    assert s.get("content_type_other") == other
    assert validate(s) == [] and check_statement(s) == {}


# --- the rules: local validator and stand-in agree ---------------------------------------


def _valid() -> dict[str, Any]:
    return {
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": "Regulation (EU) 2021/784 (TCO)",
        "illegal_content_explanation": "Terrorist content.",
        "content_type": ["CONTENT_TYPE_IMAGE"],
        "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "category_specification": ["KEYWORD_TERRORIST_CONTENT"],
        "content_date": "2025-03-01",
        "application_date": "2025-03-02",
        "decision_facts": "Matched known terrorist content.",
        "source_type": "SOURCE_VOLUNTARY",
        "automated_detection": "Yes",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        "puid": "bastion-1-abc",
    }


BROKEN: list[tuple[dict[str, Any], str, str]] = [
    ({"decision_visibility": None}, "decision_visibility", "required_without_all"),
    ({"decision_visibility": ["REMOVED"]}, "decision_visibility", "in"),
    (
        {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]},
        "decision_visibility_other",
        "required_if",
    ),
    ({"decision_ground": None}, "decision_ground", "required"),
    ({"decision_ground": "ILLEGAL"}, "decision_ground", "in"),
    ({"illegal_content_legal_ground": ""}, "illegal_content_legal_ground", "required_if"),
    ({"illegal_content_explanation": "x" * 2001}, "illegal_content_explanation", "max"),
    (
        {"decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT"},
        "incompatible_content_ground",
        "required_if",
    ),
    ({"content_type": []}, "content_type", "required"),
    ({"content_type": ["CONTENT_TYPE_OTHER"]}, "content_type_other", "required_if"),
    ({"category": "STATEMENT_CATEGORY_TERRORISM"}, "category", "in"),
    ({"category_specification": ["KEYWORD_TERRORISM"]}, "category_specification", "in"),
    ({"territorial_scope": ["FR", "UK"]}, "territorial_scope", "in"),
    ({"territorial_scope": ["EL"]}, "territorial_scope", "in"),
    ({"content_language": "en"}, "content_language", "in"),
    ({"content_date": "2025-3-1"}, "content_date", "date_format"),
    ({"content_date": "1999-12-31"}, "content_date", "after_or_equal"),
    ({"application_date": "2019-12-31"}, "application_date", "after_or_equal"),
    ({"application_date": "2025-03-02-10"}, "application_date", "date_format"),
    (
        {"end_date_visibility_restriction": "2038-01-02"},
        "end_date_visibility_restriction",
        "before_or_equal",
    ),
    ({"decision_facts": "x" * 5001}, "decision_facts", "max"),
    ({"source_type": "SOURCE_TYPE_VOLUNTARY"}, "source_type", "in"),
    ({"automated_detection": True}, "automated_detection", "in"),
    ({"automated_decision": "AUTOMATED_DECISION_FULL"}, "automated_decision", "in"),
    ({"puid": "has space"}, "puid", "regex"),
    ({"puid": "x" * 501}, "puid", "max"),
    ({"decision_ground_reference_url": "not a url"}, "decision_ground_reference_url", "url"),
]


@pytest.mark.parametrize(("change", "field", "rule"), BROKEN)
def test_local_rules_and_the_database_agree(
    tdb: TdbServer, change: dict[str, Any], field: str, rule: str
) -> None:
    statement = {**_valid(), **change}
    problems = validate(statement)
    assert (field, rule) in [(p.field, p.rule) for p in problems], problems
    # The stand-in (written from the database's code, not from our table) refuses it too.
    response = httpx.post(
        f"{tdb.url}/api/v1/statements",
        json={"statements": [statement]},
        headers={"Authorization": f"Bearer {tdb.state.token}"},
    )
    assert response.status_code == 422
    assert field in response.json()["errors"]["statement_0"]
    assert {p.field for p in problems if p.rule not in ("no_personal_data", "known_field")} == set(
        response.json()["errors"]["statement_0"]
    )


def test_a_valid_statement_passes_both(tdb: TdbServer) -> None:
    assert validate(_valid()) == []
    response = httpx.post(
        f"{tdb.url}/api/v1/statement",
        json=_valid(),
        headers={"Authorization": f"Bearer {tdb.state.token}"},
    )
    assert response.status_code == 201, response.text


def test_misspelt_fields_and_personal_data_are_refused() -> None:
    problems = validate({**_valid(), "decision_visiblity": ["DECISION_VISIBILITY_OTHER"]})
    assert [(p.field, p.rule) for p in problems] == [("decision_visiblity", "known_field")]
    for text in ("write to jane.doe@example.org", "call +33 6 12 34 56 78", "tel. 0612345678"):
        found = validate({**_valid(), "decision_facts": text})
        assert [(p.field, p.rule) for p in found] == [("decision_facts", "no_personal_data")]
    for fine in (
        "Regulation (EU) 2021/784, decided 2025-03-01 at 10:15",
        "PDQ distance 12 of 256; 3 copies",
    ):
        assert validate({**_valid(), "decision_facts": fine}) == []


# --- submission --------------------------------------------------------------------------


def test_a_decision_reaches_the_database_with_its_puid(
    client: TestClient, bastion: Bastion, admin: dict[str, str], tdb: TdbServer
) -> None:
    decision = _decide(client, admin, review_case(client, admin, seed=61), outcome="remove")
    statement = _record(bastion, decision)
    assert statement is not None
    with _client(tdb) as tdb_client:
        result = submit_once(bastion, tdb_client)
    assert result.submitted == [statement.id]
    assert tdb.state.stored[statement.puid] == statement.payload
    (row,) = _statements(bastion)
    assert row.status == "submitted" and row.submitted_at is not None and row.attempts == 1


def test_invalid_statements_are_never_sent_and_say_why(
    client: TestClient, bastion: Bastion, admin: dict[str, str], tdb: TdbServer
) -> None:
    decision = _decide(client, admin, review_case(client, admin, seed=62), outcome="restrict")
    statement = _record(
        bastion, decision, restrict_description="Ask moderation@example.org", terms_url="nope"
    )
    assert statement is not None and statement.status == "invalid"
    with _client(tdb) as tdb_client:
        submit_once(bastion, tdb_client)
    assert tdb.state.calls == []

    shown = client.get(f"/v1/statements/{statement.id}", headers=admin).json()
    assert shown["status"] == "invalid"
    assert {(p["field"], p["rule"]) for p in shown["problems"]} == {
        ("decision_ground_reference_url", "url"),
        ("decision_visibility_other", "no_personal_data"),
    }
    listed = client.get("/v1/statements?status=invalid", headers=admin).json()["statements"]
    assert [s["id"] for s in listed] == [statement.id] and "payload" not in listed[0]
    assert client.get("/v1/statements?status=pending", headers=admin).json()["statements"] == []
    assert client.get("/v1/statements?status=nope", headers=admin).status_code == 422
    assert client.get("/v1/statements/999", headers=admin).status_code == 404
    platform = _token(bastion, "platform", "acme")
    assert client.get("/v1/statements", headers=platform).status_code == 403
    assert client.get("/v1/statements").status_code == 401


def test_250_statements_go_out_as_100_100_50(bastion: Bastion, tdb: TdbServer) -> None:
    ids = _bulk(bastion, 250)
    with bastion.session() as session, _client(tdb) as tdb_client:
        result = tdb_client.submit_due(session)
    assert tdb.batch_sizes() == [100, 100, 50]
    assert sorted(result.submitted) == ids and len(tdb.state.stored) == 250


def test_a_failed_batch_is_retried_later_with_the_same_puids(
    bastion: Bastion, tdb: TdbServer
) -> None:
    _bulk(bastion, 3)
    puids = [s.puid for s in _statements(bastion)]
    now = utcnow()
    tdb.fail_next(1, 500)
    with _client(tdb) as tdb_client:
        first = submit_once(bastion, tdb_client, now=now)
        assert len(first.retry) == 3 and tdb.state.stored == {}
        rows = _statements(bastion)
        assert {r.status for r in rows} == {"pending"} and (rows[0].last_error or "").startswith(
            "HTTP 500"
        )
        # Not due yet: nothing is sent.
        assert submit_once(bastion, tdb_client, now=now + timedelta(seconds=1)).requests == 0
    # A restart: a new client object picks up what is pending.
    with _client(tdb) as restarted:
        later = submit_once(bastion, restarted, now=now + timedelta(minutes=5))
    assert len(later.submitted) == 3
    assert sorted(tdb.state.stored) == sorted(puids)
    assert tdb.batch_sizes() == [3, 3]
    assert {(r.status, r.attempts) for r in _statements(bastion)} == {("submitted", 2)}


def test_a_lost_answer_is_checked_by_puid_and_not_sent_twice(
    bastion: Bastion, tdb: TdbServer
) -> None:
    _bulk(bastion, 2)
    tdb.hang_next(1, store=True)
    with _client(tdb, timeout_s=0.5) as tdb_client:
        result = submit_once(bastion, tdb_client)
        assert len(result.submitted) == 2
        assert submit_once(bastion, tdb_client, now=utcnow() + timedelta(hours=2)).requests == 0
    gets = [path for method, path, _ in tdb.state.calls if method == "GET"]
    assert len(gets) == 2 and all("/existing-puid/" in g for g in gets)
    assert tdb.batch_sizes() == [2] and len(tdb.state.stored) == 2
    assert all("confirmed after" in (s.last_error or "") for s in _statements(bastion))


def test_a_timeout_that_stored_nothing_is_sent_again(bastion: Bastion, tdb: TdbServer) -> None:
    _bulk(bastion, 2)
    tdb.hang_next(1, store=False)
    now = utcnow()
    with _client(tdb, timeout_s=0.5) as tdb_client:
        assert len(submit_once(bastion, tdb_client, now=now).retry) == 2
        assert tdb.state.stored == {}
        assert len(submit_once(bastion, tdb_client, now=now + timedelta(minutes=1)).submitted) == 2
    assert tdb.batch_sizes() == [2, 2] and len(tdb.state.stored) == 2


def test_puids_the_database_already_has_count_as_submitted(
    bastion: Bastion, tdb: TdbServer
) -> None:
    _bulk(bastion, 3)
    first, *rest = _statements(bastion)
    # As if the process died after the database stored it but before we wrote that down.
    httpx.post(
        f"{tdb.url}/api/v1/statement",
        json=first.payload,
        headers={"Authorization": f"Bearer {tdb.state.token}"},
    ).raise_for_status()
    with _client(tdb) as tdb_client:
        result = submit_once(bastion, tdb_client)
    assert sorted(result.submitted) == sorted(s.id for s in (first, *rest))
    assert tdb.batch_sizes() == [1, 3, 2]  # our crash-time send, the refused batch, the rest
    assert len(tdb.state.stored) == 3


def test_a_statement_the_database_refuses_is_held_and_the_rest_go(
    bastion: Bastion, tdb: TdbServer
) -> None:
    _bulk(bastion, 3)
    odd = _statements(bastion)[1]
    tdb.refuse(odd.puid, "decision_facts", "The decision facts contain a forbidden word.")
    with _client(tdb) as tdb_client:
        result = submit_once(bastion, tdb_client)
    assert result.invalid == [odd.id] and len(result.submitted) == 2
    held = {s.id: s for s in _statements(bastion)}[odd.id]
    assert held.status == "invalid" and held.problems == [
        {
            "field": "decision_facts",
            "rule": "tdb",
            "message": "The decision facts contain a forbidden word.",
        }
    ]
    assert odd.puid not in tdb.state.stored


def test_a_wrong_token_is_retried_later(bastion: Bastion, tdb: TdbServer) -> None:
    _bulk(bastion, 1)
    with TdbClient(tdb.url, "wrong") as tdb_client:
        result = submit_once(bastion, tdb_client)
    assert len(result.retry) == 1
    (row,) = _statements(bastion)
    assert row.status == "pending" and (row.last_error or "").startswith("HTTP 401")


def test_submission_off_keeps_statements_and_sends_nothing(
    bastion: Bastion, tdb: TdbServer
) -> None:
    _bulk(bastion, 2)
    with _client(tdb, enabled=False) as tdb_client:
        result = submit_once(bastion, tdb_client)
    assert len(result.off) == 2 and tdb.state.calls == []
    assert {s.status for s in _statements(bastion)} == {"off"}


def test_the_cli_lists_shows_and_submits(
    client: TestClient, bastion: Bastion, admin: dict[str, str], settings: Settings
) -> None:
    from test_cli import bastion_cli, lines

    decision = _decide(client, admin, review_case(client, admin, seed=77), outcome="remove")
    listed = lines(bastion_cli(settings, "statements", "list"))
    assert [row["decision_id"] for row in listed] == [decision]
    shown = lines(bastion_cli(settings, "statements", "show", str(listed[0]["id"])))[0]
    assert shown["payload"]["category"] == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    unset = bastion_cli(settings, "statements", "submit")
    assert unset.returncode == 2 and "BASTION_TDB_URL" in unset.stderr
    off = bastion_cli(settings, "statements", "submit", tdb_submit="false")
    assert off.returncode == 0, off.stderr
    assert lines(off)[0]["off"] == 1
    assert lines(bastion_cli(settings, "statements", "list"))[0]["status"] == "off"
