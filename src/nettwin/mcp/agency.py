"""``diagnose`` and ``propose_change`` as MCP tools: root cause of a window of observations
(role: planner) and shadow-mode proposals judged on the live state and recorded, never
applied (role: operator), through the same functions as the REST routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from nettwin.api.auth import Principal, Role
from nettwin.api.routes import diagnose as diagnose_routes
from nettwin.api.routes import shadow as shadow_routes
from nettwin.mcp.guard import Gate
from nettwin.mcp.results import ResultStore
from nettwin.mcp.tools import NetworkId, TopN
from nettwin.report import json_safe

EVIDENCE_SHOWN = 5  # symptoms listed per cause (their counts stay whole)


def summarise_diagnosis(doc: dict[str, Any], n: int, rid: str) -> dict[str, Any]:
    """The ranked causes with their chains; symptoms as counts plus the first few."""
    causes = [{"kind": c["kind"], "element": c["element"], "confidence": c["confidence"],
               "equivalent": c["equivalent"][:n], "chain": c["chain"],
               "explains_count": len(c["explains"]),
               "explains": c["explains"][:EVIDENCE_SHOWN],
               "unexplained_count": len(c["unexplained"]),
               "unexplained": c["unexplained"][:EVIDENCE_SHOWN]}
              for c in doc["causes"][:n]]
    return {"onset": doc["onset"], "candidates": doc["candidates"],
            "dead_letters": doc["dead_letters"], "seconds": doc["elapsed_s"],
            "causes": causes, "resource": rid}


def register(server: MCPServer, gate: Gate, results: ResultStore) -> None:
    """``diagnose`` (planner) and ``propose_change`` (operator)."""
    twin = gate.twin

    @server.tool()
    async def diagnose(
            ctx: Context, network_id: NetworkId,
            observations: Annotated[list[dict[str, Any]] | None, Field(
                max_length=200_000, description=(
                    "Observation records in the live format (counters, radio readings, "
                    "events); without them the live twin's history from 'since'"))] = None,
            since: Annotated[float | None, Field(ge=0, le=1e11, description=(
                "Window start, epoch seconds"))] = None,
            until: Annotated[float | None, Field(ge=0, le=1e11, description=(
                "Window end, epoch seconds"))] = None,
            top_n: TopN = None) -> CallToolResult:
        """Why did it break: candidate faults from the symptoms, each replayed by the engine
        and ranked by how well it explains what was observed (kind, element, confidence,
        fault chain, symptoms explained and not); the full diagnosis is a resource
        (role: planner). Nothing is changed."""
        def work(who: Principal) -> dict[str, Any]:
            body = diagnose_routes.DiagnoseRequest(observations=observations, since=since,
                                                   until=until, top=min(gate.top_n(top_n), 50))
            doc = json_safe(diagnose_routes.diagnose(who, twin, network_id, body)
                            .model_dump(mode="json"))
            rid = results.put("diagnosis", network_id, doc)
            return summarise_diagnosis(doc, gate.top_n(top_n), rid)
        return await gate.run_sync(ctx, "diagnose", Role.PLANNER, network_id, work)

    @server.tool()
    async def propose_change(
            ctx: Context, network_id: NetworkId,
            changes: Annotated[list[dict[str, Any]] | None, Field(
                max_length=1000, description="Scenario changes, as for whatif")] = None,
            snippets: Annotated[list[shadow_routes.Snippet] | None, Field(
                max_length=1000, description="FRR configuration per router")] = None,
            survive: Annotated[Literal["n-1", "n-2", "none"], Field(description=(
                "Failures the change is checked under"))] = "n-1",
            agent: Annotated[str | None, Field(max_length=200, description=(
                "Who proposes, for the scorecard (default: the caller)"))] = None
            ) -> CallToolResult:
        """Shadow mode: the change judged on the live state at this instant (the plan when
        nothing is measured), recorded with its verdict and predicted effect for the
        scorecard, and never applied (role: operator)."""
        def work(who: Principal) -> dict[str, Any]:
            body = shadow_routes.ProposalRequest(
                changes=changes or [], snippets=snippets or [], survive=survive,
                agent=agent or who.name)
            doc = json_safe(shadow_routes.propose(who, twin, network_id, body)
                            .model_dump(mode="json"))
            rid = results.put("proposal", network_id, doc)
            keep = ("id", "agent", "verdict", "reasons", "basis", "basis_note", "predicted")
            return {k: doc.get(k) for k in keep} | {"applied": False, "resource": rid}
        return await gate.run_sync(ctx, "propose_change", Role.OPERATOR, network_id, work)
