"""The preservation vault (TCO Art. 6): removals sealed encrypted with their related data,
opened only for a stated purpose (audited), kept six months or under a legal hold, purged."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bastion.app import create_app
from bastion.compliance.vault import preserve_due, purge, vault_from
from bastion.db.base import utcnow
from bastion.db.models import AuditEvent, VaultRecord
from bastion.errors import InvalidInput
from bastion.runtime import Bastion
from bastion.settings import Settings
from builders.api import image_bytes
from builders.console import review_case
from conftest import _token


def _decide(client: TestClient, admin: dict[str, str], case: int, outcome: str) -> int:
    assert client.post(f"/v1/cases/{case}/claim", headers=admin).status_code == 200
    response = client.post(f"/v1/cases/{case}/decision", json={"outcome": outcome}, headers=admin)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _preserve(bastion: Bastion) -> list[int]:
    keys = vault_from(bastion.settings)
    assert keys is not None
    with bastion.session() as session:
        return preserve_due(session, keys, bastion.media)


def _records(bastion: Bastion) -> list[VaultRecord]:
    with bastion.session() as session:
        rows = list(session.scalars(select(VaultRecord).order_by(VaultRecord.id)))
        session.expunge_all()
        return rows


def test_a_removal_is_sealed_and_opened_only_for_a_purpose(
    client: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    removed = review_case(client, admin, seed=301)
    kept = review_case(client, admin, seed=302)
    _decide(client, admin, removed, "remove")
    _decide(client, admin, kept, "leave_up")
    assert len(_preserve(bastion)) == 1
    assert _preserve(bastion) == []  # once per decision
    (row,) = _records(bastion)
    assert row.item_id == removed and row.order_id is None
    assert (row.expires_at - row.stored_at) >= timedelta(days=183)
    keys = vault_from(bastion.settings)
    assert keys is not None
    sealed = keys.path_for(row.id).read_bytes()
    original = image_bytes(301)
    assert original[100:164] not in sealed and b"post-301" not in sealed  # encrypted at rest

    vague = client.post(f"/v1/vault/{row.id}/open", json={"purpose": "look"}, headers=admin)
    assert vague.status_code == 422 and vague.json()["error"]["code"] == "purpose_required"
    opened = client.post(
        f"/v1/vault/{row.id}/open",
        json={"purpose": "Complaint 12: second review of the removal"},
        headers=admin,
    )
    assert opened.status_code == 200, opened.text
    body = opened.json()
    assert base64.b64decode(body["content_base64"]) == original
    assert body["related"]["item"]["external_id"] == "post-301"
    assert body["related"]["decision"]["outcome"] == "remove"
    assert body["related"]["matches"][0]["bank"] == "known"
    with bastion.session() as session:
        access = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "vault.access")
        ).one()
        assert access.details["purpose"].startswith("Complaint 12")
    platform = _token(bastion, "platform", "acme")
    assert client.get("/v1/vault", headers=platform).status_code == 403
    assert client.get("/v1/vault", headers=admin).json()["records"][0]["id"] == row.id


def test_a_removal_order_is_preserved_with_the_order(
    client: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    item = client.post(
        "/v1/items",
        json={"external_id": "v-1", "url": "https://videos.example.net/watch?v=VVV"},
        headers=admin,
    ).json()
    authority = _token(bastion, "authority")
    order: dict[str, Any] = {
        "reference": "BE-1",
        "authority": "Test authority",
        "member_state": "BE",
        "issued_at": "2026-11-26T08:00:00Z",
        "urls": ["https://videos.example.net/watch?v=VVV"],
        "categories": ["a"],
        "reasons": "Glorification (invented group).",
        "redress": "Council of State.",
    }
    created = client.post("/v1/orders", json=order, headers=authority).json()
    _preserve(bastion)
    (row,) = _records(bastion)
    assert row.item_id == item["id"] and row.order_id == created["id"]


def test_tampered_files_and_wrong_keys_are_refused(
    client: TestClient, bastion: Bastion, admin: dict[str, str], settings: Settings
) -> None:
    _decide(client, admin, review_case(client, admin, seed=303), "remove")
    _preserve(bastion)
    (row,) = _records(bastion)
    keys = vault_from(bastion.settings)
    assert keys is not None
    path = keys.path_for(row.id)
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 1
    path.write_bytes(bytes(blob))
    purpose = {"purpose": "Investigation request 7 from the police"}
    tampered = client.post(f"/v1/vault/{row.id}/open", json=purpose, headers=admin)
    assert tampered.status_code == 409 and tampered.json()["error"]["code"] == "vault_tampered"
    other = settings.model_copy(update={"vault_key": base64.urlsafe_b64encode(b"k" * 32).decode()})
    with TestClient(create_app(Bastion(other))) as second:
        token = _token(Bastion(other), "admin")
        wrong = second.post(f"/v1/vault/{row.id}/open", json=purpose, headers=token)
        assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "vault_wrong_key"


def test_six_months_then_purged_unless_held(
    client: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    for seed in (304, 305):
        _decide(client, admin, review_case(client, admin, seed=seed), "remove")
    _preserve(bastion)
    first, second = _records(bastion)
    keys = vault_from(bastion.settings)
    assert keys is not None
    held = client.post(
        f"/v1/vault/{second.id}/hold",
        json={"until": (utcnow() + timedelta(days=400)).isoformat(), "reason": "Court order 55/26"},
        headers=admin,
    )
    assert held.status_code == 200 and held.json()["hold_reason"] == "Court order 55/26"
    with bastion.session() as session:
        assert purge(session, keys, now=utcnow() + timedelta(days=30), dry_run=True) == []
        later = utcnow() + timedelta(days=200)
        assert purge(session, keys, now=later, dry_run=True) == [first.id]
        assert keys.path_for(first.id).exists()
        assert purge(session, keys, now=later) == [first.id]
    assert not keys.path_for(first.id).exists() and keys.path_for(second.id).exists()
    gone = client.post(
        f"/v1/vault/{first.id}/open", json={"purpose": "Late complaint review"}, headers=admin
    )
    assert gone.status_code == 409
    with bastion.session() as session:
        assert purge(session, keys, now=utcnow() + timedelta(days=401)) == [second.id]
        actions = {a for (a,) in session.execute(select(AuditEvent.action))}
    assert {"vault.preserve", "vault.hold", "vault.purge"} <= actions
    past = client.post(
        f"/v1/vault/{second.id}/hold",
        json={"until": "2020-01-01T00:00:00Z", "reason": "Court order 56/26"},
        headers=admin,
    )
    assert past.status_code == 422


def test_no_key_no_start(settings: Settings) -> None:
    keyless = settings.model_copy(update={"vault_key": None, "vault_key_file": None})
    with (
        pytest.raises(InvalidInput, match="BASTION_VAULT_KEY"),
        TestClient(create_app(Bastion(keyless))),
    ):
        pass
    short = settings.model_copy(update={"vault_key": "c2hvcnQ="})
    with pytest.raises(InvalidInput, match="32 bytes"):
        vault_from(short)
    off = settings.model_copy(update={"vault_key": None, "vault": False})
    with TestClient(create_app(Bastion(off))) as client:
        assert client.get("/health").status_code == 200


def test_the_key_can_come_from_a_file_and_the_cli_purges(
    client: TestClient, bastion: Bastion, admin: dict[str, str], settings: Settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from test_cli import bastion_cli, lines

    key_file = tmp_path / "vault.key"
    key_file.write_text(bastion_cli(settings, "vault", "keygen").stdout)
    assert vault_from(settings.model_copy(update={"vault_key": None, "vault_key_file": key_file}))
    _decide(client, admin, review_case(client, admin, seed=306), "remove")
    assert lines(bastion_cli(settings, "vault", "preserve"))[0]["preserved"] == 1
    assert lines(bastion_cli(settings, "vault", "purge", "--dry-run")) == []
    (row,) = lines(bastion_cli(settings, "vault", "list"))
    out = tmp_path / "content.bin"
    opened = bastion_cli(
        settings, "vault", "open", str(row["id"]), "--purpose", "Audit of a removal", "--output",
        str(out),
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert out.read_bytes() == image_bytes(306)
    refused = bastion_cli(settings, "run", "--port", "1", vault_key="")
    assert refused.returncode == 2 and "BASTION_VAULT_KEY" in refused.stderr


def test_files_left_by_a_crash_are_swept(
    client: TestClient, bastion: Bastion, admin: dict[str, str]
) -> None:
    import os

    _decide(client, admin, review_case(client, admin, seed=307), "remove")
    _preserve(bastion)
    (row,) = _records(bastion)
    keys = vault_from(bastion.settings)
    assert keys is not None
    orphan = keys.path_for(row.id + 1000)  # sealed, then the commit never happened
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"sealed but never committed")
    fresh = keys.path_for(row.id + 1001)
    fresh.parent.mkdir(parents=True, exist_ok=True)
    fresh.write_bytes(b"being sealed right now")
    hours_ago = utcnow().timestamp() - 7200
    os.utime(orphan, (hours_ago, hours_ago))
    os.utime(keys.path_for(row.id), (hours_ago, hours_ago))
    with bastion.session() as session:
        assert purge(session, keys) == []
    assert not orphan.exists() and fresh.exists() and keys.path_for(row.id).exists()


def test_the_key_is_rotated_record_by_record(
    client: TestClient, bastion: Bastion, admin: dict[str, str], settings: Settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from test_cli import bastion_cli, lines

    for seed in (311, 312, 313):
        _decide(client, admin, review_case(client, admin, seed=seed), "remove")
    _preserve(bastion)
    *_, altered = _records(bastion)  # an altered file is reported, not fatal
    keys = vault_from(settings)
    assert keys is not None
    keys.path_for(altered.id).write_bytes(b"BASTION-VAULT-1\n" + b"x" * 64)
    old_key = tmp_path / "old.key"
    old_key.write_text(settings.vault_key or "")
    new_key = bastion_cli(settings, "vault", "keygen").stdout.strip()
    # A crash after the first file was re-sealed but before its row said so.
    first, *_ = _records(bastion)
    newer = vault_from(settings.model_copy(update={"vault_key": new_key}))
    older = vault_from(settings)
    assert newer is not None and older is not None
    newer.seal(first, *older.unseal(first))

    done = bastion_cli(
        settings, "vault", "rotate", "--old-key-file", str(old_key), vault_key=new_key
    )
    assert done.returncode == 0, done.stderr
    (summary,) = lines(done)
    assert summary["resealed"] == 2 and summary["unreadable"] == [altered.id]
    assert summary["other_keys"] == 0 and summary["to"] == newer.key_id
    kept = [r for r in _records(bastion) if r.id != altered.id]
    assert {r.key_id for r in kept} == {newer.key_id}
    purpose = "Check after the key rotation"
    for row in kept:
        opened = bastion_cli(
            settings, "vault", "open", str(row.id), "--purpose", purpose,
            "--output", str(tmp_path / f"{row.id}.bin"), vault_key=new_key,
        )  # fmt: skip
        assert opened.returncode == 0, opened.stderr
    assert {(tmp_path / f"{r.id}.bin").read_bytes() for r in kept} == {
        image_bytes(311),
        image_bytes(312),
    }
    old_now = bastion_cli(
        settings, "vault", "open", str(first.id), "--purpose", purpose,
        "--output", str(tmp_path / "x.bin"),
    )  # fmt: skip
    assert old_now.returncode == 2 and "sealed with key" in old_now.stderr
    again = bastion_cli(
        settings, "vault", "rotate", "--old-key-file", str(old_key), vault_key=new_key
    )
    assert lines(again)[0]["resealed"] == 0
    same = bastion_cli(settings, "vault", "rotate", "--old-key-file", str(old_key))
    assert same.returncode == 2 and "nothing to rotate" in same.stderr
    with bastion.session() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent))]
    assert actions.count("vault.rotate") == 2
