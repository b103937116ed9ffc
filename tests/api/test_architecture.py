"""The API's shape: every operation documents what it answers; the live state is one model
(the stream, the state route and the alarm book agree); what-ifs run on the live state when
there is one, and say so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from nettwin import compile_network, simulate
from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live.twin import live_network
from nettwin.scenarios import parse_scenario, run_whatif

FILES = {"/api/v1/networks/{nid}/export"}  # a network file, native or RFC 8345


@pytest.fixture
def api(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path)
    store = TokenStore(settings.tokens_file)
    tokens = {role: {"Authorization": f"Bearer {store.create(role.name.lower(), role)}"}
              for role in Role}
    with TestClient(create_app(settings)) as client:
        yield client, tokens


def test_every_operation_documents_its_answer(api) -> None:  # type: ignore[no-untyped-def]
    client, _h = api
    doc = client.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            ok = [r for code, r in op["responses"].items() if code.startswith("2")]
            assert ok, (method, path)
            if path in FILES or "204" in op["responses"]:
                continue
            schemas = [c.get("schema") for r in ok for c in (r.get("content") or {}).values()]
            assert any(schemas) or path.endswith(("/stream", "/metrics")), (method, path)


def test_whatif_runs_on_the_live_state_when_there_is_one(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    body = {"changes": [{"fail_link": "Denver--Kansas-City"}]}
    url = "/api/v1/networks/example/whatif"
    plan = client.post(url, json=body, headers=h[Role.PLANNER]).json()
    assert plan["basis"]["kind"] == "plan"  # nothing measured yet
    assert client.post(url, json=body | {"basis": "live"},
                       headers=h[Role.PLANNER]).status_code == 409
    net = load_network(example_path())
    ref = run_whatif(net, parse_scenario(body | {"name": "x"}, "test")).diff
    assert plan["max_utilisation_after"] == pytest.approx(ref.max_utilisation_after)
    client.post("/api/v1/networks/example/telemetry", json={"scale": 1.4},
                headers=h[Role.OPERATOR])
    live = client.post(url, json=body, headers=h[Role.PLANNER]).json()
    assert live["basis"]["kind"] == "live"
    # the oracle: the same scenario on the network rebuilt from the measured rates
    compiled = compile_network(net)
    rates = simulate(compiled, demand_rate_bps=compiled.demand_rate_bps * 1.4).arc_load_bps
    rebuilt = live_network(net, {}, rates)
    want = run_whatif(rebuilt, parse_scenario(body | {"name": "x"}, "test")).diff
    assert live["max_utilisation_before"] == pytest.approx(want.max_utilisation_before,
                                                           rel=1e-6)
    assert live["max_utilisation_after"] == pytest.approx(want.max_utilisation_after, rel=1e-6)
    # measured traffic at 1.4 x plan: the live baseline is the measured maximum
    assert live["max_utilisation_before"] == pytest.approx(
        float((rates / compiled.arc_capacity_bps).max()), rel=1e-3)
    assert len(live["services"]) == len(net.services)  # SLAs still checked


def test_state_stream_and_alarm_book_agree(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    client.post("/api/v1/networks/example/telemetry", json={"scale": 1.8},
                headers=h[Role.OPERATOR])
    state = client.get("/api/v1/networks/example/state", headers=h[Role.VIEWER]).json()
    live = client.get("/api/v1/networks/example/live", headers=h[Role.VIEWER]).json()
    assert [a["utilisation"] for a in state["arcs"]] == [a["utilisation"] for a in live["arcs"]]
    standing = {(a["object"], a["severity"]) for a in state["alarms"]
                if a["type"] == "QualityOfServiceAlarm"}
    tmf = client.get("/tmf-api/alarmManagement/v4/alarm?state=raised&limit=10000",
                     headers=h[Role.VIEWER]).json()
    assert standing == {(a["alarmedObject"]["id"], a["perceivedSeverity"]) for a in tmf
                        if a["probableCause"] == "thresholdCrossed"}
    util = np.array([a["utilisation"] for a in state["arcs"]])
    assert len(standing) == int((util >= 0.8).sum()) > 0


def test_state_at_an_earlier_instant_from_the_history(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    url = "/api/v1/networks/example/state"
    first = client.post("/api/v1/networks/example/telemetry", json={"scale": 1.0},
                        headers=h[Role.OPERATOR]).json()
    was = client.get(url, headers=h[Role.VIEWER]).json()
    client.post("/api/v1/networks/example/telemetry", json={"scale": 1.8},
                headers=h[Role.OPERATOR])
    now = client.get(url, headers=h[Role.VIEWER]).json()
    then = client.get(url, params={"at": first["time"]}, headers=h[Role.VIEWER]).json()
    assert then["note"] is None
    np.testing.assert_allclose([a["utilisation"] for a in then["arcs"]],
                               [a["utilisation"] for a in was["arcs"]], rtol=1e-9)
    np.testing.assert_allclose([a["utilisation"] for a in now["arcs"]],
                               1.8 * np.array([a["utilisation"] for a in was["arcs"]]),
                               rtol=1e-9)
    before = client.get(url, params={"at": first["time"] - 3600},
                        headers=h[Role.VIEWER]).json()
    assert "before the history starts" in before["note"]
    assert all(a["utilisation"] is None for a in before["arcs"])


def test_sweep_runs_on_the_live_state_when_asked(api) -> None:  # type: ignore[no-untyped-def]
    import time

    from nettwin.scenarios import run_sweep

    client, h = api
    url = "/api/v1/networks/example/sweeps"
    assert client.post(url, json={"basis": "live"},
                       headers=h[Role.PLANNER]).status_code == 409
    client.post("/api/v1/networks/example/telemetry", json={"scale": 1.3},
                headers=h[Role.OPERATOR])
    job = client.post(url, json={}, headers=h[Role.PLANNER]).json()
    assert job["basis"]["kind"] == "live"
    while job["state"] in ("queued", "running"):
        time.sleep(0.1)
        job = client.get(f"/api/v1/jobs/{job['id']}", headers=h[Role.PLANNER]).json()
    page = client.get(f"/api/v1/jobs/{job['id']}/results?table=worst_case&limit=1000",
                      headers=h[Role.VIEWER]).json()
    assert page["basis"]["kind"] == "live"
    net = load_network(example_path())
    compiled = compile_network(net)
    rates = simulate(compiled, demand_rate_bps=compiled.demand_rate_bps * 1.3).arc_load_bps
    want = {r["arc"]: r["worst_utilisation"]
            for r in run_sweep(live_network(net, {}, rates)).worst_case_rows()}
    got = {r["arc"]: r["worst_utilisation"] for r in page["items"]}
    assert got.keys() == want.keys()
    for arc, u in want.items():
        assert got[arc] == pytest.approx(u, rel=1e-6), arc
