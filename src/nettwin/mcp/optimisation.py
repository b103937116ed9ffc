"""Traffic engineering as MCP tools: ``optimize_weights`` and ``optimize_paths`` run as the
twin's jobs (those of ``POST .../optimize/*``: progress, cancel, the same result), answered
with the figures, the changes in the order to apply them with the MLU after each, and a
``whatif`` argument set an agent can pass straight to the ``whatif`` tool (role: planner)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import Field

from nettwin.api.auth import Principal, Role
from nettwin.api.routes import optimize as opt_routes
from nettwin.api.schemas import JobStatus
from nettwin.mcp.guard import Gate
from nettwin.mcp.results import ResultStore
from nettwin.mcp.tools import READ_ONLY, NetworkId, TopN, wait_for_job

FIGURES = ("objective", "mlu_before", "mlu", "mlu_lower_bound", "lower_bound_method", "ratio",
           "worst_failure", "worst_mlu_before", "worst_mlu", "mlu_weights_only", "segments",
           "demands_with_waypoints", "seconds", "evaluations", "iterations", "stopped", "seed")

TimeLimit = Annotated[float, Field(ge=1.0, le=3600.0, description=(
    "Seconds the search may take (at most the server's mcp_max_time_limit_s, 120 s by "
    "default); the lower bound is computed after it"))]
JobId = Annotated[str | None, Field(max_length=64, description=(
    "Answer for this earlier job of the same tool instead of starting one"))]
WaitS = Annotated[float | None, Field(ge=0.0, le=600.0, description=(
    "How long to wait for the job (default: the time limit plus 60 s); if it is still "
    "running then, the answer carries its id to ask again"))]
MaxMetric = Annotated[int, Field(ge=1, le=65_535, description="Largest metric (OSPF: 65,535)")]
Symmetric = Annotated[bool, Field(description="The same metric both ways on every link")]
Seed = Annotated[int, Field(ge=0, le=2**31, description="Seed of the search")]


def summarise_optimisation(result: dict[str, Any], network_id: str, n: int, job: dict[str, Any],
                           rid: str) -> dict[str, Any]:
    """The figures, the changed links in apply order with the MLU after each step, and the
    ``whatif`` tool's arguments that apply them (on the plan, which the optimiser used)."""
    doc = result["document"]
    before = {c["link"]: c for c in doc["changed_links"]}
    steps = [{"step": s["step"], "link": s["link"],
              "metric_ab_before": before.get(s["link"], {}).get("metric_ab_before"),
              "metric_ba_before": before.get(s["link"], {}).get("metric_ba_before"),
              "metric_ab": s["metric_ab"], "metric_ba": s["metric_ba"],
              "mlu_after": s["mlu"]} | ({"worst_mlu_after": s["worst_mlu"]}
                                        if "worst_mlu" in s else {})
             for s in doc["steps"]]
    out: dict[str, Any] = {k: doc[k] for k in FIGURES if k in doc}
    out |= {"job": job, "changed_links_count": len(doc["changed_links"]),
            "steps_count": len(steps), "steps": steps,
            "whatif": ({"network_id": network_id, "name": result["whatif"]["name"],
                        "changes": result["whatif"]["changes"], "basis": "plan"}
                       if result["whatif"]["changes"] else None),
            "whatif_changes_count": len(result["whatif"]["changes"])}
    if not steps:
        out["whatif_note"] = "no metric change improves on the current metrics"
    if result.get("paths") is not None:
        paths = result["paths"]["paths"]
        out |= {"waypoints_count": len(paths), "waypoints": doc["paths"][:n],
                "note": "whatif applies the metrics only (its MLU is mlu_weights_only); the "
                        "waypoints are the explicit paths of the resource's 'paths', the "
                        "document POST .../qos takes"}
    out["resource"] = rid
    out["resource_note"] = ("the whole result (every metric, step and path); if 'truncated' "
                            "names whatif.changes, read the changes from there")
    return out


