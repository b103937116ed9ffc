"""Documents an agent may read in full when a tool's summary is not enough: a network in
the native format, a network's current alarms (TMF642), a job's result tables and the kept
full results of simulate / what-if. Reads are viewer-level, rate limited and audited."""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from nettwin.api.auth import Role
from nettwin.api.jobs import JobState
from nettwin.api.live import alarm_document
from nettwin.api.routes import networks as net_routes
from nettwin.io import NetworkFormat
from nettwin.mcp.guard import Gate
from nettwin.mcp.results import ResultStore
from nettwin.report import json_safe

JSON = "application/json"
TABLES = ("failures", "worst_case")


def register(server: MCPServer, gate: Gate, results: ResultStore) -> None:
    twin = gate.twin

    def read(ctx: Context, uri: str, make: Any) -> str:
        """``make()`` as JSON text for an admitted caller, within the size limit."""
        try:
            who = gate.admit(ctx, uri, Role.VIEWER)
            text = make(who)
        except (ToolError, HTTPException) as exc:
            raise ResourceError(str(getattr(exc, "detail", exc))) from exc
        limit = twin.settings.mcp_max_resource_bytes
        status = 200 if len(text) <= limit else 413
        twin.audit(who.name, "MCP", uri, status)
        if status == 413:
            raise ResourceError(f"{uri} is {len(text)} bytes, above mcp_max_resource_bytes "
                                f"({limit}): page it through the REST API instead")
        return str(text)

    @server.resource("nettwin://networks/{network_id}", mime_type=JSON,
                     description="The network in the native JSON format (as `nettwin "
                                 "convert` writes it).")
    def network_document(network_id: str, ctx: Context) -> str:
        def make(who: Any) -> str:
            response = net_routes.export_network(who, twin, network_id, NetworkFormat.NATIVE)
            return bytes(response.body).decode()
        return read(ctx, f"nettwin://networks/{network_id}", make)

    @server.resource("nettwin://alarms/{network_id}", mime_type=JSON,
                     description="A network's raised alarms, as TMF642 Alarm resources.")
    def alarms(network_id: str, ctx: Context) -> str:
        def make(_who: Any) -> str:
            twin.get(network_id)
            rows = [alarm_document(a) for a in list(twin.live.book.alarms.values())
                    if a.network_id == network_id and a.state == "raised"]
            return json.dumps(rows)
        return read(ctx, f"nettwin://alarms/{network_id}", make)

    @server.resource("nettwin://jobs/{job_id}/{table}", mime_type=JSON,
                     description="A sweep job's full table: 'failures' (per failure, most "
                                 "critical first) or 'worst_case' (per arc).")
    def job_table(job_id: str, table: str, ctx: Context) -> str:
        def make(_who: Any) -> str:
            job = twin.jobs.jobs.get(job_id)
            if job is None:
                raise ToolError(f"no job {job_id!r}")
            if table not in TABLES:
                raise ToolError(f"no table {table!r}: use {' or '.join(TABLES)}")
            if job.state is not JobState.DONE or job.result is None:
                raise ToolError(f"job {job_id} is {job.state.value}: no results yet")
            return json.dumps(json_safe({"basis": job.result.get("basis"),
                                         "rows": job.result[table]}))
        return read(ctx, f"nettwin://jobs/{job_id}/{table}", make)

    @server.resource("nettwin://results/{result_id}", mime_type=JSON,
                     description="The full answer of a simulate or whatif call (kept for the "
                                 "latest 64 calls).")
    def result(result_id: str, ctx: Context) -> str:
        def make(_who: Any) -> str:
            doc = results.get(result_id)
            if doc is None:
                raise ToolError(f"no result {result_id!r} (only the latest "
                                f"{results.capacity} are kept): call the tool again")
            return json.dumps(doc)
        return read(ctx, f"nettwin://results/{result_id}", make)
