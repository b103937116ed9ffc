"""Scenarios: parsing with precise errors, deltas equal to editing the network, diffs."""

from __future__ import annotations

import numpy as np
import pytest

from nettwin import ValidationError, build_network, compile_network, simulate
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.reference import enumerate_ecmp_paths, reference_ecmp
from nettwin.scenarios import parse_scenario, run_whatif
from nettwin.scenarios.apply import apply_scenario


@pytest.fixture(scope="module")
def abilene():  # type: ignore[no-untyped-def]
    return load_network(example_path())


def test_every_bad_change_is_reported(abilene) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as info:
        parse_scenario({"changes": [{"explode": "x"}, {"set_metric": {"link": "a", "metric": 0}},
                                    {"set_metric": {"link": "a", "metric": 2.5}},
                                    {"surge": {"target": "A", "rate_bps": 1}},
                                    {"fail_link": ["x"]}, "oops"]}, "s.yaml")
    text = str(info.value)
    assert "6 problem(s)" in text
    assert "s.yaml change #1: unknown change (got 'explode')" in text
    assert "change #2, field 'metric': must be greater than 0" in text
    assert "change #3, field 'metric': expected a whole number" in text
    assert "change #4, field 'sources': surge needs a list of sources" in text
    scenario = parse_scenario({"changes": [{"fail_link": "nope"}, {"fail_node": "Mars"},
                                           {"scale_traffic": {"factor": 2, "service": "x"}}]})
    with pytest.raises(ValidationError) as info:
        apply_scenario(abilene, None, scenario)
    assert len(info.value.problems) == 3
    assert "no such link (got 'nope')" in str(info.value)


def _rebuilt(network, **link_changes):  # type: ignore[no-untyped-def]
    links = []
    for link in network.links.values():
        rec = {f: getattr(link, f) for f in ("id", "a", "b", "capacity_ab_bps",
                                             "capacity_ba_bps", "metric_ab", "metric_ba",
                                             "length_km", "srlgs")}
        rec.update(link_changes.get(link.id, {}))
        links.append(rec)
    return build_network(network.name, list(network.nodes.values()), links, network.demands)


def test_metric_capacity_and_drain_deltas_equal_an_edited_network(abilene) -> None:  # type: ignore[no-untyped-def]
    scenario = parse_scenario({"changes": [
        {"set_metric": {"link": "New-York--Chicago", "metric": 50, "direction": "ab"}},
        {"set_capacity": {"link": "Seattle--Denver", "capacity_bps": 1e9}},
        {"drain_node": "Kansas-City"}]})
    applied = apply_scenario(abilene, compile_network(abilene), scenario)
    edits = {"New-York--Chicago": {"metric_ab": 50},
             "Seattle--Denver": {"capacity_ab_bps": 1e9, "capacity_ba_bps": 1e9}}
    for link in abilene.links.values():  # drain: every arc leaving Kansas-City at max metric
        if link.a == "Kansas-City":
            edits.setdefault(link.id, {})["metric_ab"] = 65535
        if link.b == "Kansas-City":
            edits.setdefault(link.id, {})["metric_ba"] = 65535
    edited = _rebuilt(abilene, **edits)
    ours = simulate(applied.compiled, arc_up=applied.arc_up)
    np.testing.assert_allclose(ours.arc_load_bps, reference_ecmp(edited).arc_load_bps,
                               rtol=1e-9)
    np.testing.assert_allclose(ours.arc_utilisation,
                               simulate(compile_network(edited)).arc_utilisation, rtol=1e-9)


def test_drain_removes_transit_but_keeps_the_nodes_own_traffic(abilene) -> None:  # type: ignore[no-untyped-def]
    r = run_whatif(abilene, parse_scenario({"changes": [{"drain_node": "Kansas-City"}]}))
    c = r.applied.compiled
    kc = abilene.node_index["Kansas-City"]
    into = r.result.arc_load_bps[c.arc_dst == kc].sum()
    sunk = r.result.demand_rate_bps[c.demand_dst == kc].sum()
    assert into == pytest.approx(sunk, rel=1e-9)  # nothing enters only to leave again
    assert not r.diff.demands_lost


