"""The twin's operations as MCP tools: each has a JSON Schema for its arguments (from the
annotations below), a required role, and a compact, bounded answer with a resource URI for
the full table. They call the REST API's own route functions and service state (``Twin``),
so the two doors give the same numbers."""

from __future__ import annotations

import time
from collections import Counter
from typing import Annotated, Any, Literal

import anyio
import numpy as np
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from nettwin.api.auth import Principal, Role
from nettwin.api.jobs import Job, JobState
from nettwin.api.routes import jobs as job_routes
from nettwin.api.routes import live as live_routes
from nettwin.api.routes import networks as net_routes
from nettwin.api.routes import tmf as tmf_routes
from nettwin.api.routes import views as view_routes
from nettwin.api.service import Twin
from nettwin.engine import QueueModel
from nettwin.engine.options import ArrivalModel
from nettwin.mcp.guard import Gate
from nettwin.mcp.results import ResultStore
from nettwin.mcp.summaries import (
    summarise_diff,
    summarise_live,
    summarise_simulation,
    summarise_sweep,
    summarise_whatif,
    top,
)
from nettwin.report import json_safe

NetworkId = Annotated[str, Field(min_length=1, max_length=200, description=(
    "Network id, as list_networks answers (the embedded default serves 'example' and "
    "'munich')."))]
TopN = Annotated[int | None, Field(ge=1, le=100, description=(
    "Entries per list in the answer (default: the server's mcp_top_n); counts stay whole "
    "and the full table is a resource."))]
Basis = Annotated[Literal["auto", "live", "plan"], Field(description=(
    "Run on the live state (measured traffic and link states), the plan (the network's "
    "traffic matrix), or auto: live when the live twin has measured traffic."))]
