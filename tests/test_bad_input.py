"""Bad input gets a clear 4xx with the standard error shape, and nothing is stored."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from bastion.runtime import Bastion
from bastion.settings import Settings
from builders.api import image_bytes, make_bank


def _entries(client: TestClient, admin: dict[str, str]) -> int:
    return int(client.get("/v1/banks/tvec", headers=admin).json()["entries"])


def _bomb() -> bytes:
    # A 20000x20000 PNG of one colour compresses to a few hundred kB but is 400 Mpx decoded.
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("payload", "code", "status"),
    [
        (image_bytes(1)[:3000], "corrupt_media", 422),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "corrupt_media", 422),
        (b"GIF89a" + b"\xff" * 20, "corrupt_media", 422),
    ],
    ids=["truncated-jpeg", "broken-png", "broken-gif"],
)
def test_broken_media_is_refused_and_nothing_stored(
    client: TestClient, admin: dict[str, str], payload: bytes, code: str, status: int
) -> None:
    make_bank(client, admin, "tvec")
    for url in ("/v1/hash", "/v1/match", "/v1/banks/tvec/entries"):
        response = client.post(url, files={"file": ("x.jpg", payload)}, headers=admin)
        assert response.status_code == status, (url, response.text)
        error = response.json()["error"]
        assert error["code"] == code
        assert error["message"]
    assert _entries(client, admin) == 0


def test_decompression_bomb_is_refused(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post("/v1/hash", files={"file": ("bomb.png", _bomb())}, headers=admin)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "decompression_bomb"
    assert "pixels" in response.json()["error"]["message"]


def test_body_over_the_limit_is_refused(tmp_path, admin: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient as Client

    from bastion.app import create_app
    from bastion.auth.tokens import create_token

    settings = Settings(data_dir=tmp_path, max_upload_bytes=100_000)
    bastion = Bastion(settings).start()
    with bastion.session() as session:
        _, secret = create_token(session, name="t", role="admin")
    with Client(create_app(bastion)) as small:
        response = small.post(
            "/v1/hash",
            files={"file": ("big.bin", b"x" * 300_000)},
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


@pytest.mark.parametrize(
    "body",
    [
        {"signal_type": "pdq", "value": "abc"},
        {"signal_type": "pdq", "value": "g" * 64},
        {"signal_type": "md5", "value": "1234"},
        {"signal_type": "sha1", "value": "a" * 40},
        {"signal_type": "url", "value": "javascript:alert(1)"},
        {"value": "a" * 64},
        {"signal_type": "pdq", "value": 12},
    ],
)
def test_malformed_values_get_422(client: TestClient, admin: dict[str, str], body: dict) -> None:  # type: ignore[type-arg]
    make_bank(client, admin, "tvec")
    for url in ("/v1/match", "/v1/banks/tvec/entries"):
        response = client.post(url, json=body, headers=admin)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["error"]["message"]
    assert _entries(client, admin) == 0


def test_unknown_bank_is_404(client: TestClient, admin: dict[str, str]) -> None:
    for method, url in (("GET", "/v1/banks/nope"), ("POST", "/v1/banks/nope/entries")):
        response = client.request(
            method, url, json={"signal_type": "md5", "value": "0" * 32}, headers=admin
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "unknown_bank"
    response = client.post(
        "/v1/match",
        json={"signal_type": "md5", "value": "0" * 32, "banks": ["nope"]},
        headers=admin,
    )
    assert response.status_code == 404


def test_wrong_content_types_and_garbage_bodies(client: TestClient, admin: dict[str, str]) -> None:
    assert client.post("/v1/match", content=b"hello", headers=admin).status_code == 415
    garbage = client.post(
        "/v1/match", content=b"{not json", headers={**admin, "Content-Type": "application/json"}
    )
    assert garbage.status_code == 422
    assert garbage.json()["error"]["code"] == "malformed_json"
    listed = client.post(
        "/v1/match", content=b"[1, 2]", headers={**admin, "Content-Type": "application/json"}
    )
    assert listed.status_code == 422
    empty = client.post("/v1/hash", files={"file": ("e.jpg", b"")}, headers=admin)
    assert empty.status_code == 422
    no_file = client.post("/v1/hash", data={"x": "y"}, headers=admin)
    assert no_file.status_code == 422


def test_error_shape_is_stable(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/v1/banks/missing", headers=admin)
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    unknown_route = client.get("/v1/nothing-here", headers=admin)
    assert unknown_route.status_code == 404
    assert set(unknown_route.json()["error"]) == {"code", "message", "details", "request_id"}


def _png(pixels) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_fuzzer_findings_get_clean_answers(client: TestClient, admin: dict[str, str]) -> None:
    """Inputs a fuzzer found that once gave 500s."""
    import numpy as np

    make_bank(client, admin, "tvec")
    banner = np.zeros((59, 1600, 3), np.uint8)
    banner[19:27] = 255
    banner[37:41] = 255
    for url in ("/v1/match", "/v1/banks/tvec/entries"):
        response = client.post(url, files={"file": ("b.png", _png(banner))}, headers=admin)
        assert response.status_code in (200, 201), response.text
    json_headers = {**admin, "Content-Type": "application/json"}
    for body in (
        b"[" * 5000,
        b'{"signal_type": "pdq", "value": "' + b"a" * 64 + b'", "quality": ' + b"9" * 5000 + b"}",
        b'{"signal_type": "url", "value": "http://example.com:\xc2\xb2/"}',
    ):
        response = client.post("/v1/match", content=body, headers=json_headers)
        assert response.status_code == 422, response.text
    defanged = client.post(
        "/v1/match", json={"signal_type": "url", "value": "hxxp://evil[.]com/x"}, headers=admin
    )
    assert defanged.status_code == 200
    context = client.post(
        "/v1/items",
        content=b'{"external_id": "c", "url": "https://a.example/b", "context": {"n": NaN}}',
        headers=json_headers,
    )
    assert context.status_code == 422
    deep = {"external_id": "d", "url": "https://a.example/b", "context": {"a": [[[[[[[[[1]]]]]]]]]}}
    assert client.post("/v1/items", json=deep, headers=admin).status_code == 422
    for url in ("/v1/banks/tvec/entries/99999999999999999999", "/v1/items/99999999999999999999"):
        assert client.get(url, headers=admin).status_code == 422
    bad_utf8 = client.post(
        "/v1/banks/tvec/import",
        files={"file": ("x.csv", b"signal_type,value\xff\nmd5," + b"0" * 32 + b"\n")},
        headers=admin,
    )
    assert bad_utf8.status_code == 422
    two_files = client.post(
        "/v1/match", files=[("file", ("a", b"one")), ("file", ("b", b"two"))], headers=admin
    )
    assert two_files.status_code == 422
    upper = client.post(
        "/v1/match",
        content=b'{"signal_type": "md5", "value": "' + b"0" * 32 + b'"}',
        headers={**admin, "Content-Type": "Application/JSON"},
    )
    assert upper.status_code == 200


def test_sixteen_bit_images_decode_small(client: TestClient, admin: dict[str, str]) -> None:
    import numpy as np

    wide = (np.random.default_rng(1).random((3000, 4000)) * 65535).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(wide).save(buffer, format="PNG")
    response = client.post("/v1/hash", files={"file": ("w.png", buffer.getvalue())}, headers=admin)
    assert response.status_code == 200, response.text


def test_formats_outside_the_list_are_files_not_images(
    client: TestClient, admin: dict[str, str]
) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buffer, format="PPM")
    response = client.post("/v1/hash", files={"file": ("a.ppm", buffer.getvalue())}, headers=admin)
    assert response.status_code == 200
    assert "pdq" not in response.json()["signals"]
