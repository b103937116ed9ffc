"""validate_change, optimize_weights and optimize_paths over the real streamable-HTTP round
trip: schemas, the library's numbers (nettwin.validate, nettwin.optimize, run_whatif as the
oracle of the optimiser's claims), role refusals, errors in the CLI's wording, bounded sizes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nettwin.api import Role
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.io.frr_config import parse_frr_config
from nettwin.optimize.tolerance import PRIMAL_FEASIBILITY_TOL
from nettwin.scenarios import parse_scenario, run_whatif
from nettwin.validate import ChangeSet, Grade, Survive, validate_change
from nettwin.validate.guardrails import MaxUtilisation, NeverIsolate, Under
from tests.mcp.conftest import Served, answer, call_tool, error_text, mcp_session, run

NET = load_network(example_path())  # the twin's 'example'
LOOP = [{"router": "New-York", "text": "ip route 10.255.0.2/32 New-York--Chicago"},
        {"router": "Chicago", "text": "ip route 10.255.0.2/32 10.1.0.1"}]


def _size_ok(served: Served, result: Any) -> None:
    text = result.content[0].text
    assert len(text) <= served.settings.mcp_max_result_bytes


def library_whatif(changes: list[dict[str, Any]]) -> float:
    scenario = parse_scenario({"name": "ref", "changes": changes}, "t")
    return float(run_whatif(NET, scenario).diff.max_utilisation_after)


def test_planning_tools_are_listed_with_schemas(served: Served) -> None:
    async def go() -> dict[str, Any]:
        async with mcp_session(served.mcp_url, served.tokens[Role.VIEWER]) as c:
            return {t.name: t.input_schema for t in (await c.list_tools()).tools}
    tools = run(go)
    v = tools["validate_change"]
    assert v["required"] == ["network_id"]
    assert v["properties"]["survive"]["enum"] == ["n-1", "n-2", "none"]
    assert v["properties"]["red_team"]["maximum"] >= 1
    snippet = json.dumps(v)  # the snippet item schema names router and text
    assert '"router"' in snippet and '"text"' in snippet
    for name in ("optimize_weights", "optimize_paths"):
        props = tools[name]["properties"]
        assert tools[name]["required"] == ["network_id"]
        assert props["time_limit_s"]["minimum"] == 1.0 and "job_id" in props
    assert tools["optimize_weights"]["properties"]["survive"]["enum"] == ["none", "n-1"]


def test_a_harmless_metric_change_is_safe_as_in_the_library(served: Served) -> None:
    same = NET.links["New-York--Chicago"].metric_ab
    change = [{"set_metric": {"link": "New-York--Chicago", "metric": same, "direction": "ab"}}]
    result = call_tool(served, Role.PLANNER, "validate_change", {
        "network_id": "example", "changes": change,
        "guardrails": [{"max_utilisation": {"limit": 0.95}}, {"never_isolate": "Denver"}],
        "red_team": 50, "seed": 2})
    _size_ok(served, result)
    got = answer(result)
    ref = validate_change(NET, ChangeSet("changes", parse_scenario(change, "t")),
                          rules=(MaxUtilisation(0.95, Under.ANY_FAILURE),
                                 NeverIsolate("Denver")), red_team=50, seed=2)
    assert ref.grade is Grade.SAFE and got["verdict"] == "SAFE" and got["reasons"] == []
    assert [g["rule"] for g in got["guardrails"]["passed"]] == [g.rule for g in ref.guardrails]
    assert got["guardrails"]["failed"] == []
    assert got["survival"]["failures"] == ref.survival.failures > 0
    assert got["survival"]["max_utilisation_after"] == pytest.approx(
        ref.survival.max_utilisation_after, abs=1e-12)
    assert ref.survival.worst_failure is not None
    assert got["worst_failure"]["failure"] == ref.survival.worst_failure.failure
    assert ref.red_team is not None
    assert got["red_team"]["worst"]["harm"] == pytest.approx(ref.red_team.changed.worst.harm,
                                                             abs=1e-12)
    assert got["red_team"]["worst"]["attack"] == ref.red_team.changed.worst.attack
    assert got["performance"]["after"]["max_utilisation"] == pytest.approx(
        ref.after.max_utilisation, abs=1e-12)


def test_a_static_route_loop_is_found_with_its_path(served: Served) -> None:
    async def go() -> tuple[Any, dict[str, Any]]:
        async with mcp_session(served.mcp_url, served.tokens[Role.PLANNER]) as c:
            r = await c.call_tool("validate_change", {"network_id": "example",
                                                      "snippets": LOOP, "survive": "none",
                                                      "top_n": 3})
            full = await c.read_resource(answer(r)["resource"])
            return r, json.loads(full.contents[0].text)  # type: ignore[union-attr]
    result, full = run(go)
    _size_ok(served, result)
    got = answer(result)
    text = "".join(f"! router {s['router']}\n{s['text']}\n" for s in LOOP)
    ref = validate_change(NET, parse_frr_config(text, NET), survive=Survive.NONE)
    assert ref.grade is Grade.UNSAFE and got["verdict"] == "UNSAFE"
    assert got["counts"]["new_loops"] == len(ref.forwarding.new_loops) > 0
    assert got["counts"]["loops"] == len(ref.forwarding.loops)
    assert got["counts"]["reachability_lost"] == ref.forwarding.reachability_lost_count
    assert got["counts"]["blackholes"] == len(ref.forwarding.blackholes)
    assert [tuple(x["cycle"]) for x in got["loops"]] == [
        x.cycle for x in ref.forwarding.loops[:3]]
    assert got["loops"][0]["cycle"] in (["New-York", "Chicago", "New-York"],
                                        ["Chicago", "New-York", "Chicago"])
    assert got["loops"][0]["example_path"] == list(ref.forwarding.loops[0].example_path)
    assert [tuple(x["path_after"]) for x in got["reachability_lost"]] == [
        x.path_after for x in ref.forwarding.reachability_lost[:3]]
    assert any("loop" in r for r in got["reasons"])
    # the resource is the whole verdict document
    assert full["kind"] == "validate" and full["result"]["verdict"] == "UNSAFE"
    assert len(full["result"]["loops"]) == len(ref.forwarding.loops)


def test_validate_change_errors_name_the_element(served: Served) -> None:
    async def go() -> list[str]:
        async with mcp_session(served.mcp_url, served.tokens[Role.PLANNER]) as c:
            args: list[dict[str, Any]] = [
                {"snippets": [{"router": "Atlantis", "text": "ip route 10.9.0.0/16 Null0"}]},
                {"snippets": [{"router": "Denver", "text": "!\nrouter bgp 65000\n"}]},
                {"changes": [{"set_metric": {"link": "Nope--X", "metric": 5}}]},
                {"changes": [{"set_metric": {"link": "New-York--Chicago", "metric": 70000}}]},
                {"guardrails": [{"max_bananas": 1}], "changes": [{"fail_link":
                                                                  "New-York--Chicago"}]},
                {},
            ]
            return [error_text(await c.call_tool("validate_change",
                                                 {"network_id": "example"} | a))
                    for a in args]
    router, line, link, cost, rule, empty = run(go)
    assert "Atlantis" in router and "router" in router and "Fix" in router
    assert "snippets[0] (Denver):2" in line and "router bgp" in line
    assert "Nope--X" in link
    assert "70000" in cost and "65535" in cost.replace(",", "")
    assert "max_bananas" in rule
    assert "nothing to validate" in empty


def test_viewers_are_refused_the_planning_tools(served: Served) -> None:
    for tool, args in (("validate_change", {"snippets": LOOP}),
                       ("optimize_weights", {"time_limit_s": 1}),
                       ("optimize_paths", {"time_limit_s": 1})):
        bad = error_text(call_tool(served, Role.VIEWER, tool, {"network_id": "example"} | args))
        assert "needs role planner" in bad and "viewer" in bad
    refused = {a["what"].split("/")[3] for a in served.audit()
               if a["who"] == "agent-viewer" and a["status"] == 403
               and a["what"].startswith("MCP /mcp/tools/")}
    assert {"validate_change", "optimize_weights", "optimize_paths"} <= refused


def test_optimize_weights_whatif_gives_the_claimed_mlu(served: Served) -> None:
    async def go() -> tuple[Any, dict[str, Any], list[float]]:
        async with mcp_session(served.mcp_url, served.tokens[Role.PLANNER]) as c:
            r = await c.call_tool("optimize_weights", {
                "network_id": "example", "time_limit_s": 2, "seed": 3})
            got = answer(r)
            check = answer(await c.call_tool("whatif", got["whatif"]))
            prefixes = [answer(await c.call_tool("whatif", got["whatif"] | {
                "changes": got["whatif"]["changes"][:k]}))["max_utilisation_after"]
                for k in range(1, len(got["whatif"]["changes"]) + 1)]
            return r, got | {"check": check}, prefixes
    result, got, prefixes = run(go)
    _size_ok(served, result)
    assert got["job"]["state"] == "done" and got["mlu"] < got["mlu_before"]
    assert got["mlu_lower_bound"] <= got["mlu"] + 1e-9
    # the ratio is given to the LP's tolerance (optimize.tolerance: no noise digits)
    assert got["ratio"] == pytest.approx(got["mlu"] / got["mlu_lower_bound"],
                                         rel=2 * PRIMAL_FEASIBILITY_TOL)
    assert got["check"]["max_utilisation_after"] == pytest.approx(got["mlu"], abs=1e-9)
    assert got["check"]["max_utilisation_before"] == pytest.approx(got["mlu_before"], abs=1e-9)
    assert got["check"]["max_utilisation_after"] == pytest.approx(
        library_whatif(got["whatif"]["changes"]), abs=1e-9)
    # symmetric steps are one change each: the MLU after each step is the what-if's
    if all(s["metric_ab"] == s["metric_ba"] for s in got["steps"]):
        assert [s["mlu_after"] for s in got["steps"]] == pytest.approx(prefixes, abs=1e-9)
    assert got["steps"][-1]["mlu_after"] == pytest.approx(got["mlu"], abs=1e-9)
    for s in got["steps"]:
        assert s["metric_ab_before"] == NET.links[s["link"]].metric_ab


def test_optimize_paths_whatif_applies_the_metric_part(served: Served) -> None:
    result = call_tool(served, Role.PLANNER, "optimize_paths", {
        "network_id": "example", "time_limit_s": 2, "top_n": 2})
    _size_ok(served, result)
    got = answer(result)
    assert got["mlu"] <= got["mlu_weights_only"] + 1e-9 <= got["mlu_before"] + 2e-9
    assert got["mlu_lower_bound"] <= got["mlu"] + 1e-9
    assert len(got["waypoints"]) <= 2 and got["waypoints_count"] >= len(got["waypoints"])
    if got["whatif"] is not None:
        assert library_whatif(got["whatif"]["changes"]) == pytest.approx(
            got["mlu_weights_only"], abs=1e-9)


def test_optimize_time_limit_is_bounded_and_a_job_can_be_awaited_again(
        served: Served) -> None:
    most = served.settings.mcp_max_time_limit_s
    bad = error_text(call_tool(served, Role.PLANNER, "optimize_weights", {
        "network_id": "example", "time_limit_s": most + 1}))
    assert "mcp_max_time_limit_s" in bad and f"{most:g}" in bad

    async def go() -> tuple[dict[str, Any], dict[str, Any], str]:
        async with mcp_session(served.mcp_url, served.tokens[Role.PLANNER]) as c:
            first = answer(await c.call_tool("optimize_weights", {
                "network_id": "example", "time_limit_s": 1, "wait_s": 0}))
            again = answer(await c.call_tool("optimize_weights", {
                "network_id": "example", "job_id": first["job"]["id"]}))
            wrong = error_text(await c.call_tool("optimize_paths", {
                "network_id": "example", "job_id": first["job"]["id"]}))
            return first, again, wrong
    first, again, wrong = run(go)
    assert first["job"]["state"] in ("queued", "running") and "job_id" in first["note"]
    assert again["job"]["id"] == first["job"]["id"] and again["job"]["state"] == "done"
    assert again["mlu"] <= again["mlu_before"]
    assert "optimize-weights" in wrong


def test_validate_change_result_stays_bounded_on_a_large_network(served: Served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from nettwin.io import save_network
    from tests.mcp.conftest import bench_network

    net = bench_network(300, 1200)
    path = tmp_path / "bench300.json"
    save_network(net, path)
    with path.open("rb") as fh:
        r = httpx.post(f"{served.base}/api/v1/networks", files={"file": ("bench300.json", fh)},
                       headers=served.headers(Role.ADMIN), timeout=120)
    assert r.status_code == 201, r.text
    nid = r.json()["id"]
    # cut two routers off: every other router loses both prefixes (hundreds of findings)
    cut = [lk.id for lk in net.links.values() if {lk.a, lk.b} & {"r0", "r1"}]
    changes = [{"fail_link": lid} for lid in cut]

    async def go() -> tuple[dict[str, Any], int]:
        async with mcp_session(served.mcp_url, served.tokens[Role.PLANNER]) as c:
            result = await c.call_tool("validate_change", {
                "network_id": nid, "changes": changes, "survive": "none", "top_n": 100})
            return answer(result), len(result.content[0].text)  # type: ignore[union-attr]
    doc, size = run(go)
    assert size <= served.settings.mcp_max_result_bytes
    assert "error" not in doc and doc["verdict"] == "UNSAFE"
    # counts stay whole: every other router loses each cut-off router's prefix, and back
    assert doc["counts"]["reachability_lost"] >= 2 * (len(net.nodes) - 2)
    assert doc["truncated"] and 1 <= len(doc["reachability_lost"]) < 100
