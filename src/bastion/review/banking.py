"""Adding a decided item to a bank in the same step as the decision.

Confirmed content (remove, restrict) goes to an ordinary bank so its re-uploads match; a wrong
match (not terrorist content, leave up) goes to an allow-list bank so it stops matching.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bastion.banks.entries import add_file_entry, add_hash_entry, add_text_entry
from bastion.banks.labels import build_labels
from bastion.banks.service import get_bank
from bastion.db.models import BankEntry, Item
from bastion.errors import Forbidden, InvalidInput
from bastion.media_store import MediaStore

CONFIRMING = ("remove", "restrict")
CLEARING = ("not_tvec", "leave_up")


def add_item_to_bank(
    session: Session,
    item: Item,
    bank_name: str,
    *,
    outcome: str,
    decision_id: int,
    media: MediaStore,
    max_pixels: int,
    actor: str,
    may_use_vetted: bool = False,
) -> BankEntry:
    """Store the item's content (or URL) as a new entry of the named bank, labelled."""
    bank = get_bank(session, bank_name)
    if bank.vetted and not may_use_vetted:
        raise Forbidden(
            f"Bank {bank.name!r} is vetted (its matches can be actioned automatically); only "
            "an admin may add to it.",
            code="vetted_bank",
        )
    if outcome in CONFIRMING and bank.allow:
        raise InvalidInput(
            f"Bank {bank.name!r} is an allow-list; confirmed content goes to an ordinary bank."
        )
    if outcome in CLEARING and not bank.allow:
        raise InvalidInput(
            f"Bank {bank.name!r} is not an allow-list; content that is not terrorist content "
            "can only be added to an allow-list bank."
        )
    if outcome not in CONFIRMING + CLEARING:
        raise InvalidInput(f"A {outcome!r} decision adds nothing to a bank; leave the bank empty.")
    labels = build_labels(
        category=_matched_category(item) if outcome in CONFIRMING else None,
        entities=_matched_entities(item) if outcome in CONFIRMING else [],
        source="moderator",
        note=f"Added by decision {decision_id} on item {item.id} ({outcome}).",
    )
    external_id = f"{item.platform}:{item.external_id}"[:256]
    data = media.get(item.content_sha256) if item.kind != "url" else None
    if data is not None and item.kind == "text":
        text_entry, _ = add_text_entry(
            session,
            bank,
            data.decode("utf-8", "replace"),
            labels,
            max_bytes=max(len(data), 1024),
            actor=actor,
            external_id=external_id,
        )
        return text_entry
    if data is not None:
        entry, _ = add_file_entry(
            session,
            bank,
            data,
            labels,
            max_pixels=max_pixels,
            actor=actor,
            filename=item.filename,
            external_id=external_id,
        )
        return entry
    if item.url:
        return add_hash_entry(
            session, bank, "url", item.url, labels, actor=actor, external_id=external_id
        )
    raise InvalidInput(f"Item {item.id} has no stored content to add to a bank.")


def _matched_category(item: Item) -> str | None:
    for match in item.matches:
        category = match.labels.get("category")
        if not match.allow and isinstance(category, str):
            return category
    return None


def _matched_entities(item: Item) -> list[str]:
    found: list[str] = []
    for match in item.matches:
        for entity in match.labels.get("entities") or []:
            if not match.allow and isinstance(entity, str) and entity not in found:
                found.append(entity)
    return found
