"""``validate_change`` as an MCP tool: a proposed change (scenario changes and/or FRR
snippets) through ``nettwin.validate`` on the twin's plan, answered as a compact verdict with
the full document as a resource (role: planner)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from nettwin.api.auth import Principal, Role
from nettwin.errors import ValidationError
from nettwin.mcp.guard import Gate
from nettwin.mcp.results import ResultStore
from nettwin.mcp.tools import READ_ONLY, NetworkId, TopN
from nettwin.model import Network
from nettwin.model.problems import Problem
from nettwin.report import json_safe
from nettwin.validate import ChangeSet, Survive, Verdict, merge_change_sets, parse_guardrails
from nettwin.validate import validate_change as run_validation
from nettwin.validate.redteam import Budget

MAX_RED_TEAM = 5000  # evaluations: a few seconds on a backbone of a hundred routers


class Snippet(BaseModel):
    router: str = Field(min_length=1, max_length=200, description=(
        "The router this configuration is for (a node id of the network)"))
    text: str = Field(min_length=1, max_length=100_000, description=(
        "FRR configuration lines: interface IFACE / ip ospf cost N / shutdown / no shutdown, "
        "router ospf / max-metric router-lsa administrative, ip route A.B.C.D/LEN NEXTHOP "
        "[DISTANCE], no ip route ... (IFACE: a link id, or the neighbour's node id)"))


def change_set(network: Network, changes: list[dict[str, Any]] | None,
               snippets: list[Snippet] | None) -> ChangeSet:
    """The scenario changes, then the snippets in order (as ``nettwin validate`` with a
    change file before snippet files): snippets may name links the changes add."""
    from nettwin.io.frr_config import parse_frr_config
    from nettwin.scenarios.apply import apply_scenario
    from nettwin.scenarios.changes import AddLink, RemoveLink, Scenario, parse_scenario

    if not changes and not snippets:
        raise ValidationError([Problem("validate_change", "nothing to validate",
                                       fix="give 'changes' (scenario changes) and/or "
                                           "'snippets' (FRR configuration per router)")])
    parts: list[ChangeSet] = []
    current = network
    if changes:
        scenario = parse_scenario({"name": "changes", "changes": changes}, "changes")
        parts.append(ChangeSet("changes", scenario, (),
                               tuple(f"changes[{i}]" for i in range(len(changes)))))
        topology = tuple(c for c in scenario.changes if isinstance(c, AddLink | RemoveLink))
        if topology:
            current = apply_scenario(current, None, Scenario("changes", topology)).network
    unknown = [Problem(f"snippets[{i}]", "no such router", field="router", value=s.router,
                       fix="use a node id of the network (describe_network)")
               for i, s in enumerate(snippets or []) if s.router not in current.nodes]
    if unknown:
        raise ValidationError(unknown, "snippets")
    for i, s in enumerate(snippets or []):
        parts.append(parse_frr_config(s.text, current, f"snippets[{i}] ({s.router})",
                                      s.router))
    return merge_change_sets(parts)


def _pair(x: dict[str, Any]) -> dict[str, Any]:
    return {k: x[k] for k in ("source", "prefix", "destination", "before", "after",
                              "path_before", "path_after")}


def summarise_verdict(v: Verdict, doc: dict[str, Any], n: int, rid: str) -> dict[str, Any]:
    """The verdict, its reasons, counts and the first ``n`` findings of each kind (their
    paths included); the whole document is ``rid``."""
    f = v.forwarding
    s = doc["survival"]
    perf = doc["performance"]
    keep = ("max_utilisation", "max_utilisation_arc", "mean_delay_s", "unroutable_bps",
            "queue_lost_bps", "overloaded_arcs")
    guard = [{"rule": g.rule, "passed": g.passed, "evidence": g.evidence}
             for g in v.guardrails]
    rt = doc["red_team"]
    return {
        "verdict": v.grade.value, "summary": v.summary, "reasons": list(v.reasons),
        "counts": {"prefixes": f.probes, "prefixes_changed": f.probes_changed,
                   "reachability_lost": f.reachability_lost_count,
                   "reachability_gained": f.reachability_gained_count,
                   "loops": len(f.loops), "new_loops": len(f.new_loops),
                   "blackholes": len(f.blackholes), "new_blackholes": len(f.new_blackholes),
                   "asymmetric": f.asymmetric_count,
                   "inactive_static_routes": len(f.inactive_routes),
                   "failures_evaluated": v.survival.failures,
                   "failures_made_worse": len(v.survival.made_worse)},
        "loops": [{k: x[k] for k in ("prefix", "cycle", "sources", "example_path", "new")}
                  for x in doc["loops"][:n]],
        "blackholes": [{k: x[k] for k in ("prefix", "destination", "routers", "sources",
                                          "example_path", "new")}
                       for x in doc["blackholes"][:n]],
        "reachability_lost": [_pair(x) for x in doc["reachability_lost"][:n]],
        "performance": {"before": {k: perf["before"].get(k) for k in keep},
                        "after": {k: perf["after"].get(k) for k in keep}},
        "survival": {"mode": s["mode"], "failures": s["failures"], "note": s["note"],
                     "max_utilisation_before": s["max_utilisation_before"],
                     "max_utilisation_after": s["max_utilisation_after"],
                     "made_worse": s["made_worse"][:n]},
        "worst_failure": doc["worst_failure"],
        "guardrails": {"passed": [g for g in guard if g["passed"]],
                       "failed": [g for g in guard if not g["passed"]]},
        "red_team": None if rt is None else {
            "evaluations": rt["evaluations"], "exhaustive": rt["exhaustive"],
            "seed": rt["seed"], "worst": rt["worst"], "unchanged_worst": rt["unchanged_worst"],
            "unchanged_same_attack": rt["unchanged_same_attack"]},
        "notes": list(v.notes),
        "seconds": v.timings_s.get("total_s"),
        "resource": rid,
    }


def register(server: MCPServer, gate: Gate, results: ResultStore) -> None:
    """``validate_change`` (role: planner)."""
    twin = gate.twin

    @server.tool(annotations=READ_ONLY)
    async def validate_change(
            ctx: Context, network_id: NetworkId,
            changes: Annotated[list[dict[str, Any]] | None, Field(
                max_length=1000, description=(
                    "Scenario changes, one key each, as in a scenario file (as for whatif): "
                    "set_metric: {link, metric, direction?: ab|ba}, fail_link: ID, "
                    "drain_node: ID, set_capacity: {...}, add_link: {...}, remove_link: ID, "
                    "..."))] = None,
            snippets: Annotated[list[Snippet] | None, Field(max_length=1000, description=(
                "FRR configuration per router, applied after 'changes', in order; a line "
                "the twin does not model is an error naming it"))] = None,
            guardrails: Annotated[list[dict[str, Any]] | None, Field(
                max_length=200, description=(
                    "Rules the changed network must keep, one key each, as in a guardrails "
                    "file: max_utilisation: {limit: 0.8, under?: now|any-failure}, "
                    "max_delay: {service, limit_ms, under?}, never_isolate: NODE or [NODE], "
                    "max_links_changed: {count: N}, max_unroutable_bps: {limit, under?}"))]
            = None,
            survive: Annotated[Literal["n-1", "n-2", "none"], Field(description=(
                "Failures the changed network is checked under (every single link and "
                "SRLG; and pairs of links; none)"))] = "n-1",
            red_team: Annotated[int, Field(ge=0, le=MAX_RED_TEAM, description=(
                "Evaluations of the adversarial search (link failures plus a traffic surge; "
                "0: off)"))] = 0,
            seed: Annotated[int, Field(ge=0, le=2**31, description="Seed of the red team")]
            = 0,
            max_failures: Annotated[int, Field(ge=0, le=4, description=(
                "Red-team budget: links failed at once"))] = 2,
            max_surge: Annotated[float, Field(ge=1.0, le=100.0, description=(
                "Red-team budget: traffic factor on one source"))] = 2.0,
            top_n: TopN = None) -> CallToolResult:
        """Validate a proposed change before it reaches the network, on the plan (the
        network's traffic matrix): forwarding per prefix (loops, blackholes, reachability
        lost, asymmetry), performance now and under every failure, guardrails and a red
        team. Answer: SAFE, RISKY or UNSAFE with reasons, counts, the first findings with
        their paths, the worst failure; the full verdict is a resource (role: planner).
        Nothing is changed in the twin."""
        def work(_who: Principal) -> dict[str, Any]:
            network, _compiled = twin.get(network_id)
            change = change_set(network, changes, snippets)
            rules = parse_guardrails(guardrails, "guardrails") if guardrails else ()
            verdict = run_validation(network, change, rules=rules, survive=Survive(survive),
                                     red_team=red_team, seed=seed,
                                     budget=Budget(max_failures, max_surge))
            doc = json_safe(verdict.document())
            rid = results.put("validate", network_id, doc)
            return summarise_verdict(verdict, doc, gate.top_n(top_n), rid)
        return await gate.run_sync(ctx, "validate_change", Role.PLANNER, network_id, work)
