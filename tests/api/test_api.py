"""The REST API: roles on every route, uploads, simulations, what-ifs, sweep jobs, audit."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.io import load_network
from nettwin.reference import reference_ecmp
from nettwin.scenarios import run_sweep
from tests.conftest import data_path


@pytest.fixture
def api(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, max_upload_bytes=2 * 2**20)
    store = TokenStore(settings.tokens_file)
    tokens = {role: store.create(role.name.lower(), role) for role in Role}
    with TestClient(create_app(settings)) as client:
        yield client, tokens, settings


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_route_demands_its_role(api) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = api
    spec = client.get("/openapi.json").json()
    checked = 0
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if path in ("/healthz", "/readyz"):
                assert client.request(method, path).status_code == 200
                continue
            assert "x-required-role" in op, f"{method} {path} declares no role"
            needed = Role[op["x-required-role"].upper()]
            url = path.replace("{nid}", "example").replace("{job_id}", "nojob")
            assert client.request(method, url).status_code == 401, (method, path)
            assert client.request(method, url, headers=_auth("nt_bogus")).status_code == 401
            for role in Role:
                if role < needed:
                    r = client.request(method, url, headers=_auth(tokens[role]))
                    assert r.status_code == 403, (method, path, role)
            checked += 1
    assert checked >= 10


def test_upload_simulate_matches_the_reference(api) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = api
    path = data_path("topology_zoo", "graphml", "Geant2012.graphml")
    r = client.post("/api/v1/networks", headers=_auth(tokens[Role.ADMIN]),
                    files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 201, r.text
    nid = r.json()["id"]
    assert r.json()["nodes"] == 40 and any("capacities from" in n for n in r.json()["notes"])
    listed = client.get("/api/v1/networks", headers=_auth(tokens[Role.VIEWER])).json()
    assert {n["id"] for n in listed} == {"example", "munich", nid}
    r = client.post("/api/v1/networks/example/simulate", headers=_auth(tokens[Role.PLANNER]),
                    json={"scale": 1.5})
    assert r.status_code == 200
    net = load_network(Path(__file__).resolve().parents[2] / "src" / "nettwin" / "examples"
                       / "abilene.yaml")
    ref = reference_ecmp(net, demand_rate_bps=net.demands.rate_bps * 1.5)
    np.testing.assert_allclose([a["load_bps"] for a in r.json()["arcs"]], ref.arc_load_bps,
                               rtol=1e-9)
    exported = client.get(f"/api/v1/networks/{nid}/export?format=rfc8345",
                          headers=_auth(tokens[Role.VIEWER]))
    assert "ietf-network:networks" in exported.json()
    assert client.delete(f"/api/v1/networks/{nid}",
                         headers=_auth(tokens[Role.ADMIN])).status_code == 204
    assert client.get(f"/api/v1/networks/{nid}",
                      headers=_auth(tokens[Role.VIEWER])).status_code == 404


def test_bad_input_is_a_precise_4xx(api) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = api
    bad = b"nodes: [{id: A}]\nlinks: [{id: x, a: A, b: B, capacity_bps: 1e9}]\n"
    r = client.post("/api/v1/networks:validate", headers=_auth(tokens[Role.PLANNER]),
                    files={"file": ("bad.yaml", bad)})
    assert r.status_code == 422
    problem = r.json()["problems"][0]
    assert (problem["element"], problem["field"]) == ("bad.yaml: link 'x'", "b")
    r = client.post("/api/v1/networks", headers=_auth(tokens[Role.ADMIN]),
                    files={"file": ("odd.dat", b"hello")})
    assert r.status_code == 422 and r.json()["error"] == "UnknownFormatError"
    assert r.json()["message"].startswith("odd.dat: cannot tell the network format")
    r = client.post("/api/v1/networks", headers=_auth(tokens[Role.ADMIN]),
                    files={"file": ("big.yaml", b"x" * (3 * 2**20))})
    assert r.status_code == 413
    r = client.post("/api/v1/networks/example/whatif", headers=_auth(tokens[Role.PLANNER]),
                    json={"changes": [{"fail_link": "Atlantis"}]})
    assert r.status_code == 422 and "no such link" in r.json()["message"]
    r = client.post("/api/v1/networks/example/simulate", headers=_auth(tokens[Role.PLANNER]),
                    json={"scale": -1})
    assert r.status_code == 422


def test_whatif_and_sweep_job_equal_the_library(api) -> None:  # type: ignore[no-untyped-def]
    client, tokens, settings = api
    r = client.post("/api/v1/networks/example/whatif", headers=_auth(tokens[Role.PLANNER]),
                    json={"changes": [{"fail_node": "Houston"}]})
    assert r.status_code == 200 and r.json()["verdict"].startswith("FAIL: 20 demands")
    r = client.post("/api/v1/networks/example/sweeps", headers=_auth(tokens[Role.PLANNER]),
                    json={"nodes": True})
    assert r.status_code == 202
    job = r.json()["id"]
    deadline = time.monotonic() + 300  # a cold numba cache compiles the kernels first
    while True:
        status = client.get(f"/api/v1/jobs/{job}", headers=_auth(tokens[Role.VIEWER])).json()
        if status["state"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status["state"] == "done", status
    page = client.get(f"/api/v1/jobs/{job}/results?limit=5",
                      headers=_auth(tokens[Role.VIEWER])).json()
    assert page["total"] == 25 and len(page["items"]) == 5
    from nettwin.examples import example_path

    lib = run_sweep(load_network(example_path()), nodes=True).failure_rows()
    assert [row["failure"] for row in page["items"]] == [row["failure"] for row in lib[:5]]
    audit = [json.loads(line) for line in settings.audit_file.read_text().splitlines()]
    assert any(a["what"] == "POST /api/v1/networks/example/sweeps" and a["who"] == "planner"
               and a["status"] == 202 for a in audit)
    metrics = client.get("/metrics", headers=_auth(tokens[Role.VIEWER])).text
    assert "nettwin_http_requests_total" in metrics


def test_qos_route_equals_the_library(api) -> None:  # type: ignore[no-untyped-def]
    from nettwin import compile_network
    from nettwin.engine.classes import simulate_classes
    from nettwin.examples import example_path
    from nettwin.io.explicit_paths import build_paths
    from nettwin.io.qos_policy import build_policy

    client, tokens, _ = api
    policy = {"classes": ["best-effort"], "default": {"scheduler": "wfq", "buffer_packets": 64},
              "nodes": {"Chicago": {"scheduler": "sp"}}}
    paths = [{"demand": "New-York->Chicago",
              "via": ["New-York", "Washington-DC", "Atlanta", "Indianapolis", "Chicago"]}]
    r = client.post("/api/v1/networks/example/qos?limit=5", headers=_auth(tokens[Role.PLANNER]),
                    json={"policy": policy, "paths": paths, "scale": 20})
    assert r.status_code == 200, r.text
    doc = r.json()
    net = load_network(example_path())
    c = compile_network(net)
    ref = simulate_classes(c, build_policy(policy, c), demand_rate_bps=c.demand_rate_bps * 20,
                           pinned=build_paths({"paths": paths}, net, c))
    assert doc["pinned"] == 1 and len(doc["demands"]) == 5
    worst = int(np.argmax(ref.demand_delay_mean_s))
    assert doc["demands"][0]["demand"] == net.demand_ids[worst]
    assert doc["demands"][0]["delay_s"] == pytest.approx(ref.demand_delay_mean_s[worst])
    assert doc["classes"][0]["mean_delay_s"] == pytest.approx(
        ref.demand_delay_mean_s.mean())
    # a bad policy is a 422 naming the element, not a 500
    bad = client.post("/api/v1/networks/example/qos", headers=_auth(tokens[Role.PLANNER]),
                      json={"policy": {"classes": ["best-effort"], "nodes": {"Nowhere": {}}}})
    assert bad.status_code == 422 and "nodes.Nowhere" in bad.text


def test_simulate_takes_the_arrival_model(api) -> None:  # type: ignore[no-untyped-def]
    """The API's simulate has the CLI's switch: an on-off demand alone on a link is IPP/M/1
    by default (``bursty``) and M/M/1 with ``arrival_model: poisson``; a model it does not
    know is a 422 naming the field. Each model's run is kept apart (not served from the
    other's)."""
    from tests.cli.test_cli import ONOFF_NETWORK
    from tests.engine.test_arrivals import ipp_m1_sojourn

    client, tokens, _ = api
    r = client.post("/api/v1/networks", headers=_auth(tokens[Role.ADMIN]),
                    files={"file": ("onoff.yaml", ONOFF_NETWORK.encode())})
    assert r.status_code == 201, r.text
    url = f"/api/v1/networks/{r.json()['id']}/simulate"
    mu = 1e7 / (8 * 340.33)  # the default packet size, simple IMIX
    got = {}
    for model in ("bursty", "poisson", "bursty"):
        r = client.post(url, headers=_auth(tokens[Role.PLANNER]),
                        json={"arrival_model": model})
        assert r.status_code == 200, r.text
        got[model] = r.json()["arcs"][0]["queueing_s"]
    assert got["poisson"] == pytest.approx(0.6 / 0.4 / mu, rel=1e-3)
    assert got["bursty"] == pytest.approx(ipp_m1_sojourn(1.2 * mu, 0.05, 0.05, mu) - 1 / mu,
                                          rel=1e-2)
    r = client.post(url, headers=_auth(tokens[Role.PLANNER]), json={"arrival_model": "mmpp"})
    assert r.status_code == 422 and "arrival_model" in r.text


