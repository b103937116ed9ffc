"""``nettwin radio budget|storm`` on the bundled Munich backhaul."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from nettwin.cli import app
from nettwin.cli.common import EXIT_BAD_INPUT
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.reference.networkx_ecmp import reference_ecmp
from tests.conftest import random_metrics_csv

runner = CliRunner()


def test_budget_with_upgrade_what_if(tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    res = runner.invoke(app, ["radio", "budget", "--json", str(out), "--upgrade",
                              "Garching--Ismaning:dish_diameter_m=0.6"])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    before = {r["link"]: r for r in doc["links"]}["Garching--Ismaning"]
    after = {r["link"]: r for r in doc["upgraded"]["links"]}["Garching--Ismaning"]
    # doubling both dishes adds 2 x 20 log10(2) = 12.04 dB of margin
    assert after["margin_top_mode_db"] - before["margin_top_mode_db"] == \
        pytest.approx(40 * math.log10(2), abs=0.01)
    assert after["outage_min_per_year"] < before["outage_min_per_year"]
    _check_service_availability(doc["links"], doc["services"])
    _check_service_availability(doc["upgraded"]["links"], doc["upgraded"]["services"])
    up = {s["service"]: s for s in doc["upgraded"]["services"]}
    for s in doc["services"]:  # bigger dishes on a link can only help
        assert up[s["service"]]["availability"] >= s["availability"]


def test_service_availability_with_degraded_links(tmp_path: Path) -> None:
    """Small dishes on both links of the URLLC path: unavailabilities of order 1e-4, where a
    sum of outages and a product of availabilities differ visibly."""
    out = tmp_path / "b.json"
    res = runner.invoke(app, ["radio", "budget", "--json", str(out),
                              "--upgrade", "Munich-Core--Munich-North:dish_diameter_m=0.1",
                              "--upgrade", "Munich-North--Garching:dish_diameter_m=0.1"])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    _check_service_availability(doc["upgraded"]["links"], doc["upgraded"]["services"])
    urllc = {s["service"]: s for s in doc["upgraded"]["services"]}["urllc-garching"]
    assert urllc["radio_links"] == 2 and urllc["availability"] < 0.9999


def _check_service_availability(links: list[dict[str, Any]],
                                services: list[dict[str, Any]]) -> None:
    """By hand: route each service's demands with the networkx ECMP oracle, take the radio
    links its traffic crosses, and multiply their availabilities (a link down takes the
    service down: no rerouting); the limiting link is the least available one."""
    net = load_network(example_path("munich-backhaul"))
    avail = {r["link"]: r["availability_link_up"] for r in links}
    link_ids = list(net.links)
    got = {s["service"]: s for s in services}
    assert got.keys() == set(net.services)
    for sid, service in net.services.items():
        mark = np.isin(np.array(net.demand_ids), service.demands).astype(float)
        load = reference_ecmp(net, demand_rate_bps=mark).arc_load_bps
        crossed = [lk for i, lk in enumerate(link_ids)
                   if (load[2 * i] > 0 or load[2 * i + 1] > 0) and lk in avail]
        want = math.prod(avail[lk] for lk in crossed)
        row = got[sid]
        assert row["radio_links"] == len(crossed) > 0, sid
        assert row["availability"] == pytest.approx(want, rel=1e-12), sid
        assert row["limiting_link"] == min(crossed, key=avail.__getitem__)
        assert row["target"] == service.min_availability
        assert row["meets_target"] == (want >= service.min_availability)


def test_budget_rejects_bad_upgrade() -> None:
    res = runner.invoke(app, ["radio", "budget", "--upgrade", "Nowhere:dish_diameter_m=1"])
    assert res.exit_code == EXIT_BAD_INPUT and "no such radio link" in res.output
    res = runner.invoke(app, ["radio", "budget", "--upgrade", "Garching--Ismaning:dish=x"])
    assert res.exit_code == EXIT_BAD_INPUT and "unknown radio field" in res.output
    # A misspelt link is answered with the closest radio links of the network (oracle:
    # the bundled backhaul's own links), as every other id is.
    from nettwin.examples import munich

    radios = {k for k, lk in munich().links.items() if lk.radio is not None}
    assert "Garching--Ismaning" in radios and "Garching--Ismanin" not in radios
    res = runner.invoke(app, ["radio", "budget", "--upgrade",
                              "Garching--Ismanin:dish_diameter_m=0.6"])
    assert res.exit_code == EXIT_BAD_INPUT
    assert "did you mean 'Garching--Ismaning'" in " ".join(res.output.split())


def test_storm_outputs(tmp_path: Path) -> None:
    out, table, html = tmp_path / "s.json", tmp_path / "s.csv", tmp_path / "s.html"
    res = runner.invoke(app, ["radio", "storm", "--json", str(out), "--csv", str(table),
                              "--html", str(html)])
    assert res.exit_code == 0, res.output
    summary = json.loads(out.read_text())
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == summary["steps"] * summary["radio_links"]
    assert summary["links_ever_down"] == len({r["link"] for r in rows if r["mode"] == "-1"})
    assert html.read_text().count("<img") == 3


def test_storm_takes_the_real_metrics(tmp_path: Path) -> None:
    # oracle: the same storm on a native file that carries the metrics (convert --metrics)
    net_path = example_path("munich-backhaul")
    net = load_network(net_path)
    metrics = random_metrics_csv(net, tmp_path / "igp.csv", seed=4, high=200)
    native = tmp_path / "munich.json"
    res = runner.invoke(app, ["convert", str(net_path), str(native), "--metrics", str(metrics)])
    assert res.exit_code == 0, res.output
    profiles = ["--profiles", str(net_path.with_name("munich-acm-38ghz.txt"))]
    docs = {}
    for name, args in (("file", [str(net_path), "--metrics", str(metrics)]),
                       ("carried", [str(native)]), ("plain", [str(net_path)])):
        out = tmp_path / f"{name}.json"
        res = runner.invoke(app, ["radio", "storm", *args, *profiles, "--json", str(out)])
        assert res.exit_code == 0, res.output
        docs[name] = json.loads(out.read_text())
    assert docs["file"] == docs["carried"]
    assert docs["file"] != docs["plain"]  # the metrics changed where traffic goes
