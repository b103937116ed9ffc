"""whatif / sweep / cascade / risk from the command line: outputs agree with the library."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from typer.testing import CliRunner

from nettwin.cli import app
from nettwin.cli.common import EXIT_BAD_INPUT, EXIT_SLA_VIOLATED
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.scenarios import RiskModel, run_risk, run_sweep

runner = CliRunner()


def test_whatif_from_flags_and_file(tmp_path: Path) -> None:
    scen = tmp_path / "s.yaml"
    scen.write_text("scenarios:\n  - name: cut\n    changes: [{fail_link: Denver--Kansas-City}]\n"
                    "  - name: growth\n    changes: [{scale_traffic: {factor: 1.1}}]\n")
    out = tmp_path / "w.json"
    html = tmp_path / "w.html"
    res = runner.invoke(app, ["whatif", "--scenario", str(scen), "--drain", "Chicago",
                              "--json", str(out), "--html", str(html), "--fail-on-violation"])
    assert res.exit_code == EXIT_SLA_VIOLATED, res.output
    docs = json.loads(out.read_text())
    assert [d["scenario"] for d in docs] == ["cut", "growth", "drain_node Chicago"]
    assert docs[0]["verdict"].startswith("FAIL: SLA broken for research-seattle-chicago")
    assert docs[2]["verdict"].startswith("OK")
    res = runner.invoke(app, ["whatif", "--fail-node", "Los-Angeles", "--json", str(out)])
    assert res.exit_code == 0, res.output  # an unroutable service: infinite delay as null
    voice = {s["service"]: s for s in json.loads(out.read_text())[0]["services"]}
    assert voice["voice-coast-to-coast"]["worst_delay_after_s"] is None
    assert "<img" in html.read_text()


def test_whatif_bad_scenario_is_exit_3_with_the_reason(tmp_path: Path) -> None:
    res = runner.invoke(app, ["whatif", "--fail-link", "Atlantis--Denver"])
    assert res.exit_code == EXIT_BAD_INPUT
    assert "no such link (got 'Atlantis--Denver')" in res.output
    res = runner.invoke(app, ["whatif"])
    assert res.exit_code == 2


def test_whatif_refuses_a_link_failed_twice() -> None:
    res = runner.invoke(app, ["whatif", "--fail-link", "Denver--Kansas-City",
                              "--fail-link", "Denver--Kansas-City"])
    said = " ".join(res.stderr.split())
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert "link failed twice" in said and "(got 'Denver--Kansas-City')" in said, said
    assert "Fix: fail each link once" in said


def test_an_unknown_id_in_a_scenario_names_the_closest_ids() -> None:
    # a mistyped id was answered "use a link id of the network (14 known)" with none named;
    # oracle: the network's own ids, the one meant among them
    net = load_network(example_path())
    meant = "Denver--Kansas-City"
    for flag, typo, ids in (("--fail-link", meant.lower(), net.links),
                            ("--fail-node", "Denvr", net.nodes)):
        res = runner.invoke(app, ["whatif", flag, typo])
        assert res.exit_code == EXIT_BAD_INPUT
        said = " ".join(res.stderr.split())
        assert "did you mean" in said and ("'Denver'" in said if ids is net.nodes
                                           else f"'{meant}'" in said), said
    res = runner.invoke(app, ["whatif", "--fail-link", "zzzz"])
    said = " ".join(res.stderr.split())
    assert res.exit_code == EXIT_BAD_INPUT and any(lid in said for lid in net.links), said


def test_sweep_tables_equal_the_library_result(tmp_path: Path) -> None:
    res = runner.invoke(app, ["sweep", "--nodes", "--srlgs", "--out", str(tmp_path),
                              "--table-format", "parquet", "--html", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    worst = pq.read_table(tmp_path / "worst_case_arcs.parquet").to_pylist()
    failures = pq.read_table(tmp_path / "failures.parquet").to_pylist()
    lib = run_sweep(load_network(example_path()), nodes=True, srlgs=True)
    assert len(failures) == 14 + 11 + 1
    expected = {r["arc"]: r["worst_utilisation"] for r in lib.worst_case_rows()}
    for row in worst:
        assert np.isclose(row["worst_utilisation"], expected[row["arc"]], rtol=1e-12)
    assert [r["failure"] for r in failures] == [r["failure"] for r in lib.failure_rows()]


def test_cascade_and_risk_commands(tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    res = runner.invoke(app, ["cascade", "--scale", "1.9", "--fail-link", "Denver--Kansas-City",
                              "--json", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())[0]
    assert {t["link"] for t in doc["trips"]} >= {"Los-Angeles--Houston"}
    out = tmp_path / "r.json"
    res = runner.invoke(app, ["risk", "-n", "500", "--seed", "4", "--json", str(out)])
    assert res.exit_code == 0, res.output
    first = json.loads(out.read_text())
    runner.invoke(app, ["risk", "-n", "500", "--seed", "4", "--json", str(out)])
    assert json.loads(out.read_text()) == first  # seeded: reproducible
    # the same numbers as the library with the command's defaults (4 cuts per 1,000 km and
    # year, 12 h repairs, node failures included, M/M/1)
    lib = run_risk(load_network(example_path()), RiskModel(), samples=500, seed=4).summary()
    assert first == json.loads(json.dumps(lib))
    assert set(first["services"]) == {"voice-coast-to-coast", "research-seattle-chicago",
                                      "video-atlanta-hub"}
    # and a different model gives different numbers (the options reach the library)
    res = runner.invoke(app, ["risk", "-n", "500", "--seed", "4", "--cuts-per-1000km", "40",
                              "--node-mtbf-h", "200", "--link-mttr-h", "24", "--json", str(out)])
    assert res.exit_code == 0, res.output
    model = RiskModel(fiber_cuts_per_1000km_year=40, node_mtbf_h=200, link_mttr_h=24)
    lib = run_risk(load_network(example_path()), model, samples=500, seed=4).summary()
    assert json.loads(out.read_text()) == json.loads(json.dumps(lib)) != first
