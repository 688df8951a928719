"""Request dependencies as `Annotated` aliases: the instance, a session, the caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from bastion.auth.permissions import Action, ensure_permission
from bastion.auth.tokens import Principal, authenticate
from bastion.errors import Unauthorized
from bastion.runtime import Bastion

_bearer = HTTPBearer(auto_error=False, description="An API token from `bastion token create`.")


def get_bastion(request: Request) -> Bastion:
    """The instance the app was built with."""
    bastion: Bastion = request.app.state.bastion
    return bastion


BastionDep = Annotated[Bastion, Depends(get_bastion)]


def get_session(bastion: BastionDep) -> Iterator[Session]:
    """A session per request: committed if the handler returns, rolled back if it raises."""
    with bastion.session() as session:
        yield session


# "function" scope: the commit happens before the response is sent, so a client that follows a
# redirect (or reads the 201) always sees what it just did, and a failed commit is an error.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller behind the `Authorization: Bearer` header, or 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(
            "Send an API token as `Authorization: Bearer <token>` "
            "(create one with `bastion token create`).",
            code="missing_token",
        )
    return authenticate(session, credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(action: Action) -> Callable[[Principal], Principal]:
    """A dependency that lets the request through only if the caller may do `action`."""

    def check(principal: CurrentPrincipal) -> Principal:
        ensure_permission(principal.role, action)
        return principal

    check.__name__ = f"require_{action.name.lower()}"
    return check
