"""HTML reports of whatif / sweep / risk: the map's numbers against the networkx oracle, the
inputs recorded, people's units, no raw JSON; and the CLI writes them."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nettwin.cli import app
from nettwin.examples import abilene
from nettwin.reference import reference_ecmp
from nettwin.report.html import format_value, header_of
from nettwin.report.pages import (
    describe_change,
    write_risk_report,
    write_sweep_report,
    write_whatif_report,
)
from nettwin.scenarios import RiskModel, parse_scenario, run_risk, run_sweep, run_whatif

TITLE = re.compile(r"<title>([^<]*) \(([^<]*)→([^<]*)\): (down|[\d.]+ %)</title>")


def _map(page: str) -> dict[str, str]:
    """Arc label -> what the map's tooltip says (e.g. '57.6 %' or 'down')."""
    return {f"{m[1]} ({m[2]}->{m[3]})": m[4] for m in TITLE.finditer(page)}


def _labels(net) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{lk.id} ({a}->{b})" for lk in net.links.values()
            for a, b in ((lk.a, lk.b), (lk.b, lk.a))]


def _caps(net) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([c for lk in net.links.values()
                     for c in (lk.capacity_ab_bps, lk.capacity_ba_bps)])


def test_units_and_headers() -> None:
    assert format_value("capacity_bps", 9.953e9) == "9.95 Gbit/s"
    assert format_value("worst_utilisation", 1.234) == "123.4 %"
    assert format_value("delay_s", 0.01234) == "12.34 ms"
    assert format_value("lost_bps", 0.0) == "0 bit/s"
    assert format_value("worst_delay_s", float("inf")) == "unbounded"
    assert format_value("services_broken", ["a", "b"]) == "a, b"
    assert header_of("worst_delay_after_s") == "worst delay after"


def test_whatif_report_map_matches_the_oracle(tmp_path: Path) -> None:
    net = abilene()
    scenario = parse_scenario({"name": "cut", "changes": [{"fail_link": "Denver--Kansas-City"},
                                                          {"scale_traffic": {"factor": 1.3}}]})
    result = run_whatif(net, scenario)
    path = tmp_path / "w.html"
    write_whatif_report(path, net, [result], {"growth": 1.3, "queue_model": "mm1"})
    page = path.read_text()
    i = list(net.links).index("Denver--Kansas-City")
    up = np.ones(2 * len(net.links), bool)
    up[[2 * i, 2 * i + 1]] = False
    load = reference_ecmp(net, up, net.demands.rate_bps * 1.3).arc_load_bps
    shown = _map(page)
    for label, u, ok in zip(_labels(net), load / _caps(net), up, strict=True):
        assert shown[label] == ("down" if not ok else f"{100 * u:.1f} %")
    assert "<dt>growth</dt><dd>1.3</dd>" in page and "<dd>mm1</dd>" in page
    assert "fail link Denver--Kansas-City" in page and "scale traffic factor 1.3" in page
    assert "utilisation_before" not in page and "{" not in page.split("<body>")[1]
    assert " %" in page and " ms" in page


def test_sweep_report_map_is_the_brute_force_worst_case(tmp_path: Path) -> None:
    net = abilene()
    path = tmp_path / "s.html"
    write_sweep_report(path, net, run_sweep(net), {"links": True})
    m = 2 * len(net.links)
    worst = np.zeros(m)
    for i in range(len(net.links)):
        up = np.ones(m, bool)
        up[[2 * i, 2 * i + 1]] = False
        worst = np.maximum(worst, np.where(up, reference_ecmp(net, up).arc_load_bps, 0.0))
    shown = _map(path.read_text())
    for label, u in zip(_labels(net), worst / _caps(net), strict=True):
        assert shown[label] == f"{100 * u:.1f} %"
    assert "failures evaluated</dt><dd>14</dd>" in path.read_text()


def test_risk_report_records_the_assumptions(tmp_path: Path) -> None:
    net = abilene()
    model = RiskModel(growth_median=1.2, growth_sigma=0.15)
    result = run_risk(net, model, samples=300, seed=3)
    path = tmp_path / "r.html"
    write_risk_report(path, net, result, model, {"network": "abilene"})
    page = path.read_text()
    assert "<dt>growth sigma</dt><dd>0.15</dd>" in page
    assert "<dt>growth median</dt><dd>1.2</dd>" in page and "<dd>300</dd>" in page
    assert "<pre>" not in page and "p_overload" not in page
    s = result.summary()
    assert f"<td>{format_value('p_', s['p_overload'])}</td>" in page
    load = reference_ecmp(net, demand_rate_bps=net.demands.rate_bps * 1.2).arc_load_bps
    shown = _map(page)
    for label, u in zip(_labels(net), load / _caps(net), strict=True):
        assert shown[label] == f"{100 * u:.1f} %"


def test_describe_change() -> None:
    sc = parse_scenario({"changes": [
        {"set_capacity": {"link": "Seattle--Denver", "capacity_bps": 1e11}},
        {"surge": {"sources": ["Seattle"], "target": "Atlanta", "rate_bps": 4e9}}]})
    assert describe_change(sc.changes[0]) == "set capacity Seattle--Denver capacity 100.00 Gbit/s"
    assert "surge" in describe_change(sc.changes[1]) and "4.00 Gbit/s" in describe_change(
        sc.changes[1])


@pytest.mark.parametrize("argv", [
    ["whatif", "--fail-link", "Denver--Kansas-City", "--scale", "1.2"],
    ["sweep", "--nodes"],
    ["risk", "-n", "200", "--seed", "1", "--growth", "1.1", "--growth-sigma", "0.2"],
])
def test_cli_writes_the_reports(tmp_path: Path, argv: list[str]) -> None:
    out = tmp_path / "r.html"
    res = CliRunner().invoke(app, [*argv, "--html", str(out)])
    assert res.exit_code in (0, 1), res.output
    page = out.read_text()
    assert '<figure class="map">' in page and "<h2>Inputs</h2>" in page
    assert "<pre>" not in page
