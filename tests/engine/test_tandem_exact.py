"""The exact two-port tandem (``engine.tandem_exact``) against the packet-level oracle
(``reference.port_sim.simulate_tandem_ports``): the same Lindley recursions, so each
stream's wait at the second port, relative to the Pollaczek-Khinchine wait there, should
agree within sampling noise."""

from __future__ import annotations

import numpy as np
import pytest

from nettwin.engine.arrivals import evaluate_paths
from nettwin.engine.bursts import Bursts
from nettwin.engine.mg1k import SizeLaw
from nettwin.engine.queueing import ArrivalModel, mm1k_blocking_and_mean
from nettwin.engine.tandem_exact import GROUP_CHUNK, exact_groups, exact_term, group_waits
from nettwin.reference.port_sim import Stream, simulate_tandem_ports

C = 1.0e6
EXP = (np.ones((1, 1)), np.zeros((1, 1)), np.full((1, 1), 8000.0))
LAWS = {  # the oracle's stream keywords, the engine's components, mean and second moment
    "exponential": ({"exponential_bits": 8000.0}, EXP, 8000.0, 2 * 8000.0**2),
    "bimodal": ({"sizes_bits": (512.0, 12000.0), "probs": (0.5, 0.5)},
                (np.full((1, 2), 0.5), np.array([[512.0, 12000.0]]), np.zeros((1, 2))),
                6256.0, 0.5 * (512.0**2 + 12000.0**2)),
    "fixed": ({}, (np.ones((1, 1)), np.full((1, 1), 8000.0), np.zeros((1, 1))), 8000.0,
              8000.0**2),
}


@pytest.mark.parametrize(("law", "load", "cross_load", "local_load"), [
    ("exponential", 0.3, 0.0, 0.0), ("exponential", 0.4, 0.0, 0.2),
    ("bimodal", 0.6, 0.0, 0.0), ("bimodal", 0.3, 0.3, 0.3), ("fixed", 0.5, 0.0, 0.3)])
def test_waits_match_packets(law: str, load: float, cross_load: float,
                             local_load: float) -> None:
    kw, comp, m1, m2 = LAWS[law]
    lam, lam_c, lam_l = load * C / m1, cross_load * C / m1, local_load * C / 8000.0
    run = simulate_tandem_ports(
        (C, C), Stream(lam, **kw), Stream(max(lam_l, 1e-9), exponential_bits=8000.0),  # type: ignore[arg-type]
        10**6, 1500.0, seed=3, cross=Stream(lam_c, **kw) if lam_c else None)  # type: ignore[arg-type]
    pk = (lam * m2 + lam_l * 2 * 8000.0**2) / C**2 / 2.0 / (1.0 - load - local_load)
    own, others = group_waits(np.array([lam]), comp, np.array([lam_c]), comp,
                              np.array([lam_l]), EXP, np.array([C]), np.array([C]))[:, 0]
    assert own * pk == pytest.approx(run.stream_waiting_s[0], rel=0.08)
    if lam_l:
        assert others * pk == pytest.approx(run.stream_waiting_s[1], rel=0.08)


def test_equal_sizes_alone_never_wait_behind_their_own_stream() -> None:
    fixed = LAWS["fixed"][1]
    own = group_waits(np.array([0.7 * C / 8000.0]), fixed, np.zeros(1), fixed, np.zeros(1),
                      fixed, np.array([C]), np.array([C]))[0]
    run = simulate_tandem_ports((C, C), Stream(0.7 * C / 8000.0), Stream(1e-9), 10**6, 200.0)
    assert own[0] == pytest.approx(0.0, abs=1e-9)
    assert run.waiting_s == pytest.approx(0.0, abs=1e-9)


def test_a_network_group_gives_the_tandem_wait() -> None:
    """One exponential Poisson flow over ports 0 -> 1 (equal speed, load 0.3) and one that
    joins at port 1 (load 0.2): the term on the M/M/1 wait at port 1 makes each flow's wait
    the packet tandem's."""
    lam, lam_l = 0.3 * C / 8000.0, 0.2 * C / 8000.0
    arcs, first = np.array([0, 1, 1]), np.array([True, False, True])
    rate = np.array([lam, lam, lam_l])
    law = SizeLaw.two_moment(np.full(3, 8000.0), np.full(3, 2 * 8000.0**2))
    groups = exact_groups(arcs, first, np.ones(3, bool), rate, np.full(2, C), law)
    w_mm1 = np.array([0.3, 0.5]) * 8000.0 / C / np.array([0.7, 0.5])
    _, hop = exact_term(groups, arcs, rate, w_mm1, 2)
    run = simulate_tandem_ports((C, C), Stream(lam, exponential_bits=8000.0),
                                Stream(lam_l, exponential_bits=8000.0), 10**6, 1500.0, seed=3)
    assert w_mm1[1] + hop[1] == pytest.approx(run.stream_waiting_s[0], rel=0.08)
    assert w_mm1[1] + hop[2] == pytest.approx(run.stream_waiting_s[1], rel=0.08)


