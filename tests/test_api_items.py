"""Items: a platform submits content under its own id; idempotent; results readable later."""

from __future__ import annotations

from fastapi.testclient import TestClient

from builders.api import add_file, cropped_bytes, image_bytes, make_bank


def submit(client: TestClient, headers: dict[str, str], external_id: str, data: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        "/v1/items",
        data={"external_id": external_id, "context": '{"surface": "post"}'},
        files={"file": ("upload.jpg", data, "image/jpeg")},
        headers=headers,
    )


def test_submitted_item_is_scanned_and_matches_are_returned(
    client: TestClient, admin: dict[str, str], platform: dict[str, str]
) -> None:
    make_bank(client, admin, "tvec")
    entry = add_file(client, admin, "tvec", image_bytes(5), category="a")
    response = submit(client, platform, "post-1", cropped_bytes(5))
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["status"] == "scanned"
    assert item["kind"] == "image"
    assert item["platform"] == "acme"
    assert item["context"] == {"surface": "post"}
    assert [m["entry_id"] for m in item["matches"]] == [entry["id"]]
    assert item["signals"]["pdq"]["quality"] >= 50

    again = client.get(f"/v1/items/{item['id']}", headers=platform)
    assert again.status_code == 200
    assert again.json()["matches"] == item["matches"]


def test_resubmission_is_idempotent(client: TestClient, platform: dict[str, str]) -> None:
    data = image_bytes(9)
    first = submit(client, platform, "post-9", data)
    second = submit(client, platform, "post-9", data)
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["created"] is False
    other_content = submit(client, platform, "post-9", image_bytes(10))
    assert other_content.status_code == 201
    assert other_content.json()["id"] != first.json()["id"]


def test_url_items(client: TestClient, admin: dict[str, str], platform: dict[str, str]) -> None:
    make_bank(client, admin, "links")
    client.post(
        "/v1/banks/links/entries",
        json={"signal_type": "url", "value": "https://videos.example.net/watch?v=XYZ"},
        headers=admin,
    )
    response = client.post(
        "/v1/items",
        json={
            "external_id": "link-1",
            "url": "https://www.videos.example.net/watch?v=XYZ&fbclid=1",
        },
        headers=platform,
    )
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "url"
    assert len(response.json()["matches"]) == 1


def test_platforms_see_only_their_items(
    client: TestClient,
    bastion,
    platform: dict[str, str],
    admin: dict[str, str],  # type: ignore[no-untyped-def]
) -> None:
    from conftest import _token

    item = submit(client, platform, "p", image_bytes(12)).json()
    other = _token(bastion, "platform", "someone-else")
    assert client.get(f"/v1/items/{item['id']}", headers=other).status_code == 404
    assert client.get(f"/v1/items/{item['id']}", headers=admin).status_code == 200


def test_item_of_kind_image_must_be_an_image(client: TestClient, platform: dict[str, str]) -> None:
    response = client.post(
        "/v1/items",
        data={"external_id": "x", "kind": "image"},
        files={"file": ("a.txt", b"just some text", "text/plain")},
        headers=platform,
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "not_an_image"


def test_a_submission_racing_itself_returns_the_first_item(
    client: TestClient,
    platform: dict[str, str],
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    from bastion.pipeline import intake

    data = image_bytes(13)
    first = submit(client, platform, "race", data).json()
    real = intake._existing
    calls = {"n": 0}

    def blind_once(*args):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return None if calls["n"] == 1 else real(*args)

    # The second request does not see the first item when it checks, as in a real race.
    monkeypatch.setattr(intake, "_existing", blind_once)
    second = submit(client, platform, "race", data)
    assert second.status_code == 200, second.text
    assert second.json()["id"] == first["id"]
    assert calls["n"] == 2


def test_url_items_cannot_claim_another_kind(client: TestClient, platform: dict[str, str]) -> None:
    response = client.post(
        "/v1/items",
        json={"external_id": "k", "url": "https://example.org/a", "kind": "image"},
        headers=platform,
    )
    assert response.status_code == 422
