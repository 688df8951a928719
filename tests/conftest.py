"""Fixtures: a real Bastion on a real database (SQLite file, and Postgres when configured),
served in-process over HTTP."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from bastion.app import create_app
from bastion.auth.tokens import create_token
from bastion.db.base import Base
from bastion.db.migrate import upgrade
from bastion.runtime import Bastion
from bastion.settings import Settings

POSTGRES_URL = os.environ.get("BASTION_TEST_DATABASE_URL")
# Every test instance (and every CLI subprocess, which inherits the environment) has a vault
# key: without one the server refuses to start (tests/test_vault.py checks that).
TEST_VAULT_KEY = "sNG3M0YlFfXDd1jOlm2aHC-6HUzJ8jB1NIP4ZbGS4yk="
os.environ.setdefault("BASTION_VAULT_KEY", TEST_VAULT_KEY)
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not POSTGRES_URL, reason="set BASTION_TEST_DATABASE_URL to run on PostgreSQL"
            ),
        ],
    ),
]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time is slower)."""
    path = tmp_path_factory.mktemp("template") / "bastion.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_ready() -> str:
    """The Postgres URL with a freshly migrated schema (once per session)."""
    assert POSTGRES_URL
    settings = Settings(database_url=POSTGRES_URL)
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()
    return settings.resolved_database_url


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Settings:
    """Settings for one test: its own data folder and an empty database."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_ready")
        _truncate_postgres(url)
        return Settings(data_dir=data_dir, database_url=url, order_clock_seconds=300)
    shutil.copy(sqlite_template, data_dir / "bastion.db")
    # The order clock's background pass would race the tests that drive it with `now`.
    return Settings(data_dir=data_dir, order_clock_seconds=300)


@pytest.fixture
def bastion(settings: Settings) -> Iterator[Bastion]:
    """A started instance on the test's database."""
    instance = Bastion(settings).start()
    yield instance
    instance.close()


@pytest.fixture
def client(bastion: Bastion) -> Iterator[TestClient]:
    """The real app over an in-process HTTP client (lifespan included)."""
    with TestClient(create_app(bastion), raise_server_exceptions=False) as test_client:
        yield test_client


def _token(bastion: Bastion, role: str, platform: str = "default") -> dict[str, str]:
    with bastion.session() as session:
        _, secret = create_token(session, name=f"test-{role}", role=role, platform=platform)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def admin(bastion: Bastion) -> dict[str, str]:
    """Headers of an admin token."""
    return _token(bastion, "admin")


@pytest.fixture
def platform(bastion: Bastion) -> dict[str, str]:
    """Headers of a platform token."""
    return _token(bastion, "platform", "acme")
