"""`bastion statements ...`: statements of reasons (DSA Art. 17) and their submission to the
Transparency Database (the server also submits in the background)."""

from __future__ import annotations

from typing import Annotated

import typer

from bastion.errors import InvalidInput

statements_app = typer.Typer(
    help="DSA statements of reasons: list, show, submit to the Transparency Database.",
    no_args_is_help=True,
)


@statements_app.command("submit")
def statements_submit() -> None:
    """Send every statement that is due, once, and print what happened (with submission off,
    due statements are marked `off` instead)."""
    from bastion.cli import emit, state
    from bastion.compliance.tdb_client import client_from_settings, submit_once

    bastion = state.bastion()
    with client_from_settings(bastion.settings) as client:
        emit(submit_once(bastion, client).summary())


@statements_app.command("list")
def statements_list(
    status: Annotated[
        str | None, typer.Option(help="Only this status: pending, submitted, invalid or off.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 100,
) -> None:
    """Statements, newest first, one JSON line each (without the payload; see `show`)."""
    from bastion.cli import emit, state
    from bastion.compliance.statements import STATUSES, list_statements, statement_public

    if status is not None and status not in STATUSES:
        raise InvalidInput(f"--status is one of {', '.join(STATUSES)}.")
    with state.bastion().session() as session:
        for statement in list_statements(session, status, limit):
            emit(statement_public(statement, payload=False))


@statements_app.command("show")
def statements_show(statement_id: int) -> None:
    """One statement: its payload, status and the rules it broke, if any."""
    from bastion.cli import emit, state
    from bastion.compliance.statements import get_statement, statement_public

    with state.bastion().session() as session:
        emit(statement_public(get_statement(session, statement_id)))