def test_surge_and_add_link_rebuild_the_network(abilene) -> None:  # type: ignore[no-untyped-def]
    r = run_whatif(abilene, parse_scenario({"changes": [
        {"surge": {"sources": ["Seattle", "Denver"], "target": "Atlanta", "rate_bps": 4e9}},
        {"add_link": {"id": "new", "a": "Seattle", "b": "Chicago", "capacity_bps": 1e10,
                      "metric": 30}}]}))
    net = r.applied.network
    assert len(net.demands) == len(abilene.demands) + 2 and "new" in net.links
    assert r.result.offered_bps == pytest.approx(abilene.demands.total_rate_bps + 4e9)
    assert any(c.utilisation_before is None for c in r.diff.arcs_changed)  # the new arcs
    np.testing.assert_allclose(r.result.arc_load_bps, reference_ecmp(net).arc_load_bps,
                               rtol=1e-9)


def test_rerouted_and_lost_demands_match_path_enumeration(abilene) -> None:  # type: ignore[no-untyped-def]
    r = run_whatif(abilene, parse_scenario({"changes": [{"fail_link": "Denver--Kansas-City"},
                                                        {"fail_node": "Houston"}]}))
    up = r.applied.arc_up
    expected_rerouted, expected_lost = set(), set()
    for d in abilene.iter_demands():
        before = sorted((round(p, 12), arcs) for p, arcs in
                        enumerate_ecmp_paths(abilene, d.src, d.dst))
        after = sorted((round(p, 12), arcs) for p, arcs in
                       enumerate_ecmp_paths(abilene, d.src, d.dst, up))
        if not after:
            expected_lost.add(d.id)
        elif before != after:
            expected_rerouted.add(d.id)
    assert set(r.diff.demands_lost) == expected_lost
    assert set(r.diff.demands_rerouted) == expected_rerouted
    assert expected_lost and r.diff.verdict().startswith(f"FAIL: {len(expected_lost)} demands")


def test_a_surge_keeps_the_plans_bursty_arrivals() -> None:
    """A surge rebuilds the demand table: the plan's arrival processes are kept (the
    surge's own demands Poisson). Before, they were dropped and a 1-bit/s surge took the
    on-off service's delay from ~14 ms to ~0.7 ms (every demand queued as Poisson)."""
    from tests.conftest import onoff_ring

    net = onoff_ring()
    sc = parse_scenario({"name": "s", "changes": [
        {"surge": {"sources": ["c"], "target": "d", "rate_bps": 1.0}}]}, "t")
    r = run_whatif(net, sc)
    arrivals = r.applied.network.demands.arrivals
    assert arrivals is not None and arrivals.kind.size == len(r.applied.network.demands)
    assert r.result.services.worst_delay_s[0] == pytest.approx(
        r.baseline.services.worst_delay_s[0], rel=1e-3)


def test_a_whatif_on_a_given_baseline_is_queued_as_that_baseline() -> None:
    """Given a no-change run made with the textbook queues and no options, the scenario is
    run with that run's options: the two compared are queued alike (an unrelated failure
    leaves the on-off service's delay as it was)."""
    from nettwin.engine import SimulationOptions, compile_network, simulate
    from nettwin.engine.options import ArrivalModel
    from tests.conftest import onoff_ring

    net = onoff_ring()
    c = compile_network(net)
    textbook = simulate(c, SimulationOptions(arrival_model=ArrivalModel.POISSON))
    r = run_whatif(net, parse_scenario({"changes": [{"fail_link": "cd"}]}, "t"),
                   compiled=c, baseline=textbook)
    assert r.result.options.arrival_model is ArrivalModel.POISSON
    (s1,) = r.diff.services
    assert s1.worst_delay_after_s == pytest.approx(s1.worst_delay_before_s, rel=1e-12)
