"""Per-user console settings: how media are shown and when to suggest a break."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from bastion.audit import record
from bastion.db.models import User
from bastion.errors import InvalidInput
from bastion.settings import Settings

MAX_BREAK_AFTER = 1000


@dataclass(frozen=True)
class Preferences:
    """Blur media until revealed, show them in grayscale, suggest a break after N reveals."""

    blur_media: bool
    grayscale: bool
    break_after: int


def preferences_for(user: User | dict[str, Any], settings: Settings) -> Preferences:
    """The user's preferences, with the instance defaults for anything unset."""
    saved = (user if isinstance(user, dict) else user.preferences) or {}
    return Preferences(
        blur_media=bool(saved.get("blur_media", True)),
        grayscale=bool(saved.get("grayscale", True)),
        break_after=int(saved.get("break_after", settings.break_after_reveals)),
    )


def save_preferences(
    session: Session, user: User, *, blur_media: bool, grayscale: bool, break_after: int
) -> Preferences:
    """Store a user's preferences (audited: turning the blur off is an oversight matter)."""
    if not 1 <= break_after <= MAX_BREAK_AFTER:
        raise InvalidInput(f"Suggest a break after 1 to {MAX_BREAK_AFTER} revealed items.")
    chosen = Preferences(blur_media=blur_media, grayscale=grayscale, break_after=break_after)
    user.preferences = asdict(chosen)
    record(
        session,
        f"user:{user.username}",
        "user.preferences",
        f"user:{user.username}",
        asdict(chosen),
    )
    return chosen
