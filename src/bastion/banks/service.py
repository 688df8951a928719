"""Banks: create, list, change and delete the named sets of known content."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bastion.audit import record
from bastion.db.models import Bank, BankEntry, EntrySignal
from bastion.errors import Conflict, InvalidInput, NotFound

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class BankCreate(BaseModel):
    """What a new bank needs: a name; everything else has a default."""

    model_config = {"extra": "forbid"}

    name: str = Field(description="Letters, digits, '_', '.', '-'; at most 64 characters.")
    description: str = Field(default="", max_length=2000)
    pdq_threshold: int | None = Field(
        default=None, ge=0, le=128, description="Default: the setting (31)."
    )
    enabled: bool = True
    vetted: bool = Field(default=False, description="Matches may be auto-actioned by policy.")
    allow: bool = Field(
        default=False, description="An allow-list: its matches suppress matches in other banks."
    )


class BankUpdate(BaseModel):
    """A partial change to a bank; a new `name` renames it."""

    model_config = {"extra": "forbid"}

    name: str | None = None
    description: str | None = Field(default=None, max_length=2000)
    pdq_threshold: int | None = Field(default=None, ge=0, le=128)
    enabled: bool | None = None
    vetted: bool | None = None
    allow: bool | None = None


@dataclass(frozen=True)
class BankSummary:
    """A bank with its entry count."""

    bank: Bank
    entries: int


def bank_public(bank: Bank, entries: int | None = None) -> dict[str, Any]:
    """A bank as the API and the CLI show it."""
    out: dict[str, Any] = {
        "name": bank.name,
        "description": bank.description,
        "enabled": bank.enabled,
        "vetted": bank.vetted,
        "allow": bank.allow,
        "pdq_threshold": bank.pdq_threshold,
        "created_at": bank.created_at.isoformat(),
        "updated_at": bank.updated_at.isoformat(),
    }
    if entries is not None:
        out["entries"] = entries
    return out


def check_name(name: str) -> str:
    """Validate a bank name."""
    if not _NAME.match(name):
        raise InvalidInput(
            f"Bank name {name!r} is not valid: use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit.",
            code="invalid_bank_name",
        )
    return name


def create_bank(session: Session, spec: BankCreate, *, default_threshold: int, actor: str) -> Bank:
    """Create a bank; a duplicate name is a conflict."""
    check_name(spec.name)
    if session.scalar(select(Bank.id).where(Bank.name == spec.name)) is not None:
        raise Conflict(f"A bank named {spec.name!r} already exists.", code="bank_exists")
    bank = Bank(
        name=spec.name,
        description=spec.description,
        pdq_threshold=default_threshold if spec.pdq_threshold is None else spec.pdq_threshold,
        enabled=spec.enabled,
        vetted=spec.vetted,
        allow=spec.allow,
    )
    session.add(bank)
    session.flush()
    record(session, actor, "bank.create", f"bank:{bank.name}", spec.model_dump())
    return bank


def get_bank(session: Session, name: str) -> Bank:
    """The bank with this name, or a 404 that names it."""
    bank = session.scalar(select(Bank).where(Bank.name == name))
    if bank is None:
        raise NotFound(f"No bank named {name!r}.", code="unknown_bank")
    return bank


def list_banks(session: Session) -> list[BankSummary]:
    """Every bank, by name, with its number of entries."""
    counts: dict[int, int] = {
        bank_id: count
        for bank_id, count in session.execute(
            select(BankEntry.bank_id, func.count()).group_by(BankEntry.bank_id)
        )
    }
    banks = session.scalars(select(Bank).order_by(Bank.name)).all()
    return [BankSummary(bank, counts.get(bank.id, 0)) for bank in banks]


def count_entries(session: Session, bank: Bank) -> int:
    """How many entries the bank holds."""
    return session.scalar(select(func.count()).where(BankEntry.bank_id == bank.id)) or 0


def update_bank(session: Session, name: str, change: BankUpdate, *, actor: str) -> Bank:
    """Apply a partial change; renaming onto an existing name is a conflict."""
    bank = get_bank(session, name)
    fields = change.model_dump(exclude_unset=True)
    if fields.get("name") not in (None, bank.name):
        new_name = check_name(fields["name"])
        if session.scalar(select(Bank.id).where(Bank.name == new_name)) is not None:
            raise Conflict(f"A bank named {new_name!r} already exists.", code="bank_exists")
    for key, value in fields.items():
        if value is None:
            continue
        setattr(bank, key, value)
    session.flush()
    record(session, actor, "bank.update", f"bank:{name}", fields)
    return bank


def delete_bank(session: Session, name: str, *, actor: str) -> list[int]:
    """Delete a bank and its entries; returns the ids of the PDQ rows that went with it."""
    bank = get_bank(session, name)
    pdq_ids = list(
        session.scalars(
            select(EntrySignal.id).where(
                EntrySignal.bank_id == bank.id, EntrySignal.signal_type == "pdq"
            )
        )
    )
    # Bulk deletes, children first: ORM cascades would load a million entries into memory.
    session.execute(delete(EntrySignal).where(EntrySignal.bank_id == bank.id))
    session.execute(delete(BankEntry).where(BankEntry.bank_id == bank.id))
    session.execute(delete(Bank).where(Bank.id == bank.id))
    record(session, actor, "bank.delete", f"bank:{name}", {"entries_pdq_rows": len(pdq_ids)})
    return pdq_ids
