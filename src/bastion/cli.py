"""The `bastion` command line. Every command works on the data folder a running server uses."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from bastion.banks import entries as entry_service
from bastion.banks import service as bank_service
from bastion.banks.formats import FORMATS, reader_for, writer_for
from bastion.banks.importer import export_rows, import_rows
from bastion.banks.labels import EntryLabels
from bastion.cli_orders import order_app
from bastion.cli_report import report_app
from bastion.cli_statements import statements_app
from bastion.cli_text import register as register_text_commands
from bastion.cli_vault import vault_app
from bastion.errors import BastionError, InvalidInput
from bastion.runtime import Bastion
from bastion.settings import Settings
from bastion.signals.file_signals import compute_file_signals
from bastion.text.normalize import decode_text
from bastion.text.signals import compute_text_signals

app = typer.Typer(
    help="Bastion: catch known terrorist content on re-upload.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
bank_app = typer.Typer(help="Create, fill, import, export and delete banks.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhooks to the platform.", no_args_is_help=True)
policy_app = typer.Typer(help="The routing policy.", no_args_is_help=True)
user_app = typer.Typer(help="Console users (admin, moderator, auditor).", no_args_is_help=True)
app.add_typer(bank_app, name="bank")
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(user_app, name="user")
app.add_typer(policy_app, name="policy")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(order_app, name="order", no_args_is_help=True)
app.add_typer(statements_app, name="statements")
app.add_typer(vault_app, name="vault", no_args_is_help=True)
app.add_typer(report_app, name="report", no_args_is_help=True)

register_text_commands(app)

CLI_ACTOR = "cli"


class State:
    """Options shared by every command."""

    data_dir: Path | None = None
    database_url: str | None = None

    def bastion(self) -> Bastion:
        """The instance for this invocation, migrated and ready."""
        overrides: dict[str, Any] = {}
        if self.data_dir is not None:
            overrides["data_dir"] = self.data_dir
        if self.database_url is not None:
            overrides["database_url"] = self.database_url
        return Bastion(Settings(**overrides)).start()


state = State()


@app.callback()
def main_options(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Data folder (default: $BASTION_DATA_DIR or ./bastion-data)."),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Database URL (default: $BASTION_DATABASE_URL or SQLite).")
    ] = None,
) -> None:
    """Bastion: catch known terrorist content on re-upload."""
    state.data_dir = data_dir
    state.database_url = database_url


def emit(obj: Any) -> None:
    """Print one JSON line."""
    typer.echo(json.dumps(obj, ensure_ascii=False, default=str))


@app.command()
def run(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Start the HTTP API (migrations are applied first)."""
    import uvicorn

    from bastion.app import create_app
    from bastion.compliance.vault import vault_from

    bastion = state.bastion()
    vault_from(bastion.settings)  # a clear error now rather than a failed start-up
    _ = bastion.classifier  # same: a bad BASTION_TEXT_MODEL stops here
    typer.echo(
        f"Bastion on http://{host}:{port} — data in {bastion.settings.data_dir.resolve()}", err=True
    )
    if workers == 1:
        uvicorn.run(create_app(bastion), host=host, port=port, log_level="info")
        return
    typer.echo("Several workers: each loads its own index.", err=True)
    uvicorn.run("bastion.app:create_app", factory=True, host=host, port=port, workers=workers)


@app.command("hash")
def hash_files(files: Annotated[list[Path], typer.Argument(help="Files to hash.")]) -> None:
    """Print the signals of each file, one JSON line per file."""
    settings = Settings() if state.data_dir is None else Settings(data_dir=state.data_dir)
    failed = False
    for path in files:
        try:
            signals = compute_file_signals(_read(path), max_pixels=settings.max_image_pixels)
            emit({"file": str(path), "signals": signals.public()})
        except BastionError as exc:
            failed = True
            emit({"file": str(path), **exc.to_dict()})
    raise typer.Exit(1 if failed else 0)


