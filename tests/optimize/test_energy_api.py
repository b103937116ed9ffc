"""Energy saving over the API: a planner's job whose deepest sleep, applied through the
what-if route (the engine on the twin's own path), gives the utilisation the schedule
claims; roles, bad matrices and cancel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nettwin.api import Role
from tests.conftest import wait_job

NETS = "/api/v1/networks"


def test_the_deepest_sleep_applied_as_a_whatif_gives_the_claimed_utilisation(role_api: Any) -> None:
    client, h = role_api
    r = client.post(f"{NETS}/example/optimize/energy", headers=h[Role.PLANNER],
                    json={"profile": [0.5, 0.5, 0.5], "min_dwell": 1, "basis": "plan"})
    assert r.status_code == 202, r.text
    status = wait_job(client, r.json()["id"], h[Role.VIEWER])
    assert status["state"] == "done", status
    result = client.get(f"/api/v1/jobs/{status['id']}/result", headers=h[Role.VIEWER]).json()
    doc = result["document"]
    assert doc["steps"] == 3 and doc["sla_violations"] == 0
    row = max(doc["intervals"], key=lambda x: len(x["asleep"]))
    assert row["asleep"], "the example sleeps nothing at half traffic: a vacuous test"
    changes = result["whatif"]["changes"]
    assert sorted(c["fail_link"] for c in changes) == sorted(row["asleep"])
    scaled = {"name": "half", "changes": [*changes, {"scale_traffic": {"factor": 0.5}}],
              "basis": "plan"}
    applied = client.post(f"{NETS}/example/whatif", headers=h[Role.PLANNER],
                          json=scaled).json()
    assert applied["max_utilisation_after"] == pytest.approx(row["mlu"], rel=1e-9)
    assert applied["demands_lost_count"] == 0


def test_roles_bad_matrices_and_cancel(role_api: Any) -> None:
    client, h = role_api
    url = f"{NETS}/example/optimize/energy"
    assert client.post(url, headers=h[Role.VIEWER], json={}).status_code == 403
    bad = client.post(url, headers=h[Role.PLANNER], json={"matrices": [
        [{"src": "Nowhere", "dst": "Seattle", "rate_bps": 1e6}], []]})
    assert bad.status_code == 422 and "Nowhere" in bad.text
    assert client.post(url, headers=h[Role.PLANNER],
                       json={"min_dwell": 0}).status_code == 422
    assert client.post(f"{NETS}/nope/optimize/energy", headers=h[Role.PLANNER],
                       json={}).status_code == 404
    long = client.post(url, headers=h[Role.PLANNER],
                       json={"profile": [1.0] * 2000, "survive": "n-1", "min_dwell": 1})
    job = long.json()["id"]
    client.delete(f"/api/v1/jobs/{job}", headers=h[Role.PLANNER])
    assert wait_job(client, job, h[Role.VIEWER])["state"] == "cancelled"


def test_measured_matrices_are_planned_as_given(role_api: Any) -> None:
    """Two matrices over the API: each interval's MLU is the engine's for that matrix with
    the interval's sleeping links removed (simulated here from the example file)."""
    import numpy as np

    from nettwin.engine import compile_network, simulate
    from nettwin.examples import example_path
    from nettwin.io import load_network

    client, h = role_api
    net = load_network(example_path())
    demands = list(net.iter_demands())
    matrices = [[{"src": d.src, "dst": d.dst, "rate_bps": d.rate_bps * k} for d in demands]
                for k in (0.3, 0.6)]
    for bad in (5e-324, 0.5):  # found by the fuzz test: 86,400 / 5e-324 overflowed
        r = client.post(f"{NETS}/example/optimize/energy", headers=h[Role.PLANNER],
                        json={"matrices": matrices, "interval_s": bad})
        assert r.status_code == 422 and "interval_s" in r.text
    r = client.post(f"{NETS}/example/optimize/energy", headers=h[Role.PLANNER],
                    json={"matrices": matrices, "interval_s": 900, "min_dwell": 1})
    status = wait_job(client, r.json()["id"], h[Role.VIEWER])
    assert status["state"] == "done", status
    doc = client.get(f"/api/v1/jobs/{status['id']}/result",
                     headers=h[Role.VIEWER]).json()["document"]
    assert doc["steps"] == 2 and doc["interval_s"] == 900
    compiled = compile_network(net)
    for row, k in zip(doc["intervals"], (0.3, 0.6), strict=True):
        up = np.repeat([lid not in row["asleep"] for lid in net.links], 2)
        res = simulate(compiled, arc_up=up, demand_rate_bps=compiled.demand_rate_bps * k)
        assert res.demand_routed.all()
        assert row["mlu"] == pytest.approx(float(res.arc_utilisation[up].max()), rel=1e-9)


def test_sla_over_given_matrices_keeps_the_services(role_api: Any, tmp_path: Path) -> None:
    """Matrices replace the demands; the services on those pairs still bind with 'sla'."""
    import dataclasses

    import numpy as np

    from nettwin.engine import compile_network, simulate
    from nettwin.examples import abilene
    from nettwin.io import save_network
    from nettwin.model import Service

    client, h = role_api
    # Atlanta -> Indianapolis within 4 ms: only the direct link (3.4 ms) keeps it
    net = dataclasses.replace(abilene(), services={"hub": Service(
        id="hub", demands=("Atlanta->Indianapolis",), max_delay_s=0.004)})
    save_network(net, tmp_path / "hub.yaml")
    r = client.post(NETS, headers=h[Role.ADMIN],
                    files={"file": ("hub.yaml", (tmp_path / "hub.yaml").read_bytes())})
    assert r.status_code == 201, r.text
    nid = r.json()["id"]
    demands = list(net.iter_demands())
    levels = (0.6, 0.5, 0.6)
    matrices = [[{"src": d.src, "dst": d.dst, "rate_bps": d.rate_bps * k} for d in demands]
                for k in levels]
    compiled = compile_network(net)
    pair = list(net.demand_ids).index("Atlanta->Indianapolis")
    broken = {}
    for sla in (False, True):
        r = client.post(f"{NETS}/{nid}/optimize/energy", headers=h[Role.PLANNER],
                        json={"matrices": matrices, "min_dwell": 1, "sla": sla})
        status = wait_job(client, r.json()["id"], h[Role.VIEWER])
        assert status["state"] == "done", status
        doc = client.get(f"/api/v1/jobs/{status['id']}/result",
                         headers=h[Role.VIEWER]).json()["document"]
        broken[sla] = 0
        for row, k in zip(doc["intervals"], levels, strict=True):  # the engine's replay
            up = np.repeat([lid not in row["asleep"] for lid in net.links], 2)
            res = simulate(compiled, arc_up=up, demand_rate_bps=compiled.demand_rate_bps * k)
            broken[sla] += int(res.demand_delay_worst_s[pair] > 0.004)
        if sla:
            assert doc["sla_violations"] == 0 and doc["energy_saved_fraction"] > 0
    assert broken == {False: 3, True: 0}
