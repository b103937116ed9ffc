"""Who may call what: bearer tokens (local or OIDC) checked against a route's role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from nettwin.api.auth import Principal, Role

_bearer = HTTPBearer(auto_error=False)


def identify(twin: Any, token: str) -> Principal | None:
    """Who a bearer token belongs to (a local ``nt_`` token, else OIDC when configured)."""
    found: Principal | None = (
        twin.tokens.verify(token) if token.startswith("nt_") or twin.oidc is None
        else twin.oidc.verify(token))
    return found


def requires(role: Role) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller's identity, if its token carries at least ``role``."""

    async def check(request: Request, credentials: Annotated[
            HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
        # async: a local token is checked on the event loop (a stat, and a parse only when
        # the file changed), sparing every request a hop through the thread pool; an OIDC
        # token may need the issuer's key set fetched, so it is checked in the pool
        if credentials is None:
            raise HTTPException(401, detail="bearer token required",
                                headers={"WWW-Authenticate": "Bearer"})
        twin = request.app.state.twin
        token = credentials.credentials
        who: Principal | None = (
            identify(twin, token) if token.startswith("nt_") or twin.oidc is None
            else await run_in_threadpool(identify, twin, token))
        if who is None:
            raise HTTPException(401, detail="unknown or revoked token",
                                headers={"WWW-Authenticate": "Bearer"})
        request.state.principal = who  # the audit names who was refused, too
        if who.role < role:
            raise HTTPException(403, detail=f"needs role {role.name.lower()}, "
                                            f"token has {who.role.name.lower()}")
        return who

    return check


def role_route(role: Role) -> dict[str, Any]:
    """Route keyword arguments that publish the required role in the OpenAPI document."""
    return {"openapi_extra": {"x-required-role": role.name.lower()}}


Viewer = Annotated[Principal, Depends(requires(Role.VIEWER))]
Planner = Annotated[Principal, Depends(requires(Role.PLANNER))]
Operator = Annotated[Principal, Depends(requires(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(requires(Role.ADMIN))]



NetworkId = Annotated[str, Path(description="Network id (the embedded default serves "
                                            "'example' and 'munich')",
                                examples=["example"], max_length=200)]
