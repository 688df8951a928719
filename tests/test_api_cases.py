"""Review cases over the API: the same claims and decisions as the console."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bastion.runtime import Bastion
from builders.api import make_bank
from builders.console import review_case
from conftest import _token


def test_claim_and_decide_over_the_api(
    client: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    case = review_case(client, admin, seed=11)
    other = _token(bastion, "admin")
    listing = client.get("/v1/cases", headers=admin).json()
    assert listing["queues"] == {"default": 1}
    assert [c["id"] for c in listing["cases"]] == [case]

    claimed = client.post(f"/v1/cases/{case}/claim", headers=admin)
    assert claimed.status_code == 200
    holder = claimed.json()["claim"]["claimed_by"]
    assert holder.startswith("token:")

    taken = client.post(f"/v1/cases/{case}/claim", headers=other)
    assert taken.status_code == 409
    assert taken.json()["error"]["details"] == {"claimed_by": holder}
    refused = client.post(f"/v1/cases/{case}/decision", json={"outcome": "remove"}, headers=other)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "claimed"

    bad = client.post(f"/v1/cases/{case}/decision", json={"outcome": "delete"}, headers=admin)
    assert bad.status_code == 422 and "remove, restrict" in bad.json()["error"]["message"]
    decided = client.post(
        f"/v1/cases/{case}/decision",
        json={"outcome": "not_tvec", "exclusion": "counter_speech", "note": "refutes it"},
        headers=admin,
    )
    assert decided.status_code == 201, decided.text
    body = decided.json()
    assert body["outcome"] == "not_tvec" and body["exclusion"] == "counter_speech"
    assert body["automation"] == "none" and body["decided_by"] == holder

    again = client.post(f"/v1/cases/{case}/decision", json={"outcome": "remove"}, headers=admin)
    assert again.status_code == 409 and again.json()["error"]["code"] == "decided"
    item = client.get(f"/v1/items/{case}", headers=admin).json()
    assert item["decision"]["outcome"] == "not_tvec"
    assert client.get("/v1/cases", headers=admin).json()["cases"] == []


def test_a_decision_can_add_the_item_to_a_bank(client: TestClient, admin: dict[str, str]) -> None:
    case = review_case(client, admin, seed=12)
    make_bank(client, admin, "confirmed")
    client.post(f"/v1/cases/{case}/claim", headers=admin)
    unknown = client.post(
        f"/v1/cases/{case}/decision", json={"outcome": "remove", "bank": "nope"}, headers=admin
    )
    assert unknown.status_code == 404
    done = client.post(
        f"/v1/cases/{case}/decision",
        json={"outcome": "remove", "bank": "confirmed"},
        headers=admin,
    )
    assert done.status_code == 201, done.text
    assert client.get("/v1/banks/confirmed", headers=admin).json()["entries"] == 1


def test_unknown_case_is_404(client: TestClient, admin: dict[str, str]) -> None:
    assert client.post("/v1/cases/999/claim", headers=admin).status_code == 404


def test_an_automatic_removal_is_a_recorded_decision(
    client: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    from sqlalchemy import select

    from bastion.db.models import AuditEvent
    from builders.api import add_file, image_bytes

    make_bank(client, admin, "vetted", vetted=True)
    policy = (
        '[[rule]]\nname = "vetted copies"\nbanks = ["vetted"]\nmax_distance = 8\naction = "auto"\n'
    )
    assert client.put("/v1/policy", content=policy.encode(), headers=admin).status_code == 200
    add_file(client, admin, "vetted", image_bytes(13), category="d")
    item = client.post(
        "/v1/items",
        data={"external_id": "auto-1"},
        files={"file": ("u.jpg", image_bytes(13))},
        headers=admin,
    ).json()
    assert item["verdict"]["outcome"] == "auto"
    assert item["decision"]["outcome"] == "remove"
    assert item["decision"]["automation"] == "full"
    with bastion.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.decide")).one()
        assert event.actor == "policy" and event.details["automation"] == "full"
