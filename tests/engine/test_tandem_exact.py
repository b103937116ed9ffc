"""The exact two-port tandem (``engine.tandem_exact``) against the packet-level oracle
(``reference.port_sim.simulate_tandem_ports``): the same Lindley recursions, so the ratio of
the second port's wait to its wait under Poisson arrivals should agree within sampling
noise."""

from __future__ import annotations

import numpy as np
import pytest

from nettwin.engine.tandem_exact import group_wait_ratio
from nettwin.reference.port_sim import Stream, simulate_tandem_ports

C = 1.0e6


def _oracle_ratio(stream: Stream, cross: Stream | None, m1: float, m2: float) -> float:
    """j's mean wait over the M/G/1 (Pollaczek-Khinchine) wait of the stream alone there."""
    run = simulate_tandem_ports((C, C), stream, Stream(1e-9), 10**6, 1500.0, seed=3,
                                cross=cross)
    lam = stream.rate_pps
    pk = lam * m2 / C**2 / 2.0 / (1.0 - lam * m1 / C)
    return float(run.waiting_s) / pk


@pytest.mark.parametrize(("law", "load", "cross_load"), [
    ("exponential", 0.3, 0.0), ("exponential", 0.6, 0.0), ("bimodal", 0.6, 0.0),
    ("bimodal", 0.3, 0.3)])
def test_ratio_matches_packets(law: str, load: float, cross_load: float) -> None:
    if law == "exponential":
        kw: dict[str, object] = {"exponential_bits": 8000.0}
        comp = (np.ones((1, 1)), np.zeros((1, 1)), np.full((1, 1), 8000.0))
        m1, m2 = 8000.0, 2 * 8000.0**2
    else:
        kw = {"sizes_bits": (512.0, 12000.0), "probs": (0.5, 0.5)}
        comp = (np.full((1, 2), 0.5), np.array([[512.0, 12000.0]]), np.zeros((1, 2)))
        m1, m2 = 6256.0, 0.5 * (512.0**2 + 12000.0**2)
    lam, lam_c = load * C / m1, cross_load * C / m1
    stream = Stream(lam, **kw)  # type: ignore[arg-type]
    cross = Stream(lam_c, **kw) if lam_c else None  # type: ignore[arg-type]
    want = _oracle_ratio(stream, cross, m1, m2)
    got = group_wait_ratio(np.array([lam]), comp, np.array([lam_c]), comp, np.array([C]),
                           np.array([C]), packets=48000)[0]
    assert got == pytest.approx(want, rel=0.08)


def test_equal_sizes_never_wait_behind_their_own_stream() -> None:
    fixed = (np.ones((1, 1)), np.full((1, 1), 8000.0), np.zeros((1, 1)))
    got = group_wait_ratio(np.array([0.7 * C / 8000.0]), fixed, np.zeros(1), fixed,
                           np.array([C]), np.array([C]))
    run = simulate_tandem_ports((C, C), Stream(0.7 * C / 8000.0), Stream(1e-9), 10**6, 200.0)
    assert got[0] == pytest.approx(0.0, abs=1e-9)
    assert run.waiting_s == pytest.approx(0.0, abs=1e-9)


def test_network_groups_of_a_lone_stream_give_the_tandem_wait() -> None:
    """One exponential Poisson flow over ports 0 -> 1 (equal speed, load 0.3): the group's
    term on the M/M/1 wait at port 1 makes it the packet tandem's wait."""
    from nettwin.engine.mg1k import SizeLaw
    from nettwin.engine.tandem_exact import exact_groups, exact_tandem_term

    lam = 0.3 * C / 8000.0
    arcs, first = np.array([0, 1]), np.array([True, False])
    law = SizeLaw.two_moment(np.full(2, 8000.0), np.full(2, 2 * 8000.0**2))
    groups = exact_groups(arcs, first, np.ones(2, bool), np.full(2, lam), np.full(2, C), law)
    x2 = 2 * (8000.0 / C) ** 2
    w_mm1 = np.full(2, lam * x2 / 2 / 0.7)
    port, _ = exact_tandem_term(groups, arcs, np.full(2, lam), np.full(2, x2), w_mm1, 2,
                                np.full(2, 0.3))
    run = simulate_tandem_ports((C, C), Stream(lam, exponential_bits=8000.0), Stream(1e-9),
                                10**6, 1500.0, seed=3)
    assert w_mm1[1] + port[1] == pytest.approx(run.waiting_s, rel=0.08)
