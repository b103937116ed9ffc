"""Bad scenario files and impossible simulation requests: each names the scenario, the change
(by number), the field, the value and the fix; every problem of a file comes at once; the
command line exits 3 for bad input and 4 for a simulation it cannot run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nettwin import SimulationError, ValidationError, compile_network, simulate
from nettwin.cli import app
from nettwin.cli.common import EXIT_BAD_INPUT, EXIT_SIMULATION
from nettwin.engine import SimulationOptions
from nettwin.engine.classes import uniform_policy
from nettwin.errors import ImportFormatError
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.io.scenario_files import load_scenarios
from nettwin.scenarios import run_whatif

runner = CliRunner()
NET = load_network(example_path())

# (id, the scenario document, what the message must say)
PARSE_CASES = [
    ("not-a-mapping", "42\n", ["s.yaml: a scenario is a mapping with a 'changes' list",
                               "Fix: see 'nettwin whatif --help'"]),
    ("two-keys", "changes: [{fail_link: a, fail_node: b}]\n",
     ["s.yaml change #1: each change is a mapping with exactly one key",
      "Fix: use one of: fail_link, fail_node"]),
    ("unknown-change", "changes: [{explode_link: Denver--Kansas-City}]\n",
     ["s.yaml change #1: unknown change (got 'explode_link')", "Fix: use one of:"]),
    ("id-not-a-string", "changes: [{fail_link: {a: b}}]\n",
     ["s.yaml change #1: fail_link takes an id (got {'a': 'b'})",
      "Fix: write 'fail_link: ID'"]),
    ("metric-negative", "changes: [{set_metric: {link: Denver--Kansas-City, metric: -1}}]\n",
     ["s.yaml change #1, field 'metric': must be greater than 0 (got -1)"]),
    ("metric-fraction", "changes: [{set_metric: {link: Denver--Kansas-City, metric: 1.5}}]\n",
     ["s.yaml change #1, field 'metric': expected a whole number (got 1.5)",
      "Fix: give metric as a number"]),
    ("direction", "changes: [{set_capacity: {link: Denver--Kansas-City, capacity_bps: 1e9, "
                  "direction: sideways}}]\n",
     ["s.yaml change #1, field 'direction': direction must be ab, ba or both "
      "(got 'sideways')", "Fix: direction: ab|ba|both"]),
    ("missing-link", "changes: [{set_capacity: {capacity_bps: 1e9}}]\n",
     ["s.yaml change #1, field 'link': missing field", "Fix: give link"]),
    ("factor", "changes: [{scale_traffic: {factor: lots}}]\n",
     ["s.yaml change #1, field 'factor': expected a number (got 'lots')"]),
    ("surge-sources", "changes: [{surge: {target: Chicago, rate_bps: 1e9}}]\n",
     ["s.yaml change #1, field 'sources': surge needs a list of sources",
      "Fix: sources: [NODE, ...]"]),
    ("add-link-shape", "changes: [{add_link: Denver--Chicago}]\n",
     ["s.yaml change #1: add_link takes a link record (got 'Denver--Chicago')"]),
    ("failed-twice", "changes: [{fail_link: Denver--Kansas-City}, {fail_node: Houston}, "
                     "{fail_link: Denver--Kansas-City}, {fail_node: Houston}]\n",
     ["s.yaml change #3: link failed twice, first by s.yaml change #1 "
      "(got 'Denver--Kansas-City')", "Fix: fail each link once: drop this repeat",
      "s.yaml change #4: node failed twice, first by s.yaml change #2 (got 'Houston')"]),
    ("second-scenario", "scenarios:\n  - {name: ok, changes: [{fail_link: Denver--Kansas-City}]}"
                        "\n  - {name: bad, changes: [{fail_link: Denver--Kansas-City}, "
                        "{drain_node: [x]}]}\n",
     ["s.yaml[1] change #2: drain_node takes an id (got ['x'])"]),
]


@pytest.mark.parametrize(("text", "says"), [c[1:] for c in PARSE_CASES],
                         ids=[c[0] for c in PARSE_CASES])
def test_bad_scenario_file(text: str, says: list[str], tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError) as info:
        load_scenarios(path)
    for part in says:
        assert part in str(info.value), (part, str(info.value))
    res = runner.invoke(app, ["whatif", "--scenario", str(path)])
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    flat = " ".join(res.output.split())
    for part in says:
        assert part in flat, (part, res.output)


def test_every_problem_of_a_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "three", "changes": [
        {"fail_link": "Denver--Kansas-City"}, {"set_metric": {"link": "x", "metric": 0}},
        {"scale_traffic": {"factor": -2}}, {"teleport": 1}]}))
    with pytest.raises(ValidationError) as info:
        load_scenarios(path)
    assert [(p.element, p.field) for p in info.value.problems] == [
        ("s.yaml change #2", "metric"), ("s.yaml change #3", "factor"),
        ("s.yaml change #4", None)]
    assert str(info.value).startswith("3 problem(s) in s.yaml:")


def test_only_a_repeated_failure_is_refused(tmp_path: Path) -> None:
    """Changes apply in order (the module's contract): two scale_traffic compound, as one
    by their product; failing a link and an SRLG that holds it fails two elements."""
    path = tmp_path / "s.yaml"
    srlg = next(g for lk in NET.links.values() for g in lk.srlgs)
    holder = next(lid for lid, lk in NET.links.items() if srlg in lk.srlgs)
    path.write_text(yaml.safe_dump({"scenarios": [
        {"name": "twice", "changes": [{"scale_traffic": {"factor": 1.5}},
                                      {"scale_traffic": {"factor": 1.5}},
                                      {"fail_link": holder}, {"fail_srlg": srlg}]},
        {"name": "once", "changes": [{"scale_traffic": {"factor": 2.25}},
                                     {"fail_srlg": srlg}]}]}))
    twice, once = (run_whatif(NET, s) for s in load_scenarios(path))
    assert np.array_equal(twice.result.arc_up, once.result.arc_up)
    assert np.allclose(twice.result.arc_load_bps, once.result.arc_load_bps)


def test_scenario_file_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nchanges:\n  - {fail_link: a\n")
    with pytest.raises(ImportFormatError) as info:
        load_scenarios(path)
    assert info.value.path == str(path) and info.value.line is not None
    assert "invalid YAML" in str(info.value)
    res = runner.invoke(app, ["whatif", "--scenario", str(path)])
    assert res.exit_code == EXIT_BAD_INPUT and "invalid YAML" in res.output


@pytest.mark.parametrize(("change", "says"), [
    ({"fail_node": "Gotham"}, "scenario 'x': no such node (got 'Gotham')"),
    ({"fail_srlg": "duct-9"}, "scenario 'x': no such SRLG (got 'duct-9')"),
    ({"set_metric": {"link": "Gotham--Metropolis", "metric": 5}},
     "scenario 'x': no such link (got 'Gotham--Metropolis')"),
    ({"scale_traffic": {"factor": 2, "service": "teleport"}},
     "scenario 'x': no such service (got 'teleport')"),
    ({"scale_traffic": {"factor": 2, "traffic_class": "gold"}},
     "scenario 'x': no such traffic class (got 'gold')"),
    ({"remove_link": "Gotham--Metropolis"},
     "scenario 'x': remove_link: no such link (got 'Gotham--Metropolis')"),
    ({"surge": {"sources": ["Gotham"], "target": "Chicago", "rate_bps": 1e9}},
     "scenario 'x': surge"),
], ids=["node", "srlg", "link", "service", "class", "remove", "surge"])
def test_references_to_unknown_elements(change: dict[str, object], says: str,
                                        tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "changes": [change]}))
    (scenario,) = load_scenarios(path)  # well formed: the network decides
    with pytest.raises(ValidationError) as info:
        run_whatif(NET, scenario)
    assert says in str(info.value)
    if "surge" in change:
        assert "Gotham" in str(info.value)
    res = runner.invoke(app, ["whatif", "--scenario", str(path)])
    assert res.exit_code == EXIT_BAD_INPUT and says in " ".join(res.output.split())


# --------------------------------------------------------------------------- SimulationError
def test_simulation_errors_are_raised_with_the_value() -> None:
    c = compile_network(NET)
    cases = [
        (lambda: SimulationOptions(mean_packet_bytes=0), "mean_packet_bytes must be > 0 (got 0)"),
        (lambda: SimulationOptions(packet_size_scv=-1), "packet_size_scv must be >= 0 (got -1)"),
        (lambda: SimulationOptions(default_buffer_packets=0),
         "default_buffer_packets must be >= 1 (got 0)"),
        (lambda: simulate(c, arc_up=np.ones(c.n_arcs - 1, bool)),
         f"arc_up must have one entry per arc ({c.n_arcs})"),
        (lambda: simulate(c, demand_rate_bps=np.ones(3)),
         f"demand_rate_bps must have one entry per demand ({c.n_demands})"),
        (lambda: simulate(c, demand_rate_bps=np.full(c.n_demands, math.nan)),
         "demand_rate_bps must be finite and >= 0"),
        (lambda: simulate(c, demand_rate_bps=-c.demand_rate_bps),
         "demand_rate_bps must be finite and >= 0"),
        (lambda: uniform_policy(c, priority=("gold",)),
         "classes ['best-effort'] have no place in the priority order ['gold']"),
        (lambda: uniform_policy(c, weights=(1.0, 2.0)),
         "weights (1.0, 2.0) must be 1 positive numbers, one per class"),
    ]
    for make, says in cases:
        with pytest.raises(SimulationError) as info:
            make()
        assert says in str(info.value), (says, str(info.value))


def test_cli_exits_4_when_the_simulation_cannot_run(tmp_path: Path) -> None:
    net = tmp_path / "two-class.yaml"
    net.write_text(yaml.safe_dump({
        "name": "pair", "nodes": [{"id": "a"}, {"id": "b"}],
        "links": [{"id": "ab", "a": "a", "b": "b", "capacity_bps": 1e9}],
        "demands": [{"id": "v", "src": "a", "dst": "b", "rate_bps": 1e8,
                     "traffic_class": "voice"},
                    {"id": "d", "src": "a", "dst": "b", "rate_bps": 8.8e8,
                     "traffic_class": "data"}]}))
    res = runner.invoke(app, ["qos-simulate", str(net), "--priority", "voice"])
    assert res.exit_code == EXIT_SIMULATION, res.output
    assert "classes ['data'] have no place in the priority order ['voice']" in " ".join(
        res.output.split())
    res = runner.invoke(app, ["qos-simulate", str(net), "--scheduler", "wfq",
                              "--weights", "0.5,0.3,0.2"])
    assert res.exit_code == EXIT_SIMULATION, res.output
    assert "must be 2 positive numbers" in res.output


@pytest.mark.parametrize("metric", [0, -3, 2.5])
def test_a_metric_change_built_in_code_is_checked_too(metric: float) -> None:
    """The parser refuses metrics below 1; a SetMetric made in Python skipped that check and
    reached the engine, where a zero-metric pair of arcs is a routing loop."""
    from nettwin.scenarios.apply import apply_scenario
    from nettwin.scenarios.changes import Scenario, SetMetric

    link = next(iter(NET.links))
    with pytest.raises(ValidationError, match=rf"set_metric {link}.*1 or more"):
        apply_scenario(NET, compile_network(NET),
                       Scenario("code", (SetMetric(link, metric),)))  # type: ignore[arg-type]
