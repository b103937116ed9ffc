"""The Why panel in a real headless Chromium: a labelled fibre cut from ``nettwin synth`` is
fed to the live twin; "why?" on its alarm ranks the causes exactly as the diagnose route
does for the same window (the oracle for the ranking), names the injected cut first (the
label is the oracle for the cause) and marks that link on the map."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from nettwin.api import Role
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.synth import SynthConfig, Synthesizer
from tests.api.test_dashboard import _client, _page, site, wait_js

__all__ = ["site"]  # the module's browser and server


def test_why_on_an_alarm_ranks_the_injected_cause_on_the_map(site: dict[str, Any]) -> None:
    network = load_network(example_path())
    synth = Synthesizer(network, SynthConfig(steps=24), seed=11)
    ep = synth.episode("fibre_cut_peak")
    lab = ep.label
    shift = time.time() - 30 - lab.window_end  # the episode ends half a minute ago
    records = [dict(r, time=r["time"] + shift) for r in ep.records
               if r["time"] <= lab.window_end]  # not the repair after the window
    with _client(site) as api, example_path().open("rb") as fh:
        nid = api.post("/api/v1/networks", files={"file": ("abilene.yaml", fh)}).json()["id"]
    with _client(site, Role.OPERATOR) as api:
        api.post(f"/api/v1/networks/{nid}/observations",
                 json={"items": records}).raise_for_status()
    page = _page(site, Role.PLANNER, network=nid)
    page.click("[data-tab=alarms]")
    row = f'#alarms-table tr[data-alarms]:has(a.goto[data-object="{lab.element}"])'
    wait_js(page, f"!!document.querySelector('{row} button.why')")
    page.click(f"{row} button.why")
    wait_js(page, "!!document.querySelector('#why-table') || "
                  "!!document.querySelector('#why-error')", timeout_s=60)
    assert page.locator("#why-error").count() == 0, page.inner_text("#why-result")
    # the oracle: the route's own answer for the window the panel asked about
    with _client(site, Role.VIEWER) as api:
        alarms = api.get("/tmf-api/alarmManagement/v4/alarm?limit=10000").json()
    raised = min(datetime.fromisoformat(a["alarmRaisedTime"]).timestamp() for a in alarms
                 if a["sourceSystemId"] == f"nettwin/{nid}"
                 and a["alarmedObject"]["id"].startswith(lab.element))
    with _client(site, Role.PLANNER) as api:
        want = api.post(f"/api/v1/networks/{nid}/diagnose",
                        json={"since": raised - 1800, "top": 5}).json()
    rows = page.eval_on_selector_all(
        "#why-table tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert [(r[1], r[2]) for r in rows] == [(c["kind"], c["element"]) for c in want["causes"]]
    assert rows[0][2] == lab.element  # the injected cut, first
    assert page.inner_text("#why-chain").startswith(want["causes"][0]["chain"][0])
    marked = set(page.eval_on_selector_all("line.arc.why", "ls => ls.map(l => l.dataset.link)"))
    assert marked == {lab.element}
    page.screenshot(path=str(site["shots"] / "why.png"))
    # another cause picked from the table moves the marks
    if len(rows) > 1 and want["causes"][1]["kind"] != "none":
        page.click("#why-table tbody tr:nth-child(2)")
        wait_js(page, "document.querySelector('#why-picked').textContent.includes("
                      f"'{want['causes'][1]['element']}')")
    assert not page.errors
    page.close()
