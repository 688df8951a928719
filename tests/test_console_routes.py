"""Every console route: anonymous visitors go to the login page, a wrong role gets 403.

The routes are read from the app itself, and each must declare its permission through
`bastion.console.pages.page`, so a new page cannot be added without a check.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from bastion.app import create_app
from bastion.auth.permissions import ROLE_PERMISSIONS, USER_ROLES
from bastion.console import (
    routes_admin,
    routes_complaints,
    routes_login,
    routes_orders,
    routes_reports,
    routes_review,
)
from bastion.console.pages import ROUTE_ACTIONS
from bastion.runtime import Bastion
from builders.console import login, make_user

PUBLIC = {("GET", "/console/login"), ("POST", "/console/login")}


def _console_routes() -> list[tuple[str, str]]:
    found = []
    for module in (
        routes_login,
        routes_review,
        routes_admin,
        routes_orders,
        routes_complaints,
        routes_reports,
    ):
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            found.extend((method, route.path) for method in route.methods)
    return sorted(found)


ROUTES = _console_routes()


def _concrete(path: str) -> str:
    return re.sub(r"\{\w+\}", "1", path)


def test_every_route_declares_its_permission() -> None:
    assert set(ROUTES) == set(ROUTE_ACTIONS) | PUBLIC


def test_anonymous_is_sent_to_the_login_page(bastion: Bastion) -> None:
    with TestClient(
        create_app(bastion), base_url="https://testserver", follow_redirects=False
    ) as client:
        for method, path in ROUTES:
            if (method, path) in PUBLIC:
                continue
            response = client.request(method, _concrete(path))
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/console/login?next="), path


@pytest.mark.parametrize("role", USER_ROLES)
def test_each_role_reaches_exactly_its_pages(bastion: Bastion, role: str) -> None:
    make_user(bastion, "someone", role)
    with TestClient(
        create_app(bastion), base_url="https://testserver", follow_redirects=False
    ) as client:
        token = login(client, "someone")
        for (method, path), action in sorted(ROUTE_ACTIONS.items()):
            if path == "/console/logout":
                continue
            data = {"csrf_token": token} if method == "POST" else None
            response = client.request(method, _concrete(path), data=data)
            if action in ROLE_PERMISSIONS[role]:
                assert response.status_code != 403, (role, method, path, response.text[:300])
            else:
                assert response.status_code == 403, (role, method, path, response.status_code)
                assert "Not allowed" in response.text


def test_every_form_needs_the_csrf_token(bastion: Bastion) -> None:
    make_user(bastion, "root", "admin")
    with TestClient(
        create_app(bastion), base_url="https://testserver", follow_redirects=False
    ) as client:
        login(client, "root")
        posts = sorted(route for route in ROUTE_ACTIONS if route[0] == "POST")
        assert len(posts) >= 10
        for _, path in posts:
            for data in ({}, {"csrf_token": "forged"}, {"csrf_token": "é"}):
                response = client.post(_concrete(path), data=data)
                assert response.status_code == 403, (path, data, response.status_code)
                assert "security token" in response.text