@app.command()
def match(
    files: Annotated[list[Path] | None, typer.Argument(help="Files to match.")] = None,
    bank: Annotated[list[str] | None, typer.Option(help="Only these banks (repeatable).")] = None,
    hashes: Annotated[
        Path | None, typer.Option(help="A file with one PDQ hash per line ('-' for stdin).")
    ] = None,
    text: Annotated[
        list[Path] | None,
        typer.Option("--text", help="A UTF-8 text file, matched as text (repeatable)."),
    ] = None,
) -> None:
    """Match files, texts, or a list of PDQ hashes against the banks; one JSON line per input."""
    if not files and hashes is None and not text:
        raise InvalidInput(
            "Give files to match, --text FILE, or --hashes FILE with one PDQ hash per line."
        )
    bastion = state.bastion()
    matcher = bastion.matcher
    failed = False
    with bastion.session() as session:
        for path in files or []:
            try:
                signals = compute_file_signals(
                    _read(path), max_pixels=bastion.settings.max_image_pixels, for_lookup=True
                )
                result = matcher.match_file(session, signals, bank)
                emit({"file": str(path), "signals": signals.public(), **result.public()})
            except BastionError as exc:
                failed = True
                emit({"file": str(path), **exc.to_dict()})
        for path in text or []:
            try:
                text_signals = compute_text_signals(
                    decode_text(_read(path), str(path)),
                    max_bytes=bastion.settings.max_text_bytes,
                    query=True,
                )
                result = matcher.match_text(session, text_signals, bank)
                emit({"text": str(path), "text_sha256": text_signals.sha256, **result.public()})
            except BastionError as exc:
                failed = True
                emit({"text": str(path), **exc.to_dict()})
        for line_no, value in _hash_lines(hashes):
            try:
                result = matcher.match_value(session, "pdq", value, bank)
                emit({"line": line_no, "hash": value, **result.public()})
            except BastionError as exc:
                failed = True
                emit({"line": line_no, "hash": value, **exc.to_dict()})
    raise typer.Exit(1 if failed else 0)


def _hash_lines(path: Path | None) -> Iterator[tuple[int, str]]:
    if path is None:
        return
    handle = sys.stdin if str(path) == "-" else _open_text(path)
    for number, line in enumerate(handle, start=1):
        value = line.strip()
        if value and not value.startswith("#"):
            yield number, value.split(",")[0].strip()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}.") from exc


def _open_text(path: Path) -> io.TextIOWrapper:
    try:
        return open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}.") from exc


# ---------------------------------------------------------------- banks


@bank_app.command("create")
def bank_create(
    name: str,
    description: Annotated[str, typer.Option(help="What the bank holds.")] = "",
    threshold: Annotated[int | None, typer.Option(help="PDQ distance threshold.")] = None,
    vetted: Annotated[bool, typer.Option(help="Matches may be auto-actioned.")] = False,
    allow: Annotated[bool, typer.Option(help="An allow-list bank.")] = False,
) -> None:
    """Create a bank."""
    bastion = state.bastion()
    spec = bank_service.BankCreate(
        name=name, description=description, pdq_threshold=threshold, vetted=vetted, allow=allow
    )
    with bastion.session() as session:
        bank = bank_service.create_bank(
            session, spec, default_threshold=bastion.settings.default_pdq_threshold, actor=CLI_ACTOR
        )
        emit(bank_service.bank_public(bank, 0))


@bank_app.command("list")
def bank_list() -> None:
    """List banks, one JSON line each."""
    with state.bastion().session() as session:
        for summary in bank_service.list_banks(session):
            emit(bank_service.bank_public(summary.bank, summary.entries))


@bank_app.command("update")
def bank_update(
    name: str,
    rename: Annotated[str | None, typer.Option(help="New name.")] = None,
    description: Annotated[str | None, typer.Option()] = None,
    threshold: Annotated[int | None, typer.Option(help="PDQ distance threshold.")] = None,
    enabled: Annotated[bool | None, typer.Option("--enabled/--disabled")] = None,
    vetted: Annotated[bool | None, typer.Option("--vetted/--not-vetted")] = None,
    allow: Annotated[bool | None, typer.Option("--allow/--not-allow")] = None,
) -> None:
    """Rename, enable/disable, re-threshold or re-flag a bank."""
    change = bank_service.BankUpdate(
        name=rename,
        description=description,
        pdq_threshold=threshold,
        enabled=enabled,
        vetted=vetted,
        allow=allow,
    )
    with state.bastion().session() as session:
        bank = bank_service.update_bank(session, name, change, actor=CLI_ACTOR)
        emit(bank_service.bank_public(bank, bank_service.count_entries(session, bank)))


