"""Why a claimed piece of work (a review case, a complaint) cannot be decided by this person:
one set of answers, so the console and the API say the same thing for both."""

from __future__ import annotations

from typing import NoReturn

from bastion.errors import Conflict


def refuse_unclaimed(
    what: str, *, decided: str | None, claimed_by: str | None, person: str | None
) -> NoReturn:
    """Raise the Conflict that explains why `person` may not decide `what` (e.g. "Item 7")."""
    if decided is not None:
        raise Conflict(f"{what} was already decided ({decided}).", code="decided")
    if claimed_by and claimed_by != person:
        raise Conflict(
            f"{what} is claimed by {claimed_by}.",
            code="claimed",
            details={"claimed_by": claimed_by},
        )
    if claimed_by == person:
        raise Conflict(
            f"Your claim on {what[0].lower()}{what[1:]} expired; claim it again.",
            code="claim_expired",
        )
    raise Conflict(f"Claim {what[0].lower()}{what[1:]} before deciding it.", code="not_claimed")
