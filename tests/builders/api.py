"""Builders for API tests: banks, entries and uploads in one call each."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from builders.images import crop, encode, generated_image


def image_bytes(seed: int, quality: int = 90) -> bytes:
    """A unique generated JPEG for `seed`."""
    return encode(generated_image(seed), "JPEG", quality)


def cropped_bytes(seed: int, share: float = 0.03) -> bytes:
    """The `seed` image with `share` cut off every side, re-encoded."""
    return encode(crop(generated_image(seed), share, share, share, share), "JPEG", 80)


def make_bank(
    client: TestClient, headers: dict[str, str], name: str, **fields: Any
) -> dict[str, Any]:
    """Create a bank over the API and return it."""
    response = client.post("/v1/banks", json={"name": name, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def add_file(
    client: TestClient, headers: dict[str, str], bank: str, data: bytes, **labels: str
) -> dict[str, Any]:
    """Add a file entry over the API and return the entry."""
    response = client.post(
        f"/v1/banks/{bank}/entries",
        files={"file": ("known.jpg", data, "image/jpeg")},
        data=labels,
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def add_hash(
    client: TestClient,
    headers: dict[str, str],
    bank: str,
    signal_type: str,
    value: str,
    **extra: Any,
) -> dict[str, Any]:
    """Add a raw-hash entry over the API and return the entry."""
    response = client.post(
        f"/v1/banks/{bank}/entries",
        json={"signal_type": signal_type, "value": value, **extra},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def match_file(client: TestClient, headers: dict[str, str], data: bytes) -> dict[str, Any]:
    """POST /v1/match with a file and return the body."""
    response = client.post(
        "/v1/match", files={"file": ("query.jpg", data, "image/jpeg")}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