@bank_app.command("add")
def bank_add(
    name: str,
    files: Annotated[list[Path] | None, typer.Argument(help="Files of known content.")] = None,
    hash_value: Annotated[
        list[str] | None,
        typer.Option("--hash", help="A raw signal as TYPE:VALUE, e.g. pdq:<64 hex> (repeatable)."),
    ] = None,
    text: Annotated[
        list[Path] | None,
        typer.Option(
            "--text", help="A UTF-8 text file of known text, matched as text (repeatable)."
        ),
    ] = None,
    category: Annotated[str | None, typer.Option(help="TCO Art. 2(7) category a-e.")] = None,
    behaviour: Annotated[list[str] | None, typer.Option(help="Behaviour tag (repeatable).")] = None,
    entity: Annotated[list[str] | None, typer.Option(help="Producing entity (repeatable).")] = None,
    source: Annotated[str | None, typer.Option(help="e.g. gifct, tcap, moderator.")] = None,
    note: Annotated[str | None, typer.Option(help="Free note.")] = None,
) -> None:
    """Add entries to a bank from files, texts and/or raw hashes; one JSON line per entry."""
    if not files and not hash_value and not text:
        raise InvalidInput("Give files to add, --text FILE, or --hash TYPE:VALUE.")
    labels = EntryLabels.model_validate(
        {
            "category": category,
            "behaviours": behaviour or [],
            "entities": entity or [],
            "source": source,
            "note": note,
        }
    )
    bastion = state.bastion()
    added: list[dict[str, Any]] = []  # printed once committed: all or nothing
    with bastion.session() as session:
        bank = bank_service.get_bank(session, name)
        for path in files or []:
            entry, signals = entry_service.add_file_entry(
                session,
                bank,
                _read(path),
                labels,
                max_pixels=bastion.settings.max_image_pixels,
                actor=CLI_ACTOR,
                filename=path.name,
            )
            added.append({"file": str(path), "entry_id": entry.id, "signals": signals.public()})
        for path in text or []:
            entry, text_signals = entry_service.add_text_entry(
                session,
                bank,
                decode_text(_read(path), str(path)),
                labels,
                max_bytes=bastion.settings.max_text_bytes,
                actor=CLI_ACTOR,
                filename=path.name,
            )
            added.append(
                {
                    "text": str(path),
                    "entry_id": entry.id,
                    "text_sha256": text_signals.sha256,
                    "chunks": len(text_signals.chunks),
                }
            )
        for raw in hash_value or []:
            kind, _, value = raw.partition(":")
            if not value:
                raise InvalidInput(f"--hash takes TYPE:VALUE (e.g. pdq:<64 hex>); got {raw!r}.")
            entry = entry_service.add_hash_entry(
                session, bank, kind, value, labels, actor=CLI_ACTOR
            )
            added.append({"hash": raw, "entry_id": entry.id})
    for line in added:
        emit(line)


@bank_app.command("remove")
def bank_remove(
    name: str,
    entry_ids: Annotated[list[int] | None, typer.Argument(help="Entries to remove.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm deleting the whole bank.")] = False,
) -> None:
    """Remove entries from a bank, or with no entry ids (and --yes) delete the whole bank."""
    if not entry_ids and not yes:
        raise InvalidInput(f"This deletes bank {name!r} and all its entries: add --yes.")
    with state.bastion().session() as session:
        if entry_ids:
            bank = bank_service.get_bank(session, name)
            for entry_id in entry_ids:
                entry_service.remove_entry(session, bank, entry_id, actor=CLI_ACTOR)
        else:
            bank_service.delete_bank(session, name, actor=CLI_ACTOR)
    # Printed once committed: all or nothing.
    for entry_id in entry_ids or []:
        emit({"bank": name, "removed_entry": entry_id})
    if not entry_ids:
        emit({"deleted_bank": name})


