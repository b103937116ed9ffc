"""The dashboard in a real headless Chromium (Debian's package, driven by Playwright), against
a real server on loopback. Every flow is checked against an oracle: the networkx ECMP
reference for colours and services, brute-force single failures for the N-1 view, the API's
own answers for alarms, the radio model for the storm.

Screenshots go to NETTWIN_SCREENSHOT_DIR (default: the test's temporary folder).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.reference import reference_ecmp
from tests.api.conftest import running_server

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("NETTWIN_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Chromium not installed (make test installs it)")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# the dashboard's utilisation buckets (app.js colour())
BUCKETS = {"rgb(46, 157, 75)": 0, "rgb(227, 196, 0)": 1, "rgb(240, 127, 19)": 2,
           "rgb(214, 31, 31)": 3}


def bucket(u: float) -> int:
    return 3 if u >= 1 else 2 if u >= 0.8 else 1 if u >= 0.5 else 0


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("dash")
    settings = Settings(data_dir=data)  # examples loaded, no simulated ticker: tests drive it
    store = TokenStore(settings.tokens_file)
    tokens = {role: store.create(role.name.lower(), role) for role in Role}
    shots = Path(os.environ.get("NETTWIN_SCREENSHOT_DIR") or data / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    with running_server(create_app(settings)) as port, \
            playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield {"base": f"http://127.0.0.1:{port}", "tokens": tokens, "browser": browser,
                   "shots": shots}
        finally:
            browser.close()


def _client(site: dict[str, Any], role: Role = Role.ADMIN) -> httpx.Client:
    return httpx.Client(base_url=site["base"], timeout=60,
                        headers={"Authorization": f"Bearer {site['tokens'][role]}"})


def _page(site: dict[str, Any], role: Role = Role.ADMIN, network: str = "example") -> Any:
    page = site["browser"].new_page(viewport={"width": 1400, "height": 860})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # the dashboard lives under a strict Content-Security-Policy: any violation fails
    page.on("console", lambda m: errors.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.errors = errors
    page.goto(f"{site['base']}/ui/?network={network}")
    page.fill("#token", site["tokens"][role])
    page.click("#login-btn")
    page.wait_for_selector("line.arc")
    return page


def _map_buckets(page: Any) -> dict[str, int]:
    strokes = page.eval_on_selector_all(
        "line.arc", "ls => ls.map(l => [l.dataset.arc, l.style.stroke])")
    return {arc: BUCKETS[stroke] for arc, stroke in strokes}


def _arc_labels(network: Any) -> list[str]:
    labels = []
    for lk in network.links.values():
        labels += [f"{lk.id} ({lk.a}->{lk.b})", f"{lk.id} ({lk.b}->{lk.a})"]
    return labels


def _expected_buckets(network: Any, load: np.ndarray) -> dict[str, int]:
    cap = np.array([c for lk in network.links.values()
                    for c in (lk.capacity_ab_bps, lk.capacity_ba_bps)])
    return {label: bucket(u) for label, u in zip(_arc_labels(network), load / cap, strict=True)}


def test_sign_in_is_required_and_a_bad_token_is_refused(site: dict[str, Any]) -> None:
    page = site["browser"].new_page()
    page.goto(f"{site['base']}/")
    assert page.url.endswith("/ui/")
    page.wait_for_selector("#login-form")
    page.fill("#token", "nt_not-a-real-token")
    page.click("#login-btn")
    playwright.expect(page.locator("#login-error")).not_to_be_empty()
    assert "sign in again" in page.inner_text("#login-error")
    assert page.is_hidden("#app")
    page.close()


def test_map_colours_follow_live_telemetry(site: dict[str, Any]) -> None:
    network = load_network(example_path())
    page = _page(site)
    assert page.locator("circle.node").count() == len(network.nodes)
    assert page.locator("line.arc").count() == 2 * len(network.links)
    with _client(site, Role.OPERATOR) as api:
        for scale in (1.0, 2.6):  # the second one overloads arcs: the stream must repaint
            assert api.post("/api/v1/networks/example/telemetry",
                            json={"scale": scale}).status_code == 200
            expected = _expected_buckets(
                network, reference_ecmp(network, demand_rate_bps=network.demands.rate_bps
                                        * scale).arc_load_bps)
            deadline = time.monotonic() + 10
            while _map_buckets(page) != expected and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _map_buckets(page) == expected
    assert 3 in expected.values()  # the overload is drawn red
    page.screenshot(path=str(site["shots"] / "live-overload.png"))
    assert not page.errors
    page.close()


def test_element_panel_shows_everything_about_a_link(site: dict[str, Any]) -> None:
    network = load_network(example_path())
    page = _page(site)
    link = network.links["Denver--Kansas-City"]
    page.click(f'line.hit[data-link="{link.id}"]', force=True)
    page.wait_for_selector("#element-title")
    assert page.inner_text("#element-title") == f"link {link.id}"
    attrs = page.inner_text("#element-attrs")
    assert f"capacity_ab_bps\t{link.capacity_ab_bps:.0f}" in attrs
    # services using the link: those whose demands the networkx reference routes over it
    arcs = {2 * list(network.links).index(link.id), 2 * list(network.links).index(link.id) + 1}
    index = {d: i for i, d in enumerate(network.demand_ids)}
    using = []
    for sid, svc in network.services.items():
        rate = np.zeros(len(network.demands))
        rate[[index[d] for d in svc.demands]] = 1.0
        if reference_ecmp(network, demand_rate_bps=rate).arc_load_bps[list(arcs)].sum() > 0:
            using.append(svc.name or sid)
    shown = page.inner_text("#element-services")
    for name in network.services:
        svc = network.services[name]
        assert ((svc.name or name) in shown) == ((svc.name or name) in using)
    assert using, "the example should route at least one service over Denver--Kansas-City"
    assert page.locator("#element-history").count() == 1
    page.screenshot(path=str(site["shots"] / "element-link.png"))
    page.click('circle.node[data-node="Denver"]')
    playwright.expect(page.locator("#element-title")).to_have_text("node Denver")
    assert not page.errors
    page.close()


def test_alarms_acknowledge_and_clear(site: dict[str, Any]) -> None:
    with _client(site, Role.OPERATOR) as api:
        api.post("/api/v1/networks/example/telemetry", json={"scale": 2.6}).raise_for_status()
        page = _page(site, Role.OPERATOR)
        page.click("[data-tab=alarms]")
        page.wait_for_selector("#alarms-table tr[data-alarm] button.ack")
        row = page.locator("#alarms-table tr[data-alarm]").first
        alarm_id = row.get_attribute("data-alarm")
        row.locator("button.ack").click()
        page.wait_for_selector(f'tr[data-alarm="{alarm_id}"] >> text=acknowledged by operator')
        doc = api.get(f"/tmf-api/alarmManagement/v4/alarm/{alarm_id}").json()
        assert doc["ackState"] == "acknowledged" and doc["ackUserId"] == "operator"
        page.locator(f'tr[data-alarm="{alarm_id}"] button.clear').click()
        page.wait_for_selector(f'tr[data-alarm="{alarm_id}"]', state="detached")
        assert api.get(f"/tmf-api/alarmManagement/v4/alarm/{alarm_id}").json()["state"] \
            == "cleared"
        page.screenshot(path=str(site["shots"] / "alarms.png"))
        assert not page.errors
        page.close()


def test_whatif_draws_the_failure_on_the_map(site: dict[str, Any]) -> None:
    network = load_network(example_path())
    page = _page(site, Role.PLANNER)
    page.click("[data-tab=whatif]")
    failed = "Denver--Kansas-City"
    page.click(f'line.hit[data-link="{failed}"]', force=True)
    assert page.inner_text("#whatif-links") == failed
    page.click("#whatif-run")
    page.wait_for_selector("#whatif-verdict")
    i = list(network.links).index(failed)
    up = np.ones(2 * len(network.links), bool)
    up[[2 * i, 2 * i + 1]] = False
    expected = _expected_buckets(network, reference_ecmp(network, up).arc_load_bps)
    drawn = _map_buckets(page)
    for arc, b in expected.items():
        if not arc.startswith(failed + " "):
            assert drawn[arc] == b, arc
    classes = page.eval_on_selector_all(f'line.arc[data-link="{failed}"]',
                                        "ls => ls.map(l => l.getAttribute('class'))")
    assert all("down" in c for c in classes)
    with _client(site, Role.PLANNER) as api:
        diff = api.post("/api/v1/networks/example/whatif",
                        json={"changes": [{"fail_link": failed}], "basis": "plan"}).json()
    assert page.inner_text("#whatif-verdict") == diff["verdict"]
    page.screenshot(path=str(site["shots"] / "whatif.png"))
    page.click("#back-live")
    assert page.inner_text("#view-mode") == "live"
    assert not page.errors
    page.close()


def test_viewer_cannot_run_a_whatif(site: dict[str, Any]) -> None:
    page = _page(site, Role.VIEWER)
    page.click("[data-tab=whatif]")
    page.select_option("#whatif-node", "Denver")
    page.click("#whatif-run")
    page.wait_for_selector("#whatif-result .error")
    assert "needs role planner" in page.inner_text("#whatif-result")
    page.close()


def test_n1_view_shows_the_brute_force_worst_case(site: dict[str, Any]) -> None:
    network = load_network(example_path())
    page = _page(site, Role.PLANNER)
    page.click("[data-tab=n1]")
    page.click("#n1-run")
    page.wait_for_selector("#n1-table", timeout=120_000)
    m = 2 * len(network.links)
    worst = np.zeros(m)
    for i in range(len(network.links)):
        up = np.ones(m, bool)
        up[[2 * i, 2 * i + 1]] = False
        worst = np.maximum(worst, np.where(up, reference_ecmp(network, up).arc_load_bps, 0.0))
    assert _map_buckets(page) == _expected_buckets(network, worst)
    page.screenshot(path=str(site["shots"] / "n1.png"))
    assert not page.errors
    page.close()


def test_storm_shows_modulation_on_the_microwave_map(site: dict[str, Any]) -> None:
    page = _page(site, Role.PLANNER, network="munich")
    modes_before = dict(page.eval_on_selector_all(
        "text.mod", "ts => ts.map(t => [t.dataset.mod, t.textContent])"))
    assert len(modes_before) == 33  # every radio hop shows its clear-sky modulation
    page.click("[data-tab=storm]")
    page.click("#storm-run")
    page.wait_for_selector("#storm-verdict", timeout=120_000)
    with _client(site, Role.PLANNER) as api:
        doc = api.post("/api/v1/networks/munich/storm", json={}).json()
    modes_after = dict(page.eval_on_selector_all(
        "text.mod", "ts => ts.map(t => [t.dataset.mod, t.textContent])"))
    assert modes_after == {row["link"]: row["mode"] for row in doc["links"]}
    assert modes_after != modes_before  # the squall line pushes some hops down the ladder
    shown = page.inner_text("#storm-table")
    for row in doc["links"]:
        assert (row["link"] in shown) == (row["mode"] != row["clear_sky_mode"])
    assert page.locator("circle.cell").count() == len(doc["cells_at_worst"]) > 0
    assert re.search(r"worst rain fade [\d.]+ dB", page.inner_text("#storm-verdict"))
    page.screenshot(path=str(site["shots"] / "storm.png"))
    assert not page.errors
    page.close()
