"""What-ifs and sweeps on the live state or on the plan (api/basis.py), offline /docs and the
kernel warm-up status: checked against the networkx ECMP oracle and brute force."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.api.basis import fit_level, live_basis
from nettwin.engine import compile_network, simulate
from nettwin.examples import abilene
from nettwin.io import save_network
from nettwin.live import LiveTwin, Message
from nettwin.live.simulated import CounterFeed
from nettwin.live.twin import live_network
from nettwin.reference import reference_ecmp
from tests.conftest import random_network


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _max_util(network: Any, load: np.ndarray, up: np.ndarray) -> float:
    cap = np.array([c for lk in network.links.values()
                    for c in (lk.capacity_ab_bps, lk.capacity_ba_bps)])
    return float(np.where(up, load / cap, 0.0).max())


def _live_net(net: Any, level: float) -> Any:
    """The oracle's live network: the plan's traffic at ``level`` measured on every arc,
    the matrix estimated back from those rates (as the live twin does)."""
    compiled = compile_network(net)
    rates = simulate(compiled, demand_rate_bps=compiled.demand_rate_bps * level).arc_load_bps
    return live_network(net, {}, rates), rates / compiled.arc_capacity_bps


def test_whatif_on_live_uses_the_measured_state(role_api: Any) -> None:
    client, headers = role_api
    net = abilene()
    failed = "Denver--Kansas-City"
    body = {"changes": [{"fail_link": failed}]}
    url = "/api/v1/networks/example/whatif"
    # Nothing measured yet: 'live' is refused, 'auto' falls back to the plan and says so.
    assert client.post(url, json=body | {"basis": "live"},
                       headers=headers[Role.PLANNER]).status_code == 409
    r = client.post(url, json=body | {"basis": "auto"}, headers=headers[Role.PLANNER])
    assert r.status_code == 200, r.text
    assert r.json()["basis"]["kind"] == "plan" and "no live data" in r.json()["basis"]["note"]
    client.post("/api/v1/networks/example/telemetry", json={"scale": 0.55},
                headers=headers[Role.OPERATOR]).raise_for_status()
    i = list(net.links).index(failed)
    up = np.ones(2 * len(net.links), bool)
    up[[2 * i, 2 * i + 1]] = False
    live_net, measured_util = _live_net(net, 0.55)
    for basis, level, on in (("live", 0.55, live_net), ("plan", 1.0, net)):
        doc = client.post(url, json=body | {"basis": basis},
                          headers=headers[Role.PLANNER]).json()
        assert doc["basis"]["kind"] == basis
        assert doc["basis"]["traffic_level"] == pytest.approx(level)
        assert (doc["basis"]["measured_at"] is None) == (basis == "plan")
        # networkx ECMP on the matrix the basis carries (live: estimated from the rates)
        before = reference_ecmp(on, demand_rate_bps=on.demands.rate_bps).arc_load_bps
        after = reference_ecmp(on, up, demand_rate_bps=on.demands.rate_bps).arc_load_bps
        assert doc["max_utilisation_before"] == pytest.approx(
            _max_util(net, before, np.ones_like(up)))
        assert doc["max_utilisation_after"] == pytest.approx(_max_util(net, after, up))
    # the live baseline is what was measured: the estimate reproduces the measured rates
    assert _max_util(net, reference_ecmp(live_net).arc_load_bps, np.ones_like(up)) \
        == pytest.approx(float(measured_util.max()), rel=1e-3)
    # The basis route paints the same numbers the what-if started from.
    view = client.get("/api/v1/networks/example/basis?kind=auto",
                      headers=headers[Role.VIEWER]).json()
    assert view["basis"]["has_live"] and view["basis"]["kind"] == "live"
    assert view["basis"]["requested"] == "auto"
    assert view["max_utilisation"] == pytest.approx(float(measured_util.max()), rel=1e-3)
    # asked for the plan, it still says live traffic is there (the telemetry posted above)
    plan = client.get("/api/v1/networks/example/basis?kind=plan",
                      headers=headers[Role.VIEWER]).json()["basis"]
    assert plan["kind"] == "plan" and plan["has_live"]
    # and not where none was fed: the bundled Munich backhaul
    munich = client.get("/api/v1/networks/munich/basis?kind=plan",
                        headers=headers[Role.VIEWER]).json()["basis"]
    assert not munich["has_live"]


def test_live_basis_takes_down_links_and_fits_the_level() -> None:
    net = abilene()
    compiled = compile_network(net)
    m = compiled.n_arcs
    down = list(net.links)[3]
    up = np.ones(m, bool)
    up[[6, 7]] = False  # link 3 down as observed
    truth = reference_ecmp(net, up, demand_rate_bps=net.demands.rate_bps * 0.8).arc_load_bps
    lt = LiveTwin(net)
    feed = CounterFeed(net)
    t0 = time.time()
    batch = [Message(r) for r in feed.step(t0, truth, 0.0, up)]
    batch += [Message({"kind": "event", "time": t0, "object": down, "event": "link_down",
                       "severity": "major", "message": "test"})]
    lt.process(batch)
    lt.process([Message(r) for r in feed.step(t0 + 10.0, truth, 10.0, up)])
    b = live_basis(lt)
    assert b is not None and b.kind == "live"
    assert b.level == pytest.approx(0.8, rel=1e-6)
    assert b.links_down == (down,)
    assert not b.baseline.arc_up[[6, 7]].any()
    # the estimated matrix, routed, reproduces the measured rates (tomogravity fits them)
    np.testing.assert_allclose(b.baseline.arc_load_bps, truth, rtol=1e-3,
                               atol=1e-3 * truth.max())
    assert fit_level(np.array([1.0, 2.0]), np.array([np.nan, np.nan])) is None
    assert fit_level(np.array([1.0, 2.0]), np.array([3.0, 6.0])) == pytest.approx(3.0)


def test_sweep_on_live_matches_brute_force(role_api: Any) -> None:
    client, headers = role_api
    net = abilene()
    client.post("/api/v1/networks/example/telemetry", json={"scale": 1.4},
                headers=headers[Role.OPERATOR]).raise_for_status()
    job = client.post("/api/v1/networks/example/sweeps", json={"basis": "live"},
                      headers=headers[Role.PLANNER]).json()
    assert job["basis"]["kind"] == "live"
    assert job["basis"]["traffic_level"] == pytest.approx(1.4)
    for _ in range(600):
        st = client.get(f"/api/v1/jobs/{job['id']}", headers=headers[Role.VIEWER]).json()
        if st["state"] not in ("queued", "running"):
            break
        time.sleep(0.1)
    rows = client.get(f"/api/v1/jobs/{job['id']}/results?table=failures&limit=100",
                      headers=headers[Role.VIEWER]).json()["items"]
    live_net, _u = _live_net(net, 1.4)
    m = 2 * len(net.links)
    assert len(rows) == len(net.links)
    for row in rows:
        assert row["kind"] == "link"
        i = list(net.links).index(row["failure"])
        up = np.ones(m, bool)
        up[[2 * i, 2 * i + 1]] = False
        load = reference_ecmp(live_net, up, demand_rate_bps=live_net.demands.rate_bps
                              ).arc_load_bps
        assert row["max_utilisation"] == pytest.approx(_max_util(net, load, up))


def test_docs_are_served_without_a_cdn(role_api: Any) -> None:
    client, _headers = role_api
    page = client.get("/docs").text
    assert "cdn" not in page.lower() and "/docs-assets/swagger-ui-bundle.js" in page
    js = client.get("/docs-assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and "SwaggerUIBundle" in js.text
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN


def test_warmup_reports_progress(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, simulate_telemetry_s=3600)
    token = TokenStore(settings.tokens_file).create("v", Role.VIEWER)
    with TestClient(create_app(settings)) as client:
        doc: dict[str, Any] = {}
        deadline = time.monotonic() + 600  # a cold numba cache compiles everything once
        while time.monotonic() < deadline:
            doc = client.get("/api/v1/warmup", headers=_auth(token)).json()
            if doc["state"] != "warming":
                break
            time.sleep(0.2)
        assert doc["state"] == "ready", doc
        assert doc["done"] == doc["steps"] == ["simulate", "what-if", "N-1 sweep", "validate",
                                            "optimise", "storm"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_plan_basis_made_while_its_network_is_deleted_answers_404_and_is_not_kept(
        role_api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    # the delete completes between the request finding the network and the basis being
    # kept: the request answers 404 as any read after a delete, and no basis (holding the
    # network's arrays) stays in the cache under the deleted id
    import nettwin.api.basis as basis_module

    client, headers = role_api
    path = tmp_path / "net.json"
    save_network(random_network(3, 8, 14), path)
    up = client.post("/api/v1/networks", files={"file": ("net.json", path.read_bytes())},
                     headers=headers[Role.ADMIN])
    assert up.status_code == 201, up.text
    nid = up.json()["id"]
    twin = client.app.state.twin
    real = basis_module.plan_basis

    def deleted_meanwhile(*args: Any, **kwargs: Any) -> Any:
        made = real(*args, **kwargs)
        twin.forget(nid)  # what DELETE /networks/{nid} does, landing while this is made
        return made

    monkeypatch.setattr(basis_module, "plan_basis", deleted_meanwhile)
    url = f"/api/v1/networks/{nid}"
    r = (client.get(f"{url}/basis", params={"kind": "plan"}, headers=headers[Role.VIEWER])
         if method == "GET" else
         client.post(f"{url}/whatif", json={"changes": [{"fail_link": "l0"}], "basis": "plan"},
                     headers=headers[Role.PLANNER]))
    assert r.status_code == 404, r.text
    assert not twin.has(nid)
    assert [key for key in twin.bases.kept_keys() if key[1] == nid] == []
    # the network is gone to every later request too
    assert client.get(f"{url}/basis", headers=headers[Role.VIEWER]).status_code == 404
