"""Loads under static routes against a hop-by-hop oracle: every demand split evenly over the
next hops of a brute-force FIB, router by router, on Abilene (no parallel links)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from nettwin import compile_network, simulate
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.io.frr_config import parse_frr_config
from nettwin.validate import Grade, validate_change
from nettwin.validate.addressing import plan_addresses
from nettwin.validate.changeset import AddStaticRoute
from nettwin.validate.forwarding import build_forwarding, make_probes
from nettwin.validate.steering import push_over, steer
from tests.conftest import random_network
from tests.validate.test_forwarding_oracle import DROP, LOCAL, oracle_fib

NET = load_network(example_path())


@pytest.mark.parametrize("seed", range(6))
def test_pushing_over_ospf_equals_the_engine(seed: int) -> None:
    network = random_network(seed, 8, 14)
    c = compile_network(network)
    plan = plan_addresses(network)
    state = build_forwarding(c, c.arc_up, plan, (), make_probes(plan, []))
    for t in np.unique(c.demand_dst).tolist():
        into = c.demand_dst == t
        only = np.where(into, c.demand_rate_bps, 0.0)
        engine = simulate(c, demand_rate_bps=only)
        inflow = np.bincount(c.demand_src[into], weights=c.demand_rate_bps[into],
                             minlength=c.n_nodes)
        load, dropped, looping = push_over(c, state.next_hop[t], state.local[t],
                                           state.drop[t], inflow)
        np.testing.assert_allclose(load, engine.arc_load_bps, rtol=1e-9, atol=1e-3)
        assert dropped == pytest.approx(engine.unroutable_bps, rel=1e-9, abs=1e-3)
        assert looping == 0.0


def _oracle_loads(routes: list, up: set[str]) -> dict[tuple[str, str], float]:  # type: ignore[type-arg]
    plan = plan_addresses(NET)
    loads: dict[tuple[str, str], float] = defaultdict(float)
    c = compile_network(NET)
    for k in range(c.n_demands):
        s, t = NET.node_ids[c.demand_src[k]], c.demand_dst[k]
        fib = oracle_fib(NET, up, routes, plan.owner_prefixes[t][1].network)
        frontier = {s: float(c.demand_rate_bps[k])}
        while frontier:
            nxt: dict[str, float] = defaultdict(float)
            for v, r in frontier.items():
                entry = fib[v]
                if entry in (LOCAL, DROP):
                    continue
                for u in entry:  # type: ignore[union-attr]
                    loads[(v, u)] += r / len(entry)  # type: ignore[arg-type]
                    nxt[u] += r / len(entry)  # type: ignore[arg-type]
            frontier = nxt
    return loads


def test_steered_loads_equal_the_hop_by_hop_oracle() -> None:
    # Chicago sends Los Angeles' traffic east through New York, New York sends Seattle's
    # south through Washington; both go on by OSPF without coming back
    la, seattle = NET.node_ids.index("Los-Angeles"), NET.node_ids.index("Seattle")
    text = (f"! router Chicago\nip route 10.255.0.{la}/32 New-York--Chicago\n"
            f"! router New-York\nip route 10.255.0.{seattle}/32 New-York--Washington-DC\n")
    change = parse_frr_config(text, NET)
    routes = [x.route for x in change.config if isinstance(x, AddStaticRoute)]
    c = compile_network(NET)
    plan = plan_addresses(NET)
    state = build_forwarding(c, c.arc_up, plan, tuple(routes), make_probes(plan, routes))
    st = steer(state, c.demand_rate_bps)
    assert st.destinations == 2 and st.looping_bps == 0.0
    load = simulate(c).arc_load_bps + st.load_delta_bps
    expected = _oracle_loads(routes, set(NET.links))
    for a in range(c.n_arcs):
        key = (c.node_ids[c.arc_src[a]], c.node_ids[c.arc_dst[a]])
        assert load[a] == pytest.approx(expected.get(key, 0.0), rel=1e-9, abs=1e-3), key
    v = validate_change(NET, change)
    util = np.where(c.arc_up, load / c.arc_capacity_bps, 0).max()
    assert v.after.max_utilisation == pytest.approx(util, rel=1e-9)
    assert v.grade is not Grade.SAFE  # the steered paths are no longer mirror images


def test_traffic_into_a_loop_is_counted_as_lost() -> None:
    from tests.validate.test_forwarding_oracle import oracle_walk

    wa = NET.node_ids.index("Washington-DC")
    text = (f"! router New-York\nip route 10.255.0.{wa}/32 New-York--Chicago\n"
            f"! router Chicago\nip route 10.255.0.{wa}/32 New-York--Chicago\n")
    change = parse_frr_config(text, NET)
    routes = [x.route for x in change.config if isinstance(x, AddStaticRoute)]
    c = compile_network(NET)
    plan = plan_addresses(NET)
    state = build_forwarding(c, c.arc_up, plan, tuple(routes), make_probes(plan, routes))
    fib = oracle_fib(NET, set(NET.links), routes, plan.owner_prefixes[wa][1].network)
    looping = sum(float(c.demand_rate_bps[k]) for k in range(c.n_demands)
                  if c.demand_dst[k] == wa and oracle_walk(fib, NET.node_ids[c.demand_src[k]])[2])
    assert looping > 0
    assert steer(state, c.demand_rate_bps).looping_bps == pytest.approx(looping, rel=1e-9)
    v = validate_change(NET, change)
    assert v.after.unroutable_bps == pytest.approx(v.before.unroutable_bps + looping, rel=1e-9)
