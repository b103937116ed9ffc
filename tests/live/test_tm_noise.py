"""The counters' noise read from flow conservation: zero for the engine's own (exact) link
loads on any routing, the generating noise recovered from counters made noisy on purpose,
a missing counter left out, and clear errors on mismatched inputs."""

from __future__ import annotations

import numpy as np
import pytest

from nettwin import compile_network, simulate
from nettwin.errors import NettwinError
from nettwin.estimate import pair_rates, routing_matrix
from nettwin.estimate.noise import conservation_noise
from nettwin.examples import example_path
from nettwin.io import load_network


def _counters():  # type: ignore[no-untyped-def]
    c = compile_network(load_network(example_path()))
    rm = routing_matrix(c)
    x = pair_rates(c, rm)
    return c, np.bincount(rm.src, x, c.n_nodes), np.bincount(rm.dst, x, c.n_nodes)


def test_exact_counters_read_no_noise_on_any_routing() -> None:
    c, out, inn = _counters()
    # oracle: the engine's simulated link loads, on the normal routing and with each link
    # down in turn (conservation holds however the traffic is routed)
    for link in [None, *range(c.n_arcs // 2)]:
        up = c.arc_up.copy()
        if link is not None:
            up[[2 * link, 2 * link + 1]] = False
        loads = simulate(c, arc_up=up).arc_load_bps
        assert conservation_noise(loads, c.arc_src, c.arc_dst, out, inn) < 1e-9
    # an unbalanced node is read as noise: one access counter 10 % off
    off = out.copy()
    off[int(np.argmax(out))] *= 1.1
    loads = simulate(c).arc_load_bps
    assert conservation_noise(loads, c.arc_src, c.arc_dst, off, inn) > 1e-3


@pytest.mark.parametrize("eta", [1e-3, 1e-2, 5e-2])
def test_the_generating_noise_is_recovered(eta: float) -> None:
    c, out, inn = _counters()
    loads = simulate(c).arc_load_bps
    rng = np.random.default_rng(7)
    # the maximum-likelihood estimate of eta^2 is unbiased up to O(eta^2): its mean over
    # many draws within 3 standard errors of the truth
    draws = 400
    sq = np.empty(draws)
    for i in range(draws):
        y = loads * (1 + eta * rng.standard_normal(loads.size))
        o = out * (1 + eta * rng.standard_normal(out.size))
        n = inn * (1 + eta * rng.standard_normal(inn.size))
        sq[i] = conservation_noise(y, c.arc_src, c.arc_dst, o, n) ** 2
    se = sq.std(ddof=1) / np.sqrt(draws)
    assert abs(sq.mean() - eta**2) < 3 * se + 1e-3 * eta**2
    # one interval already within a factor of two on this 11-node network
    assert np.all(np.sqrt(sq) < 2 * eta) and np.median(np.sqrt(sq)) > 0.7 * eta


def test_a_missing_counter_leaves_its_nodes_out() -> None:
    c, out, inn = _counters()
    loads = simulate(c).arc_load_bps.copy()
    busiest = int(np.argmax(loads))
    loads[busiest] = np.nan
    # read as zero the busiest arc would unbalance both its nodes; left out, none is
    assert conservation_noise(loads, c.arc_src, c.arc_dst, out, inn) < 1e-9
    assert np.isnan(conservation_noise(np.full(c.n_arcs, np.nan), c.arc_src, c.arc_dst,
                                       out, inn))


def test_mismatched_inputs_name_the_sizes() -> None:
    c, out, inn = _counters()
    loads = simulate(c).arc_load_bps
    with pytest.raises(NettwinError, match=f"{c.n_arcs - 1} arc rates for {c.n_arcs} arcs"):
        conservation_noise(loads[:-1], c.arc_src, c.arc_dst, out, inn)
    with pytest.raises(NettwinError, match="one total per node"):
        conservation_noise(loads, c.arc_src, c.arc_dst, out, inn[:-1])


def test_integer_totals_in_bits_per_second_read_as_float_ones() -> None:
    c, out, inn = _counters()
    loads = simulate(c).arc_load_bps
    scale = 50.0  # totals of tens of Gbit/s: their squares overflow int64
    o, n = out * scale, inn * scale
    o[int(np.argmax(o))] *= 1.01
    as_float = conservation_noise(loads * scale, c.arc_src, c.arc_dst, o, n)
    as_int = conservation_noise(loads * scale, c.arc_src, c.arc_dst,
                                np.rint(o).astype(np.int64), np.rint(n).astype(np.int64))
    assert as_int == pytest.approx(as_float, rel=1e-6)
    assert conservation_noise(list(loads), list(c.arc_src), list(c.arc_dst),  # type: ignore[arg-type]
                              list(out), list(inn)) < 1e-9
