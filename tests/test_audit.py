"""The audit log is hash-chained: a changed or deleted row is found and named."""

from __future__ import annotations

from sqlalchemy import text

from bastion.audit import verify
from bastion.auth.tokens import create_token
from bastion.banks import entries, service
from bastion.banks.labels import EntryLabels
from bastion.runtime import Bastion
from bastion.settings import Settings
from test_cli import bastion_cli, lines


def _some_history(bastion: Bastion) -> None:
    with bastion.session() as session:
        create_token(session, name="me", role="admin")
        bank = service.create_bank(
            session, service.BankCreate(name="tvec"), default_threshold=31, actor="me"
        )
        for value in ("0" * 32, "1" * 32, "2" * 32):
            entries.add_hash_entry(session, bank, "md5", value, EntryLabels(), actor="me")


def test_every_change_is_chained_and_verifies(bastion: Bastion) -> None:
    _some_history(bastion)
    with bastion.session() as session:
        result = verify(session)
    assert result.ok
    assert result.events == 5


def test_a_changed_row_is_named(bastion: Bastion) -> None:
    _some_history(bastion)
    with bastion.session() as session:
        session.execute(text("UPDATE audit_events SET actor = 'someone-else' WHERE id = 3"))
    with bastion.session() as session:
        result = verify(session)
    assert (result.ok, result.broken_at, result.reason) == (False, 3, "its content was changed")


def test_a_deleted_row_is_found(bastion: Bastion) -> None:
    _some_history(bastion)
    with bastion.session() as session:
        session.execute(text("DELETE FROM audit_events WHERE id = 2"))
    with bastion.session() as session:
        result = verify(session)
    assert not result.ok
    assert result.broken_at == 3
    assert "changed or deleted" in (result.reason or "")


def test_cli_verify(settings: Settings, bastion: Bastion) -> None:
    _some_history(bastion)
    good = bastion_cli(settings, "audit", "verify")
    assert good.returncode == 0 and lines(good)[0]["events"] == 5
    assert len(lines(bastion_cli(settings, "audit", "list", "--limit", "2"))) == 2
    with bastion.session() as session:
        session.execute(text("UPDATE audit_events SET details = '{}' WHERE id = 4"))
    broken = bastion_cli(settings, "audit", "verify")
    assert broken.returncode == 1
    assert "audit event 4 is broken" in broken.stderr


def test_migration_chains_events_written_before_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bastion.db.engine import make_engine
    from bastion.db.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0001")
    with engine.begin() as connection:
        for number in range(3):
            connection.execute(
                text(
                    "INSERT INTO audit_events (at, actor, action, target, details) "
                    "VALUES (:at, 'cli', 'bank.create', :target, '{\"n\": 1}')"
                ),
                {"at": f"2026-11-0{number + 1} 10:00:00.000000", "target": f"bank:{number}"},
            )
    engine.dispose()
    bastion = Bastion(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'old.db'}"))
    bastion.start()
    with bastion.session() as session:
        result = verify(session)
    assert result.ok and result.events == 3
    with bastion.session() as session:
        service.create_bank(
            session, service.BankCreate(name="new"), default_threshold=31, actor="x"
        )
    with bastion.session() as session:
        assert verify(session).events == 4 and verify(session).ok
    bastion.close()