BURSTY_TRIANGLE = """nettwin: 1
name: bursty-triangle
nodes: [{id: a}, {id: b}, {id: c}]
links:
- {id: ab, a: a, b: b, capacity_ab_bps: 1.0e7, capacity_ba_bps: 1.0e7}
- {id: bc, a: b, b: c, capacity_ab_bps: 1.0e7, capacity_ba_bps: 1.0e7}
- {id: ca, a: c, b: a, capacity_ab_bps: 1.0e7, capacity_ba_bps: 1.0e7}
demands:
- {id: d1, src: a, dst: b, rate_bps: 6.0e6, arrival: onoff, on_mean_s: 0.05, off_mean_s: 0.05}
- {id: d2, src: b, dst: c, rate_bps: 1.0e6}
services: [{id: s1, demands: [d1], max_delay_s: 1.0}]
"""


def test_a_failure_whatif_on_bursty_demands_equals_the_full_engine(  # type: ignore[no-untyped-def]
        api, tmp_path: Path) -> None:
    """On a network whose demands carry bursty arrival processes the no-change run queues
    their links as MMPP/G/1/K; a failure what-if must compare like with like. The
    incremental path queued the failed state as Poisson: failing link bc, which d1 does
    not cross, made service s1 (d1) look 20x faster. Oracle: the library's full engine
    (``run_whatif``)."""
    from nettwin.scenarios import parse_scenario, run_whatif

    client, tokens, _ = api
    r = client.post("/api/v1/networks", headers=_auth(tokens[Role.ADMIN]),
                    files={"file": ("triangle.yaml", BURSTY_TRIANGLE.encode())})
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/networks/{r.json()['id']}/whatif",
                    headers=_auth(tokens[Role.PLANNER]),
                    json={"changes": [{"fail_link": "bc"}], "basis": "plan"})
    assert r.status_code == 200, r.text
    (tmp_path / "triangle.yaml").write_text(BURSTY_TRIANGLE)
    net = load_network(tmp_path / "triangle.yaml")
    want = run_whatif(net, parse_scenario({"changes": [{"fail_link": "bc"}]})).diff.services
    (got,) = r.json()["services"]
    assert got["worst_delay_after_s"] == pytest.approx(want[0].worst_delay_after_s, rel=1e-9)
    assert got["worst_delay_after_s"] == pytest.approx(got["worst_delay_before_s"], rel=1e-9)
