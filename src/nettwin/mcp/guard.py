"""Who calls an MCP tool, whether they may, how often, and how much comes back.

Every call goes through ``Gate.run``: the caller's identity (the bearer token of the HTTP
request, checked by ``nettwin.mcp.http``, or the local principal of a stdio server), the
tool's role, a per-identity token bucket, and the service's audit log (``Twin.audit``, the
same file as the REST API's). A result is then cut to ``mcp_max_result_bytes``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from fastapi import HTTPException
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent

from nettwin.api.auth import Principal, Role
from nettwin.api.service import Twin
from nettwin.errors import NettwinError
from nettwin.report import json_safe

PRINCIPAL_KEY = "nettwin.principal"  # where the HTTP gate leaves the caller in the ASGI scope
NOT_FOUND_FIX = (". Fix: use an id the twin knows (list_networks; a network's elements are "
                 "in the resource nettwin://networks/{network_id}; alarms: list_alarms)")


class RateLimiter:
    """A token bucket per identity: ``burst`` calls at once, then ``per_minute``."""

    def __init__(self, per_minute: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate_per_s = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, who: str) -> float:
        """0 if ``who`` may call now (one token taken), else the seconds to wait."""
        with self._lock:
            now = self.clock()
            tokens, then = self._buckets.get(who, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate_per_s)
            if tokens >= 1.0:
                self._buckets[who] = (tokens - 1.0, now)
                return 0.0
            self._buckets[who] = (tokens, now)
            return (1.0 - tokens) / self.rate_per_s


def _size(doc: Any) -> int:
    return len(json.dumps(doc, separators=(",", ":")))


def _lists(doc: Any, path: str = "") -> list[tuple[str, list[Any]]]:
    found: list[tuple[str, list[Any]]] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _lists(value, f"{path}.{key}" if path else str(key))
    elif isinstance(doc, list):
        found.append((path, doc))
        for item in doc:
            found += _lists(item, f"{path}[]")
    return found


def bound_result(doc: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """``doc`` (JSON-safe) cut to at most ``max_bytes`` of compact JSON: the largest list
    loses entries from its end (lists are ranked, worst first) until it fits; the cut lists
    are named under ``truncated`` (their whole counts stay in the ``*_count`` fields)."""
    doc = json_safe(doc)
    cut: set[str] = set()
    while (excess := _size(doc) - max_bytes) > 0:
        candidates = [(p, lst, _size(lst)) for p, lst in _lists(doc)
                      if len(lst) > 1 and p != "truncated"]
        if not candidates:
            break
        path, biggest, size = max(candidates, key=lambda pls: pls[2])
        # drop about as many entries as the excess takes, from the end (lists are ranked)
        drop = min(len(biggest) - 1, max(1, -(-excess * len(biggest) // size)))
        del biggest[len(biggest) - drop:]
        cut.add(path)
        doc["truncated"] = sorted(cut)  # counted in the size it must fit
    if _size(doc) > max_bytes:  # no list left to cut: say so rather than flood the caller
        return {"error": f"the result is larger than {max_bytes} bytes even with every list "
                         "cut to one entry", "truncated": sorted(cut),
                "resource": doc.get("resource")}
    return doc


def as_tool_result(doc: dict[str, Any]) -> CallToolResult:
    """The answer as compact JSON text (what the agent reads) and as structured content."""
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(
        doc, separators=(",", ":")))], structured_content=doc)


class Gate:
    """Identity, role, rate and audit for every MCP call of one server."""

    def __init__(self, twin: Twin, local: Principal | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.twin = twin
        self.local = local
        s = twin.settings
        self.limiter = RateLimiter(s.mcp_calls_per_minute, s.mcp_burst, clock)

    def caller(self, ctx: Context | None) -> Principal:
        """The HTTP request's principal, else the local one (stdio, in-process)."""
        request = None
        if ctx is not None:
            try:
                request = ctx.request_context.request
            except ValueError:  # no request context: called in-process
                request = None
        scope = getattr(request, "scope", None)
        who = scope.get(PRINCIPAL_KEY) if isinstance(scope, dict) else None
        if isinstance(who, Principal):
            return who
        if self.local is not None:
            return self.local
        raise ToolError("no caller identity: call over HTTP with a bearer token")

    def top_n(self, asked: int | None) -> int:
        return self.twin.settings.mcp_top_n if asked is None else asked

    def admit(self, ctx: Context | None, what: str, role: Role) -> Principal:
        """The caller, if within their rate and role (refusals audited 429/403)."""
        who = self.caller(ctx)
        wait_s = self.limiter.take(who.name)
        if wait_s > 0:
            self.twin.audit(who.name, "MCP", what, 429)
            raise ToolError(f"rate limit: {who.name!r} may make "
                            f"{self.twin.settings.mcp_calls_per_minute:g} calls a minute "
                            f"(burst {self.twin.settings.mcp_burst}); retry in {wait_s:.1f} s")
        if who.role < role:
            self.twin.audit(who.name, "MCP", what, 403)
            raise ToolError(f"{what} needs role {role.name.lower()}; {who.name!r} has "
                            f"{who.role.name.lower()} (ask for a token with that role)")
        return who

    async def run(self, ctx: Context | None, tool: str, role: Role, target: str,
                  work: Callable[[Principal], Awaitable[dict[str, Any]]]) -> CallToolResult:
        """``work`` for an allowed caller, audited; errors become tool errors with the
        library's wording; the result bounded to ``mcp_max_result_bytes``."""
        path = f"/mcp/tools/{tool}" + (f"/{target}" if target else "")
        who = self.admit(ctx, path, role)
        try:
            doc = await work(who)
        except HTTPException as exc:
            self.twin.audit(who.name, "MCP", path, exc.status_code)
            fix = NOT_FOUND_FIX if exc.status_code == 404 else ""
            raise ToolError(f"{exc.detail}{fix}") from exc
        except ToolError:
            self.twin.audit(who.name, "MCP", path, 422)
            raise
        except NettwinError as exc:  # the CLI's wording: element, value, fix
            self.twin.audit(who.name, "MCP", path, 422)
            raise ToolError(str(exc)) from exc
        except Exception:
            self.twin.audit(who.name, "MCP", path, 500)
            raise
        self.twin.audit(who.name, "MCP", path, 200)
        return as_tool_result(bound_result(doc, self.twin.settings.mcp_max_result_bytes))

    async def run_sync(self, ctx: Context | None, tool: str, role: Role, target: str,
                       work: Callable[[Principal], dict[str, Any]]) -> CallToolResult:
        """``run`` with ``work`` in a worker thread (the event loop serves the REST API
        too)."""
        async def threaded(who: Principal) -> dict[str, Any]:
            return await anyio.to_thread.run_sync(lambda: work(who))
        return await self.run(ctx, tool, role, target, threaded)
