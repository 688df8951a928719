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
    AUDIT_READ = "audit.read"
    POLICY_READ = "policy.read"
    POLICY_WRITE = "policy.write"
    USERS_MANAGE = "users.manage"
    CASES_REVIEW = "cases.review"
    BANKS_CONTRIBUTE = "banks.contribute"
    WEBHOOKS_MANAGE = "webhooks.manage"
    CONSOLE = "console"
    ORDERS_SUBMIT = "orders.submit"
    ORDERS_READ = "orders.read"
    ORDERS_MANAGE = "orders.manage"
    ORDERS_CONFIRM = "orders.confirm"
    COMPLAINTS_SUBMIT = "complaints.submit"
    COMPLAINTS_REVIEW = "complaints.review"
    VAULT_READ = "vault.read"
    VAULT_HOLD = "vault.hold"


# Why each role has what it has:
# - platform: the integrating platform submits content and reads results; it may list banks
#   (to scope a lookup) but never change them, so a leaked platform token cannot poison a bank.
# - admin: runs the instance, including curating and exporting banks (hash lists shared
#   under a programme's terms must not leave through an integration token).
# - moderator: claims and decides review cases, looking at content and its matches; may add
#   the content she just confirmed (or a wrong match, to an allow-list) to a bank as part of
#   that decision, but curating banks (import, edit, remove, export) stays with admins.
# - auditor: read-only oversight: the audit log and what was matched, never content changes.
# - authority: a competent authority's (or its relay's) token: sends removal orders and reads
#   the ones it sent, nothing else.
# - platform: also confirms that it removed what an order named (the Annex II time), and
#   forwards its users' complaints.
# - the vault (preserved removed content) is opened by admins only, for a stated purpose.
ROLE_PERMISSIONS: dict[str, frozenset[Action]] = {
    "admin": frozenset(Action),
    "platform": frozenset(
        {
            Action.HASH,
            Action.MATCH,
            Action.ITEMS_SUBMIT,
            Action.ITEMS_READ,
            Action.BANKS_READ,
            Action.ORDERS_CONFIRM,
            Action.COMPLAINTS_SUBMIT,
        }
    ),
    "authority": frozenset({Action.ORDERS_SUBMIT, Action.ORDERS_READ}),
    "moderator": frozenset(
        {
            Action.CONSOLE,
            Action.HASH,
            Action.MATCH,
            Action.ITEMS_READ,
            Action.BANKS_READ,
            Action.POLICY_READ,
            Action.CASES_REVIEW,
            Action.BANKS_CONTRIBUTE,
            Action.COMPLAINTS_REVIEW,
        }
    ),
    "auditor": frozenset(
        {
            Action.CONSOLE,
            Action.ITEMS_READ,
            Action.BANKS_READ,
            Action.AUDIT_READ,
            Action.POLICY_READ,
            Action.ORDERS_READ,
        }
    ),
}
ROLES = tuple(ROLE_PERMISSIONS)
# API tokens are for machines; people log into the console with a username and password.
TOKEN_ROLES = ("admin", "platform", "authority")
USER_ROLES = ("admin", "moderator", "auditor")


def ensure_permission(role: str, action: Action) -> None:
    """Raise 403 unless the role may perform the action."""
    if action not in ROLE_PERMISSIONS.get(role, frozenset()):
        raise Forbidden(
            f"The {role!r} role may not do {action.value!r}.",
            code="forbidden",
            details={"role": role, "action": action.value},
        )
