"""`bastion vault ...`: the preservation vault (TCO Art. 6) from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bastion.errors import InvalidInput

if TYPE_CHECKING:
    from bastion.compliance.vault import Vault
    from bastion.runtime import Bastion

vault_app = typer.Typer(
    help="Preserved removed content: keygen, preserve, list, open, hold, purge, rotate."
)


def _vault() -> tuple[Bastion, Vault]:
    from bastion.cli import state
    from bastion.compliance.vault import vault_from

    bastion = state.bastion()
    keys = vault_from(bastion.settings)
    if keys is None:
        raise InvalidInput("The vault is turned off (BASTION_VAULT=off).")
    return bastion, keys


@vault_app.command("keygen")
def vault_keygen() -> None:
    """Print a new vault key (keep it outside the data folder, e.g. in a secrets manager)."""
    from bastion.compliance.vault import new_key

    typer.echo(new_key())


@vault_app.command("preserve")
def vault_preserve() -> None:
    """Seal every removal not yet preserved (the server does this in the background)."""
    from bastion.cli import emit
    from bastion.compliance.vault import preserve_due

    bastion, keys = _vault()
    done: list[int] = []
    while True:
        with bastion.session() as session:
            batch = preserve_due(session, keys, bastion.media)
        if not batch:
            break
        done += batch
    emit({"preserved": len(done), "records": done})


@vault_app.command("list")
def vault_list(limit: Annotated[int, typer.Option(help="At most this many.")] = 100) -> None:
    """Records, newest first (metadata only)."""
    from sqlalchemy import select

    from bastion.cli import emit, state
    from bastion.compliance.vault import public_record
    from bastion.db.models import VaultRecord

    with state.bastion().session() as session:
        query = select(VaultRecord).order_by(VaultRecord.id.desc()).limit(limit)
        for row in session.scalars(query):
            emit(public_record(row))


@vault_app.command("open")
def vault_open(
    record_id: int,
    purpose: Annotated[str, typer.Option(help="Why it is opened (audited).")],
    output: Annotated[Path, typer.Option(help="Where to write the content.")],
) -> None:
    """Decrypt one record: the content to --output, the related data to stdout."""
    from bastion.cli import emit
    from bastion.compliance.vault import open_record, public_record

    bastion, keys = _vault()
    with bastion.session() as session:
        row, header, content = open_record(session, keys, record_id, actor="cli", purpose=purpose)
        output.write_bytes(content)
        emit({**public_record(row), "related": header, "content": str(output)})


@vault_app.command("hold")
def vault_hold(
    record_id: int,
    until: Annotated[str, typer.Option(help="ISO 8601 with a time zone.")],
    reason: Annotated[str, typer.Option(help="The authority's or court's request.")],
) -> None:
    """Keep a record past its six months (a legal hold)."""
    from bastion.cli import emit, state
    from bastion.compliance.order_form import parse_time
    from bastion.compliance.vault import hold, public_record

    when = parse_time(until, "until")
    if when is None:
        raise InvalidInput("--until is required.")
    with state.bastion().session() as session:
        emit(public_record(hold(session, record_id, until=when, reason=reason, actor="cli")))


@vault_app.command("purge")
def vault_purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would go.")] = False,
) -> None:
    """Delete records past their retention and not under a hold (the server does it too)."""
    from bastion.cli import emit
    from bastion.compliance.vault import public_record, purge, purgeable

    bastion, keys = _vault()
    with bastion.session() as session:
        if dry_run:
            for row in purgeable(session):
                emit({**public_record(row), "would_purge": True})
            return
        emit({"purged": purge(session, keys)})


@vault_app.command("rotate")
def vault_rotate(
    old_key_file: Annotated[
        Path, typer.Option(help="A file holding the previous key (never pass keys as arguments).")
    ],
) -> None:
    """Re-seal every record made with the previous key under the key configured now
    (BASTION_VAULT_KEY / _FILE): make a key with `keygen`, configure it, restart, then rotate."""
    from bastion.cli import emit
    from bastion.compliance.vault import parse_key, rotate

    try:
        text = old_key_file.read_text()
    except OSError as exc:
        raise InvalidInput(f"Cannot read {old_key_file}: {exc.strerror}.") from exc
    old_key = parse_key(text, f"The key in {old_key_file}")
    bastion, keys = _vault()
    with bastion.session() as session:
        emit(rotate(session, keys, old_key, actor="cli"))