@bank_app.command("import")
def bank_import(
    name: str,
    file: Annotated[Path, typer.Argument(help="The file to import ('-' for stdin).")],
    format: Annotated[
        str, typer.Option("--format", "-f", help=f"auto, {', '.join(FORMATS)}.")
    ] = "auto",
    partial: Annotated[bool, typer.Option(help="Keep good rows when some are bad.")] = False,
    create: Annotated[bool, typer.Option(help="Create the bank if it does not exist.")] = False,
) -> None:
    """Import entries (streamed; all-or-nothing unless --partial)."""
    bastion = state.bastion()
    handle = sys.stdin if str(file) == "-" else _open_text(file)
    with bastion.session() as session:
        if create and name not in {s.bank.name for s in bank_service.list_banks(session)}:
            bank_service.create_bank(
                session,
                bank_service.BankCreate(name=name),
                default_threshold=bastion.settings.default_pdq_threshold,
                actor=CLI_ACTOR,
            )
        bank = bank_service.get_bank(session, name)
        report = import_rows(
            session,
            bank,
            reader_for(format, None if str(file) == "-" else file.name, handle),
            actor=CLI_ACTOR,
            all_or_nothing=not partial,
            max_errors=bastion.settings.max_import_errors,
        )
        emit(report.public())


@bank_app.command("export")
def bank_export(
    name: str,
    format: Annotated[str, typer.Option("--format", "-f", help=", ".join(FORMATS))] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Default: stdout.")] = None,
) -> None:
    """Export a bank's entries (the primary hash of each; derived crops are left out)."""
    write = writer_for(format)
    bastion = state.bastion()
    with bastion.session() as session:
        bank = bank_service.get_bank(session, name)
        stream = sys.stdout if output is None else open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115
        try:
            count = write(export_rows(session, bank), stream)
        finally:
            if output is not None:
                stream.close()
    typer.echo(f"exported {count} rows", err=True)


# ---------------------------------------------------------------- tokens and db


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="admin, platform or authority.")],
    name: Annotated[str, typer.Option(help="Who or what uses the token.")] = "api",
    platform: Annotated[str, typer.Option(help="Platform the items belong to.")] = "default",
) -> None:
    """Create an API token; the secret is printed once and never stored."""
    from bastion.auth.tokens import create_token

    with state.bastion().session() as session:
        token, secret = create_token(session, name=name, role=role, platform=platform)
        emit({"id": token.id, "name": token.name, "role": token.role, "token": secret})


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    from bastion.auth.tokens import list_tokens

    with state.bastion().session() as session:
        for token in list_tokens(session):
            emit(
                {
                    "id": token.id,
                    "name": token.name,
                    "role": token.role,
                    "platform": token.platform,
                    "prefix": token.prefix,
                    "revoked": token.revoked_at is not None,
                }
            )


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke a token."""
    from bastion.auth.tokens import revoke_token

    with state.bastion().session() as session:
        revoke_token(session, token_id)
        emit({"revoked": token_id})


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    from bastion.db.migrate import current_revision

    bastion = state.bastion()
    emit({"database": "ok", "revision": current_revision(bastion.engine)})


@webhooks_app.command("deliver")
def webhooks_deliver() -> None:
    """Send the deliveries that are due, once (the server also does this every second)."""
    import httpx

    from bastion.actions.worker import deliver_once, endpoint_for

    bastion = state.bastion()
    endpoint = endpoint_for(bastion)
    if endpoint is None:
        raise InvalidInput("Set BASTION_WEBHOOK_URL and BASTION_WEBHOOK_SECRET first.")
    with httpx.Client() as client:
        emit({"attempted": deliver_once(bastion, endpoint, client)})


@webhooks_app.command("dead")
def webhooks_dead() -> None:
    """List dead-lettered deliveries."""
    from bastion.actions.webhooks import dead_letters

    with state.bastion().session() as session:
        for delivery in dead_letters(session):
            emit(
                {
                    "id": delivery.id,
                    "event": delivery.event,
                    "attempts": delivery.attempts,
                    "last_error": delivery.last_error,
                }
            )


@webhooks_app.command("resend")
def webhooks_resend(delivery_id: int) -> None:
    """Queue a dead-lettered delivery again."""
    from bastion.actions.webhooks import resend

    with state.bastion().session() as session:
        resend(session, delivery_id, actor=CLI_ACTOR)
    emit({"resent": delivery_id})


@policy_app.command("load")
def policy_load(file: Annotated[Path, typer.Argument(help="The policy, in TOML.")]) -> None:
    """Validate a policy file and make it the one in force (versioned and audited)."""
    from bastion.policy.store import load_policy

    text = _read(file).decode("utf-8")
    with state.bastion().session() as session:
        version = load_policy(session, text, actor=CLI_ACTOR)
        emit({"version": version.id, "sha256": version.sha256})


@policy_app.command("show")
def policy_show() -> None:
    """Print the policy in force (TOML)."""
    from bastion.policy.store import current_version

    with state.bastion().session() as session:
        version = current_version(session)
    typer.echo(version.text if version else "# no policy loaded: every match is reviewed")


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[str, typer.Option(help="admin, moderator or auditor.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create a console user (the first admin, say); asks for the password."""
    from bastion.auth.users import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with state.bastion().session() as session:
        user = create_user(session, username=username, password=password, role=role, actor="cli")
        emit({"id": user.id, "username": user.username, "role": user.role})