def test_many_groups_are_sampled_in_chunks_each_within_the_packets() -> None:
    # more groups than one chunk holds (memory bounded on a large network): every chunk's
    # own sample still gives the packet tandem's wait (exponential, load 0.4, local 0.2)
    lam, lam_l = 0.4 * C / 8000.0, 0.2 * C / 8000.0
    n = GROUP_CHUNK + 3
    comp = tuple(np.repeat(a, n, axis=0) for a in EXP)
    own, others = group_waits(np.full(n, lam), comp, np.zeros(n), comp, np.full(n, lam_l),
                              comp, np.full(n, C), np.full(n, C))
    run = simulate_tandem_ports((C, C), Stream(lam, exponential_bits=8000.0),
                                Stream(lam_l, exponential_bits=8000.0), 10**6, 1500.0, seed=3)
    pk = (lam + lam_l) * 2 * 8000.0**2 / C**2 / 2.0 / (1.0 - 0.6)
    assert own * pk == pytest.approx(np.full(n, run.stream_waiting_s[0]), rel=0.08)
    assert others * pk == pytest.approx(np.full(n, run.stream_waiting_s[1]), rel=0.08)
    assert own[GROUP_CHUNK] != own[0]  # a sample of its own, not the first chunk's again


def test_behind_an_overloaded_port_the_waits_follow_the_carried_traffic() -> None:
    # flow A over ports 0 -> 1 (load 0.5), cross traffic 0.7 at port 0 (offered 1.2: the
    # port drops a sixth of each), local traffic 0.3 at port 1, K = 20, exponential sizes;
    # the sample at the offered rates left A's packets past the path's end (-42 % at j)
    k = 20
    pps = np.array([0.5, 0.7, 0.3]) * C / 8000.0
    law = SizeLaw.two_moment(np.full(3, 8000.0), np.full(3, 2 * 8000.0**2))
    out = evaluate_paths(np.array([0, 2, 3, 4]), np.array([0, 1, 0, 1]), pps, law.mean_bits,
                         law.second_moment_bits2, Bursts.poisson(3), np.array([C, C]),
                         np.array([k, k], float), ArrivalModel.BURSTY, size_law=law)
    run = simulate_tandem_ports((C, C), Stream(pps[0], exponential_bits=8000.0),
                                Stream(pps[2], exponential_bits=8000.0), k, 3000.0,
                                cross=Stream(pps[1], exponential_bits=8000.0),
                                first_system_packets=k, seed=2)
    assert out.hop_waiting_s[1] == pytest.approx(run.stream_waiting_s[0], rel=0.15)


def test_a_groups_figures_do_not_depend_on_groups_sampled_beside_it() -> None:
    # flow A 0 -> 1 with B joining at 1, then the same network with 40 unrelated flows on
    # ports of their own: A's group draws from its own generator (its port pair)
    def groups(extra: int) -> tuple[float, float]:
        arcs, first = [0, 1, 1], [True, False, True]
        for i in range(extra):
            arcs += [2 + 2 * i, 3 + 2 * i]
            first += [True, False]
        a = np.array(arcs)
        rate = np.full(a.size, 0.3 * C / 8000.0)
        law = SizeLaw.two_moment(np.full(a.size, 8000.0), np.full(a.size, 2 * 8000.0**2))
        g = exact_groups(a, np.array(first), np.ones(a.size, bool), rate,
                         np.full(int(a.max()) + 1, C), law)
        return float(g.own[0]), float(g.others[0])

    assert groups(40) == groups(0)


@pytest.mark.parametrize(("load", "local_load", "k"), [(0.6, 0.2, 6), (0.65, 0.0, 6),
                                                       (0.5, 0.3, 11)])
def test_finite_buffer_loss_ratio_matches_packets(load: float, local_load: float,
                                                  k: int) -> None:
    # exponential sizes kept behind a port as fast: the sample path's loss at j's K, as a
    # ratio to the same packets arriving as Poisson, times M/M/1/K (Poisson arrivals, exact)
    # is the packet tandem's loss (the infinite buffer's wait ratio said -16..-37 % here)
    lam, lam_l = load * C / 8000.0, local_load * C / 8000.0
    ratio, drops = group_waits(np.array([lam]), EXP, np.zeros(1), EXP, np.array([lam_l]), EXP,
                               np.array([C]), np.array([C]),
                               system_packets=np.array([float(k)]))[2:, 0]
    blocking, _ = mm1k_blocking_and_mean(np.array([load + local_load]), np.array([float(k)]))
    runs = [simulate_tandem_ports((C, C), Stream(lam, exponential_bits=8000.0),
                                  Stream(max(lam_l, 1e-9), exponential_bits=8000.0), k, 1000.0,
                                  seed=seed).loss for seed in (1, 2)]
    assert drops > 100  # enough for the ratio to say itself (``LOSS_DROPS_HALF``)
    assert ratio * blocking[0] == pytest.approx(np.mean(runs), rel=0.10)
