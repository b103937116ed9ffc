"""``nettwin optimize``: outputs agree with the library; bad input exits 3 and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nettwin import compile_network, simulate
from nettwin.cli import app
from nettwin.cli.common import EXIT_BAD_INPUT
from nettwin.io import load_network
from nettwin.io.explicit_paths import load_paths
from nettwin.optimize.tolerance import PRIMAL_FEASIBILITY_TOL

runner = CliRunner()


def test_weights_writes_json_and_the_tuned_network(tmp_path: Path) -> None:
    out, net = tmp_path / "out.json", tmp_path / "tuned.yaml"
    res = runner.invoke(app, ["optimize", "weights", "--iterations", "30", "--changes", "3",
                              "--json", str(out), "--apply-to", str(net)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    for key in ("mlu", "mlu_before", "mlu_lower_bound", "ratio", "weights", "changed_links",
                "steps", "seconds", "evaluations"):
        assert key in doc
    assert len(doc["changed_links"]) <= 3
    tuned = load_network(net)
    kpis = simulate(compile_network(tuned)).kpis()
    assert kpis["max_utilisation"] == pytest.approx(doc["mlu"], rel=1e-9)
    for link in tuned.links.values():
        assert doc["weights"][f"{link.a}->{link.b}"] == link.metric_ab
        assert doc["weights"][f"{link.b}->{link.a}"] == link.metric_ba


def test_robust_json_to_stdout() -> None:
    res = runner.invoke(app, ["optimize", "weights", "--survive", "n-1", "--iterations", "3",
                              "--json", "-"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout[res.stdout.index("{"):res.stdout.rindex("}") + 1])
    assert {"worst_failure", "worst_mlu", "worst_mlu_before"} <= set(doc)
    assert doc["worst_mlu"] <= doc["worst_mlu_before"]


def test_paths_writes_a_file_qos_simulate_reads(tmp_path: Path) -> None:
    out, sr = tmp_path / "out.json", tmp_path / "sr.yaml"
    res = runner.invoke(app, ["optimize", "paths", "--time-limit", "2", "--json", str(out),
                              "--paths-out", str(sr)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    paths = yaml.safe_load(sr.read_text())["paths"]
    assert len(paths) == doc["demands_with_waypoints"]
    network = load_network(Path(__file__).parents[2] / "src/nettwin/examples/abilene.yaml")
    pinned = load_paths(sr, network, compile_network(network))  # loop-free, valid demands
    assert pinned.demand.size == len(paths)


@pytest.mark.parametrize("args", [
    ["--changes", "0"],
    ["--time-limit", "0.5"],
    ["--objective", "sla", "--traffic", "TRAFFIC"],
    ["--apply-to", "NET.txt"],
])
def test_bad_input_exits_3_and_writes_nothing(tmp_path: Path, args: list[str]) -> None:
    traffic = tmp_path / "tm.csv"
    traffic.write_text("src,dst,rate_bps\nSeattle,Atlanta,0\n")
    args = [str(traffic) if a == "TRAFFIC" else str(tmp_path / a) if a == "NET.txt" else a
            for a in args]
    out = tmp_path / "out.json"
    res = runner.invoke(app, ["optimize", "weights", *args, "--json", str(out)])
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == (["tm.csv"])


def test_no_traffic_exits_3(tmp_path: Path) -> None:
    traffic = tmp_path / "tm.csv"
    traffic.write_text("src,dst,rate_bps\nSeattle,Atlanta,0\n")
    out = tmp_path / "out.json"
    res = runner.invoke(app, ["optimize", "paths", "--traffic", str(traffic),
                              "--json", str(out)])
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert "no traffic" in res.output
    assert not out.exists()


def test_a_bound_reached_reads_a_ratio_of_one(tmp_path: Path) -> None:
    """One 10 G link carrying 4 G: every routing, and the multicommodity-flow optimum
    (by hand: 4 / 10), load it to 0.4, so the ratio is 1 to the LP's tolerance; it
    printed 1.000000001 (noise below HiGHS's tolerance) and the bound stays below."""
    from nettwin.io import save_network
    from nettwin.model import build_network

    net = build_network("one-link", [{"id": "a"}, {"id": "b"}],
                        [{"id": "ab", "a": "a", "b": "b", "capacity_bps": 10e9}],
                        [{"src": "a", "dst": "b", "rate_bps": 4e9}])
    path, out = tmp_path / "one.yaml", tmp_path / "out.json"
    save_network(net, path)
    res = runner.invoke(app, ["optimize", "weights", str(path), "--iterations", "1",
                              "--json", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["mlu"] == pytest.approx(0.4, rel=1e-12) and doc["ratio"] == 1.0
    assert doc["mlu_lower_bound"] <= doc["mlu"]
    assert doc["mlu_lower_bound"] == pytest.approx(0.4, rel=PRIMAL_FEASIBILITY_TOL)
