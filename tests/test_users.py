"""Console users: argon2 hashes, roles, rate-limited and audited logins."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bastion.audit import verify
from bastion.auth.users import (
    LoginLimiter,
    TooManyAttempts,
    authenticate_user,
    create_user,
    disable_user,
)
from bastion.db.models import AuditEvent, User
from bastion.errors import Conflict, InvalidInput, Unauthorized
from bastion.runtime import Bastion
from bastion.settings import Settings
from test_cli import bastion_cli, lines

PASSWORD = "correct horse battery"


def test_passwords_are_argon2_hashed_and_checked(bastion: Bastion) -> None:
    limiter = LoginLimiter()
    with bastion.session() as session:
        create_user(session, username="Mod1", password=PASSWORD, role="moderator", actor="t")
    with bastion.session() as session:
        stored = session.scalars(select(User)).one()
        assert stored.username == "mod1"
        assert stored.password_hash.startswith("$argon2id$")
        assert PASSWORD not in stored.password_hash
        user = authenticate_user(session, "mod1", PASSWORD, client="1.2.3.4", limiter=limiter)
        assert user.role == "moderator"
    with bastion.session() as session, pytest.raises(Unauthorized):
        authenticate_user(session, "mod1", "wrong password!", client="1.2.3.4", limiter=limiter)
    with bastion.session() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions == ["user.create", "login.success", "login.failure"]
        assert verify(session).ok


def test_bad_users_are_refused(bastion: Bastion) -> None:
    with bastion.session() as session:
        with pytest.raises(InvalidInput, match="12 characters"):
            create_user(session, username="a1", password="short", role="admin", actor="t")
        with pytest.raises(InvalidInput, match="role"):
            create_user(session, username="a1", password=PASSWORD, role="platform", actor="t")
        create_user(session, username="a1", password=PASSWORD, role="admin", actor="t")
        with pytest.raises(Conflict):
            create_user(session, username="A1", password=PASSWORD, role="admin", actor="t")


def test_logins_are_rate_limited_and_disabled_users_refused(bastion: Bastion) -> None:
    limiter = LoginLimiter(attempts=3, window=60)
    with bastion.session() as session:
        create_user(session, username="aud", password=PASSWORD, role="auditor", actor="t")
    for _ in range(3):
        with bastion.session() as session, pytest.raises(Unauthorized):
            authenticate_user(session, "aud", "nope nope nope", client="c", limiter=limiter)
    with bastion.session() as session, pytest.raises(TooManyAttempts):
        authenticate_user(session, "aud", PASSWORD, client="c", limiter=limiter)
    fresh = LoginLimiter()
    with bastion.session() as session:
        disable_user(session, "aud", actor="t")
    with bastion.session() as session, pytest.raises(Unauthorized):
        authenticate_user(session, "aud", PASSWORD, client="d", limiter=fresh)
    with bastion.session() as session, pytest.raises(Unauthorized):
        authenticate_user(session, "nobody", PASSWORD, client="d", limiter=fresh)


def test_cli_user_create(settings: Settings) -> None:
    created = bastion_cli(
        settings,
        "user",
        "create",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    assert lines(created)[0]["role"] == "admin"
    assert lines(bastion_cli(settings, "user", "list"))[0]["username"] == "root"
    weak = bastion_cli(
        settings, "user", "create", "x1", "--role", "admin", "--password-stdin", stdin="short\n"
    )
    assert weak.returncode == 2 and "12 characters" in weak.stderr
