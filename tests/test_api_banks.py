"""Bank management over the API: create, list, rename, disable, delete, entries, import, export."""

from __future__ import annotations

from fastapi.testclient import TestClient

from builders.api import add_file, add_hash, image_bytes, make_bank


def test_bank_lifecycle(client: TestClient, admin: dict[str, str]) -> None:
    created = make_bank(client, admin, "tvec", description="known propaganda", vetted=True)
    assert created["pdq_threshold"] == 31
    assert created["vetted"] is True and created["allow"] is False
    assert client.get("/v1/banks", headers=admin).json()["banks"][0]["name"] == "tvec"

    renamed = client.patch(
        "/v1/banks/tvec", json={"name": "tvec-2024", "pdq_threshold": 24}, headers=admin
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["pdq_threshold"] == 24
    assert client.get("/v1/banks/tvec", headers=admin).status_code == 404
    disabled = client.patch("/v1/banks/tvec-2024", json={"enabled": False}, headers=admin)
    assert disabled.json()["enabled"] is False

    assert client.delete("/v1/banks/tvec-2024", headers=admin).status_code == 200
    assert client.get("/v1/banks", headers=admin).json()["banks"] == []


def test_duplicate_and_invalid_names(client: TestClient, admin: dict[str, str]) -> None:
    make_bank(client, admin, "tvec")
    duplicate = client.post("/v1/banks", json={"name": "tvec"}, headers=admin)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "bank_exists"
    bad = client.post("/v1/banks", json={"name": "no spaces please"}, headers=admin)
    assert bad.status_code == 422
    assert "name" in bad.json()["error"]["message"]


def test_entries_are_listed_shown_and_removed(client: TestClient, admin: dict[str, str]) -> None:
    make_bank(client, admin, "tvec")
    first = add_file(client, admin, "tvec", image_bytes(3), category="b", behaviours="recruitment")
    second = add_hash(client, admin, "tvec", "sha256", "ab" * 32)
    listed = client.get("/v1/banks/tvec/entries", headers=admin).json()["entries"]
    assert [e["id"] for e in listed] == [first["id"], second["id"]]
    shown = client.get(f"/v1/banks/tvec/entries/{first['id']}", headers=admin).json()
    kinds = {s["signal_type"] for s in shown["signals"]}
    assert kinds == {"md5", "sha256", "pdq"}
    assert any(s["view"] == "full" for s in shown["signals"] if s["signal_type"] == "pdq")
    assert shown["labels"]["category"] == "b"
    assert shown["labels"]["behaviours"] == ["recruitment"]
    assert client.get("/v1/banks/tvec", headers=admin).json()["entries"] == 2
    gone = client.delete(f"/v1/banks/tvec/entries/{second['id']}", headers=admin)
    assert gone.status_code == 200
    missing = client.delete(f"/v1/banks/tvec/entries/{second['id']}", headers=admin)
    assert missing.status_code == 404


def test_import_csv_then_export_round_trips(client: TestClient, admin: dict[str, str]) -> None:
    make_bank(client, admin, "shared")
    csv_text = (
        "signal_type,value,category,entities,source,note\n"
        f"pdq,{'a' * 64},a,invented-front,gifct,first\n"
        "url,https://www.example.org/post/1?utm_source=feed,c,,tcap,\n"
        f"md5,{'0' * 32},,,,\n"
    )
    response = client.post(
        "/v1/banks/shared/import?format=csv",
        files={"file": ("list.csv", csv_text.encode())},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 3
    exported = client.get("/v1/banks/shared/export?format=csv", headers=admin)
    assert exported.status_code == 200
    text = exported.text
    assert "a" * 64 in text
    assert "https://example.org/post/1" in text
    assert "invented-front" in text


def test_import_with_bad_rows_is_all_or_nothing(client: TestClient, admin: dict[str, str]) -> None:
    make_bank(client, admin, "shared")
    csv_text = f"signal_type,value\npdq,{'a' * 64}\npdq,not-a-hash\nmd5,{'0' * 32}\nsha1,abc\n"
    response = client.post(
        "/v1/banks/shared/import",
        files={"file": ("list.csv", csv_text.encode())},
        headers=admin,
    )
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [e["line"] for e in details["errors"]] == [3, 5]
    assert client.get("/v1/banks/shared", headers=admin).json()["entries"] == 0

    partial = client.post(
        "/v1/banks/shared/import?partial=true",
        files={"file": ("list.csv", csv_text.encode())},
        headers=admin,
    )
    assert partial.status_code == 200
    assert partial.json()["added"] == 2
    assert client.get("/v1/banks/shared", headers=admin).json()["entries"] == 2


def test_import_of_non_utf8_or_unknown_format_is_a_clear_error(
    client: TestClient, admin: dict[str, str]
) -> None:
    make_bank(client, admin, "shared")
    latin = "signal_type,value,note\n" + f"md5,{'0' * 32},caf\xe9\n" * 3
    response = client.post(
        "/v1/banks/shared/import?format=csv",
        files={"file": ("list.csv", latin.encode("latin-1"))},
        headers=admin,
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "not_utf8"
    partial = client.post(
        "/v1/banks/shared/import?format=csv&partial=true",
        files={"file": ("list.csv", latin.encode("latin-1"))},
        headers=admin,
    )
    assert partial.status_code == 422
    unknown = client.post(
        "/v1/banks/shared/import?format=xml",
        files={"file": ("list.xml", b"<list/>")},
        headers=admin,
    )
    assert unknown.status_code == 422
    assert "csv" in unknown.json()["error"]["message"]
    assert client.get("/v1/banks/shared", headers=admin).json()["entries"] == 0


def test_export_streams_every_format_in_batches(client: TestClient, admin: dict[str, str]) -> None:
    make_bank(client, admin, "big")
    rows = "".join(f"md5,{i:032x}\n" for i in range(12_000))
    imported = client.post(
        "/v1/banks/big/import",
        files={"file": ("list.csv", ("signal_type,value\n" + rows).encode())},
        headers=admin,
    )
    assert imported.json()["added"] == 12_000
    csv_export = client.get("/v1/banks/big/export?format=csv", headers=admin).text.splitlines()
    assert csv_export[0].startswith("entry_id,signal_type,value")
    assert len(csv_export) == 12_001  # one header, then every row once
    jsonl = client.get("/v1/banks/big/export?format=jsonl", headers=admin).text.splitlines()
    assert len(jsonl) == 12_000
    tx = client.get("/v1/banks/big/export?format=threatexchange", headers=admin).text.splitlines()
    assert len(tx) == 12_000
    assert client.get("/v1/banks/nope/export", headers=admin).status_code == 404
