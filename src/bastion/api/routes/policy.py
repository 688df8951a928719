"""The routing policy: read it, replace it (admins; validated, versioned, audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from bastion.api.deps import CurrentPrincipal, SessionDep, require
from bastion.auth.permissions import Action
from bastion.errors import InvalidInput
from bastion.policy.store import current_version, load_policy

router = APIRouter(prefix="/v1/policy", tags=["policy"])


@router.get(
    "", summary="The routing policy in force", dependencies=[Depends(require(Action.POLICY_READ))]
)
def get_policy(session: SessionDep) -> dict[str, Any]:
    """The newest policy version (TOML), or null when the defaults apply."""
    version = current_version(session)
    if version is None:
        return {"version": None, "toml": None, "note": "no policy loaded: every match is reviewed"}
    return {
        "version": version.id,
        "toml": version.text,
        "sha256": version.sha256,
        "actor": version.actor,
        "created_at": version.created_at.isoformat(),
    }


@router.put(
    "",
    summary="Replace the routing policy (body: the TOML text)",
    dependencies=[Depends(require(Action.POLICY_WRITE))],
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/toml": {"schema": {}}}}
    },
)
async def put_policy(
    request: Request, session: SessionDep, who: CurrentPrincipal
) -> dict[str, Any]:
    """Validate and store a new version; a bad policy names each line and applies nothing."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The policy must be UTF-8 text.", code="invalid_policy") from exc
    version = load_policy(session, text, actor=who.actor)
    return {"version": version.id, "sha256": version.sha256}
