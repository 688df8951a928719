"""The migrations build exactly the schema the models describe, on SQLite and Postgres."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bastion.db.base import Base
from bastion.db.migrate import current_revision, head_revision
from bastion.runtime import Bastion


def test_models_and_migrations_agree(bastion: Bastion) -> None:
    with bastion.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    assert current_revision(bastion.engine) == head_revision(bastion.engine)


def test_ids_of_deleted_rows_are_never_reused(bastion: Bastion) -> None:
    from bastion.banks import entries, service
    from bastion.banks.labels import EntryLabels

    with bastion.session() as session:
        bank = service.create_bank(
            session, service.BankCreate(name="b"), default_threshold=31, actor="t"
        )
        first = entries.add_hash_entry(session, bank, "md5", "0" * 32, EntryLabels(), actor="t")
        entries.remove_entry(session, bank, first.id, actor="t")
        second = entries.add_hash_entry(session, bank, "md5", "1" * 32, EntryLabels(), actor="t")
        assert second.id > first.id