Changes = Annotated[list[dict[str, Any]], Field(min_length=1, max_length=1000, description=(
    "Scenario changes, one key each, as in a scenario file: fail_link: ID, fail_node: ID, "
    "fail_srlg: ID, drain_node: ID, set_metric: {link, metric, direction?: ab|ba}, "
    "set_capacity: {link, capacity_bps, direction?}, add_link: {...}, remove_link: ID, "
    "scale_traffic: {factor, node?, service?, traffic_class?}, surge: {sources, target, "
    "rate_bps}."))]

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def register(server: MCPServer, gate: Gate, results: ResultStore) -> None:
    """The core tools (viewer: reads; planner: simulate, what-if, sweeps; operator: alarms)."""
    twin = gate.twin

    def n_of(top_n: int | None) -> int:
        return gate.top_n(top_n)

    @server.tool(annotations=READ_ONLY)
    async def list_networks(ctx: Context, top_n: TopN = None) -> CallToolResult:
        """Networks this twin serves: id, name and size (role: viewer)."""
        def work(who: Principal) -> dict[str, Any]:
            rows = net_routes.list_networks(who, twin)
            keep = ("id", "name", "nodes", "links", "links_up", "demands", "services",
                    "offered_bps", "capacity_bps")
            return {"count": len(rows),
                    "networks": [{k: getattr(r, k) for k in keep} for r in rows][:n_of(top_n)],
                    "resource_template": "nettwin://networks/{network_id}"}
        return await gate.run_sync(ctx, "list_networks", Role.VIEWER, "", work)

    @server.tool(annotations=READ_ONLY)
    async def describe_network(ctx: Context, network_id: NetworkId,
                               top_n: TopN = None) -> CallToolResult:
        """A network's size, element kinds, baseline KPIs, services and import notes, and
        whether it has a live state (role: viewer)."""
        def work(who: Principal) -> dict[str, Any]:
            n = n_of(top_n)
            info = net_routes.get_network(who, twin, network_id)
            network, compiled = twin.get(network_id)
            base = twin.baseline(network_id)
            degree = np.bincount(compiled.arc_src, minlength=compiled.n_nodes)
            busiest = np.argsort(-degree, kind="stable")[:n]
            services = [{"id": s.id, "name": s.name or s.id, "max_delay_s": s.max_delay_s,
                         "demands": len(s.demands)} for s in network.services.values()]
            return info.model_dump(exclude={"notes"}) | {
                "notes_count": len(info.notes), "notes": info.notes[:n],
                "node_kinds": dict(Counter(nd.kind.value for nd in network.nodes.values())),
                "link_kinds": dict(Counter(lk.kind.value for lk in network.links.values())),
                "srlgs": len({g for lk in network.links.values() for g in lk.srlgs}),
                "highest_degree_nodes": [{"node": network.node_ids[u],
                                          "degree": int(degree[u])} for u in busiest],
                "baseline_kpis": base.kpis(),
                "services_count": len(services), "services": services[:n],
                "live": {"has_state": twin.live.has_state(network_id),
                         "fed_simulated_telemetry": network_id in twin.live_ids},
                "resource": f"nettwin://networks/{network_id}",
            }
        return await gate.run_sync(ctx, "describe_network", Role.VIEWER, network_id, work)

    @server.tool(annotations=READ_ONLY)
    async def describe_element(
            ctx: Context, network_id: NetworkId,
            kind: Annotated[Literal["node", "link"], Field(description="node or link")],
            element_id: Annotated[str, Field(min_length=1, max_length=500, description=(
                "The node or link id (links: 'A--B' as the network names them)."))],
            top_n: TopN = None) -> CallToolResult:
        """One node or link: attributes, baseline load per arc, live rates when measured,
        services using it, utilisation history (last and peak) and alarms (role: viewer)."""
        def work(who: Principal) -> dict[str, Any]:
            n = n_of(top_n)
            doc = view_routes.element(who, twin, network_id, kind, element_id,
                                      history=600).model_dump(mode="json")
            series = doc["history"]["series"]
            live = ({a["arc"]: a for a in twin.live.state(network_id)["arcs"]}
                    if twin.live.has_state(network_id) else {})
            arcs = [a | {"live": live.get(a["arc"]),
                         "history_last": (series.get(a["arc"]) or [None])[-1],
                         "history_peak": max(series.get(a["arc"]) or [0.0])}
                    for a in doc["arcs"]]
            alarms = [{"id": a["id"], "object": a["alarmedObject"]["id"],
                       "severity": a["perceivedSeverity"], "state": a["state"],
                       "ack": a["ackState"], "cause": a["probableCause"]}
                      for a in doc["alarms"]]
            return {"kind": kind, "id": element_id, "attributes": doc["attributes"],
                    "arcs_count": len(arcs), "arcs": top(arcs, n, lambda a: a["utilisation"]),
                    "services_count": len(doc["services"]), "services": doc["services"][:n],
                    "history_samples": len(doc["history"]["times"]),
                    "alarms_count": len(alarms), "alarms": alarms[:n],
                    "radio": doc.get("radio")}
        return await gate.run_sync(ctx, "describe_element", Role.VIEWER,
                                   f"{network_id}/{kind}/{element_id}", work)

    @server.tool(annotations=READ_ONLY)
    async def simulate(
            ctx: Context, network_id: NetworkId,
            queue_model: Annotated[QueueModel, Field(description="Queueing model per link")]
            = QueueModel.MM1,
            arrival_model: Annotated[ArrivalModel, Field(description=(
                "bursty: links carrying demands with an arrival process queued as "
                "MMPP/G/1/K; poisson: the textbook model on every link"))]
            = ArrivalModel.BURSTY,
            scale: Annotated[float, Field(ge=0.0, le=1e6, description=(
                "Traffic level: every demand at this multiple of its rate"))] = 1.0,
            top_n: TopN = None) -> CallToolResult:
        """Route the traffic (IGP shortest paths, ECMP), load the links and check the SLAs:
        KPIs, the most utilised arcs and violated services (role: planner)."""
        def work(who: Principal) -> dict[str, Any]:
            body = net_routes.SimulateRequest(queue_model=queue_model,
                                              arrival_model=arrival_model, scale=scale)
            network, compiled = twin.get(network_id)
            result = net_routes.simulation_result(twin, network_id, body)
            doc = json_safe(net_routes.simulation_document(network, compiled, result))
            rid = results.put("simulation", network_id, doc)
            return summarise_simulation(doc, n_of(top_n), rid)
        return await gate.run_sync(ctx, "simulate", Role.PLANNER, network_id, work)

    @server.tool(annotations=READ_ONLY)
    async def whatif(ctx: Context, network_id: NetworkId, changes: Changes,
                     name: Annotated[str, Field(max_length=200)] = "mcp scenario",
                     basis: Basis = "auto", top_n: TopN = None) -> CallToolResult:
        """Apply a change list to a copy of the network and compare with the no-change run:
        verdict, max utilisation before/after, most loaded arcs, lost and rerouted demands,
        services newly violated (role: planner). Nothing is changed in the twin."""
        def work(who: Principal) -> dict[str, Any]:
            doc = net_routes.whatif_doc(twin, network_id, net_routes.ScenarioRequest(
                name=name, changes=changes, basis=basis), limit=1_000_000
            ).model_dump(mode="json")
            rid = results.put("whatif", network_id, doc)
            return summarise_whatif(doc, n_of(top_n), rid)
        return await gate.run_sync(ctx, "whatif", Role.PLANNER, network_id, work)

    @server.tool(annotations=READ_ONLY)
    async def sweep_summary(
            ctx: Context, network_id: NetworkId,
            links: bool = True, nodes: bool = False, srlgs: bool = False,
            basis: Basis = "auto",
            job_id: Annotated[str | None, Field(max_length=64, description=(
                "Summarise this earlier sweep job instead of starting one"))] = None,
            wait_s: Annotated[float, Field(ge=0.0, le=600.0, description=(
                "How long to wait for the job; if it is still running then, the answer "
                "carries its id to ask again"))] = 120.0,
            top_n: TopN = None) -> CallToolResult:
        """Fail every link (and node, SRLG) in turn, exactly: the worst failures in
        criticality order (traffic lost, SLAs broken, max utilisation), the worst case per
        arc and counts; full tables as resources (role: planner)."""
        async def work(who: Principal) -> dict[str, Any]:
            if job_id is None:
                status = await anyio.to_thread.run_sync(lambda: job_routes.submit_sweep(
                    who, twin, network_id, job_routes.SweepRequest(
                        links=links, nodes=nodes, srlgs=srlgs, basis=basis)))
                jid = status.id
            else:
                jid = job_id
            the_job, pending = await wait_for_job(ctx, who, twin, jid, wait_s,
                                                  "sweep_summary", "sweep")
            if pending is not None:
                return pending
            job = job_routes.job_status(who, twin, jid)
            assert the_job.result is not None
            return summarise_sweep(the_job.result, n_of(top_n), job.model_dump(),
                                   f"nettwin://jobs/{jid}")
        return await gate.run(ctx, "sweep_summary", Role.PLANNER, network_id, work)

    @server.tool(annotations=READ_ONLY)
    async def live_state(
            ctx: Context, network_id: NetworkId,
            at: Annotated[float | None, Field(ge=0, le=1e11, description=(
                "Epoch seconds: the state then, rebuilt from the history (default: now)"))]
            = None,
            compare_to: Annotated[float | None, Field(ge=0, le=1e11, description=(
                "Epoch seconds: what changed from 'at' to this instant"))] = None,
            top_n: TopN = None) -> CallToolResult:
        """The mirrored live state (measured rates, links down, modulation, standing
        alarms) now or at an instant, or what changed between two instants (role: viewer)."""
        def work(who: Principal) -> dict[str, Any]:
            n = n_of(top_n)
            if compare_to is not None:
                if at is None:
                    raise ToolError("compare_to needs at: give both instants (epoch s)")
                diff = live_routes.history(who, twin, network_id, at=at, to=compare_to)
                return summarise_diff(diff.model_dump(mode="json", by_alias=True), n)
            state = live_routes.live_state_document(twin, network_id, at)
            return summarise_live(state.model_dump(mode="json"), n)
        return await gate.run_sync(ctx, "live_state", Role.VIEWER, network_id, work)

    @server.tool(annotations=READ_ONLY)
    async def estimate_traffic_matrix(ctx: Context, network_id: NetworkId,
                                      top_n: TopN = None) -> CallToolResult:
        """The traffic matrix estimated from the measured link rates (tomogravity): total,
        fidelity score, and the largest pairs with a standard deviation (role: viewer)."""
        def work(who: Principal) -> dict[str, Any]:
            tm = live_routes.traffic_matrix(who, twin, network_id, limit=n_of(top_n))
            return tm.model_dump(mode="json")
        return await gate.run_sync(ctx, "estimate_traffic_matrix", Role.VIEWER, network_id,
                                   work)

    @server.tool(annotations=READ_ONLY)
    async def list_alarms(
            ctx: Context,
            network_id: Annotated[str | None, Field(max_length=200, description=(
                "Only this network's alarms"))] = None,
            state: Annotated[Literal["raised", "cleared"] | None, Field(description=(
                "raised (default), cleared, or null for both"))] = "raised",
            top_n: TopN = None) -> CallToolResult:
        """Alarms (TMF642) of the live twins, most severe first, with their ids for
        acknowledge_alarm (role: viewer)."""
        order = {"critical": 0, "major": 1, "minor": 2, "warning": 3}

        def work(_who: Principal) -> dict[str, Any]:
            if network_id is not None:
                twin.get(network_id)  # 404 for a network the twin does not serve
            rows = [a for a in list(twin.live.book.alarms.values())
                    if (network_id is None or a.network_id == network_id)
                    and (state is None or a.state == state)]
            rows.sort(key=lambda a: (order.get(a.severity, 9), a.raised))
            return {"count": len(rows),
                    "by_severity": dict(Counter(a.severity for a in rows)),
                    "alarms": [{"id": a.id, "network_id": a.network_id,
                                "object": a.object_id, "type": a.alarm_type,
                                "severity": a.severity, "state": a.state,
                                "ack": a.ack_state, "raised": a.raised}
                               for a in rows[:n_of(top_n)]],
                    "resource_template": "nettwin://alarms/{network_id}"}
        return await gate.run_sync(ctx, "list_alarms", Role.VIEWER, network_id or "", work)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                                 open_world_hint=False))
    async def acknowledge_alarm(
            ctx: Context,
            alarm_id: Annotated[str, Field(min_length=1, max_length=200,
                                           description="As list_alarms answers")],
            clear: Annotated[bool, Field(description=(
                "Also clear it by hand (a persisting condition raises it anew)"))] = False
            ) -> CallToolResult:
        """Acknowledge an alarm in the caller's name, and optionally clear it (role:
        operator)."""
        def work(who: Principal) -> dict[str, Any]:
            alarm = tmf_routes.patch_alarm(who, twin, alarm_id, tmf_routes.AlarmPatch(
                ackState="acknowledged", state="cleared" if clear else None))
            return alarm.model_dump(mode="json", by_alias=True, exclude_none=True)
        return await gate.run_sync(ctx, "acknowledge_alarm", Role.OPERATOR, alarm_id, work)


