"""The MCP server over streamable HTTP at ``/mcp`` of a service app, behind the API's
bearer tokens (local ``nt_`` tokens or OIDC): no token, no session (401). The caller's
identity rides in the ASGI scope to the tools, which check their role against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from nettwin.api.deps import identify
from nettwin.api.service import Twin
from nettwin.mcp.guard import PRINCIPAL_KEY
from nettwin.mcp.server import build_server

MCP_PATH = "/mcp"


class BearerGate:
    """ASGI: let a request through only with a bearer token the twin knows."""

    def __init__(self, app: ASGIApp, twin: Twin) -> None:
        self.app, self.twin = app, twin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            scheme, _sep, token = header.partition(" ")
            who = (await anyio.to_thread.run_sync(identify, self.twin, token.strip())
                   if scheme.lower() == "bearer" and token.strip() else None)
            if who is None:
                detail = "unknown or revoked token" if header else "bearer token required"
                await JSONResponse({"detail": detail}, status_code=401,
                                   headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
            scope[PRINCIPAL_KEY] = who
            scope.setdefault("state", {})["principal"] = who  # the app's audit line names it
        await self.app(scope, receive, send)


def mount_mcp(app: FastAPI, path: str = MCP_PATH) -> FastAPI:
    """Serve the MCP server over ``app.state.twin`` at ``path`` of ``app`` (its session
    manager runs within the app's lifespan)."""
    twin: Twin = app.state.twin
    server = build_server(twin)
    sub = server.streamable_http_app(streamable_http_path=path, host=twin.settings.host)
    app.router.routes.append(Route(path, endpoint=BearerGate(sub, twin)))
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(the_app: Any) -> AsyncIterator[Any]:
        async with inner(the_app) as state, server.session_manager.run():
            yield state

    app.router.lifespan_context = lifespan
    return app
