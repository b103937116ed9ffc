"""``nettwin optimize capacity``: out.json and planned.yaml agree with an independent
recomputation; SNDlib module lists are read as the file gives them; bad input is named."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nettwin.cli import app
from nettwin.cli.common import EXIT_BAD_INPUT
from nettwin.io import load_network
from nettwin.io.sndlib import read_sndlib_modules
from nettwin.reference.networkx_ecmp import reference_ecmp

runner = CliRunner()
SNDLIB = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "sndlib"
NOBEL = SNDLIB / "native" / "nobel-eu.txt"


def _network(tmp_path: Path) -> Path:
    nodes = [{"id": n} for n in "ABCDE"]
    links = [{"id": f"{a}{b}", "a": a, "b": b, "capacity_bps": 1e9, "metric": 1,
              "length_km": 100.0} for a, b in ("AB", "BC", "CD", "DE", "EA", "AC")]
    demands = [{"src": s, "dst": d, "rate_bps": 4e8} for s in "ABCDE" for d in "ABCDE"
               if s != d]
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"name": "pentagon", "nodes": nodes, "links": links,
                                    "demands": demands}))
    return path


def _modules(tmp_path: Path, max_modules: int | None = None) -> Path:
    default: dict[str, object] = {"modules": [
        {"name": "1G", "capacity_bps": 1e9, "cost": 10, "cost_per_km": 0.1},
        {"name": "10G", "capacity_bps": 10e9, "cost": 50, "cost_per_km": 0.2}]}
    if max_modules is not None:
        default["max_modules"] = max_modules
    path = tmp_path / "modules.yaml"
    path.write_text(yaml.safe_dump({"default": default}))
    return path


def test_capacity_cli_writes_a_plan_the_recomputation_confirms(tmp_path: Path) -> None:
    net, out, planned = _network(tmp_path), tmp_path / "out.json", tmp_path / "planned.yaml"
    res = runner.invoke(app, ["optimize", "capacity", str(net), "--modules",
                              str(_modules(tmp_path)), "--threshold", "0.6", "--json", str(out),
                              "--apply-to", str(planned)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    for key in ("cost", "lp_bound", "gap", "upgrades", "new_links", "worst_utilisation_normal",
                "worst_utilisation_failure", "worst_failure", "iterations", "seconds"):
        assert key in doc
    # per-km costs: a 1G module on a 100 km link costs 10 + 0.1 * 100
    costs = {m["module"]: m["cost"] for u in doc["upgrades"] for m in u["modules"]}
    assert costs.get("1G", 20.0) == pytest.approx(20.0)
    assert costs.get("10G", 70.0) == pytest.approx(70.0)
    network = load_network(planned)
    capacity = np.array([[lk.capacity_ab_bps, lk.capacity_ba_bps]
                         for lk in network.links.values()]).ravel()
    worst = 0.0
    for i in range(len(network.links)):
        up = np.ones(capacity.size, bool)
        up[2 * i:2 * i + 2] = False
        worst = max(worst, float(np.max(reference_ecmp(network, up).arc_load_bps / capacity)))
    assert worst <= 0.6 + 1e-9
    assert doc["worst_utilisation_failure"] == pytest.approx(worst, rel=1e-9)


def test_capacity_cli_years_and_candidates(tmp_path: Path) -> None:
    net = _network(tmp_path)
    cands = tmp_path / "new.yaml"
    cands.write_text(yaml.safe_dump({"candidates": [
        {"id": "BD", "a": "B", "b": "D", "metric": 1, "setup_cost": 5,
         "length_km": 150.0}]}))  # the default modules cost per km
    res = runner.invoke(app, ["optimize", "capacity", str(net), "--modules",
                              str(_modules(tmp_path)), "--candidates", str(cands), "--growth",
                              "1.5", "--years", "2", "--json", "-"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [y["year"] for y in doc["years"]] == [1, 2]
    assert sum(y["cost"] for y in doc["years"]) == pytest.approx(doc["cost"])
    assert doc["lp_bound"] <= doc["cost"] + 1e-6


def test_infeasible_plan_explains_the_binding_link(tmp_path: Path) -> None:
    res = runner.invoke(app, ["optimize", "capacity", str(_network(tmp_path)), "--modules",
                              str(_modules(tmp_path, max_modules=1)), "--growth", "40",
                              "--json", "-"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["feasible"] is False and doc["binding"]["constraint"] == "link capacity"
    assert doc["binding"]["link"] in doc["explanation"]


def test_bad_module_file_names_the_element(tmp_path: Path) -> None:
    bad = tmp_path / "modules.yaml"
    bad.write_text(yaml.safe_dump({"links": {"AB": {"modules": [{"capacity_bps": "fast"}]},
                                             "ZZ": {"modules": []}}}))
    res = runner.invoke(app, ["optimize", "capacity", str(_network(tmp_path)), "--modules",
                              str(bad)])
    assert res.exit_code == EXIT_BAD_INPUT
    assert "link AB module 1" in res.output and "ZZ" in res.output
    res = runner.invoke(app, ["optimize", "capacity", str(_network(tmp_path))])
    assert res.exit_code == 2 and "--modules" in res.output


@pytest.mark.skipif(not NOBEL.exists(), reason="shared SNDlib data not present")
def test_sndlib_modules_are_read_as_the_file_gives_them() -> None:
    # the oracle is the file's own text: '( cap cost cap cost ... )' per link
    text = NOBEL.read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith("L1 ("))
    values = [float(v) for v in re.search(r"\)\s*[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s*\((.*)\)",
                                          line).group(1).split()]  # type: ignore[union-attr]
    native = read_sndlib_modules(NOBEL)
    assert native["L1"].modules == tuple(zip([v * 1e6 for v in values[0::2]], values[1::2],
                                             strict=True))
    xml = read_sndlib_modules(SNDLIB / "xml" / "nobel-eu.xml")
    assert xml == native


def test_candidates_without_modules_pay_the_default_per_km_at_their_length(
        tmp_path: Path) -> None:
    # modules.yaml: a module costs cost + cost_per_km * length_km (its documented formula),
    # for a candidate that takes the default offer as for a link
    cands = tmp_path / "new_links.yaml"
    cands.write_text(yaml.safe_dump({"candidates": [
        {"id": "BD", "a": "B", "b": "D", "metric": 1, "setup_cost": 5, "length_km": 300.0},
        {"id": "BE", "a": "B", "b": "E", "metric": 1, "setup_cost": 5,
         "modules": [{"name": "own", "capacity_bps": 1e9, "cost": 7}]}]}))
    out = tmp_path / "out.json"
    res = runner.invoke(app, ["optimize", "capacity", str(_network(tmp_path)), "--modules",
                              str(_modules(tmp_path)), "--candidates", str(cands),
                              "--threshold", "0.3", "--json", str(out)])
    assert res.exit_code == 0, res.output
    from nettwin.io.capacity_files import read_candidates, read_module_catalogue

    net = load_network(_network(tmp_path))
    _, catalogue = read_candidates(cands, net, read_module_catalogue(_modules(tmp_path), net))
    assert [m.cost for m in catalogue.offer("BD").modules] == [10 + 0.1 * 300, 50 + 0.2 * 300]
    assert [m.cost for m in catalogue.offer("BE").modules] == [7]
    assert [m.cost for m in catalogue.offer("AB").modules] == [10 + 0.1 * 100, 50 + 0.2 * 100]
    doc = json.loads(out.read_text())
    assert doc["new_links"], "nothing built: a vacuous check"
    for new in doc["new_links"]:  # what the plan charged per module
        for m in new["modules"]:
            per_km = {"1G": 0.1, "10G": 0.2}.get(m["module"], 0.0)
            base = {"1G": 10, "10G": 50, "own": 7}[m["module"]]
            assert m["cost"] == pytest.approx(base + per_km * 300 if new["link"] == "BD"
                                              else base)
