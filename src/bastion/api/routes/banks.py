"""Banks and their entries: /v1/banks..."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from bastion.api.body import (
    FILE_FIELD,
    Body,
    parse_model,
    read_body,
    read_upload_stream,
    request_body,
)
from bastion.api.deps import BastionDep, SessionDep, require
from bastion.auth.permissions import Action
from bastion.auth.tokens import Principal
from bastion.banks import entries as entry_service
from bastion.banks import service as bank_service
from bastion.banks.formats import FORMATS, ExportRow, reader_for, writer_for
from bastion.banks.importer import export_rows, import_rows
from bastion.banks.labels import EntryLabels
from bastion.db.models import BankEntry, EntrySignal
from bastion.errors import InvalidInput
from bastion.runtime import Bastion
from bastion.text.normalize import decode_text

router = APIRouter(prefix="/v1/banks", tags=["banks"])

MAX_ID = 2**63 - 1
EntryId = Annotated[int, Path(ge=1, le=MAX_ID)]

Reader = Annotated[Principal, Depends(require(Action.BANKS_READ))]
Writer = Annotated[Principal, Depends(require(Action.BANKS_WRITE))]
Exporter = Annotated[Principal, Depends(require(Action.BANKS_EXPORT))]


@router.get("", summary="List banks")
def list_banks(session: SessionDep, _: Reader) -> dict[str, Any]:
    """Every bank with its entry count."""
    return {
        "banks": [
            bank_service.bank_public(s.bank, s.entries) for s in bank_service.list_banks(session)
        ]
    }


@router.post("", status_code=201, summary="Create a bank")
def create_bank(
    bastion: BastionDep, session: SessionDep, who: Writer, spec: bank_service.BankCreate
) -> dict[str, Any]:
    """Create a bank; 409 if the name is taken."""
    bank = bank_service.create_bank(
        session, spec, default_threshold=bastion.settings.default_pdq_threshold, actor=who.actor
    )
    return bank_service.bank_public(bank, 0)


@router.get("/{name}", summary="Show a bank")
def get_bank(session: SessionDep, _: Reader, name: str) -> dict[str, Any]:
    """One bank with its entry count."""
    bank = bank_service.get_bank(session, name)
    return bank_service.bank_public(bank, bank_service.count_entries(session, bank))


@router.patch("/{name}", summary="Rename, disable, re-threshold or re-flag a bank")
def update_bank(
    session: SessionDep, who: Writer, name: str, change: bank_service.BankUpdate
) -> dict[str, Any]:
    """Apply a partial change."""
    bank = bank_service.update_bank(session, name, change, actor=who.actor)
    return bank_service.bank_public(bank, bank_service.count_entries(session, bank))


@router.delete("/{name}", summary="Delete a bank and all its entries")
def delete_bank(bastion: BastionDep, session: SessionDep, who: Writer, name: str) -> dict[str, Any]:
    """Delete the bank; its entries stop matching at once."""
    removed = bank_service.delete_bank(session, name, actor=who.actor)
    session.commit()
    bastion.forget_pdq(removed)
    return {"deleted": name}


@router.get("/{name}/entries", summary="List a bank's entries, oldest first")
def list_entries(
    session: SessionDep,
    _: Reader,
    name: str,
    after: Annotated[
        int, Query(ge=0, le=MAX_ID, description="Return entries with a larger id.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """A page of entries; pass the last id as `after` for the next page."""
    bank = bank_service.get_bank(session, name)
    rows = session.scalars(
        select(BankEntry)
        .where(BankEntry.bank_id == bank.id, BankEntry.id > after)
        .order_by(BankEntry.id)
        .limit(limit)
    ).all()
    return {
        "entries": [entry_service.entry_public(e) for e in rows],
        "next_after": rows[-1].id if len(rows) == limit else None,
    }


class EntryCreate(BaseModel):
    """A bank entry from a raw hash or URL."""

    model_config = {"extra": "forbid"}

    signal_type: str = Field(
        description="pdq, md5, sha256, url, url_md5, url_sha256, text_sha256, text_minhash, "
        "or text (the value is known text: a post, a manifesto)"
    )
    value: str = Field(max_length=1_048_576)
    labels: EntryLabels = Field(default_factory=EntryLabels)
    external_id: str | None = Field(default=None, max_length=256)


ENTRY_BODY = request_body(
    {
        "file": FILE_FIELD,
        "kind": {
            "type": "string",
            "enum": ["file", "text"],
            "description": "text: the file is UTF-8 text, matched as text",
        },
        "category": {"type": "string", "enum": ["a", "b", "c", "d", "e"]},
        "behaviours": {"type": "string", "description": "'|'-separated tags"},
        "entities": {"type": "string", "description": "'|'-separated tags"},
        "source": {"type": "string"},
        "note": {"type": "string"},
        "external_id": {"type": "string"},
    },
    required=["file"],
    json_model=EntryCreate,
)


@router.post(
    "/{name}/entries",
    status_code=201,
    summary="Add an entry from a file (multipart) or a raw hash or URL (JSON)",
    openapi_extra=ENTRY_BODY,
)
async def add_entry(
    request: Request, bastion: BastionDep, session: SessionDep, who: Writer, name: str
) -> dict[str, Any]:
    """Add known content; it matches from the next lookup on."""
    body = await read_body(request, bastion.settings.max_upload_bytes)
    return await run_in_threadpool(_add_entry, bastion, session, who, name, body)


def _add_entry(
    bastion: Bastion, session: Any, who: Principal, name: str, body: Body
) -> dict[str, Any]:
    bank = bank_service.get_bank(session, name)
    if body.json is not None:
        spec = parse_model(EntryCreate, body.json)
        if spec.signal_type.strip().lower() == "text":
            entry, _ = entry_service.add_text_entry(
                session,
                bank,
                spec.value,
                spec.labels,
                max_bytes=bastion.settings.max_text_bytes,
                actor=who.actor,
                external_id=spec.external_id,
            )
        else:
            entry = entry_service.add_hash_entry(
                session,
                bank,
                spec.signal_type,
                spec.value,
                spec.labels,
                actor=who.actor,
                external_id=spec.external_id,
            )
    else:
        if body.file is None:
            raise InvalidInput("Send the content as a multipart field named `file`.")
        fields = dict(body.fields)
        external_id = fields.pop("external_id", None) or None
        kind = fields.pop("kind", None) or "file"
        labels = parse_model(EntryLabels, _form_labels(fields))
        if kind == "text":
            entry, _ = entry_service.add_text_entry(
                session,
                bank,
                decode_text(body.file, "The uploaded text"),
                labels,
                max_bytes=bastion.settings.max_text_bytes,
                actor=who.actor,
                external_id=external_id,
                filename=body.filename,
            )
        elif kind == "file":
            entry, _ = entry_service.add_file_entry(
                session,
                bank,
                body.file,
                labels,
                max_pixels=bastion.settings.max_image_pixels,
                actor=who.actor,
                filename=body.filename,
                external_id=external_id,
            )
        else:
            raise InvalidInput(f"Unknown kind {kind!r}; use `file` (default) or `text`.")
    signals_rows = list(
        session.scalars(select(EntrySignal).where(EntrySignal.entry_id == entry.id))
    )
    return entry_service.entry_public(entry, signals_rows)


def _form_labels(fields: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key in ("behaviours", "entities"):
            out[key] = [v for v in value.replace(",", "|").split("|") if v.strip()]
        else:
            out[key] = value or None
    return out


@router.get("/{name}/entries/{entry_id}", summary="Show an entry with its signals")
def get_entry(session: SessionDep, _: Reader, name: str, entry_id: EntryId) -> dict[str, Any]:
    """One entry, its labels and every stored signal (one PDQ hash per view)."""
    bank = bank_service.get_bank(session, name)
    entry = entry_service.get_entry(session, bank, entry_id)
    rows = list(session.scalars(select(EntrySignal).where(EntrySignal.entry_id == entry.id)))
    return entry_service.entry_public(entry, rows)


@router.delete("/{name}/entries/{entry_id}", summary="Remove an entry")
def remove_entry(
    bastion: BastionDep, session: SessionDep, who: Writer, name: str, entry_id: EntryId
) -> dict[str, Any]:
    """Remove the entry; it stops matching at once."""
    bank = bank_service.get_bank(session, name)
    removed = entry_service.remove_entry(session, bank, entry_id, actor=who.actor)
    session.commit()
    bastion.forget_pdq(removed)
    return {"deleted": entry_id}


@router.post(
    "/{name}/import",
    summary="Import entries from a CSV, JSONL, ThreatExchange or TCAP file (multipart `file`)",
    openapi_extra=request_body({"file": FILE_FIELD}, required=["file"]),
)
async def import_entries(
    request: Request,
    bastion: BastionDep,
    session: SessionDep,
    who: Writer,
    name: str,
    format: Annotated[str, Query(description=f"One of: auto, {', '.join(FORMATS)}")] = "auto",
    partial: Annotated[bool, Query(description="Keep the good rows when some are bad.")] = False,
) -> dict[str, Any]:
    """Stream the rows into the bank; all-or-nothing unless `partial=true`."""
    upload = await read_upload_stream(request, bastion.settings.max_upload_bytes)

    def run() -> dict[str, Any]:
        bank = bank_service.get_bank(session, name)
        # The upload is spooled to disk by the form parser; rows are read from it one by one.
        text = io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline="")
        report = import_rows(
            session,
            bank,
            reader_for(format, upload.filename, text),
            actor=who.actor,
            all_or_nothing=not partial,
            max_errors=bastion.settings.max_import_errors,
        )
        return report.public()

    return await run_in_threadpool(run)


@router.get("/{name}/export", summary="Export a bank's entries (admin only)")
def export_entries(
    bastion: BastionDep,
    session: SessionDep,
    _: Exporter,
    name: str,
    format: Annotated[str, Query(description=f"One of: {', '.join(FORMATS)}")] = "csv",
) -> StreamingResponse:
    """Stream the bank in the chosen format, a batch of rows at a time."""
    write = writer_for(format)
    bank_service.get_bank(session, name)  # a 404 before the response starts

    def chunks() -> Iterator[str]:
        with bastion.session() as reader:
            bank = bank_service.get_bank(reader, name)
            buffer = io.StringIO()
            batch: list[ExportRow] = []
            header = True
            for row in export_rows(reader, bank):
                batch.append(row)
                if len(batch) >= 5000:
                    write(batch, buffer, header=header)
                    header, batch = False, []
                    yield _drain(buffer)
            write(batch, buffer, header=header)
            yield _drain(buffer)

    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    return StreamingResponse(
        chunks(),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