async def wait_for_job(ctx: Context, who: Principal, twin: Twin, jid: str, wait_s: float,
                       tool: str, kind: str) -> tuple[Job, dict[str, Any] | None]:
    """Job ``jid`` (of a ``kind``* job kind) once done, reporting progress meanwhile; if it
    is still running after ``wait_s``, the second item is the answer that says how to wait
    again. A failed or cancelled job is a tool error."""
    job_routes.job_status(who, twin, jid)  # 404 when unknown
    the_job = twin.jobs.jobs[jid]
    if not the_job.kind.startswith(kind):
        raise ToolError(f"job {jid!r} is a {the_job.kind} job, not a {kind} job: give "
                        f"{tool} the id of one it started")
    deadline = time.monotonic() + wait_s
    while the_job.state in (JobState.QUEUED, JobState.RUNNING):
        if time.monotonic() >= deadline:
            return the_job, {"job": the_job.status(), "note": (
                f"still {the_job.state.value}: call {tool} with job_id={jid!r} to wait "
                "again")}
        await _progress(ctx, the_job.done, the_job.total)
        await anyio.sleep(0.1)
    if the_job.state is not JobState.DONE or the_job.result is None:
        raise ToolError(f"{kind} job {jid} is {the_job.state.value}: "
                        f"{the_job.error or 'no results'}")
    return the_job, None


async def _progress(ctx: Context, done: int, total: int) -> None:
    """Progress to a client that asked for it (a no-op otherwise)."""
    try:
        await ctx.report_progress(done, total or None)
    except ValueError:  # called without a request context
        return
