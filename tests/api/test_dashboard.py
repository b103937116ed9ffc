"""The dashboard in a real headless Chromium (Debian's package, driven by Playwright), against
a real server on loopback. Every flow is checked against an oracle: the networkx ECMP
reference for colours and services, brute-force single failures for the N-1 view, the API's
own answers for alarms, the radio model for the storm. The viewport is 1280x720 (a laptop):
the legend and tables must fit it.

Screenshots go to NETTWIN_SCREENSHOT_DIR (default: the test's temporary folder).
"""

from __future__ import annotations

import csv
import io
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
from nettwin.engine import compile_network, simulate
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live.twin import live_network
from nettwin.reference import reference_ecmp
from tests.api.conftest import running_server
from tests.conftest import data_path

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



def wait_js(page: Any, expression: str, timeout_s: float = 15.0) -> None:
    """Poll a JavaScript expression until it is true. Playwright's wait_for_function would
    evaluate a string inside the page, which the dashboard's Content-Security-Policy
    (no 'unsafe-eval') rightly forbids; evaluate() goes through the debugging protocol."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s} s: {expression}")
        time.sleep(0.05)

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
    page = site["browser"].new_page(viewport={"width": 1280, "height": 720},
                                    accept_downloads=True)
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
    wait_js(page, "document.querySelector('#max-util').textContent.length > 0")
    return page


def _telemetry(site: dict[str, Any], scale: float, network: str = "example") -> None:
    with _client(site, Role.OPERATOR) as api:
        api.post(f"/api/v1/networks/{network}/telemetry",
                 json={"scale": scale}).raise_for_status()


def _wait_buckets(page: Any, expected: dict[str, int]) -> dict[str, int]:
    deadline = time.monotonic() + 10
    while _map_buckets(page) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return _map_buckets(page)


def _pct(u: float) -> str:
    return f"{100 * u:.1f} %"


def _map_buckets(page: Any) -> dict[str, int]:
    strokes = page.eval_on_selector_all(
        "line.arc", "ls => ls.map(l => [l.dataset.arc, l.style.stroke])")
    return {arc: BUCKETS.get(stroke, -1) for arc, stroke in strokes}  # -1: not painted yet


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


def test_no_telemetry_shows_the_plan_and_says_so(site: dict[str, Any]) -> None:
    """Munich has no telemetry in this server: the map is the plan's utilisation (the
    networkx reference), the header and a note say so; 'plan' shows the same colours."""
    network = load_network(example_path("munich-backhaul"))
    page = _page(site, network="munich")
    expected = _expected_buckets(network, reference_ecmp(network).arc_load_bps)
    assert _map_buckets(page) == expected
    assert page.inner_text("#view-mode") == "plan (no telemetry)"
    assert "No live telemetry" in page.inner_text("#map-note")
    page.click("[data-basis=plan]")
    assert page.inner_text("#view-mode") == "plan" and page.is_hidden("#map-note")
    assert _map_buckets(page) == expected
    assert not page.errors
    page.close()


def test_upload_from_the_dashboard_shows_its_planned_overload(site: dict[str, Any],
                                                              tmp_path: Path) -> None:
    path = data_path("sndlib", "xml", "polska.xml")
    network = load_network(path)
    page = _page(site)
    page.set_input_files("#upload-file", str(path))
    wait_js(page, "document.querySelector('#upload-msg').textContent.includes('added')")
    assert (f"added polska: {len(network.nodes)} nodes, {len(network.links)} links"
            in page.inner_text("#upload-msg"))
    # the message takes room from the map, never pushes the legend off the screen
    assert page.eval_on_selector("#legend", "l => l.getBoundingClientRect().bottom") <= 720
    # the new network is selected, by its name (not its hex id), drawn with the plan's load
    selected = page.eval_on_selector("#network", "s => s.selectedOptions[0].textContent")
    assert selected.startswith("polska") and not re.search(r"[0-9a-f]{12}", selected)
    wait_js(page, "document.querySelectorAll('line.arc').length === "
                           f"{2 * len(network.links)}")
    expected = _expected_buckets(network, reference_ecmp(network).arc_load_bps)
    assert _wait_buckets(page, expected) == expected
    assert 3 in expected.values()  # overloaded in plan: red, not green "0 %"
    cap = np.array([c for lk in network.links.values()
                    for c in (lk.capacity_ab_bps, lk.capacity_ba_bps)])
    peak = (reference_ecmp(network).arc_load_bps / cap).max()
    assert _pct(peak) in page.inner_text("#max-util")
    assert page.inner_text("#view-mode") == "plan (no telemetry)"
    page.screenshot(path=str(site["shots"] / "upload-plan.png"))
    # a bad file is refused with the importer's message, and nothing is added
    bad = tmp_path / "broken.graphml"
    bad.write_text("<graphml><graph><node id='a'/><edge source='a' target='zz'/></graph>")
    count = page.locator("#network option").count()
    page.set_input_files("#upload-file", str(bad))
    page.wait_for_selector("#upload-msg.error")
    assert "could not add broken.graphml" in page.inner_text("#upload-msg")
    assert page.locator("#network option").count() == count
    assert not page.errors
    page.close()


def test_map_colours_follow_live_telemetry(site: dict[str, Any]) -> None:
    network = load_network(example_path())
    page = _page(site)
    assert page.locator("circle.node").count() == len(network.nodes)
    assert page.locator("line.arc").count() == 2 * len(network.links)
    # the second one overloads arcs (the stream must repaint), below the 1.5 x line rate
    # past which the live twin refuses a counter as impossible (NETTWIN_RATE_MARGIN)
    for scale in (1.0, 2.2):
        _telemetry(site, scale)
        expected = _expected_buckets(
            network, reference_ecmp(network, demand_rate_bps=network.demands.rate_bps
                                    * scale).arc_load_bps)
        assert _wait_buckets(page, expected) == expected
    assert 3 in expected.values()  # the overload is drawn red
    assert page.inner_text("#view-mode").startswith("live · ")
    page.screenshot(path=str(site["shots"] / "live-overload.png"))
    assert not page.errors
    page.close()


def test_element_panel_shows_live_and_plan_side_by_side(site: dict[str, Any]) -> None:
    network = load_network(example_path())
    _telemetry(site, 0.7)
    page = _page(site)
    link = network.links["Denver--Kansas-City"]
    page.click(f'line.hit[data-link="{link.id}"]', force=True)
    page.wait_for_selector("#element-title")
    assert page.inner_text("#element-title") == f"link {link.id}"
    assert page.locator(f'line.halo[data-halo="{link.id}"]').count() == 1  # highlighted
    attrs = page.inner_text("#element-attrs")
    assert "capacity a→b" in attrs and f"{link.capacity_ab_bps / 1e9:.2f} Gbit/s" in attrs
    assert "_bps" not in attrs and f"{link.length_km:.1f} km" in attrs
    # live and plan columns: the networkx reference at 0.7x and at 1x
    i = list(network.links).index(link.id)
    cap = np.array([link.capacity_ab_bps, link.capacity_ba_bps])
    plan = reference_ecmp(network).arc_load_bps[[2 * i, 2 * i + 1]]
    live = reference_ecmp(network, demand_rate_bps=network.demands.rate_bps * 0.7
                          ).arc_load_bps[[2 * i, 2 * i + 1]]
    rows = page.eval_on_selector_all("#element-load tbody tr",
                                     "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    a, b = (network.nodes[x].name or x for x in (link.a, link.b))
    assert [r[0] for r in rows] == [f"{a} → {b}", f"{b} → {a}"]  # human names
    for j, row in enumerate(rows):
        assert row[1] == _pct(live[j] / cap[j]) and row[2] == _pct(plan[j] / cap[j])
        assert row[3] == f"{plan[j] / 1e9:.2f} Gbit/s"
    # the map colours this link with the live value shown in the panel (highlighted column)
    drawn = _map_buckets(page)
    for j, label in enumerate(_arc_labels(network)[2 * i: 2 * i + 2]):
        assert drawn[label] == bucket(live[j] / cap[j])
    assert page.locator("#element-load td.shown").count() == 2
    # services using the link: those whose demands the networkx reference routes over it
    index = {d: k for k, d in enumerate(network.demand_ids)}
    using = []
    for sid, svc in network.services.items():
        rate = np.zeros(len(network.demands))
        rate[[index[d] for d in svc.demands]] = 1.0
        if reference_ecmp(network, demand_rate_bps=rate).arc_load_bps[[2 * i, 2 * i + 1]
                                                                        ].sum() > 0:
            using.append(svc.name or sid)
    shown = page.inner_text("#element-services")
    for name, svc in network.services.items():
        assert ((svc.name or name) in shown) == ((svc.name or name) in using)
    assert using, "the example should route at least one service over Denver--Kansas-City"
    spark = page.inner_text("#element-history")
    assert "samples" in spark and re.search(r"\d\d:\d\d:\d\d", spark)  # a time axis
    assert page.eval_on_selector_all(
        "#element .tbl", "ts => ts.every(t => t.scrollWidth <= t.clientWidth + 1)")
    page.screenshot(path=str(site["shots"] / "element-link.png"))
    page.click('circle.node[data-node="Denver"]')
    playwright.expect(page.locator("#element-title")).to_have_text("node Denver")
    assert page.locator('circle.node.selected[data-node="Denver"]').count() == 1
    assert page.locator("line.halo").count() == 0
    assert not page.errors
    page.close()


def test_search_finds_nodes_links_and_services(site: dict[str, Any]) -> None:
    network = load_network(example_path())
    page = _page(site)
    page.fill("#search", "houst")
    page.press("#search", "Enter")
    wait_js(page, "document.querySelector('#element-title')?.textContent === "
                           "'node Houston'")
    assert page.locator('circle.node.selected[data-node="Houston"]').count() == 1
    page.fill("#search", "link: Denver--Kansas-City")
    page.press("#search", "Enter")
    wait_js(page, "document.querySelector('#element-title')?.textContent === "
                           "'link Denver--Kansas-City'")
    svc = next(iter(network.services.values()))
    page.fill("#search", f"service: {svc.name}")
    page.press("#search", "Enter")
    wait_js(page, "document.querySelector('#element-title')?.textContent === "
                           f"'service {svc.name}'")
    assert f"{len(svc.demands)}" in page.inner_text("#element")
    page.fill("#search", "Atlantis")
    page.press("#search", "Enter")
    page.wait_for_selector("#element .error")
    assert not page.errors
    page.close()


def test_alarms_one_per_link_sorted_filtered_acknowledged_cleared(site: dict[str, Any]
                                                                 ) -> None:
    _telemetry(site, 2.6)
    with _client(site, Role.OPERATOR) as api:
        page = _page(site, Role.OPERATOR)
        page.click("[data-tab=alarms]")
        page.wait_for_selector("#alarms-table tr[data-alarm] button.ack")
        alarms = [a for a in api.get("/tmf-api/alarmManagement/v4/alarm").json()
                  if a["sourceSystemId"] == "nettwin/example" and a["state"] != "cleared"]
        links = load_network(example_path()).links
        def owner(obj: str) -> str:
            link = obj.split(" (", maxsplit=1)[0]
            return link if link in links else obj

        objects = {(owner(a["alarmedObject"]["id"]), a["alarmType"]) for a in alarms}
        rows = page.locator("#alarms-table tbody tr")
        assert rows.count() == len(objects) < len(alarms)  # both directions fold into one
        texts = page.eval_on_selector_all(
            "#alarms-table tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.innerText))")
        for cells in texts:
            assert re.fullmatch(r"\d\d:\d\d:\d\d", cells[3])  # raised at
            assert re.fullmatch(r"\d+ s|\d+ min \d\d s", cells[4])  # open for
        # sort by object; filter by text
        page.click("#alarms-table th[data-asort=object]")
        shown = page.eval_on_selector_all("#alarms-table tbody tr td:nth-child(2)",
                                          "ts => ts.map(t => t.textContent)")
        assert shown == sorted(shown, key=str.lower)
        target = shown[0]
        page.fill("#alarms-search", target)
        assert set(page.eval_on_selector_all(
            "#alarms-table tbody tr td:nth-child(2)", "ts => ts.map(t => t.textContent)")) \
            == {target}
        page.fill("#alarms-search", "")
        # acknowledge and clear a link's row: every alarm of that link follows
        row = page.locator("#alarms-table tr[data-alarm]").first
        ids = row.get_attribute("data-alarms").split()
        first = row.get_attribute("data-alarm")
        row.locator("button.ack").click()
        page.wait_for_selector(f'tr[data-alarm="{first}"] >> text=acknowledged by operator')
        for aid in ids:
            doc = api.get(f"/tmf-api/alarmManagement/v4/alarm/{aid}").json()
            assert doc["ackState"] == "acknowledged" and doc["ackUserId"] == "operator"
        page.locator(f'tr[data-alarm="{first}"] button.clear').click()
        page.wait_for_selector(f'tr[data-alarm="{first}"]', state="detached")
        for aid in ids:
            assert api.get(f"/tmf-api/alarmManagement/v4/alarm/{aid}").json()["state"] \
                == "cleared"
        page.screenshot(path=str(site["shots"] / "alarms.png"))
        assert not page.errors
        page.close()


def test_whatif_runs_on_live_and_plan_without_mixing(site: dict[str, Any]) -> None:
    network = load_network(example_path())
    compiled = compile_network(network)
    _telemetry(site, 0.9)
    page = _page(site, Role.PLANNER)
    page.click("[data-tab=whatif]")
    failed = "Denver--Kansas-City"
    page.click(f'line.hit[data-link="{failed}"]', force=True)
    assert page.inner_text("#whatif-links") == failed
    i = list(network.links).index(failed)
    up = np.ones(2 * len(network.links), bool)
    up[[2 * i, 2 * i + 1]] = False
    for basis, level in (("live", 0.9), ("plan", 1.0)):
        page.click(f"[data-basis={basis}]")
        page.click("#whatif-run")
        page.wait_for_selector("#whatif-verdict")
        # every arc on the same basis, the link failed: networkx ECMP on the plan, or on the
        # live twin's matrix (estimated from the rates measured at this level)
        on = network if basis == "plan" else live_network(network, {}, simulate(
            compiled, demand_rate_bps=compiled.demand_rate_bps * level).arc_load_bps)
        expected = _expected_buckets(
            network, reference_ecmp(on, up, on.demands.rate_bps).arc_load_bps)
        drawn = _map_buckets(page)
        for arc, b in expected.items():
            if not arc.startswith(failed + " "):
                assert drawn[arc] == b, (basis, arc)
        classes = page.eval_on_selector_all(f'line.arc[data-link="{failed}"]',
                                            "ls => ls.map(l => l.getAttribute('class'))")
        assert all("down" in c for c in classes)
        with _client(site, Role.PLANNER) as api:
            diff = api.post("/api/v1/networks/example/whatif",
                            json={"changes": [{"fail_link": failed}], "basis": basis}).json()
        assert page.inner_text("#whatif-verdict") == diff["verdict"]
        assert page.inner_text("#view-mode") == f"what-if on {basis}"
        assert f"traffic at {level:.2f} x plan" in page.inner_text("#basis-note") \
            if basis == "live" else "planned traffic matrix" in page.inner_text("#basis-note")
        assert page.eval_on_selector_all(
            "#whatif-result .tbl", "ts => ts.every(t => t.scrollWidth <= t.clientWidth + 1)")
        if basis == "live":
            page.screenshot(path=str(site["shots"] / "whatif.png"))
            # the CSV of the changes table holds the raw numbers of the API's diff
            with page.expect_download() as dl:
                page.click('#whatif-table button[data-csv]')
            rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
            by_arc = {c["arc"]: c for c in diff["arc_changes"]}
            assert len(rows) == len([c for c in diff["arc_changes"]
                                     if c["utilisation_after"] is not None
                                     and c["utilisation_before"] is not None])
            for r in rows:
                assert float(r["utilisation_after"]) == pytest.approx(
                    by_arc[r["arc"]]["utilisation_after"], rel=1e-6)
    # switching the basis, or changing the inputs, drops the result and the result map
    page.click("[data-basis=live]")
    assert page.inner_text("#whatif-result") == ""
    assert page.inner_text("#view-mode").startswith("live · ")
    page.click("#whatif-run")
    page.wait_for_selector("#whatif-verdict")
    page.click(f'line.hit[data-link="{failed}"]', force=True)  # un-pick: inputs changed
    page.wait_for_selector("#whatif-stale")
    assert page.inner_text("#view-mode").startswith("live · ")
    assert page.locator("line.arc.selected").count() == 0
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
    _telemetry(site, 1.2)
    page = _page(site, Role.PLANNER)
    page.click("[data-tab=n1]")
    page.click("#n1-run")  # on live: the reference at the measured level 1.2
    page.wait_for_selector("#n1-table", timeout=120_000)
    m = 2 * len(network.links)
    worst = np.zeros(m)
    rate = network.demands.rate_bps * 1.2
    for i in range(len(network.links)):
        up = np.ones(m, bool)
        up[[2 * i, 2 * i + 1]] = False
        worst = np.maximum(worst, np.where(up, reference_ecmp(network, up, rate).arc_load_bps,
                                           0.0))
    assert _map_buckets(page) == _expected_buckets(network, worst)
    assert page.inner_text("#view-mode") == "N-1 worst case on live"
    # tables fit the panel at 1280x720 (nothing cut off at the edge)
    assert page.eval_on_selector_all(
        "#n1-result .tbl", "ts => ts.every(t => t.scrollWidth <= t.clientWidth + 1)")
    page.screenshot(path=str(site["shots"] / "n1.png"))
    # another network: no N-1 result, no picked links, its own map
    page.select_option("#network", "munich")
    wait_js(page, "document.querySelectorAll('text.mod').length > 0")
    assert page.inner_text("#n1-result") == "" and page.is_hidden("#back-live")
    page.select_option("#network", "example")
    wait_js(page, "document.querySelectorAll('text.mod').length === 0")
    wait_js(page, "document.querySelector('#view-mode').textContent.startsWith('live')")
    assert page.inner_text("#n1-result") == ""
    assert not page.errors
    page.close()


def test_storm_slider_replays_every_minute(site: dict[str, Any]) -> None:
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
    assert page.eval_on_selector("#storm-result .tbl",
                                 "t => t.scrollWidth <= t.clientWidth + 1")
    # the header holds everything at 1280 px, the view badge whole
    assert page.eval_on_selector("#view-mode", "v => v.scrollWidth <= v.clientWidth")
    assert page.eval_on_selector("header", "h => h.scrollWidth <= h.clientWidth")
    page.screenshot(path=str(site["shots"] / "storm.png"))
    # the slider: minute 0 is clear sky; each frame is the radio model's modes at that minute
    frames = doc["frames"]
    network = load_network(example_path("munich-backhaul"))
    for k in (0, len(frames) // 3, len(frames) - 1):
        page.eval_on_selector("#timebar-range", "(r, k) => { r.value = k; "
                              "r.dispatchEvent(new Event('input')); }", k)
        modes = dict(page.eval_on_selector_all(
            "text.mod", "ts => ts.map(t => [t.dataset.mod, t.textContent])"))
        assert modes == frames[k]["modes"]
        expected = {label: bucket(u) for label, u, up in zip(
            _arc_labels(network), frames[k]["utilisation"], frames[k]["up"], strict=True)
            if up}
        drawn = _map_buckets(page)
        assert {a: drawn[a] for a in expected} == expected
        assert page.locator("circle.cell").count() == len(frames[k]["cells"])
        assert page.inner_text("#view-mode") == f"storm · minute {frames[k]['minute']:g}"
    assert set(frames[0]["modes"].values()) <= {row["clear_sky_mode"] for row in doc["links"]}
    assert not page.errors
    page.close()


def test_zoom_pan_labels_and_legend_fit(site: dict[str, Any]) -> None:
    page = _page(site, network="munich")

    def overlaps() -> int:
        return int(page.evaluate("""() => {
          const bs = [...document.querySelectorAll('text.label')]
            .map(t => t.getBoundingClientRect());
          let n = 0;
          for (let i = 0; i < bs.length; i++) for (let j = i + 1; j < bs.length; j++) {
            const a = bs[i], b = bs[j];
            if (a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top) n++;
          }
          return n; }"""))

    fitted = page.locator("text.label").count()
    assert overlaps() == 0 and fitted > 0
    legend = page.eval_on_selector("#legend", "l => [l.scrollWidth, l.clientWidth, "
                                   "l.getBoundingClientRect().bottom]")
    assert legend[0] <= legend[1] and legend[2] <= 720
    before = page.eval_on_selector('circle.node[data-node="Munich-Core"]',
                                   "c => c.getBoundingClientRect().x")
    page.click("#zoom-in")
    page.click("#zoom-in")
    assert overlaps() == 0
    zoomed = page.locator("text.label").count()
    box = page.eval_on_selector("#map", "m => m.getBoundingClientRect().toJSON()")
    page.mouse.move(box["x"] + 300, box["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] + 400, box["y"] + 350, steps=5)
    page.mouse.up()
    after = page.eval_on_selector('circle.node[data-node="Munich-Core"]',
                                  "c => c.getBoundingClientRect().x")
    assert after != before
    page.click("#zoom-reset")
    assert page.eval_on_selector('circle.node[data-node="Munich-Core"]',
                                 "c => c.getBoundingClientRect().x") == pytest.approx(before)
    assert zoomed >= 1
    page.screenshot(path=str(site["shots"] / "zoom.png"))
    assert not page.errors
    page.close()


def test_docs_render_offline(site: dict[str, Any]) -> None:
    """Swagger UI from the bundled assets, with every request off loopback refused."""
    page = site["browser"].new_page()
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(site["base"]):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(f"{site['base']}/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "nettwin" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock").count() >= 20  # the operations are listed
    assert not outside
    page.close()


def test_time_travel_shows_the_recorded_state(site: dict[str, Any]) -> None:
    """Counters posted for the last ten minutes (1.5x plan, then a link down): the history
    slider shows the state the live twin recorded at each instant, and says when there is
    nothing recorded."""
    from nettwin.live.simulated import CounterFeed

    network = load_network(example_path())
    feed = CounterFeed(network)
    cut = "Seattle--Denver"
    i = list(network.links).index(cut)
    up = np.ones(2 * len(network.links), bool)
    up[[2 * i, 2 * i + 1]] = False
    rate = network.demands.rate_bps * 1.5
    before, after = reference_ecmp(network, demand_rate_bps=rate).arc_load_bps, \
        reference_ecmp(network, up, rate).arc_load_bps
    now = time.time()
    # a network of its own: the example's live twin holds the other tests' telemetry, whose
    # counters in these ten minutes would interleave with this feed's
    with _client(site) as api, example_path().open("rb") as fh:
        nid = api.post("/api/v1/networks", files={"file": ("abilene.yaml", fh)}).json()["id"]
    with _client(site, Role.OPERATOR) as api:
        for k in range(11):
            loads, state = (before, None) if k < 8 else (after, up)
            records = feed.step(now - 600 + 60 * k, loads, 60.0 if k else 0.0, arc_up=state)
            api.post(f"/api/v1/networks/{nid}/observations",
                     json={"items": records}).raise_for_status()
    page = _page(site, network=nid)
    page.click("[data-tab=history]")
    page.click("#history-open")
    page.wait_for_selector("#history-summary")
    expected = _expected_buckets(network, after)
    drawn = _wait_buckets(page, expected)
    assert {a: drawn[a] for a in expected if not a.startswith(cut + " ")} == \
        {a: b for a, b in expected.items() if not a.startswith(cut + " ")}
    assert all("down" in c for c in page.eval_on_selector_all(
        f'line.arc[data-link="{cut}"]', "ls => ls.map(l => l.getAttribute('class'))"))
    assert "1 link(s) down" in page.inner_text("#history-summary")
    # five minutes ago (step 110 of 120, 30 s apart): before the cut
    page.eval_on_selector("#timebar-range", "r => { r.value = 110; "
                          "r.dispatchEvent(new Event('input')); }")
    wait_js(page, "document.querySelector('#history-summary').textContent"
                           ".includes('0 link(s) down')")
    expected = _expected_buckets(network, before)
    assert _wait_buckets(page, expected) == expected
    assert page.inner_text("#view-mode").startswith("history · ")
    # an hour ago: nothing recorded, and the map says so
    page.eval_on_selector("#timebar-range", "r => { r.value = 0; "
                          "r.dispatchEvent(new Event('input')); }")
    wait_js(page, "document.querySelector('#map-note').textContent"
                           ".startsWith('No measurements')")
    assert set(_map_buckets(page).values()) == {-1}  # grey "no data", not a green 0 %
    assert page.inner_text("#max-util") == "max — (no data)"
    page.screenshot(path=str(site["shots"] / "history.png"))
    page.click("#back-live")
    assert not page.inner_text("#view-mode").startswith("history")
    assert page.is_hidden("#timebar")
    assert not page.errors
    page.close()


def test_qos_panel_runs_per_class_on_the_live_level(site: dict[str, Any]) -> None:
    _telemetry(site, 1.3)
    page = _page(site, Role.PLANNER)
    page.click("[data-tab=qos]")
    page.select_option("#qos-scheduler", "sp")
    page.click("#qos-run")
    page.wait_for_selector("#qos-class-table")
    assert "live traffic level 1.30 × plan" in page.inner_text("#qos-basis")
    with _client(site, Role.PLANNER) as api:
        doc = api.post("/api/v1/networks/example/qos", json={
            "policy": {"classes": ["best-effort"], "default": {"scheduler": "sp",
                                                               "weights": [1.0]}},
            "scale": 1.3}).json()
    rows = page.eval_on_selector_all("#qos-classes-table tbody tr",
                                     "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert [r[0] for r in rows] == [c["class"] for c in doc["classes"]]
    for r, c in zip(rows, doc["classes"], strict=True):
        assert r[2] == f"{1e3 * c['mean_delay_s']:.2f} ms"
        assert r[3] == f"{1e3 * c['p99_delay_s']:.2f} ms"
    # the tabs and the tables fit the panel
    assert page.eval_on_selector("aside nav", "n => n.scrollWidth <= n.clientWidth")
    assert page.eval_on_selector_all(
        "#qos-result .tbl", "ts => ts.every(t => t.scrollWidth <= t.clientWidth + 1)")
    page.screenshot(path=str(site["shots"] / "qos.png"))
    assert not page.errors
    page.close()


def test_alarms_under_the_rain_cell_are_flagged(site: dict[str, Any]) -> None:
    """Munich loaded at 2.5x its plan raises utilisation alarms; with the storm's worst minute
    on the map, exactly the alarmed links the radio model pushes below clear-sky modulation
    carry the 'under the rain cell' hint."""
    _telemetry(site, 2.5, "munich")
    page = _page(site, Role.PLANNER, network="munich")
    page.click("[data-tab=storm]")
    page.click("#storm-run")
    page.wait_for_selector("#storm-verdict", timeout=120_000)
    with _client(site, Role.PLANNER) as api:
        doc = api.post("/api/v1/networks/munich/storm", json={}).json()
    faded = {r["link"] for r in doc["links"] if r["mode"] != r["clear_sky_mode"]}
    page.click("[data-tab=alarms]")
    page.wait_for_selector("#alarms-table tr[data-alarm]")

    def hinted_rows() -> list[list[str]]:
        rows: list[list[str]] = page.eval_on_selector_all(
            "#alarms-table tbody tr", "rs => rs.map(r => [r.cells[1].textContent, r.cells[2]"
            ".querySelector('.corr')?.textContent || ''])")
        return rows

    # the hints are attached once the storm's result reaches the alarm table: wait for them
    deadline = time.monotonic() + 15
    rows = hinted_rows()
    while time.monotonic() < deadline and any(
            ("under the rain cell" in hint) != (obj in faded) for obj, hint in rows):
        time.sleep(0.1)
        rows = hinted_rows()
    assert rows
    assert any(obj in faded for obj, _ in rows)
    for obj, hint in rows:
        assert ("under the rain cell" in hint) == (obj in faded), (obj, hint)
    # the tab bar stays on one line with the alarm count in it
    assert page.eval_on_selector("aside nav", "n => n.getBoundingClientRect().height < 40")
    page.screenshot(path=str(site["shots"] / "alarms-rain.png"))
    assert not page.errors
    page.close()


def test_shadow_panel_shows_a_posted_proposal_with_its_verdict(site: dict[str, Any]) -> None:
    loop = ("! router New-York\nip route 10.255.0.2/32 New-York--Chicago\n"
            "! router Chicago\nip route 10.255.0.2/32 10.1.0.1\n")
    with _client(site, Role.OPERATOR) as api:
        posted = [api.post("/api/v1/networks/example/proposals", json=body).json()
                  for body in ({"agent": "dash-agent", "snippets": [{"text": loop}]},
                               {"agent": "dash-agent", "survive": "none", "changes": [
                                   {"set_metric": {"link": "Denver--Kansas-City",
                                                   "metric": 3000}}]})]
    page = _page(site, Role.VIEWER)
    page.click("[data-tab=shadow]")
    for rec in posted:
        sel = f"#shadow-table tr[data-proposal='{rec['id']}']"
        page.wait_for_selector(sel)
        cells = page.eval_on_selector(sel, "r => [...r.cells].map(c => c.textContent)")
        assert cells[1] == "dash-agent" and cells[2] == rec["verdict"]
        d = rec["predicted"]["delta_max_utilisation"]
        assert cells[3].endswith(" pt") and float(cells[3][:-3]) == pytest.approx(
            100 * d, abs=0.05)
        cls = page.eval_on_selector(f"{sel} .vtag", "e => e.className")
        assert f"v-{rec['verdict'].lower()}" in cls
    assert posted[0]["verdict"] == "UNSAFE"
    score = page.eval_on_selector_all("#shadow-score-table tbody tr",
                                      "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    mine = [r for r in score if r[0] == "dash-agent"]
    assert mine and mine[0][1] == "2" and int(mine[0][2]) >= 1
    # a viewer's proposal from the form is refused, and the error is shown
    page.click("#shadow-propose")
    wait_js(page, "document.querySelector('#shadow-last').textContent.includes('403')")
    assert page.eval_on_selector("aside nav", "n => n.scrollWidth <= n.clientWidth")
    assert page.eval_on_selector_all(
        "#panel-shadow .tbl", "ts => ts.every(t => t.scrollWidth <= t.clientWidth + 1)")
    page.screenshot(path=str(site["shots"] / "shadow.png"))
    assert not page.errors
    page.close()


def test_optimise_panel_shows_the_result_the_engine_confirms(site: dict[str, Any]) -> None:
    """A 2-s optimisation from the panel: MLU before/after as the API's result and as the
    scenario engine's what-if of its changes; the change list is the result's steps in apply
    order; the 'after' map is networkx ECMP on the optimised metrics, the 'before' map on the
    plan's; 'apply as what-if' runs the same changes in the What-if panel."""
    import dataclasses

    from nettwin.scenarios import parse_scenario, run_whatif

    network = load_network(example_path())
    page = _page(site, Role.PLANNER)
    page.click("[data-basis=plan]")  # the optimiser works on the plan: compare like with like
    page.click("[data-tab=optimise]")
    page.fill("#opt-time", "2")
    page.fill("#opt-changes", "3")
    page.fill("#opt-seed", "0")
    page.click("#opt-run")
    wait_js(page, "!!document.querySelector('#opt-summary') || "
                  "!!document.querySelector('#opt-error')", timeout_s=90)
    assert page.locator("#opt-error").count() == 0, page.inner_text("#opt-result")
    job = page.get_attribute("#opt-result", "data-job")
    with _client(site, Role.VIEWER) as api:
        result = api.get(f"/api/v1/jobs/{job}/result").json()
    doc = result["document"]
    assert doc["steps"], "the example plan has room to improve within 3 changes"
    # the engine as oracle: the what-if of the result's own changes
    oracle = run_whatif(network, parse_scenario(result["whatif"])).diff
    assert oracle.max_utilisation_before == pytest.approx(doc["mlu_before"], abs=1e-9)
    assert oracle.max_utilisation_after == pytest.approx(doc["mlu"], abs=1e-9)
    assert page.inner_text("#opt-mlu-before") == _pct(oracle.max_utilisation_before)
    assert page.inner_text("#opt-mlu-after") == _pct(oracle.max_utilisation_after)
    assert page.inner_text("#opt-bound") == _pct(doc["mlu_lower_bound"])
    assert page.inner_text("#opt-ratio") == f"{doc['ratio']:.3f}"
    rows = page.eval_on_selector_all(
        "#opt-steps-table tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert [(int(r[0]), r[1], r[4]) for r in rows] == \
        [(s["step"], s["link"], _pct(s["mlu"])) for s in doc["steps"]]
    # after: networkx ECMP on the optimised metrics; changed links highlighted
    changed = {c["link"]: c for c in doc["changed_links"]}
    links = {lid: dataclasses.replace(lk, metric_ab=changed[lid]["metric_ab"],
                                      metric_ba=changed[lid]["metric_ba"])
             if lid in changed else lk for lid, lk in network.links.items()}
    optimised = dataclasses.replace(network, links=links)
    up = np.ones(2 * len(network.links), bool)
    after = _expected_buckets(network, reference_ecmp(optimised, up,
                                                      network.demands.rate_bps).arc_load_bps)
    assert _wait_buckets(page, after) == after
    marked = set(page.eval_on_selector_all("line.arc.optimised",
                                           "ls => ls.map(l => l.dataset.link)"))
    assert marked == set(changed)
    page.screenshot(path=str(site["shots"] / "optimise-after.png"))
    page.click("#opt-show-before")
    before = _expected_buckets(network, reference_ecmp(network, up,
                                                       network.demands.rate_bps).arc_load_bps)
    assert _wait_buckets(page, before) == before
    # apply as what-if: the What-if panel runs the same changes on its (plan) basis
    page.click("#opt-show-after")
    page.click("#opt-apply")
    page.wait_for_selector("#whatif-verdict")
    text = page.inner_text("#whatif-result")
    assert f"{_pct(doc['mlu_before'])} → {_pct(doc['mlu'])}" in text
    if max(s["mlu"] for s in doc["steps"]) > doc["mlu_before"]:  # a worse state on the way
        assert page.locator("#opt-transient").count() == 1
    assert page.inner_text("#view-mode") == "what-if on plan"
    assert _wait_buckets(page, after) == after
    page.screenshot(path=str(site["shots"] / "optimise-applied.png"))
    assert not page.errors
    page.close()
