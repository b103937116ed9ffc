"""Capacity planning over the API: the job's plan equals the library's, and its what-if,
applied by the twin, gives the utilisation the plan claims (the engine is the oracle)."""

from __future__ import annotations

from typing import Any

import pytest

from nettwin.api import Role
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.optimize.capacity import LinkOffer, Module, ModuleCatalogue, plan_capacity
from tests.conftest import wait_job

NETS = "/api/v1/networks"
MODULES = {"default": {"modules": [{"name": "10G", "capacity_bps": 10e9, "cost": 100},
                                   {"name": "40G", "capacity_bps": 40e9, "cost": 300}]}}


def test_capacity_job_matches_the_library_and_its_whatif_holds(role_api: Any) -> None:
    client, h = role_api
    r = client.post(f"{NETS}/example/optimize/capacity", headers=h[Role.PLANNER],
                    json={"modules": MODULES, "threshold": 0.5, "survive": "n-1"})
    assert r.status_code == 202, r.text
    status = wait_job(client, r.json()["id"], h[Role.VIEWER])
    assert status["state"] == "done", status
    plan = client.get(f"/api/v1/jobs/{status['id']}/capacity-plan",
                      headers=h[Role.VIEWER]).json()
    assert plan["feasible"] and plan["upgrades"]
    library = plan_capacity(load_network(example_path()), ModuleCatalogue(default=LinkOffer(
        (Module(10e9, 100.0), Module(40e9, 300.0)))), threshold=0.5)
    assert plan["cost"] == pytest.approx(library.cost)
    assert plan["lp_bound"] <= plan["cost"] + 1e-6
    applied = client.post(f"{NETS}/example/whatif", headers=h[Role.PLANNER],
                          json=plan["whatif"]).json()
    assert applied["max_utilisation_after"] == pytest.approx(plan["worst_utilisation_normal"],
                                                             rel=1e-9)
    assert applied["max_utilisation_after"] <= 0.5 + 1e-9
    # the generic optimisation result serves it too
    generic = client.get(f"/api/v1/jobs/{status['id']}/result", headers=h[Role.VIEWER])
    assert generic.status_code == 200 and generic.json()["document"]["cost"] == plan["cost"]


def test_capacity_roles_bad_input_and_infeasible_plans(role_api: Any) -> None:
    client, h = role_api
    url = f"{NETS}/example/optimize/capacity"
    assert client.post(url, headers=h[Role.VIEWER], json={"modules": MODULES}).status_code \
        == 403
    bad = client.post(url, headers=h[Role.PLANNER],
                      json={"modules": {"default": {"modules": [{"capacity_bps": -1}]}}})
    assert bad.status_code == 422 and "capacity_bps" in bad.text
    bad = client.post(url, headers=h[Role.PLANNER],
                      json={"modules": MODULES, "candidates": [{"id": "x", "a": "nowhere",
                                                                "b": "ATLAM5", "metric": 1}]})
    assert bad.status_code == 422 and "nowhere" in bad.text
    assert client.post(f"{NETS}/nope/optimize/capacity", headers=h[Role.PLANNER],
                       json={"modules": MODULES}).status_code == 404
    # one 10G module at most per link cannot hold Abilene's traffic x 50 under failures
    tight = {"default": {"modules": [{"capacity_bps": 10e9, "cost": 1}], "max_modules": 1}}
    r = client.post(url, headers=h[Role.PLANNER],
                    json={"modules": tight, "growth": 50, "threshold": 0.5})
    status = wait_job(client, r.json()["id"], h[Role.VIEWER])
    assert status["state"] == "done"
    plan = client.get(f"/api/v1/jobs/{status['id']}/capacity-plan",
                      headers=h[Role.VIEWER]).json()
    assert plan["feasible"] is False
    assert plan["binding"]["constraint"] == "link capacity"
    assert plan["binding"]["link"] in plan["explanation"]
