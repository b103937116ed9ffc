"""The survival check's pruning (validate/bounds.py): the utilisation bound holds against
full recomputation, the connectivity test against scipy's components, and a survival report
with pruning equals the one that sweeps every failure."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from nettwin import build_network, compile_network, simulate
from nettwin.engine.incremental import prepare_baseline
from nettwin.model import Network
from nettwin.model.gravity import gravity_demands
from nettwin.scenarios.apply import apply_scenario
from nettwin.scenarios.changes import Scenario, SetMetric
from nettwin.scenarios.sweep import link_failures
from nettwin.validate import Survive, performance
from nettwin.validate.bounds import ends_still_joined, utilisation_bounds
from nettwin.validate.performance import evaluate_survival
from tests.conftest import random_network


def _components(c, up: np.ndarray) -> int:  # type: ignore[no-untyped-def]
    sel = np.flatnonzero(up)
    g = csr_matrix((np.ones(sel.size), (c.arc_src[sel], c.arc_dst[sel])),
                   shape=(c.n_nodes, c.n_nodes))
    return int(connected_components(g, directed=False)[0])


@pytest.mark.parametrize("seed", range(4))
def test_bound_and_connectivity_hold_against_full_runs(seed: int) -> None:
    net = random_network(seed, 16, 30, demand_fraction=0.9)
    c = compile_network(net)
    base = prepare_baseline(c)
    rng = np.random.default_rng(seed)
    sets = [f.arcs for f in link_failures(net)]
    sets += [np.concatenate([sets[i] for i in rng.choice(len(sets), 3, replace=False)])
             for _ in range(20)]
    bound = utilisation_bounds(base, sets)
    joined = ends_still_joined(base, sets)
    whole = _components(c, c.arc_up)
    for arcs, b, j in zip(sets, bound, joined, strict=True):
        up = c.arc_up.copy()
        up[arcs] = False
        r = simulate(c, arc_up=up)
        assert np.where(up, r.arc_utilisation, 0.0).max() <= b
        assert j == (_components(c, up) == whole)  # nothing cut off iff still one piece


def _ring_with_chords(n: int, m: int, seed: int) -> Network:
    """A backbone-like graph (no bridges but the failures that split it): a ring, random
    chords, mixed capacities, asymmetric small metrics, gravity traffic."""
    rng = np.random.default_rng(seed)
    pairs = {(i, (i + 1) % n) for i in range(n)}
    while len(pairs) < m:
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        if (b, a) not in pairs:
            pairs.add((a, b))
    links = [{"id": f"l{k}", "a": f"n{a}", "b": f"n{b}",
              "capacity_bps": float(rng.choice([10e9, 40e9, 100e9])),
              "metric_ab": int(rng.integers(1, 5)), "metric_ba": int(rng.integers(1, 5))}
             for k, (a, b) in enumerate(sorted(pairs))]
    return build_network("ring", [{"id": f"n{i}"} for i in range(n)], links,
                         gravity_demands(rng.lognormal(0, 1, n), 1e11))


@pytest.mark.parametrize("seed", range(3))
def test_pruned_survival_equals_the_full_sweep(seed: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """On a 'large' network (the unchanged one not swept whole) pruning leaves out failures
    and the report stays the same, note aside."""
    monkeypatch.setattr(performance, "FULL_BEFORE_WORK", 0)
    net = _ring_with_chords(40, 90, seed)
    c = compile_network(net)
    top = float(simulate(c).arc_utilisation.max())
    scale = (0.6, 0.9, 1.2)[seed] / top  # no overload, close to it, overloaded
    net = net.with_demands(dataclasses.replace(net.demands,
                                               rate_bps=net.demands.rate_bps * scale))
    c = compile_network(net)
    busiest = int(np.argmax(simulate(c).arc_utilisation))
    applied = apply_scenario(net, c, Scenario("t", (SetMetric(c.link_ids[busiest // 2], 9),)))
    reports = [evaluate_survival(
        Survive.N1, net, prepare_baseline(c), applied.network,
        prepare_baseline(applied.compiled, applied.arc_up, applied.demand_rate_bps),
        simulate(c).options, prune=prune) for prune in (True, False)]
    pruned, full = reports
    if seed < 2:  # all but the overloaded network leave some failures out
        assert "without a sweep" in pruned.note
    assert dataclasses.replace(pruned, note="") == dataclasses.replace(full, note="")
