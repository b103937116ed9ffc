"""Serial and parallel kernels: the same results (against networkx and full recomputation),
whichever side of the work crossover a job falls; the thread count as a setting."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from nettwin import compile_network, simulate
from nettwin.engine import threads
from nettwin.engine.failure_sets import evaluate_failure_sets
from nettwin.engine.incremental import failure_loads, prepare_baseline
from nettwin.errors import SimulationError
from nettwin.reference import reference_ecmp
from tests.conftest import random_network

REL = 1e-9


@pytest.fixture(params=["serial", "parallel"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Force every kernel to one side of the crossover."""
    monkeypatch.setattr(threads, "PARALLEL_ABOVE_WORK", 0.0 if request.param == "parallel"
                        else float("inf"))
    threads.set_engine_threads(2)
    yield request.param
    threads.set_engine_threads(None)


@pytest.mark.parametrize("seed", [3, 17])
def test_loads_and_path_metrics_equal_the_reference_in_both_modes(mode: str, seed: int) -> None:
    net = random_network(seed, 30, 70, max_metric=3)
    c = compile_network(net)
    up = np.random.default_rng(seed).random(c.n_arcs) > 0.1
    result = simulate(c, arc_up=up)
    ref = reference_ecmp(net, up)
    scale = float(c.demand_rate_bps.sum())
    np.testing.assert_allclose(result.arc_load_bps, ref.arc_load_bps, rtol=REL, atol=REL * scale)
    np.testing.assert_array_equal(result.demand_routed, ref.routed)
    # the other mode: the same paths and metrics (loads, hence queueing, to rounding)
    other = 0.0 if mode == "serial" else float("inf")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(threads, "PARALLEL_ABOVE_WORK", other)
        again = simulate(c, arc_up=up)
    for name in ("demand_delay_mean_s", "demand_delay_worst_s", "demand_loss",
                 "demand_hops_mean", "demand_path_signature"):
        np.testing.assert_allclose(getattr(result, name), getattr(again, name), rtol=REL,
                                   atol=1e-15, err_msg=name)


def test_incremental_failures_equal_full_recomputation_in_both_modes(mode: str) -> None:
    c = compile_network(random_network(5, 25, 60))
    base = prepare_baseline(c)
    sets = [np.array([a]) for a in range(0, c.n_arcs, 3)] + [np.array([0, 1, 10, 11])]
    outcome = evaluate_failure_sets(base, sets)
    scale = float(c.demand_rate_bps.sum())
    for i, arcs in enumerate(sets):
        ok = c.arc_up.copy()
        ok[arcs] = False
        full = simulate(c, arc_up=ok)
        load, _ = failure_loads(base, arcs)
        np.testing.assert_allclose(load, full.arc_load_bps, rtol=REL, atol=REL * scale)
        util = full.arc_load_bps / c.arc_capacity_bps
        assert outcome.max_utilisation[i] == pytest.approx(util.max(), rel=REL, abs=REL)


def test_thread_setting_from_the_environment_and_the_setter(
        monkeypatch: pytest.MonkeyPatch) -> None:
    threads.set_engine_threads(None)
    monkeypatch.setattr(threads, "_setting", {"threads": None})
    monkeypatch.setenv("NETTWIN_THREADS", "1")
    assert threads.engine_threads() == 1
    assert threads.threads_for(1e12) == 1  # one thread: even big jobs run serially
    threads.set_engine_threads(64)
    assert threads.engine_threads() == threads._pool_size()  # at most numba's pool
    threads.set_engine_threads(None)
    monkeypatch.setattr(threads, "_setting", {"threads": None})
    monkeypatch.setenv("NETTWIN_THREADS", "two")
    with pytest.raises(SimulationError, match="NETTWIN_THREADS"):
        threads.engine_threads()
    with pytest.raises(SimulationError, match="threads must be >= 1"):
        threads.set_engine_threads(0)
    monkeypatch.setattr(threads, "_setting", {"threads": None})
