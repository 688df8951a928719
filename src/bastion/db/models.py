"""The tables. Bastion stores content and what was decided about it, never profiles of people."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bastion.db.base import Base, UTCDateTime, utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; Postgres gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Bank(Base):
    """A named set of known content with one policy: threshold, vetted, allow-list."""

    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    vetted: Mapped[bool] = mapped_column(Boolean, default=False)
    allow: Mapped[bool] = mapped_column(Boolean, default=False)
    pdq_threshold: Mapped[int] = mapped_column(Integer, default=31)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    entries: Mapped[list[BankEntry]] = relationship(
        back_populates="bank", cascade="all, delete-orphan", passive_deletes=True
    )


class BankEntry(Base):
    """One piece of known content in a bank, with its labels; its hashes are `EntrySignal`s."""

    __tablename__ = "bank_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(256))
    category: Mapped[str | None] = mapped_column(String(1))
    behaviours: Mapped[list[str]] = mapped_column(JSON, default=list)
    entities: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16))  # file, text, hash or import
    filename: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    bank: Mapped[Bank] = relationship(back_populates="entries")
    signals: Mapped[list[EntrySignal]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", passive_deletes=True
    )


class EntrySignal(Base):
    """One hash of a bank entry. Images store several PDQ hashes, one per view (crops, trims)."""

    __tablename__ = "entry_signals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id", ondelete="CASCADE"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    signal_type: Mapped[str] = mapped_column(String(16))
    # The stored form (hex digest, canonical URL) and the key exact lookups use: the value
    # itself for digests, the sha256 of the canonical URL for `url` (URLs can be 8 KB long).
    value: Mapped[str] = mapped_column(Text)
    lookup_key: Mapped[str] = mapped_column(String(64))
    view: Mapped[str | None] = mapped_column(String(32))
    quality: Mapped[int | None] = mapped_column(Integer)

    entry: Mapped[BankEntry] = relationship(back_populates="signals")

    __table_args__ = (
        Index("ix_entry_signals_lookup", "signal_type", "lookup_key"),
        # Lets the PDQ index load and catch up in id order without sorting the table.
        Index("ix_entry_signals_type_id", "signal_type", "id"),
        Index("ix_entry_signals_entry_id", "entry_id"),
        Index("ix_entry_signals_bank_id", "bank_id"),
        {"sqlite_autoincrement": True},
    )


class Item(Base):
    """A content item a platform submitted, under its own `external_id`."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))  # image, file or url
    content_sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    media_type: Mapped[str | None] = mapped_column(String(128))
    filename: Mapped[str | None] = mapped_column(String(512))
    url: Mapped[str | None] = mapped_column(Text)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="received")
    # What the routing policy made of the matches (bastion.policy): auto, review or ignore.
    verdict: Mapped[str | None] = mapped_column(String(16))
    queue: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[float | None] = mapped_column(Float)
    automation: Mapped[str | None] = mapped_column(String(16))
    verdict_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The review case: who holds it and until when; the decision once made.
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    signals: Mapped[list[ItemSignal]] = relationship(
        back_populates="item", cascade="all, delete-orphan", passive_deletes=True
    )
    matches: Mapped[list[ItemMatch]] = relationship(
        back_populates="item", cascade="all, delete-orphan", passive_deletes=True
    )
    decisions: Mapped[list[Decision]] = relationship(
        order_by="Decision.id", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        UniqueConstraint("platform", "external_id", "content_sha256", name="uq_items_identity"),
        {"sqlite_autoincrement": True},
    )


class ItemSignal(Base):
    """A signal computed from an item (its digests, its PDQ hash and quality, its URL)."""

    __tablename__ = "item_signals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    signal_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(Text)
    quality: Mapped[int | None] = mapped_column(Integer)

    item: Mapped[Item] = relationship(back_populates="signals")


class ItemMatch(Base):
    """A match of an item against a bank entry at the time it was scanned."""

    __tablename__ = "item_matches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    # Kept when the bank or entry is later deleted: the record of what matched must survive.
    # Indexed so that deleting a big bank does not scan this table once per entry.
    bank_id: Mapped[int | None] = mapped_column(
        ForeignKey("banks.id", ondelete="SET NULL"), index=True
    )
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("bank_entries.id", ondelete="SET NULL"), index=True
    )
    bank_name: Mapped[str] = mapped_column(String(64))
    signal_type: Mapped[str] = mapped_column(String(16))
    distance: Mapped[int] = mapped_column(Integer)
    allow: Mapped[bool] = mapped_column(Boolean, default=False)
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    item: Mapped[Item] = relationship(back_populates="matches")


class ApiToken(Base):
    """A bearer token for the HTTP API. Only a SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    platform: Mapped[str] = mapped_column(String(64), default="default")
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PolicyVersion(Base):
    """One version of the routing policy as the admin wrote it (TOML); the newest applies."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Decision(Base):
    """What was decided about an item, by whom or what, and how automated it was."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    exclusion: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(128))
    automation: Mapped[str] = mapped_column(String(16))  # full, partial or none
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """A webhook to the platform, kept until delivered (or dead-lettered): the outbox."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # delivered, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        {"sqlite_autoincrement": True},
    )


