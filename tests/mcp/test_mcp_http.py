"""The MCP server over streamable HTTP at /mcp of the service (a real uvicorn on loopback,
the SDK's client session): tool schemas, every tool with good and bad arguments (oracles:
the library and the REST API), resources, role refusals, audit, bounded results."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from nettwin import compile_network, simulate
from nettwin.api import Role
from nettwin.examples import example_path
from nettwin.io import load_network, save_network
from tests.mcp.conftest import Served, answer, bench_network, error_text, mcp_session, run

TOOLS = {"list_networks", "describe_network", "describe_element", "simulate", "whatif",
         "sweep_summary", "live_state", "estimate_traffic_matrix", "list_alarms",
         "acknowledge_alarm", "validate_change", "optimize_weights", "optimize_paths",
         "diagnose", "propose_change"}


def test_no_token_no_session(served: Served) -> None:
    r = httpx.post(served.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = httpx.post(served.mcp_url, json={}, headers={"Authorization": "Bearer nt_forged"})
    assert r.status_code == 401


def test_tools_are_listed_with_argument_schemas(served: Served) -> None:
    async def go() -> None:
        async with mcp_session(served.mcp_url, served.tokens[Role.VIEWER]) as c:
            tools = {t.name: t for t in (await c.list_tools()).tools}
            assert set(tools) == TOOLS
            for tool in tools.values():
                schema = tool.input_schema
                assert schema["type"] == "object" and tool.description
                assert set(schema.get("required", [])) <= set(schema["properties"])
            whatif = tools["whatif"].input_schema
            assert whatif["required"] == ["network_id", "changes"]
            assert whatif["properties"]["changes"]["minItems"] == 1
            assert "fail_link" in whatif["properties"]["changes"]["description"]
            assert tools["describe_element"].input_schema["properties"]["kind"]["enum"] == [
                "node", "link"]
            templates = {t.uri_template for t in
                         (await c.list_resource_templates()).resource_templates}
            assert templates == {"nettwin://networks/{network_id}",
                                 "nettwin://alarms/{network_id}",
                                 "nettwin://jobs/{job_id}/{table}",
                                 "nettwin://results/{result_id}"}
    run(go)


def test_read_tools_answer_as_the_library(served: Served) -> None:
    net = load_network(example_path())
    compiled = compile_network(net)
    base = simulate(compiled)

    async def go() -> None:
        async with mcp_session(served.mcp_url, served.tokens[Role.PLANNER]) as c:
            nets = answer(await c.call_tool("list_networks", {}))
            assert nets["count"] == 2 and {n["id"] for n in nets["networks"]} == {
                "example", "munich"}
            assert "top_n" in error_text(await c.call_tool("list_networks", {"top_n": 0}))

            doc = answer(await c.call_tool("describe_network", {"network_id": "example"}))
            assert (doc["nodes"], doc["links"], doc["demands"]) == (
                len(net.nodes), len(net.links), len(net.demands))
            assert doc["baseline_kpis"]["max_utilisation"] == pytest.approx(
                base.kpis()["max_utilisation"], abs=1e-12)
            degree = np.bincount(compiled.arc_src, minlength=compiled.n_nodes)
            assert doc["highest_degree_nodes"][0]["degree"] == degree.max()
            bad = error_text(await c.call_tool("describe_network", {"network_id": "atlantis"}))
            assert "atlantis" in bad

            link = "Denver--Kansas-City"
            el = answer(await c.call_tool("describe_element", {
                "network_id": "example", "kind": "link", "element_id": link}))
            i = list(net.links).index(link)
            assert sorted(a["utilisation"] for a in el["arcs"]) == pytest.approx(
                sorted(base.arc_utilisation[[2 * i, 2 * i + 1]]), abs=1e-12)
            assert el["attributes"]["metric_ab"] == net.links[link].metric_ab
            bad = error_text(await c.call_tool("describe_element", {
                "network_id": "example", "kind": "link", "element_id": "Atlantis--Mu"}))
            assert "Atlantis--Mu" in bad
            bad = error_text(await c.call_tool("describe_element", {
                "network_id": "example", "kind": "router", "element_id": "Denver"}))
            assert "kind" in bad

            sim = answer(await c.call_tool("simulate", {"network_id": "example", "top_n": 3}))
            assert sim["kpis"]["max_utilisation"] == pytest.approx(
                base.kpis()["max_utilisation"], abs=1e-12)
            assert sim["worst_arcs"][0]["utilisation"] == pytest.approx(
                float(base.arc_utilisation.max()), abs=1e-12)
            assert len(sim["worst_arcs"]) == 3 and sim["arcs_count"] == compiled.n_arcs
            assert "scale" in error_text(await c.call_tool("simulate", {
                "network_id": "example", "scale": -1}))
            assert "arrival_model" in error_text(await c.call_tool("simulate", {
                "network_id": "example", "arrival_model": "mmpp"}))  # bursty or poisson
            # the full table behind the summary
            full = await c.read_resource(sim["resource"])
            arcs = json.loads(full.contents[0].text)["result"]["arcs"]  # type: ignore[union-attr]
            np.testing.assert_allclose([a["load_bps"] for a in arcs], base.arc_load_bps,
                                       rtol=1e-12)

            bad = error_text(await c.call_tool("whatif", {
                "network_id": "example", "changes": [{"fail_link": "Nope--X"}]}))
            assert "Nope--X" in bad and "Fix" in bad  # the CLI's wording
            twice = error_text(await c.call_tool("whatif", {
                "network_id": "example", "changes": [{"fail_link": "Denver--Kansas-City"}] * 2}))
            assert "link failed twice" in twice and "'Denver--Kansas-City'" in twice
            assert "changes" in error_text(await c.call_tool("whatif", {
                "network_id": "example", "changes": []}))
            assert "atlantis" in error_text(await c.call_tool("sweep_summary", {
                "network_id": "atlantis"}))

            text = (await c.read_resource("nettwin://networks/example")).contents[0].text  # type: ignore[union-attr]
            assert len(json.loads(text)["nodes"]) == len(net.nodes)
    run(go)


def test_live_tools_agree_with_the_rest_api(served: Served) -> None:
    rest = httpx.Client(base_url=served.base, timeout=60)

    async def before() -> str:
        async with mcp_session(served.mcp_url, served.tokens[Role.VIEWER]) as c:
            return error_text(await c.call_tool("live_state", {"network_id": "munich"}))
    assert "no live state yet" in run(before)

    first = rest.post("/api/v1/networks/example/telemetry", json={"scale": 1.0},
                      headers=served.headers(Role.OPERATOR)).json()
    rest.post("/api/v1/networks/example/telemetry", json={"scale": 1.8},
              headers=served.headers(Role.OPERATOR))
    state = rest.get("/api/v1/networks/example/state", headers=served.headers(Role.VIEWER)).json()
    tm = rest.get("/api/v1/networks/example/traffic-matrix", params={"limit": 5},
                  headers=served.headers(Role.VIEWER)).json()
    alarms = rest.get("/tmf-api/alarmManagement/v4/alarm",
                      params={"state": "raised", "limit": 10_000},
                      headers=served.headers(Role.VIEWER)).json()
    ours = [a for a in alarms if a["sourceSystemId"] == "nettwin/example"]
    assert ours

    async def go() -> None:
        async with mcp_session(served.mcp_url, served.tokens[Role.VIEWER]) as c:
            live = answer(await c.call_tool("live_state", {"network_id": "example"}))
            assert live["max_utilisation"] == pytest.approx(state["max_utilisation"], abs=1e-12)
            assert live["busiest_arcs"][0]["utilisation"] == pytest.approx(
                max(a["utilisation"] for a in state["arcs"]), abs=1e-12)
            assert live["alarms_count"] == len(state["alarms"])
            diff = answer(await c.call_tool("live_state", {
                "network_id": "example", "at": first["time"], "compare_to": state["time"]}))
            assert diff["arcs_changed_count"] > 0 and diff["from"] == first["time"]
            top = diff["arcs_changed"][0]
            assert top["utilisation_after"] == pytest.approx(1.8 * top["utilisation_before"],
                                                             rel=1e-9)
            assert "compare_to needs at" in error_text(await c.call_tool("live_state", {
                "network_id": "example", "compare_to": state["time"]}))

            est = answer(await c.call_tool("estimate_traffic_matrix", {
                "network_id": "example", "top_n": 5}))
            assert est["total_bps"] == pytest.approx(tm["total_bps"], rel=1e-9)
            assert [(p["src"], p["dst"]) for p in est["pairs"]] == [
                (p["src"], p["dst"]) for p in tm["pairs"]]
            assert "top_n" in error_text(await c.call_tool("estimate_traffic_matrix", {
                "network_id": "example", "top_n": 1000}))

            listed = answer(await c.call_tool("list_alarms", {"network_id": "example",
                                                               "top_n": 100}))
            assert listed["count"] == len(ours)
            assert {a["id"] for a in listed["alarms"]} == {a["id"] for a in ours}
            assert "state" in error_text(await c.call_tool("list_alarms", {"state": "open"}))
            assert "atlantis" in error_text(await c.call_tool("list_alarms", {
                "network_id": "atlantis"}))
            # a viewer may not acknowledge
            refused = error_text(await c.call_tool("acknowledge_alarm", {
                "alarm_id": ours[0]["id"]}))
            assert "needs role operator" in refused
        async with mcp_session(served.mcp_url, served.tokens[Role.OPERATOR]) as c:
            acked = answer(await c.call_tool("acknowledge_alarm", {"alarm_id": ours[0]["id"]}))
            assert acked["ackState"] == "acknowledged"
            assert acked["ackUserId"] == "agent-operator"
            assert "no-such-alarm" in error_text(await c.call_tool("acknowledge_alarm", {
                "alarm_id": "no-such-alarm"}))
            res = await c.read_resource("nettwin://alarms/example")
            assert len(json.loads(res.contents[0].text)) == len(ours)  # type: ignore[union-attr]
    run(go)
    after = rest.get(f"/tmf-api/alarmManagement/v4/alarm/{ours[0]['id']}",
                     headers=served.headers(Role.VIEWER)).json()
    assert after["ackState"] == "acknowledged"


def test_roles_are_enforced_and_every_call_audited(served: Served) -> None:
    async def go() -> list[str]:
        async with mcp_session(served.mcp_url, served.tokens[Role.VIEWER]) as c:
            return [error_text(await c.call_tool(name, args)) for name, args in (
                ("whatif", {"network_id": "example",
                            "changes": [{"fail_node": "Houston"}]}),
                ("simulate", {"network_id": "example"}),
                ("sweep_summary", {"network_id": "example"}))]
    refusals = run(go)
    assert all("needs role planner" in r and "viewer" in r for r in refusals)
    audit = [a for a in served.audit() if a["who"] == "agent-viewer"
             and a["what"].startswith("MCP /mcp/tools/")]
    refused = {a["what"].split("/")[3] for a in audit if a["status"] == 403}
    assert {"whatif", "simulate", "sweep_summary"} <= refused
    # the HTTP requests carrying them are in the app's audit under the same name
    assert any(a["what"] == "POST /mcp" and a["who"] == "agent-viewer"
               for a in served.audit())


def test_results_stay_bounded_on_a_large_network(served: Served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    net = bench_network(400, 1600)
    path = tmp_path / "bench.json"
    save_network(net, path)
    with path.open("rb") as fh:
        r = httpx.post(f"{served.base}/api/v1/networks", files={"file": ("bench.json", fh)},
                       headers=served.headers(Role.ADMIN), timeout=120)
    assert r.status_code == 201, r.text
    nid = r.json()["id"]
    limit = served.settings.mcp_max_result_bytes
    worst = net.links[next(iter(net.links))].id

    async def go() -> None:
        async with mcp_session(served.mcp_url, served.tokens[Role.PLANNER]) as c:
            calls = [("describe_network", {"network_id": nid, "top_n": 100}),
                     ("describe_element", {"network_id": nid, "kind": "node",
                                           "element_id": "r0", "top_n": 100}),
                     ("simulate", {"network_id": nid, "top_n": 100}),
                     ("whatif", {"network_id": nid, "top_n": 100,
                                 "changes": [{"fail_link": worst}, {"fail_node": "r7"}]}),
                     ("sweep_summary", {"network_id": nid, "top_n": 100, "wait_s": 300})]
            heard: list[tuple[float, float | None]] = []

            async def progress(done: float, total: float | None, _message: str | None
                               ) -> None:
                heard.append((done, total))

            cut = []
            for name, args in calls:
                result = await c.call_tool(name, args, progress_callback=progress)
                doc = answer(result)
                cut += [name] if "truncated" in doc else []
                assert "error" not in doc, (name, doc)  # cut to fit, never given up
                size = len(result.content[0].text)  # type: ignore[union-attr]
                assert size <= limit, (name, size)
            assert doc["failures_count"] == len(net.links)  # counts stay whole
            assert heard, "the sweep reported no progress"  # the job runs for a while
            assert [d for d, _t in heard] == sorted(d for d, _t in heard)
            assert "truncated" in doc or len(doc["worst_failures"]) == 100
            assert cut, "top_n=100 on 400 nodes should need cutting somewhere"
    run(go)
