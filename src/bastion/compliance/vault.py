"""The preservation vault (TCO Art. 6): removed content and its related data, kept encrypted
for six months (longer under a legal hold), then purged; every opening is audited.

Preservation runs as a background pass over decisions (like the webhook outbox), not inside
the decision: a decision never waits on disk or crypto, and a crash between the two loses
nothing, because the next pass finds every remove/restrict decision without a vault record.

Each record is one file in `<data>/vault/`: AES-256-GCM (a fresh 96-bit nonce per file; the
record id and content digest bound in as associated data, so files cannot be swapped), over
a container of the related data (JSON) and the content bytes. Without a key Bastion refuses
to start rather than keep removed content in plaintext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import struct
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, selectinload

from bastion.audit import record
from bastion.compliance.notices import order_of
from bastion.db.base import utcnow
from bastion.db.models import Decision, Item, RemovalOrder, VaultRecord
from bastion.errors import Conflict, InvalidInput, NotFound
from bastion.media_store import MediaStore
from bastion.settings import Settings

MAGIC = b"BASTION-VAULT-1\n"
RESTRICTIVE = ("remove", "restrict")
NO_KEY = (
    "The preservation vault (TCO Art. 6) needs a key: set BASTION_VAULT_KEY (or "
    "BASTION_VAULT_KEY_FILE) to the output of `bastion vault keygen`, or BASTION_VAULT=off "
    "if removed content is preserved elsewhere. Bastion does not keep it in plaintext."
)


def new_key() -> str:
    """A fresh vault key: 32 random bytes, URL-safe base64."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Vault:
    """The key and the folder; everything else is in the database."""

    key: bytes
    root: Path
    retention: timedelta

    @property
    def key_id(self) -> str:
        """Names the key (not secret) so a record says which key opens it."""
        return hashlib.sha256(self.key).hexdigest()[:16]

    def path_for(self, record_id: int) -> Path:
        """Where a record's ciphertext lives."""
        return self.root / f"{record_id % 256:02x}" / f"{record_id}.bin"

    def seal(self, record: VaultRecord, header: dict[str, Any], content: bytes) -> None:
        """Encrypt and write a record's file atomically."""
        head = json.dumps(header, ensure_ascii=False, default=str).encode()
        plain = struct.pack(">Q", len(head)) + head + content
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.key).encrypt(nonce, plain, _aad(record))
        path = self.path_for(record.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(MAGIC + nonce + sealed)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def unseal(
        self, record: VaultRecord, *, check_key: bool = True
    ) -> tuple[dict[str, Any], bytes]:
        """Decrypt a record's file into its related data and content."""
        if check_key and record.key_id != self.key_id:
            raise Conflict(
                f"Vault record {record.id} was sealed with key {record.key_id}; the key "
                f"configured now is {self.key_id}.",
                code="vault_wrong_key",
            )
        blob = self.path_for(record.id).read_bytes()
        if not blob.startswith(MAGIC):
            raise Conflict(f"Vault file of record {record.id} is not a vault file.")
        nonce, sealed = blob[len(MAGIC) : len(MAGIC) + 12], blob[len(MAGIC) + 12 :]
        try:
            plain = AESGCM(self.key).decrypt(nonce, sealed, _aad(record))
        except InvalidTag as exc:
            raise Conflict(
                f"Vault file of record {record.id} fails its integrity check.",
                code="vault_tampered",
            ) from exc
        (length,) = struct.unpack(">Q", plain[:8])
        return json.loads(plain[8 : 8 + length]), plain[8 + length :]


def _aad(record: VaultRecord) -> bytes:
    return f"{record.id}:{record.content_sha256}".encode()


def vault_from(settings: Settings) -> Vault | None:
    """The configured vault; None when turned off; InvalidInput when on without a key."""
    if not settings.vault:
        return None
    text = settings.vault_key
    if not text and settings.vault_key_file:
        try:
            text = settings.vault_key_file.read_text().strip()
        except OSError as exc:
            raise InvalidInput(
                f"Cannot read BASTION_VAULT_KEY_FILE {settings.vault_key_file}: {exc.strerror}."
            ) from exc
    if not text:
        raise InvalidInput(NO_KEY, code="vault_key_missing")
    days = timedelta(days=settings.vault_retention_days)
    return Vault(key=parse_key(text), root=settings.data_dir / "vault", retention=days)


def parse_key(text: str, what: str = "BASTION_VAULT_KEY") -> bytes:
    """A key as `bastion vault keygen` prints it, or InvalidInput."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise InvalidInput(
            f"{what} must be 32 bytes in URL-safe base64 (`bastion vault keygen`).",
            code="vault_key_invalid",
        )
    return key


def rotate(session: Session, vault: Vault, old_key: bytes, *, actor: str) -> dict[str, Any]:
    """Re-seal every kept record sealed with `old_key` under the vault's key, one file at a
    time (each replaced atomically); audited. Run again after a crash: a file already
    re-sealed whose row still names the old key is recognised and only its row is updated."""
    old = Vault(key=old_key, root=vault.root, retention=vault.retention)
    if old.key_id == vault.key_id:
        raise InvalidInput("The old key is the key configured now; nothing to rotate.")
    rows = session.scalars(
        select(VaultRecord)
        .where(VaultRecord.purged_at.is_(None), VaultRecord.key_id == old.key_id)
        .order_by(VaultRecord.id)
    ).all()
    unreadable: list[int] = []
    for row in rows:
        try:
            header, content = old.unseal(row)
        except (Conflict, OSError):
            try:  # re-sealed just before a crash, its row not yet updated?
                vault.unseal(row, check_key=False)
            except (Conflict, OSError):
                unreadable.append(row.id)  # missing or altered: left for a person to look at
                continue
        else:
            vault.seal(row, header, content)
        row.key_id = vault.key_id
        session.flush()
    others = session.scalar(
        select(func.count())
        .select_from(VaultRecord)
        .where(VaultRecord.purged_at.is_(None), VaultRecord.key_id != vault.key_id)
    )
    summary: dict[str, Any] = {
        "from": old.key_id,
        "to": vault.key_id,
        "resealed": len(rows) - len(unreadable),
        "unreadable": unreadable,
        "other_keys": int(others or 0) - len(unreadable),  # yet another key: left as they are
    }
    record(session, actor, "vault.rotate", None, summary)
    return summary


def preserve_due(
    session: Session, vault: Vault, media: MediaStore, *, limit: int = 200
) -> list[int]:
    """Seal every remove/restrict decision that has no vault record yet; returns record ids."""
    preserved = exists().where(VaultRecord.decision_id == Decision.id)
    decisions = session.scalars(
        select(Decision)
        .where(Decision.outcome.in_(RESTRICTIVE), ~preserved)
        .order_by(Decision.id)
        .limit(limit)
    )
    ids = []
    for decision in decisions:
        ids.append(_preserve(session, vault, media, decision).id)
    return ids


def _preserve(session: Session, vault: Vault, media: MediaStore, decision: Decision) -> VaultRecord:
    item = session.scalar(
        select(Item)
        .where(Item.id == decision.item_id)
        .options(selectinload(Item.signals), selectinload(Item.matches))
    )
    if item is None:
        raise NotFound(f"No item {decision.item_id}.")
    order = order_of(session, decision)
    content = (media.get(item.content_sha256) or b"") if item.kind != "url" else b""
    row = VaultRecord(
        decision_id=decision.id,
        item_id=item.id,
        order_id=order.id if order else None,
        content_sha256=item.content_sha256,
        size_bytes=len(content),
        key_id=vault.key_id,
        stored_at=utcnow(),
        expires_at=decision.created_at + vault.retention,
    )
    session.add(row)
    session.flush()
    vault.seal(row, related_data(item, decision, order), content)
    record(session, "vault", "vault.preserve", f"vault:{row.id}", {"item_id": item.id})
    return row


def related_data(item: Item, decision: Decision, order: RemovalOrder | None) -> dict[str, Any]:
    """What is preserved besides the content: where it came from, how it was found, what was
    decided (Art. 6(1): 'related data')."""
    return {
        "item": {
            "id": item.id,
            "platform": item.platform,
            "external_id": item.external_id,
            "kind": item.kind,
            "url": item.url,
            "filename": item.filename,
            "media_type": item.media_type,
            "context": item.context,
            "content_sha256": item.content_sha256,
            "received_at": item.received_at.isoformat(),
        },
        "signals": [{"type": s.signal_type, "value": s.value} for s in item.signals],
        "matches": [
            {
                "bank": m.bank_name,
                "entry_id": m.entry_id,
                "signal_type": m.signal_type,
                "distance": m.distance,
                "labels": m.labels,
            }
            for m in item.matches
        ],
        "decision": {
            "id": decision.id,
            "outcome": decision.outcome,
            "decided_by": decision.decided_by,
            "automation": decision.automation,
            "note": decision.note,
            "at": decision.created_at.isoformat(),
        },
        "order": None
        if order is None
        else {
            "id": order.id,
            "reference": order.reference,
            "authority": order.authority,
            "member_state": order.member_state,
            "received_at": order.received_at.isoformat(),
        },
    }


def purgeable(session: Session, now: datetime | None = None) -> list[VaultRecord]:
    """Records past their retention and not under a legal hold."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(VaultRecord)
            .where(VaultRecord.purged_at.is_(None), VaultRecord.expires_at <= now)
            .where(VaultRecord.hold_until.is_(None) | (VaultRecord.hold_until <= now))
            .order_by(VaultRecord.id)
        )
    )


