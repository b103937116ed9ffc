"""The command line: tables on the bundled example, files out, exit codes a script can trust."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nettwin import compile_network, simulate
from nettwin.cli import app
from nettwin.cli.common import EXIT_BAD_INPUT, EXIT_SLA_VIOLATED
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.reference import reference_ecmp
from tests.conftest import data_path

runner = CliRunner()


def test_simulate_bundled_example_prints_report() -> None:
    res = runner.invoke(app, ["simulate"])
    assert res.exit_code == 0, res.output
    for text in ("Network abilene", "Scenario KPIs (mm1)", "max utilisation",
                 "Top 10 arcs by utilisation", "Services and SLAs"):
        assert text in res.output


def test_simulate_json_and_csv_match_the_reference(tmp_path: Path) -> None:
    out_json, out_csv = tmp_path / "r.json", tmp_path / "arcs.csv"
    res = runner.invoke(app, ["simulate", "--model", "mm1k", "--scale", "1.5",
                              "--json", str(out_json), "--csv", str(out_csv)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out_json.read_text())
    net = load_network(example_path())
    ref = reference_ecmp(net, demand_rate_bps=net.demands.rate_bps * 1.5)
    loads = np.array([a["load_bps"] for a in doc["arcs"]])
    np.testing.assert_allclose(loads, ref.arc_load_bps, rtol=1e-9)
    assert doc["options"]["queue_model"] == "mm1k"
    assert len(doc["demands"]) == 110 and len(doc["services"]) == 3
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 28 and float(rows[0]["load_bps"]) == doc["arcs"][0]["load_bps"]
    assert len(list(csv.DictReader((tmp_path / "arcs-demands.csv").open()))) == 110


def test_traffic_file_replaces_demands() -> None:
    topo = data_path("sndlib", "xml", "abilene.xml")
    tm = data_path("traffic", "abilene-zhang-5min",
                   "demandMatrix-abilene-zhang-5min-20040301-0000.xml")
    res = runner.invoke(app, ["simulate", str(topo), "--traffic", str(tm), "--json", "-"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert len(doc["demands"]) == 132 and doc["kpis"]["unroutable_bps"] == 0.0
    res = runner.invoke(app, ["info", str(topo), "--traffic", str(tm), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["demands"] == 132
    assert summary["offered_bps"] == sum(
        float(x) * 1e6 for x in __import__("re").findall(
            r"<demandValue>\s*([\d.]+)", tm.read_text()))


def test_sla_violation_exit_code() -> None:
    res = runner.invoke(app, ["simulate", "--scale", "3", "--fail-on-violation", "--top", "0"])
    assert res.exit_code == EXIT_SLA_VIOLATED
    assert "VIOLATED" in res.output
    net = load_network(example_path())
    result = simulate(compile_network(net), demand_rate_bps=net.demands.rate_bps * 3)
    assert result.services.violated.any()


def test_bad_input_exit_code_and_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes: [{id: A}]\nlinks: [{id: x, a: A, b: B, capacity_bps: 1e9}]\n")
    res = runner.invoke(app, ["simulate", str(bad)])
    assert res.exit_code == EXIT_BAD_INPUT
    assert "link 'x', field 'b': endpoint node does not exist (got 'B')" in res.output
    res = runner.invoke(app, ["info", str(tmp_path / "missing.graphml")])
    assert res.exit_code == EXIT_BAD_INPUT and "no such file" in res.output
    res = runner.invoke(app, ["simulate", "--model", "mm9"])
    assert res.exit_code == 2


def test_convert_graphml_to_native_and_back(tmp_path: Path) -> None:
    src = data_path("topology_zoo", "graphml", "Geant2012.graphml")
    out = tmp_path / "geant.yaml"
    res = runner.invoke(app, ["convert", str(src), str(out)])
    assert res.exit_code == 0, res.output
    assert load_network(out) == load_network(src)


def test_schema_command_prints_json_schema() -> None:
    res = runner.invoke(app, ["schema"])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["title"] == "nettwin network"
    res = runner.invoke(app, ["schema", "--markdown"])
    assert "| `capacity_ab_bps` | number | bit/s | required |" in res.stdout
    assert "| `metric_ab` | whole number |" in res.stdout


def test_qos_simulate_per_class(tmp_path: Path) -> None:
    import yaml

    net = tmp_path / "two-class.yaml"
    net.write_text(yaml.safe_dump({
        "name": "pair", "nodes": [{"id": "a"}, {"id": "b"}],
        "links": [{"id": "ab", "a": "a", "b": "b", "capacity_bps": 1e9}],
        "demands": [{"id": "v", "src": "a", "dst": "b", "rate_bps": 1e8,
                     "traffic_class": "voice"},
                    {"id": "d", "src": "a", "dst": "b", "rate_bps": 8.8e8,
                     "traffic_class": "data"}],
        "services": [{"id": "voip", "demands": ["v"], "max_delay_s": 2e-4}]}))
    out = tmp_path / "q.json"
    ok = runner.invoke(app, ["qos-simulate", str(net), "--priority", "voice,data",
                             "--json", str(out), "--fail-on-violation"])
    assert ok.exit_code == 0, ok.output
    doc = json.loads(out.read_text())
    assert [r["class"] for r in doc["classes"]] == ["voice", "data"]
    assert doc["classes"][0]["mean_delay_s"] < doc["classes"][1]["mean_delay_s"]
    bad = runner.invoke(app, ["qos-simulate", str(net), "--priority", "data,voice",
                              "--fail-on-violation"])
    assert bad.exit_code == 1 and "SLA violated" in bad.output
    wrong = runner.invoke(app, ["qos-simulate", str(net), "--scheduler", "lifo"])
    assert wrong.exit_code == 2 and "fifo, sp, wfq or drr" in wrong.output


def test_lab_fail_refuses_an_element_named_twice(tmp_path: Path) -> None:
    """As every failure list the twin takes: a repeat is refused before the lab is touched
    (the folder holds no lab: the refusal must come first)."""
    res = runner.invoke(app, ["lab", "fail", "l1", "l2", "l1", "--dir", str(tmp_path)])
    assert res.exit_code == 2 and "link l1 named twice" in res.output, res.output
    res = runner.invoke(app, ["lab", "restore", "--node", "R1", "--node", "R1",
                              "--dir", str(tmp_path)])
    assert res.exit_code == 2 and "router R1 named twice" in res.output, res.output
    # one of each is not a repeat: it reaches the lab, which is not there
    res = runner.invoke(app, ["lab", "fail", "l1", "--node", "l1", "--dir", str(tmp_path)])
    assert res.exit_code != 0 and "named twice" not in res.output, res.output


ONOFF_NETWORK = """nettwin: 1
name: onoff
nodes: [{id: a}, {id: b}]
links: [{id: l, a: a, b: b, capacity_ab_bps: 1.0e7}]
demands:
- {src: a, dst: b, rate_bps: 6.0e6, arrival: onoff, on_mean_s: 0.05, off_mean_s: 0.05}
- {src: b, dst: a, rate_bps: 6.0e6}
"""


def test_simulate_queues_onoff_demands_as_bursty_unless_told_textbook(tmp_path: Path) -> None:
    """An on-off source (peak 2x its mean, on and off 50 ms) alone on a link is IPP/M/1
    (GI/M/1 with the IPP's interarrival transform) under the default ``--arrivals bursty``;
    ``--arrivals poisson`` queues it as M/M/1, as the Poisson demand the other way is in
    both. The same switch is on every command that simulates (whatif, sweep, risk,
    optimize weights, validate)."""
    from tests.engine.test_arrivals import ipp_m1_sojourn

    path = tmp_path / "onoff.yaml"
    path.write_text(ONOFF_NETWORK)
    mu = 1e7 / 8000  # packets/s at 1,000-byte packets
    mm1 = 0.6 / 0.4 / mu
    docs = {}
    for arrivals in ("bursty", "poisson"):
        res = runner.invoke(app, ["simulate", str(path), "--packet-bytes", "1000",
                                  "--arrivals", arrivals, "--json", "-"])
        assert res.exit_code == 0, res.output
        docs[arrivals] = json.loads(res.stdout)
        assert docs[arrivals]["options"]["arrival_model"] == arrivals
    ab, ba = docs["bursty"]["arcs"]
    assert ab["queueing_s"] == pytest.approx(ipp_m1_sojourn(1.2 * mu, 0.05, 0.05, mu) - 1 / mu,
                                             rel=1e-3)  # buffer 1,000 packets, not infinite
    assert ab["queueing_s"] > 10 * mm1 and ba["queueing_s"] == pytest.approx(mm1)
    assert [a["queueing_s"] for a in docs["poisson"]["arcs"]] == pytest.approx([mm1, mm1])
    res = runner.invoke(app, ["simulate", str(path), "--arrivals", "mmpp"])
    assert res.exit_code == 2 and "bursty" in res.output and "poisson" in res.output  # usage