class User(Base):
    """A person who uses the console: admin, moderator or auditor. Only an argon2 hash of the
    password is stored; nothing about the person beyond a username."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    preferences: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsoleSession(Base):
    """A console login: only the SHA-256 of the cookie's secret is stored, with the session's
    CSRF token and what its user revealed (reveals are counted to suggest breaks)."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    revealed: Mapped[list[int]] = mapped_column(JSON, default=list)
    reveals: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class AuditEvent(Base):
    """An append-only, hash-chained record of a change: who did what to which object, when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(256))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The chain: SHA-256 of the previous row's hash and this row's content (bastion.audit).
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class RemovalOrder(Base):
    """A TCO Art. 3 removal order: its Annex I fields as the authority sent them, the exact
    time Bastion received it, and the one-hour clock. An order that is missing mandatory
    fields is still stored (status `incomplete`): a malformed order is not a lost order."""

    __tablename__ = "removal_orders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(128), unique=True)
    authority: Mapped[str | None] = mapped_column(String(256))
    member_state: Mapped[str | None] = mapped_column(String(2))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_via: Mapped[str] = mapped_column(String(16))  # api or console
    received_by: Mapped[str] = mapped_column(String(128))
    urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    identifiers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)  # Art. 2(7) a-e
    reasons: Mapped[str | None] = mapped_column(Text)
    redress: Mapped[str | None] = mapped_column(Text)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    non_disclosure_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    # incomplete, executing, removed, paused (Annex III sent, clock stopped), cannot_comply
    status: Mapped[str] = mapped_column(String(16))
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalations: Mapped[list[str]] = mapped_column(JSON, default=list)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Annex III: why the provider cannot comply (yet), and when the cause ended.
    obstacle: Mapped[str | None] = mapped_column(String(32))
    obstacle_details: Mapped[str | None] = mapped_column(Text)
    obstacle_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Art. 11(3): a non-disclosure decision may be renewed once.
    non_disclosure_renewals: Mapped[int] = mapped_column(Integer, default=0)

    targets: Mapped[list[OrderTarget]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="OrderTarget.id",
    )

    __table_args__ = (
        Index("ix_removal_orders_open", "status", "deadline_at"),
        {"sqlite_autoincrement": True},
    )


class OrderTarget(Base):
    """One thing an order names (a URL, the platform's id, a hash) and the item it found."""

    __tablename__ = "order_targets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("removal_orders.id", ondelete="CASCADE"), index=True
    )
    locator: Mapped[str] = mapped_column(String(16))  # url, external_id, sha256, md5
    value: Mapped[str] = mapped_column(Text)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[RemovalOrder] = relationship(back_populates="targets")


class Statement(Base):
    """A DSA Art. 17 statement of reasons for one restrictive decision, in the Transparency
    Database's v2 schema, and its way there: pending, submitted, invalid (never sent; the
    problems say which field broke which rule) or off (submission turned off: kept, not sent).
    The PUID is drawn once and kept, so a retry never sends a second statement."""

    __tablename__ = "statements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    decision_id: Mapped[int] = mapped_column(
        ForeignKey("decisions.id", ondelete="CASCADE"), unique=True
    )
    # Whose statement it is: each platform submits under its own Transparency Database account.
    platform: Mapped[str] = mapped_column(String(64))
    puid: Mapped[str] = mapped_column(String(500), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_statements_due", "status", "next_attempt_at"),
        {"sqlite_autoincrement": True},
    )


class OrderNotice(Base):
    """An authority's advance information before its first removal order (TCO Art. 3(2):
    at least 12 hours before, except in emergencies)."""

    __tablename__ = "order_notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    authority: Mapped[str] = mapped_column(String(256))
    member_state: Mapped[str] = mapped_column(String(2))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_by: Mapped[str] = mapped_column(String(128))
    text: Mapped[str | None] = mapped_column(Text)


class VaultRecord(Base):
    """Removed content and its related data, preserved encrypted for TCO Art. 6 (six months,
    longer under a legal hold). The ciphertext lives in the data folder; this row says what it
    is, until when it is kept, and when it was purged."""

    __tablename__ = "vault_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("decisions.id", ondelete="SET NULL"), unique=True
    )
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("removal_orders.id", ondelete="SET NULL")
    )
    content_sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    key_id: Mapped[str] = mapped_column(String(16))
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hold_reason: Mapped[str | None] = mapped_column(Text)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_vault_records_expiry", "purged_at", "expires_at"),
        {"sqlite_autoincrement": True},
    )


class Notice(Base):
    """TCO Art. 11 / DSA Art. 17: the uploader is told (through the platform) that content was
    removed, why, and how to complain; held back while an authority's non-disclosure runs."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    decision_id: Mapped[int] = mapped_column(
        ForeignKey("decisions.id", ondelete="CASCADE"), unique=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("removal_orders.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16))  # held or sent
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Complaint(Base):
    """A complaint against a removal (TCO Art. 10, DSA Art. 20): decided within two weeks by
    someone other than the person who made the decision; reinstate or uphold, with reasons."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    decision_id: Mapped[int] = mapped_column(
        ForeignKey("decisions.id", ondelete="CASCADE"), unique=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open or decided
    original_decider: Mapped[str] = mapped_column(String(128))
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))  # reinstate or uphold
    reasons: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_complaints_open", "status", "due_at"),
        {"sqlite_autoincrement": True},
    )


class OrderEscalation(Base):
    """One page about one removal order at one level of one clock run: the unique key makes
    two clock passes at once (a second server, `bastion order check`) page only once."""

    __tablename__ = "order_escalations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("removal_orders.id", ondelete="CASCADE"), index=True
    )
    # The deadline the page was about (the receipt time while the clock waits for missing
    # information): a restarted clock pages again. Never NULL, or the unique key would not bite.
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    level: Mapped[str] = mapped_column(String(16))  # received, 30m, 15m, overdue
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    email_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("order_id", "deadline_at", "level", name="uq_order_escalations_level"),
        {"sqlite_autoincrement": True},
    )