@user_app.command("list")
def user_list() -> None:
    """List console users."""
    from bastion.auth.users import list_users

    with state.bastion().session() as session:
        for user in list_users(session):
            emit(
                {
                    "username": user.username,
                    "role": user.role,
                    "disabled": user.disabled_at is not None,
                }
            )


@user_app.command("disable")
def user_disable(username: str) -> None:
    """Disable a user: they can no longer log in."""
    from bastion.auth.users import disable_user

    with state.bastion().session() as session:
        disable_user(session, username, actor="cli")
    emit({"disabled": username})


@audit_app.command("verify")
def audit_verify() -> None:
    """Check that no audit row was changed or deleted; names the first broken one."""
    from bastion.audit import verify

    with state.bastion().session() as session:
        result = verify(session)
    emit(
        {
            "ok": result.ok,
            "events": result.events,
            "head": result.head,
            "broken_at": result.broken_at,
            "reason": result.reason,
        }
    )
    if not result.ok:
        typer.echo(f"error: audit event {result.broken_at} is broken: {result.reason}", err=True)
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(
    limit: Annotated[int, typer.Option(help="How many of the newest events.")] = 50,
) -> None:
    """Print the newest audit events, one JSON line each."""
    from sqlalchemy import select

    from bastion.db.models import AuditEvent

    with state.bastion().session() as session:
        events = session.scalars(
            select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        ).all()
        for event in events:
            emit(
                {
                    "id": event.id,
                    "at": event.at.isoformat(),
                    "actor": event.actor,
                    "action": event.action,
                    "target": event.target,
                    "details": event.details,
                    "hash": event.hash,
                }
            )


def main() -> None:
    """Entry point: domain errors become one clean line on stderr, never a traceback."""
    try:
        code = app(standalone_mode=False)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        typer.echo(f"error: invalid option: {problems}", err=True)
        sys.exit(2)
    except (OSError, UnicodeDecodeError, OverflowError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except BastionError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        if isinstance(exc.details, dict) and exc.details.get("errors"):
            for problem in exc.details["errors"][:50]:
                typer.echo(f"  line {problem['line']}: {problem['message']}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as exc:
        # Usage errors (unknown command, missing or unknown option) are click exceptions;
        # newer Typer releases carry their own copy of click, so they are told apart by shape.
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        raise
    sys.exit(code if isinstance(code, int) else 0)
