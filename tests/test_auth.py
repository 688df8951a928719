"""Every route but /health needs a token; platform tokens cannot change banks."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from bastion.app import create_app
from bastion.settings import Settings

PUBLIC = {("GET", "/health")}
# Routes a platform token must not reach (bank curation and export).
ADMIN_ONLY = {
    ("POST", "/v1/banks"),
    ("PATCH", "/v1/banks/{name}"),
    ("DELETE", "/v1/banks/{name}"),
    ("POST", "/v1/banks/{name}/entries"),
    ("DELETE", "/v1/banks/{name}/entries/{entry_id}"),
    ("POST", "/v1/banks/{name}/import"),
    ("GET", "/v1/banks/{name}/export"),
    ("PUT", "/v1/policy"),
    ("GET", "/v1/policy"),
    ("GET", "/v1/cases"),
    ("POST", "/v1/cases/{item_id}/claim"),
    ("POST", "/v1/cases/{item_id}/decision"),
}


def _routes() -> list[tuple[str, str]]:
    """Every API operation, read from the OpenAPI document the app serves."""
    app = create_app(Settings())  # built, never started: nothing touches a database
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    ]


ROUTES = _routes()


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "1" if m.group(1).endswith("id") else "tvec", path)


def test_the_route_list_is_what_we_think() -> None:
    assert set(ROUTES) >= ADMIN_ONLY
    assert set(ROUTES) >= PUBLIC


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r not in PUBLIC])
def test_anonymous_gets_401(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, _concrete(path))
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "missing_token"
    wrong = client.request(method, _concrete(path), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


@pytest.mark.parametrize(("method", "path"), sorted(ADMIN_ONLY))
def test_platform_token_gets_403_on_bank_changes(
    client: TestClient, platform: dict[str, str], method: str, path: str
) -> None:
    response = client.request(method, _concrete(path), headers=platform)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


def test_health_needs_no_token(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"


def test_revoked_token_is_refused(client: TestClient, bastion) -> None:  # type: ignore[no-untyped-def]
    from bastion.auth.tokens import create_token, revoke_token

    with bastion.session() as session:
        token, secret = create_token(session, name="t", role="admin")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/v1/banks", headers=headers).status_code == 200
    with bastion.session() as session:
        revoke_token(session, token.id)
    assert client.get("/v1/banks", headers=headers).status_code == 401


def test_tokens_are_stored_hashed(bastion) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from bastion.auth.tokens import create_token
    from bastion.db.models import ApiToken

    with bastion.session() as session:
        _, secret = create_token(session, name="t", role="platform")
    with bastion.session() as session:
        stored = session.scalars(select(ApiToken)).one()
        assert secret not in (stored.secret_sha256, stored.prefix)
        assert len(stored.secret_sha256) == 64
