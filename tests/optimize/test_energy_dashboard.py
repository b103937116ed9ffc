"""The Energy section (Optimise tab) in headless Chromium against a real server: the saving
is the job's, and each hour the slider shows is painted with that hour's sleeping links down
and the maximum utilisation networkx ECMP gives without them at the hour's level."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nettwin.api import Role
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.reference import reference_ecmp
from tests.api.test_dashboard import _client, _page, _pct, site, wait_js

__all__ = ["site"]  # the module-scoped server + browser fixture, shared


def _mlu_without(network: Any, asleep: list[str], level: float) -> float:
    up = np.repeat([lid not in asleep for lid in network.links], 2)
    ref = reference_ecmp(network, up, network.demands.rate_bps * level)
    cap = np.array([c for lk in network.links.values()
                    for c in (lk.capacity_ab_bps, lk.capacity_ba_bps)])
    return float((ref.arc_load_bps / cap)[up].max())


def test_energy_panel_slides_through_the_day(site: dict[str, Any]) -> None:
    network = load_network(example_path())
    page = _page(site, Role.PLANNER)
    page.click("[data-tab=optimise]")
    page.fill("#energy-profile", "0.3, 0.3, 0.4, 0.6, 0.9, 1.0")
    page.fill("#energy-dwell", "1")
    page.click("#energy-run")
    wait_js(page, "!!document.querySelector('#energy-summary') || "
                  "!!document.querySelector('#energy-error')", timeout_s=90)
    assert page.locator("#energy-error").count() == 0, page.inner_text("#energy-result")
    job = page.get_attribute("#energy-result", "data-job")
    with _client(site, Role.VIEWER) as api:
        doc = api.get(f"/api/v1/jobs/{job}/result").json()["document"]
    assert page.inner_text("#energy-saved") == _pct(doc["energy_saved_fraction"])
    assert page.inner_text("#energy-sla") == "0"
    assert page.locator(".e-bar").count() == 6
    levels = [0.3, 0.3, 0.4, 0.6, 0.9, 1.0]
    assert any(r["asleep"] for r in doc["intervals"]), "nothing sleeps: a vacuous test"
    for hour in (0, 5):
        page.fill("#energy-slider", str(hour))
        wait_js(page, f"document.querySelector('#energy-now').dataset.hour === '{hour}'")
        row = doc["intervals"][hour]
        down = set(page.eval_on_selector_all("line.arc.down",
                                             "ls => ls.map(l => l.dataset.link)"))
        assert down == set(row["asleep"])
        oracle = _mlu_without(network, row["asleep"], levels[hour])
        assert row["mlu"] == pytest.approx(oracle, rel=1e-9)
        assert page.inner_text("#energy-mlu") == _pct(oracle)
        assert page.inner_text("#energy-whatif-mlu") == _pct(oracle)
    page.screenshot(path=str(site["shots"] / "energy.png"))
    assert not page.errors, page.errors
    # the section lives in the Optimise tab: the tab bar keeps one line and fits the panel
    assert page.eval_on_selector("aside nav", "n => n.scrollWidth <= n.clientWidth")
