"""The model reports every problem at once, precisely, and never half-loads."""

from __future__ import annotations

import pytest

from nettwin import ValidationError, build_network
from nettwin.model import Severity

NODES = [{"id": "A"}, {"id": "B"}, {"id": "C"}]


def _problems(**kwargs: object) -> list[str]:
    args = {"nodes": NODES, "links": [], "demands": (), "services": ()} | kwargs
    with pytest.raises(ValidationError) as info:
        build_network("t", **args)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems(
        nodes=[*NODES, {"id": "A"}],
        links=[
            {"id": "x", "a": "A", "b": "Z", "capacity_bps": 1e9},  # unknown endpoint
            {"id": "y", "a": "A", "b": "A", "capacity_bps": 1e9},  # self-loop
            {"id": "z", "a": "A", "b": "B", "capacity_bps": -5},  # negative capacity
            {"id": "z", "a": "B", "b": "C", "capacity_bps": 1e9},  # duplicate id
            {"id": "w", "a": "B", "b": "C", "capacity_bps": 1e9, "metric": 0},
            {"id": "v", "a": "B", "b": "C", "capacity_bps": 1e9, "colour": "red"},
        ],
        demands=[{"src": "A", "dst": "Q", "rate_bps": 1.0},
                 {"src": "B", "dst": "B", "rate_bps": 1.0},
                 {"src": "A", "dst": "B", "rate_bps": "lots"}],
        services=[{"id": "s", "demands": ["nope"]}],
    )
    text = "\n".join(problems)
    assert "node 'A', field 'id': id is used by 2 nodes" in text
    assert "link 'x', field 'b': endpoint node does not exist (got 'Z')" in text
    assert "link 'y', field 'b': link connects a node to itself" in text
    assert "link 'z', field 'capacity_ab_bps': must be greater than 0 (got -5)" in text
    assert "link 'z', field 'id': id is used by 2 links" in text
    assert "link 'w', field 'metric_ab': must be at least 1 (got 0)" in text
    assert "link 'v', field 'colour': unknown link field" in text
    assert "field 'dst': destination node does not exist (got 'Q')" in text
    assert "source and destination are the same node" in text
    assert "field 'rate_bps': expected a number (got 'lots')" in text
    assert "service 's', field 'demands': refers to a demand that does not exist" in text
    assert len(problems) == 13  # capacity_bps and metric set both directions: 2 each
    assert all("Fix:" in p for p in problems)


def test_valid_network_builds_with_defaults_reported() -> None:
    net = build_network("t", NODES, [{"id": "ab", "a": "A", "b": "B", "capacity_bps": 1e9},
                                     {"id": "bc", "a": "B", "b": "C", "capacity_ab_bps": 1e9,
                                      "capacity_ba_bps": 2e9, "metric_ab": 5}])
    ab, bc = net.links["ab"], net.links["bc"]
    assert (ab.metric_ab, ab.metric_ba, ab.capacity_ba_bps) == (1, 1, 1e9)
    assert (bc.metric_ab, bc.metric_ba, bc.capacity_ba_bps) == (5, 5, 2e9)
    notes = [str(n) for n in net.notes if n.severity is Severity.NOTE]
    assert any("1 link(s): no IGP metric given, metric 1" in n for n in notes)
    assert any("propagation delay taken as 0" in n for n in notes)


def test_service_and_demand_ids() -> None:
    net = build_network(
        "t", NODES, [{"id": "ab", "a": "A", "b": "B", "capacity_bps": 1e9}],
        demands=[{"src": "A", "dst": "B", "rate_bps": 5.0},
                 {"src": "A", "dst": "B", "rate_bps": 1.0, "traffic_class": "voice"}],
        services=[{"id": "s", "demands": ["A->B", "A->B:voice"], "max_delay_s": 0.01}])
    assert net.demand_ids == ("A->B", "A->B:voice")
    assert net.demand(1).traffic_class == "voice"


def test_duplicate_demand_is_an_error() -> None:
    problems = _problems(demands=[{"src": "A", "dst": "B", "rate_bps": 1.0},
                                  {"src": "A", "dst": "B", "rate_bps": 2.0}])
    assert any("duplicate demand id (got 'A->B')" in p for p in problems)
