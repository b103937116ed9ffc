"""``nettwin radio budget|storm`` on the bundled Munich backhaul."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from nettwin.cli import app
from nettwin.cli.common import EXIT_BAD_INPUT

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
        __import__("pytest").approx(12.04, abs=0.01)
    assert after["outage_min_per_year"] < before["outage_min_per_year"]
    assert {s["service"] for s in doc["services"]} == {"urllc-garching", "enterprise-erding",
                                                       "cctv-dachau"}


def test_budget_rejects_bad_upgrade() -> None:
    res = runner.invoke(app, ["radio", "budget", "--upgrade", "Nowhere:dish_diameter_m=1"])
    assert res.exit_code == EXIT_BAD_INPUT and "no such radio link" in res.output
    res = runner.invoke(app, ["radio", "budget", "--upgrade", "Garching--Ismaning:dish=x"])
    assert res.exit_code == EXIT_BAD_INPUT and "unknown radio field" in res.output


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
