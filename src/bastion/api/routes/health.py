"""Liveness and readiness: the only route that needs no token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from bastion import __version__
from bastion.api.deps import BastionDep

router = APIRouter(tags=["health"])


@router.get("/health", summary="Is Bastion up and its database reachable?")
def health(bastion: BastionDep) -> dict[str, Any]:
    """Report the version and whether the database answers."""
    with bastion.session() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}