def purge(
    session: Session, vault: Vault, *, now: datetime | None = None, dry_run: bool = False
) -> list[int]:
    """Delete the files of expired records (or, dry run, only list them)."""
    now = now or utcnow()
    due = purgeable(session, now)
    if dry_run:
        return [r.id for r in due]
    for row in due:
        vault.path_for(row.id).unlink(missing_ok=True)
        row.purged_at = now
    orphans = _sweep_orphans(session, vault, now)
    if due or orphans:
        details = {"records": [r.id for r in due], "orphan_files": orphans}
        record(session, "vault", "vault.purge", "vault", details)
    return [r.id for r in due]


ORPHAN_AGE = timedelta(hours=1)


def _sweep_orphans(session: Session, vault: Vault, now: datetime) -> int:
    """Delete files whose record never committed (a crash between sealing and the commit) or
    was purged: removed content must not outlive its record. Only files older than an hour,
    so a pass sealing right now is never raced."""
    if not vault.root.exists():
        return 0
    files = {
        int(path.stem): path
        for path in vault.root.glob("*/*.bin")
        if path.stem.isdigit() and now.timestamp() - path.stat().st_mtime > ORPHAN_AGE.seconds
    }
    if not files:
        return 0
    live = set(
        session.scalars(
            select(VaultRecord.id).where(
                VaultRecord.id.in_(list(files)), VaultRecord.purged_at.is_(None)
            )
        )
    )
    for record_id, path in files.items():
        if record_id not in live:
            path.unlink(missing_ok=True)
    return len(files) - len(live)