def register(server: MCPServer, gate: Gate, results: ResultStore) -> None:
    """``optimize_weights`` and ``optimize_paths`` (role: planner)."""
    twin = gate.twin

    def check_time(time_limit_s: float) -> None:
        most = twin.settings.mcp_max_time_limit_s
        if time_limit_s > most:
            raise ToolError(f"time_limit_s {time_limit_s:g} is above this server's limit for "
                            f"agents ({most:g} s, setting mcp_max_time_limit_s): ask for at "
                            f"most {most:g} s, or use the REST job POST .../optimize")

    async def answer(ctx: Context, who: Principal, tool: str, kind: str, network_id: str,
                     job_id: str | None, time_limit_s: float, wait_s: float | None,
                     top_n: int | None, submit: Any) -> dict[str, Any]:
        if job_id is None:
            check_time(time_limit_s)
            status: JobStatus = await anyio.to_thread.run_sync(submit)
            jid = status.id
        else:
            jid = job_id
        the_job, pending = await wait_for_job(ctx, who, twin, jid,
                                              time_limit_s + 60.0 if wait_s is None else wait_s,
                                              tool, kind)
        if pending is not None:
            return pending
        assert the_job.result is not None
        rid = results.put(kind, the_job.network_id, the_job.result)
        return summarise_optimisation(the_job.result, the_job.network_id,
                                      gate.top_n(top_n),
                                      the_job.status(twin.settings.job_ttl_s), rid)

    @server.tool(annotations=READ_ONLY)
    async def optimize_weights(
            ctx: Context, network_id: NetworkId,
            objective: Annotated[Literal["mlu", "delay", "sla"], Field(description=(
                "Minimise the maximum link utilisation, the mean delay, or SLA breaches"))]
            = "mlu",
            survive: Annotated[Literal["none", "n-1"], Field(description=(
                "n-1: the objective is the worst over every single link failure"))] = "none",
            max_changes: Annotated[int | None, Field(ge=0, le=10_000, description=(
                "Change the metrics of at most this many links"))] = None,
            max_metric: MaxMetric = 65_535, symmetric: Symmetric = False,
            time_limit_s: TimeLimit = 30.0, seed: Seed = 0,
            job_id: JobId = None, wait_s: WaitS = None, top_n: TopN = None) -> CallToolResult:
        """Integer IGP metrics that minimise the objective on the plan (the network's
        traffic matrix), beside a lower bound (multicommodity flow LP): mlu_before, mlu,
        mlu_lower_bound, ratio, the changed links in the order to apply them with the MLU
        after each step, and 'whatif': the arguments of the whatif tool that apply them
        (role: planner). Runs as a job; nothing is changed in the twin."""
        async def work(who: Principal) -> dict[str, Any]:
            body = opt_routes.WeightsRequest(
                objective=objective, survive=survive, max_changes=max_changes,
                max_metric=max_metric, symmetric=symmetric, time_limit_s=time_limit_s,
                seed=seed)
            return await answer(ctx, who, "optimize_weights", "optimize-weights", network_id,
                                job_id, time_limit_s, wait_s, top_n,
                                lambda: opt_routes.optimise_weights(who, twin, network_id,
                                                                    body))
        return await gate.run(ctx, "optimize_weights", Role.PLANNER, network_id, work)

    @server.tool(annotations=READ_ONLY)
    async def optimize_paths(
            ctx: Context, network_id: NetworkId,
            segments: Annotated[Literal[2, 3], Field(description=(
                "Segments per explicit path (2: one waypoint, 3: two)"))] = 2,
            optimize_metrics: Annotated[bool, Field(description=(
                "Optimise the metrics first (half the time), then waypoints on top"))] = True,
            max_metric: MaxMetric = 65_535, symmetric: Symmetric = False,
            time_limit_s: TimeLimit = 30.0, seed: Seed = 0,
            job_id: JobId = None, wait_s: WaitS = None, top_n: TopN = None) -> CallToolResult:
        """Segment-routing waypoints (and metrics first) that minimise the maximum link
        utilisation on the plan, beside the LP lower bound: mlu_before, mlu_weights_only,
        mlu, ratio, the metric changes in apply order with the MLU after each, the first
        waypoints, and 'whatif' (the metric part, for the whatif tool); the explicit paths
        are in the resource (role: planner). Runs as a job; nothing is changed."""
        async def work(who: Principal) -> dict[str, Any]:
            body = opt_routes.PathsRequest(
                segments=segments, optimize_metrics=optimize_metrics, max_metric=max_metric,
                symmetric=symmetric, time_limit_s=time_limit_s, seed=seed)
            return await answer(ctx, who, "optimize_paths", "optimize-paths", network_id,
                                job_id, time_limit_s, wait_s, top_n,
                                lambda: opt_routes.optimise_paths(who, twin, network_id, body))
        return await gate.run(ctx, "optimize_paths", Role.PLANNER, network_id, work)
