"""Permissions declared as data, checked in one place (`ensure_permission`)."""

from __future__ import annotations

from enum import StrEnum

from bastion.errors import Forbidden


class Action(StrEnum):
    """Everything a caller can be allowed to do."""

    HASH = "hash"
    MATCH = "match"
    ITEMS_SUBMIT = "items.submit"
    ITEMS_READ = "items.read"
    BANKS_READ = "banks.read"
    BANKS_WRITE = "banks.write"
    BANKS_EXPORT = "banks.export"


# Why each role has what it has:
# - platform: the integrating platform submits content and reads results; it may list banks
#   (to scope a lookup) but never change them, so a leaked platform token cannot poison a bank.
# - admin: runs the instance, including curating and exporting banks (hash lists shared
#   under a programme's terms must not leave through an integration token).
ROLE_PERMISSIONS: dict[str, frozenset[Action]] = {
    "admin": frozenset(Action),
    "platform": frozenset(
        {Action.HASH, Action.MATCH, Action.ITEMS_SUBMIT, Action.ITEMS_READ, Action.BANKS_READ}
    ),
}
ROLES = tuple(ROLE_PERMISSIONS)


def ensure_permission(role: str, action: Action) -> None:
    """Raise 403 unless the role may perform the action."""
    if action not in ROLE_PERMISSIONS.get(role, frozenset()):
        raise Forbidden(
            f"A {role!r} token may not do {action.value!r}.",
            code="forbidden",
            details={"role": role, "action": action.value},
        )
