"""The capacity plan in the dashboard (real Chromium against a real server): the figures
and upgrades are the API's plan, the map after the plan is networkx ECMP on the upgraded
network, the upgraded links are highlighted."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nettwin.api import Role
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.optimize.capacity import (
    LinkOffer,
    Module,
    ModuleCatalogue,
    apply_capacity_plan,
    plan_capacity,
)
from nettwin.reference import reference_ecmp
from tests.api.test_dashboard import (  # the dashboard tests' server, browser and helpers
    _client,
    _expected_buckets,
    _page,
    _pct,
    _wait_buckets,
    site,
    wait_js,
)

__all__ = ["site"]  # a fixture, used by name


def _run(page: Any, module_g: str, cost: str, threshold: str) -> None:
    page.click("[data-basis=plan]")  # the planner works on the plan: compare like with like
    page.click("[data-tab=optimise]")
    page.fill("#cap-module", module_g)
    page.fill("#cap-cost", cost)
    page.fill("#cap-threshold", threshold)
    page.click("#cap-run")
    wait_js(page, "!!document.querySelector('#cap-summary') || "
                  "!!document.querySelector('#cap-error')", timeout_s=90)


def test_capacity_plan_on_the_map_is_what_the_engine_confirms(site: dict[str, Any]) -> None:
    network = load_network(example_path())
    page = _page(site, Role.PLANNER)
    _run(page, "10", "1000", "0.5")
    assert page.locator("#cap-error").count() == 0, page.inner_text("#cap-result")
    job = page.get_attribute("#cap-result", "data-job")
    with _client(site, Role.VIEWER) as api:
        plan = api.get(f"/api/v1/jobs/{job}/capacity-plan").json()
    library = plan_capacity(network, ModuleCatalogue(default=LinkOffer((Module(10e9, 1000),))),
                            threshold=0.5)
    assert plan["cost"] == pytest.approx(library.cost) and plan["upgrades"]
    assert page.inner_text("#cap-worst-normal") == _pct(plan["worst_utilisation_normal"])
    assert page.inner_text("#cap-worst-failure") == _pct(plan["worst_utilisation_failure"])
    rows = page.eval_on_selector_all(
        "#cap-upgrades-table tbody tr", "rs => rs.map(r => r.cells[0].textContent)")
    assert sorted(rows) == sorted(u["link"] for u in plan["upgrades"])
    # the map after the plan: networkx ECMP on the upgraded network
    planned = apply_capacity_plan(network, library)
    up = np.ones(2 * len(network.links), bool)
    load = reference_ecmp(planned, up, network.demands.rate_bps).arc_load_bps
    expected = _expected_buckets(planned, load)
    assert _wait_buckets(page, expected) == expected
    marked = set(page.eval_on_selector_all("line.arc.optimised",
                                           "ls => ls.map(l => l.dataset.link)"))
    assert marked == {u["link"] for u in plan["upgrades"]}
    page.screenshot(path=str(site["shots"] / "capacity-plan.png"))
    assert not page.errors, page.errors