def get_record(session: Session, record_id: int) -> VaultRecord:
    """One vault record, or 404."""
    row = session.get(VaultRecord, record_id)
    if row is None:
        raise NotFound(f"No vault record {record_id}.", code="vault_record_not_found")
    return row


def open_record(
    session: Session, vault: Vault, record_id: int, *, actor: str, purpose: str
) -> tuple[VaultRecord, dict[str, Any], bytes]:
    """Decrypt a record for a stated purpose; the opening is audited before it happens."""
    purpose = purpose.strip()
    if not 10 <= len(purpose) <= 500:
        raise InvalidInput(
            "State why the record is opened (`purpose`, 10-500 characters): access to "
            "preserved content is limited to review, complaints and investigations (Art. 6).",
            code="purpose_required",
        )
    row = get_record(session, record_id)
    if row.purged_at is not None:
        raise Conflict(f"Vault record {record_id} was purged on {row.purged_at.date()}.")
    record(session, actor, "vault.access", f"vault:{row.id}", {"purpose": purpose})
    header, content = vault.unseal(row)
    return row, header, content


def hold(
    session: Session, record_id: int, *, until: datetime, reason: str, actor: str
) -> VaultRecord:
    """A legal hold: keep the record until `until` (an authority's or court's request)."""
    if not 5 <= len(reason.strip()) <= 2000:
        raise InvalidInput("Give the hold's legal basis in `reason` (5-2,000 characters).")
    if until <= utcnow():
        raise InvalidInput("`until` must be in the future.")
    row = get_record(session, record_id)
    if row.purged_at is not None:
        raise Conflict(f"Vault record {record_id} was already purged; nothing to hold.")
    row.hold_until, row.hold_reason = until, reason.strip()
    record(
        session,
        actor,
        "vault.hold",
        f"vault:{row.id}",
        {"until": until.isoformat(), "reason": reason},
    )
    return row


def public_record(row: VaultRecord) -> dict[str, Any]:
    """A record as the API lists it (never its content)."""
    return {
        "id": row.id,
        "decision_id": row.decision_id,
        "item_id": row.item_id,
        "order_id": row.order_id,
        "content_sha256": row.content_sha256,
        "size_bytes": row.size_bytes,
        "stored_at": row.stored_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
        "hold_until": row.hold_until.isoformat() if row.hold_until else None,
        "hold_reason": row.hold_reason,
        "purged_at": row.purged_at.isoformat() if row.purged_at else None,
    }
