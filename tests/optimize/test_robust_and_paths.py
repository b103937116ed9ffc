"""Robust weights against a full failure sweep; waypoint paths against the explicit-paths
reader and the engine's pinned-path routing."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nettwin import compile_network, simulate
from nettwin.engine.classes import simulate_classes, uniform_policy
from nettwin.io.explicit_paths import build_paths
from nettwin.optimize import Survive, apply_metrics, mcf_bound, optimize_paths, optimize_weights
from nettwin.scenarios import run_sweep

from .conftest import ring_network


@pytest.mark.parametrize("seed", range(3))
def test_robust_worst_case_equals_a_full_sweep(seed: int) -> None:
    network = ring_network(seed, 8, 6)
    res = optimize_weights(network, survive=Survive.N1, iterations=25, seed=seed)
    tuned = apply_metrics(network, res.metric)
    sweep = run_sweep(tuned)
    assert float(sweep.outcome.max_utilisation.max()) == pytest.approx(res.worst_mlu, rel=1e-9)
    before = run_sweep(network)
    assert float(before.outcome.max_utilisation.max()) == pytest.approx(res.worst_mlu_before,
                                                                        rel=1e-9)
    assert res.worst_mlu <= res.worst_mlu_before * (1 + 1e-12)
    # the worst failure, simulated from scratch, and the per-failure bound below it
    c = compile_network(tuned)
    i = list(network.links).index(res.worst_failure)
    up = c.arc_up.copy()
    up[[2 * i, 2 * i + 1]] = False
    assert simulate(c, arc_up=up).kpis()["max_utilisation"] == pytest.approx(res.worst_mlu,
                                                                            rel=1e-9)
    assert mcf_bound(c, up).value <= res.mlu_lower_bound * (1 + 1e-9)
    assert res.mlu_lower_bound <= res.worst_mlu * (1 + 1e-7)


def _offered_mlu(network, doc):  # type: ignore[no-untyped-def]
    c = compile_network(network)
    pinned = build_paths(doc, network, c)
    res = simulate_classes(c, uniform_policy(c), pinned=pinned, rounds=1)
    return float((res.arc_class_load_bps.sum(axis=1) / c.arc_capacity_bps).max())


@pytest.mark.parametrize(("seed", "segments"), [(0, 2), (1, 2), (2, 3)])
def test_waypoint_paths_are_loop_free_deliver_and_reproduce_the_mlu(seed: int,
                                                                    segments: int) -> None:
    network = ring_network(seed, 9, 5, uniform=True)
    res = optimize_paths(network, segments=segments, time_limit_s=2.0, seed=seed)
    c = compile_network(network)
    adjacent = {(c.node_ids[c.arc_src[a]], c.node_ids[c.arc_dst[a]]) for a in range(c.n_arcs)}
    ids = network.demand_ids
    for p in res.waypoints:
        d = network.demand(ids.index(p["demand"]))
        via = p["via"]
        assert via[0] == d.src and via[-1] == d.dst  # delivers
        assert len(set(via)) == len(via)  # loop-free
        assert all(pair in adjacent for pair in itertools.pairwise(via))
        assert 1 <= len(p["waypoints"]) <= segments - 1
        assert all(w in via[1:-1] for w in p["waypoints"])
    tuned = apply_metrics(network, res.metric)
    assert _offered_mlu(tuned, res.paths_document()) == pytest.approx(res.mlu, rel=1e-9)
    assert res.mlu <= res.mlu_weights_only * (1 + 1e-12)
    assert mcf_bound(c).value * (1 - 1e-7) <= res.mlu


def test_waypoints_on_kept_metrics_leave_them_alone() -> None:
    network = ring_network(4, 8, 4, uniform=True)
    res = optimize_paths(network, optimize_metrics=False, time_limit_s=1.0)
    np.testing.assert_array_equal(res.metric, compile_network(network).arc_metric)
    assert res.mlu_weights_only == pytest.approx(res.mlu_before, rel=1e-12)
