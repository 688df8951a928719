"""Builders for console tests: users, logins and review cases."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from bastion.auth.users import create_user
from bastion.runtime import Bastion
from builders.api import add_file, image_bytes, make_bank

PASSWORD = "correct horse battery staple"
_HIDDEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(bastion: Bastion, username: str, role: str) -> None:
    """A console user with the test password."""
    with bastion.session() as session:
        create_user(session, username=username, password=PASSWORD, role=role, actor="test")


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the login form; returns the session's CSRF token."""
    form = client.get("/console/login")
    assert form.status_code == 200, form.text
    token = csrf_of(form.text)
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": token},
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/console/settings").text)


def csrf_of(html: str) -> str:
    """The CSRF token in a page's first form."""
    found = _HIDDEN.search(html)
    assert found, html[:500]
    return found.group(1)


def review_case(
    client: TestClient, admin: dict[str, str], seed: int, bank: str = "known", **item: Any
) -> int:
    """An image item that matches a bank entry and goes to review; returns its id."""
    if client.get(f"/v1/banks/{bank}", headers=admin).status_code == 404:
        make_bank(client, admin, bank)
    data = image_bytes(seed)
    add_file(client, admin, bank, data, category="c", entities="example_front")
    response = client.post(
        "/v1/items",
        files={"file": (f"upload-{seed}.jpg", data, "image/jpeg")},
        data={"external_id": f"post-{seed}", **item},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["verdict"]["outcome"] == "review", body
    return int(body["id"])
