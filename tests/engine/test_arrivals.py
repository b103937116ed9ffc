"""Bursty arrivals: the MMPP2/M/1/K solver against closed forms (M/M/1/K, M/M/1, IPP/M/1 as
GI/M/1), the MMPP fit, and ``simulate``'s switch between bursty and textbook arrivals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from nettwin import compile_network, simulate
from nettwin.engine.arrivals import evaluate_paths
from nettwin.engine.bursts import Bursts, demand_bursts, dispersion_bursts, fit_mmpp2, onoff_bursts
from nettwin.engine.mg1k import PortSizeLaw, SizeLaw, mg1k_law_queue
from nettwin.engine.phases import port_phases, queue_room
from nettwin.engine.queueing import (
    ArrivalModel,
    QueueModel,
    mmpp2_queue,
    mmpp_queue,
    mmpp_queue_busy,
)
from nettwin.engine.simulate import SimulationOptions
from nettwin.model import build_network
from nettwin.reference.port_sim import Stream, simulate_fifo_port, simulate_tandem_ports


def mm1k(rho: float, k: int) -> tuple[float, float]:
    """Blocking and mean number in system of M/M/1/K from the state probabilities."""
    p = np.array([rho ** n for n in range(k + 1)], float)
    p /= p.sum()
    return float(p[-1]), float((np.arange(k + 1) * p).sum())


def ipp_m1_sojourn(peak: float, on_s: float, off_s: float, mu: float) -> float:
    """IPP/M/1 as GI/M/1: sigma = A*(mu (1 - sigma)), T = 1 / (mu (1 - sigma)), with the
    interarrival transform of the interrupted Poisson process."""
    w1, w2 = 1.0 / on_s, 1.0 / off_s

    def lst(s: float) -> float:
        return peak * (s + w2) / ((s + peak + w1) * (s + w2) - w1 * w2)

    sigma = brentq(lambda z: lst(mu * (1.0 - z)) - z, 1e-12, 1.0 - 1e-12)
    return 1.0 / (mu * (1.0 - sigma))


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9, 1.0, 1.3, 3.0])
@pytest.mark.parametrize("k", [1, 5, 40])
def test_equal_rates_are_mm1k(rho: float, k: int) -> None:
    q = mmpp2_queue(np.array([rho]), np.array([rho]), np.array([2.0]), np.array([3.0]),
                    np.array([1.0]), np.array([k]))
    blocking, mean_n = mm1k(rho, k)
    assert q.blocking[0] == pytest.approx(blocking, rel=1e-9, abs=1e-15)
    assert q.mean_in_system[0] == pytest.approx(mean_n, rel=1e-9)
    # PASTA: both phases see the same wait and loss
    assert q.waiting_phase_s[0, 0] == pytest.approx(q.waiting_phase_s[0, 1], rel=1e-9)


@pytest.mark.parametrize("rho", [0.05, 0.5, 0.97, 1.0, 1.02, 1.3, 3.0])
def test_thousand_packet_buffers_are_mm1k(rho: float) -> None:
    # the kernel stops going down where R_n has reached its fixed point: the figures stay
    # the closed form's, stable or overloaded
    k = 1000
    log_p = np.arange(k + 1) * np.log(rho)
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    q = mmpp2_queue(np.array([rho]), np.array([rho]), np.array([2.0]), np.array([3.0]),
                    np.array([1.0]), np.array([k]))
    assert q.blocking[0] == pytest.approx(p[-1], rel=1e-9, abs=1e-15)
    assert q.mean_in_system[0] == pytest.approx((np.arange(k + 1) * p).sum(), rel=1e-9)


def chain_solution(lh: float, ll: float, a: float, b: float, mu: float, k: int
                   ) -> tuple[float, float, np.ndarray]:
    """MMPP2/M/1/K from the stationary law of its whole chain (2 (K + 1) states, a dense
    solve): blocking, mean number in system and the time share of each phase."""
    n = 2 * (k + 1)
    q = np.zeros((n, n))
    for level in range(k + 1):
        for ph, (lam, leave) in enumerate(((lh, a), (ll, b))):
            i = 2 * level + ph
            q[i, 2 * level + 1 - ph] += leave
            if level < k:
                q[i, i + 2] += lam
            if level > 0:
                q[i, i - 2] += mu
    np.fill_diagonal(q, -q.sum(axis=1))
    lhs = np.vstack([q.T, np.ones(n)])
    pi = np.linalg.lstsq(lhs, np.concatenate([np.zeros(n), [1.0]]), rcond=None)[0]
    pi = pi.reshape(k + 1, 2)
    arrivals = pi[:, 0].sum() * lh + pi[:, 1].sum() * ll
    return (float((pi[k, 0] * lh + pi[k, 1] * ll) / arrivals),
            float((np.arange(k + 1) * pi.sum(axis=1)).sum()), pi.sum(axis=0))


@pytest.mark.parametrize(("lh", "ll", "a", "b", "k"), [
    (2.0, 0.0, 1e-3, 1e-4, 300),  # a rare overloaded high phase: the mass dips, then grows
    (3.0, 0.1, 1e-2, 1e-3, 200),
    (0.9, 0.2, 0.5, 0.5, 400),  # stable: R reaches its fixed point far below K
    (0.3, 0.0, 2.0, 0.1, 300),
    (1.5, 0.9, 0.05, 0.02, 150),  # overloaded in both phases
])
def test_unequal_rates_equal_the_whole_chain(lh: float, ll: float, a: float, b: float,
                                             k: int) -> None:
    q = mmpp2_queue(np.array([lh]), np.array([ll]), np.array([a]), np.array([b]),
                    np.array([1.0]), np.array([k]))
    blocking, mean_n, phases = chain_solution(lh, ll, a, b, 1.0, k)
    assert q.blocking[0] == pytest.approx(blocking, rel=1e-7, abs=1e-14)
    assert q.mean_in_system[0] == pytest.approx(mean_n, rel=1e-7)
    np.testing.assert_allclose(q.time_phase[0], phases, rtol=1e-7)


def test_large_buffer_is_mm1() -> None:
    rho = np.array([0.3, 0.6, 0.9])
    q = mmpp2_queue(rho, rho, np.ones(3), np.ones(3), np.ones(3), np.full(3, 2000))
    np.testing.assert_allclose(q.sojourn_s, 1.0 / (1.0 - rho), rtol=1e-9)


@pytest.mark.parametrize(("peak_load", "on_s", "off_s"),
                         [(1.2, 0.05, 0.05), (3.0, 0.01, 0.04), (0.9, 0.2, 0.1)])
def test_onoff_source_is_gi_m1(peak_load: float, on_s: float, off_s: float) -> None:
    mu = 1250.0  # 1000-byte packets on 10 Mbit/s
    q = mmpp2_queue(np.array([peak_load * mu]), np.array([0.0]), np.array([1.0 / on_s]),
                    np.array([1.0 / off_s]), np.array([mu]), np.array([6000]))
    assert q.sojourn_s[0] == pytest.approx(ipp_m1_sojourn(peak_load * mu, on_s, off_s, mu),
                                           rel=1e-6)


def test_fit_of_one_onoff_source_is_itself() -> None:
    b = onoff_bursts(np.array([0.02]), np.array([0.06]))
    mean = np.array([100.0])
    high, low, to_low, to_high = fit_mmpp2(mean, *b.moments(mean))
    assert high[0] == pytest.approx(400.0)
    assert low[0] == pytest.approx(0.0, abs=1e-9)
    assert to_low[0] == pytest.approx(50.0)
    assert to_high[0] == pytest.approx(1.0 / 0.06)


def test_fit_keeps_the_moments_of_a_superposition() -> None:
    b = onoff_bursts(np.array([0.02, 0.1, 0.01]), np.array([0.06, 0.1, 0.05]))
    mean = np.array([100.0, 50.0, 30.0])
    var, m3, area = (v.sum() for v in b.moments(mean))
    high, low, to_low, to_high = fit_mmpp2(np.array([mean.sum()]), np.array([var]),
                                           np.array([m3]), np.array([area]))
    fitted = Bursts(high / mean.sum(), low / mean.sum(), 1.0 / to_low, 1.0 / to_high)
    v2, m32, a2 = fitted.moments(np.array([mean.sum()]))
    assert v2[0] == pytest.approx(var, rel=1e-9)
    assert a2[0] == pytest.approx(area, rel=1e-9)
    assert m32[0] == pytest.approx(m3, rel=1e-6)
    p = to_high / (to_low + to_high)
    assert (p * high + (1 - p) * low)[0] == pytest.approx(mean.sum())


def test_dispersion_description_has_the_measured_index() -> None:
    mean, tau = np.array([200.0, 200.0]), np.array([0.05, 0.05])
    b = dispersion_bursts(mean, np.array([3.0, 80.0]), tau)
    _, _, area = b.moments(mean)
    # asymptotic index of dispersion of counts: 1 + 2 * area / mean
    np.testing.assert_allclose(1.0 + 2.0 * area / mean, [3.0, 80.0], rtol=1e-9)
    p = b.high_s / (b.high_s + b.low_s)
    np.testing.assert_allclose(p * b.high_ratio + (1 - p) * b.low_ratio, 1.0)
    assert b.low_ratio[1] == 0.0  # too bursty for a positive low rate: on-off


def _onoff_network(**arrival: object) -> object:
    demand = {"src": "a", "dst": "b", "rate_bps": 6e6, **arrival}
    return build_network("n", [{"id": "a"}, {"id": "b"}],
                         [{"id": "l", "a": "a", "b": "b", "capacity_ab_bps": 1e7}],
                         [demand, {"src": "b", "dst": "a", "rate_bps": 6e6}])


def test_simulate_queues_an_onoff_demand_as_ipp_and_switches_to_textbook() -> None:
    c = compile_network(_onoff_network(arrival="onoff", on_mean_s=0.05, off_mean_s=0.05))
    opts = SimulationOptions(queue_model=QueueModel.MM1, mean_packet_bytes=1000)
    bursty = simulate(c, opts)
    mu = 1e7 / 8000
    want = ipp_m1_sojourn(1.2 * mu, 0.05, 0.05, mu) - 1.0 / mu
    assert bursty.arc_queueing_s[0] == pytest.approx(want, rel=1e-3)  # buffer 1000, not inf
    assert bursty.arc_queueing_s[1] == pytest.approx(0.6 / 0.4 / mu)  # Poisson: M/M/1
    textbook = simulate(c, SimulationOptions(queue_model=QueueModel.MM1, mean_packet_bytes=1000,
                                             arrival_model=ArrivalModel.POISSON))
    np.testing.assert_allclose(textbook.arc_queueing_s, 0.6 / 0.4 / mu)


def test_poisson_demands_give_the_same_result_either_way() -> None:
    c = compile_network(_onoff_network())
    assert c.demand_arrivals is None
    a = simulate(c)
    b = simulate(c, SimulationOptions(arrival_model=ArrivalModel.POISSON))
    np.testing.assert_array_equal(a.arc_queueing_s, b.arc_queueing_s)


def test_peak_and_on_time_give_the_same_source_as_on_and_off() -> None:
    one = compile_network(_onoff_network(arrival="onoff", on_mean_s=0.05, off_mean_s=0.15))
    two = compile_network(_onoff_network(arrival="onoff", on_mean_s=0.05,
                                         peak_rate_bps=24e6))
    b1 = demand_bursts(one.demand_arrivals, one.demand_rate_bps, 8000.0)
    b2 = demand_bursts(two.demand_arrivals, two.demand_rate_bps, 8000.0)
    for f in ("high_ratio", "low_ratio", "high_s", "low_s"):
        np.testing.assert_allclose(getattr(b1, f), getattr(b2, f))


def test_a_lightly_loaded_port_passes_bursts_on() -> None:
    # one on-off demand over two ports in a row; the first has room for its peak, so the
    # second sees the same bursts (same wait), where a smoothing model would see less
    ptr, arcs = np.array([0, 2]), np.array([0, 1])
    b = onoff_bursts(np.array([0.05]), np.array([0.15]))
    out = evaluate_paths(ptr, arcs, np.array([300.0]), np.array([8000.0]),
                         np.array([2 * 8000.0 ** 2]), b, np.array([1e8, 1e7]),
                         np.array([1001.0, 1001.0]))
    alone = evaluate_paths(np.array([0, 1]), np.array([0]), np.array([300.0]),
                           np.array([8000.0]), np.array([2 * 8000.0 ** 2]), b,
                           np.array([1e7]), np.array([1001.0]))
    assert out.port_waiting_s[1] == pytest.approx(alone.port_waiting_s[0], rel=1e-6)
    poisson = evaluate_paths(ptr, arcs, np.array([300.0]), np.array([8000.0]),
                             np.array([2 * 8000.0 ** 2]), b, np.array([1e8, 1e7]),
                             np.array([1001.0, 1001.0]), ArrivalModel.POISSON)
    assert out.port_waiting_s[1] > 5 * poisson.port_waiting_s[1]


@pytest.mark.parametrize("model", [ArrivalModel.BURSTY, ArrivalModel.POISSON])
def test_demands_that_cross_no_port_queue_nowhere(model: ArrivalModel) -> None:
    # a demand whose path has no hop waits and loses nothing and loads no port, alone or
    # beside a demand that does cross one (which then queues exactly as it would alone)
    b = onoff_bursts(np.array([0.05, 0.05]), np.array([0.15, 0.15]))
    args = (np.array([300.0, 300.0]), np.array([8000.0, 8000.0]),
            np.array([2 * 8000.0 ** 2] * 2), b, np.array([1e7]), np.array([11.0]), model)
    home = evaluate_paths(np.array([0, 0, 0]), np.array([], np.int64), *args)
    assert not home.delay_s.any() and not home.loss.any() and not home.port_waiting_s.any()
    assert not home.port_utilisation.any()
    alone = evaluate_paths(np.array([0, 1]), np.array([0]), args[0][:1], args[1][:1],
                           args[2][:1], onoff_bursts(np.array([0.05]), np.array([0.15])),
                           *args[4:])
    for ptr, home_at in ((np.array([0, 0, 1]), 0), (np.array([0, 1, 1]), 1)):
        mixed = evaluate_paths(ptr, np.array([0]), *args)
        assert mixed.delay_s[home_at] == 0.0 and mixed.loss[home_at] == 0.0
        away = 1 - home_at
        assert mixed.delay_s[away] == pytest.approx(alone.delay_s[0], rel=1e-12)
        assert mixed.port_loss[0] == pytest.approx(alone.port_loss[0], rel=1e-12)


@pytest.mark.parametrize("model", [ArrivalModel.BURSTY, ArrivalModel.POISSON])
def test_poisson_streams_with_size_laws_queue_as_m_g_1_k_with_the_mixture(
        model: ArrivalModel) -> None:
    # two Poisson demands entering at one port, one of fixed 1,000-byte packets and one of
    # 64/1,500-byte packets: the port is exactly M/G/1/K with the rate-weighted mixture of
    # the two laws (engine.mg1k, checked against the reference port there), in both models
    law = SizeLaw(np.array([0, 1, 3]), np.array([1.0, 0.5, 0.5]),
                  np.array([8000.0, 512.0, 12000.0]), np.zeros(3))
    pps, cap, k = np.array([40.0, 60.0]), 1e6, 8.0
    out = evaluate_paths(np.array([0, 1, 2]), np.array([0, 0]), pps, law.mean_bits,
                         law.second_moment_bits2, Bursts.poisson(2), np.array([cap]),
                         np.array([k]), model, size_law=law)
    mix = PortSizeLaw(np.array([0, 3]), np.array([0.4, 0.3, 0.3]),
                      np.array([8000.0, 512.0, 12000.0]) / cap, np.zeros(3))
    loss, wait = mg1k_law_queue(np.array([pps.sum()]), mix, np.array([k]))
    assert out.port_loss[0] == pytest.approx(loss[0], rel=1e-6)
    assert out.port_waiting_s[0] == pytest.approx(wait[0], rel=1e-6)


def _ipp_port(peak_pps: float, on_s: float, off_s: float, service_s: float, k: int,
              packets: int, seed: int = 1) -> tuple[float, float]:
    """Packet by packet: an on-off (interrupted Poisson) source, fixed service, FIFO with K
    in the system. Returns the loss and the mean wait of admitted packets."""
    rng = np.random.default_rng(seed)
    times: list[float] = []
    t, on = 0.0, bool(rng.random() < on_s / (on_s + off_s))
    while len(times) < packets:
        dur = float(rng.exponential(on_s if on else off_s))
        if on:
            times += sorted((t + rng.uniform(0.0, dur, rng.poisson(peak_pps * dur))).tolist())
        t, on = t + dur, not on
    leave: list[float] = []  # departure times of the packets in the system
    last, dropped, waited, admitted = 0.0, 0, 0.0, 0
    for a in times[:packets]:
        leave = [d for d in leave if d > a]
        if len(leave) >= k:
            dropped += 1
            continue
        start = max(a, last)
        waited, admitted, last = waited + start - a, admitted + 1, start + service_s
        leave.append(last)
    return dropped / packets, waited / admitted


@pytest.mark.parametrize(("on", "off", "k", "loss_rel"), [
    # bursts at 2x the capacity fill the buffer, where fixed sizes wait about as long as
    # exponential ones: the size term taken at the mean load (half the M/M/1 wait at load
    # 0.5) under-predicted the wait by 16 % (K = 6) and 10 % (K = 11)
    (0.05, 0.15, 6, 0.10), (0.05, 0.15, 11, 0.10),
    # on 5 % of the time at 10x the capacity, into ns-3's default 100-packet DropTail: the
    # size term at the on phase's own rate runs M/G/1/K far past load 1 with a long
    # buffer, where the departure chain grows like rho^n (it overflowed to NaN); ~1,500
    # losses, in bursts
    (0.01, 0.19, 101, 0.15)], ids=["2x-K6", "2x-K11", "10x-K101"])
def test_an_overloading_on_off_source_with_fixed_sizes_matches_simulation(
        on: float, off: float, k: int, loss_rel: float) -> None:
    service = 8e-3
    pps = 0.5 / service
    law = SizeLaw(np.array([0, 1]), np.array([1.0]), np.array([8000.0]), np.zeros(1))
    out = evaluate_paths(np.array([0, 1]), np.array([0]), np.array([pps]), law.mean_bits,
                         law.second_moment_bits2, onoff_bursts(np.array([on]),
                                                               np.array([off])),
                         np.array([1e6]), np.array([float(k)]), size_law=law)
    loss, wait = _ipp_port(pps * (on + off) / on, on, off, service, k, 300_000)
    assert out.port_waiting_s[0] == pytest.approx(wait, rel=0.07)
    assert out.port_loss[0] == pytest.approx(loss, rel=loss_rel)


def test_per_class_engine_queues_an_onoff_demand_as_ipp() -> None:
    from nettwin.engine.classes import simulate_classes, uniform_policy
    from nettwin.engine.qos import Scheduler

    c = compile_network(_onoff_network(arrival="onoff", on_mean_s=0.05, off_mean_s=0.05))
    policy = uniform_policy(c, Scheduler.FIFO, mean_packet_bytes=1000, packet_size_scv=1.0,
                            buffer_packets=5000)
    res = simulate_classes(c, policy)
    mu = 1e7 / 8000
    want = ipp_m1_sojourn(1.2 * mu, 0.05, 0.05, mu) - 1.0 / mu
    assert res.arc_class_waiting_s[0, 0] == pytest.approx(want, rel=0.02)
    assert res.arc_class_waiting_s[1, 0] == pytest.approx(0.6 / 0.4 / mu, rel=0.02)


def test_mmpp_queue_is_a_distribution_and_obeys_littles_law() -> None:
    rng = np.random.default_rng(7)
    p, m = 20, 4
    gen = rng.uniform(0.1, 5.0, (p, m, m))
    gen[:, np.arange(m), np.arange(m)] = 0.0
    gen[:, np.arange(m), np.arange(m)] = -gen.sum(axis=2)
    rates = rng.uniform(0.0, 2.0, (p, m))
    k = rng.integers(1, 30, p)
    blocking, mean_n, sojourn, wait, loss, share = mmpp_queue(gen, rates, np.ones(p), k)
    np.testing.assert_allclose(share.sum(axis=1), 1.0, rtol=1e-9)
    assert ((blocking >= 0) & (blocking <= 1)).all() and ((loss >= 0) & (loss <= 1)).all()
    assert (mean_n <= k + 1e-9).all()
    # admitted packets' sojourn = wait + one service, averaged over the phases they arrive in
    admitted = share * rates * (1 - loss)
    mean_wait = (admitted * wait).sum(axis=1) / admitted.sum(axis=1)
    np.testing.assert_allclose(sojourn, mean_wait + 1.0, rtol=1e-6)


def test_burstier_input_waits_longer() -> None:
    # the same mean load, ever longer on periods (same peak): the wait only grows
    on = np.array([0.01, 0.1, 1.0, 10.0])
    q = mmpp2_queue(np.full(4, 1.6), np.zeros(4), 1.0 / on, 1.0 / on, np.ones(4),
                    np.full(4, 500))
    assert (np.diff(q.sojourn_s) > 0).all()
    assert q.sojourn_s[0] > 1.0 / (1.0 - 0.8)  # burstier than Poisson at the same load


def test_streams_from_one_port_never_arrive_faster_than_it_sends() -> None:
    # two on-off streams leave upstream port u (load 0.6, 1000 packets a second) together
    # for port j: as one source they never arrive faster than u sends, where apart both
    # peaks would add; the phases keep the streams' mean rates (regression on the source)
    arcs = np.array([0, 0])
    lam = np.array([200.0, 200.0])  # packets per second at j
    b = onoff_bursts(np.array([0.02, 0.03]), np.array([0.06, 0.09]))  # peaks 4x the mean
    x_u = np.full(2, 1.0 / 1000.0)  # u sends 1000 packets per second
    gen, rates, hop_rate = port_phases(arcs, 2, lam, b, 4, np.array([1, 1]), x_u,
                                       np.full(2, 0.6))  # both from port 1
    assert rates[0].max() < 1000.0  # never more than u sends
    q = np.linalg.svd(gen[0].T)[2][-1]
    q = q / q.sum()  # stationary phase distribution
    assert hop_rate @ q == pytest.approx(lam, rel=1e-9)
    _, apart, _ = port_phases(arcs, 2, lam, b, 4)  # each its own chain, nothing capped
    assert apart[0].max() == pytest.approx(lam.sum() * 4.0)  # 1600 a second: both peaks


@pytest.mark.parametrize(("capacity", "want"), [(1e6, 4.0), (60.0, 60.0 / 25.0)])
def test_queue_room_passes_light_bursts_and_sends_saturated_ones_at_line_rate(
        capacity: float, want: float) -> None:
    # an on-off stream (mean 25 packets a second, peak 4x) alone at a port: far faster than
    # its peak the port sends what comes (the peak, 4x the mean); slower than the peak
    # (60 packets a second, bursts of 100 s), it sends at line rate while the stream is on
    b = onoff_bursts(np.array([100.0]), np.array([300.0]))
    lam = np.array([25.0])
    gen, rates, hop_rate = port_phases(np.array([0]), 1, lam, b, 2)
    _, _, _, _, _, time_s, busy = mmpp_queue_busy(gen, rates, np.array([capacity]),
                                                   np.array([2000]))
    room = queue_room(np.array([0]), hop_rate, lam, b.high_ratio, time_s, busy,
                      rates / capacity)
    assert room[0] == pytest.approx(want, rel=0.01)


def _clipped_tandem_wait(peak: float, on_s: float, off_s: float, lam_u: float, lam_j: float,
                         horizon: float, seed: int) -> float:
    """Packet by packet, unit capacities, exponential sizes kept from hop to hop, infinite
    buffers: an on-off source with Poisson traffic lam_u at port u, then its output with
    Poisson traffic lam_j at port j. Returns the mean wait at j."""
    rng = np.random.default_rng(seed)
    starts: list[np.ndarray] = []
    t, on = 0.0, bool(rng.random() < on_s / (on_s + off_s))
    while t < horizon:
        dur = float(rng.exponential(on_s if on else off_s))
        if on:
            starts.append(t + rng.uniform(0.0, dur, rng.poisson(peak * dur)))
        t, on = t + dur, not on
    t_a = np.concatenate(starts)
    t_a = t_a[t_a < horizon]

    def fifo(arrive: np.ndarray, service: np.ndarray) -> np.ndarray:
        order = np.argsort(arrive, kind="stable")
        dep, free = np.empty(arrive.size), -np.inf
        for i, (a, s) in enumerate(zip(arrive[order].tolist(), service[order].tolist(),
                                       strict=True)):
            free = max(a, free) + s
            dep[order[i]] = free
        return dep

    t_u = np.concatenate([t_a, rng.uniform(0.0, horizon, rng.poisson(lam_u * horizon))])
    size_u = rng.exponential(1.0, t_u.size)
    dep_a = fifo(t_u, size_u)[:t_a.size]
    t_j = np.concatenate([dep_a, rng.uniform(0.0, horizon, rng.poisson(lam_j * horizon))])
    size_j = np.concatenate([size_u[:t_a.size], rng.exponential(1.0, t_j.size - t_a.size)])
    wait = fifo(t_j, size_j) - size_j - t_j
    keep = t_j > 0.1 * horizon
    return float(wait[keep].mean())


@pytest.mark.parametrize(("peak", "on_s", "off_s", "lam_u", "lam_j"),
                         [(0.8, 40.0, 80.0, 0.32, 0.16), (1.0, 10.0, 30.0, 0.3, 0.3)])
def test_a_transit_port_behind_a_port_that_clips_an_on_off_source_matches_packets(
        peak: float, on_s: float, off_s: float, lam_u: float, lam_j: float) -> None:
    # u cannot carry the burst beside its other traffic (peak + lam_u > 1): the source
    # leaves at its FIFO share for a longer burst, which then queues at j with j's traffic
    b = Bursts(np.array([(on_s + off_s) / on_s, 1.0, 1.0]), np.array([0.0, 1.0, 1.0]),
               np.array([on_s, 1.0, 1.0]), np.array([off_s, 1.0, 1.0]))
    out = evaluate_paths(np.array([0, 2, 3, 4]), np.array([0, 1, 0, 1]),
                         np.array([peak * on_s / (on_s + off_s), lam_u, lam_j]), np.ones(3),
                         np.full(3, 2.0), b, np.ones(2), np.full(2, 1e4))
    want = _clipped_tandem_wait(peak, on_s, off_s, lam_u, lam_j, 3e5, seed=1)
    assert out.port_waiting_s[1] == pytest.approx(want, rel=0.15)


def _one_port(streams: list[Stream], law: SizeLaw, k: int) -> tuple[float, float]:
    """The bursty model's wait and loss at one port of 1 Mb/s fed by ``streams``."""
    n = len(streams)
    onoff = np.array([s.on_s > 0 for s in streams])
    on = onoff_bursts(np.array([s.on_s or 1.0 for s in streams]),
                      np.array([s.off_s or 1.0 for s in streams]))
    pois = Bursts.poisson(n)
    bursts = Bursts(*(np.where(onoff, getattr(on, f), getattr(pois, f))
                      for f in ("high_ratio", "low_ratio", "high_s", "low_s")))
    out = evaluate_paths(np.arange(n + 1), np.zeros(n, np.int64),
                         np.array([s.rate_pps for s in streams]), law.mean_bits,
                         law.second_moment_bits2, bursts, np.array([1e6]),
                         np.array([float(k)]), size_law=law)
    return float(out.port_waiting_s[0]), float(out.port_loss[0])


def test_on_off_and_poisson_streams_with_exponential_sizes_match_packets() -> None:
    # MMPP/M/1/K is exact here: bursts at 1.6x the capacity (with the Poisson stream) that
    # rarely fill a 21-packet buffer; ~2 % loss
    law = SizeLaw(np.array([0, 1, 2]), np.ones(2), np.zeros(2), np.full(2, 8000.0))
    streams = [Stream(37.5, on_s=0.05, off_s=0.15, exponential_bits=8000.0),
               Stream(50.0, exponential_bits=8000.0)]
    wait, loss = _one_port(streams, law, 21)
    run = simulate_fifo_port(streams, 1e6, 21, 3000.0)
    assert wait == pytest.approx(run.waiting_s, rel=0.06)
    assert loss == pytest.approx(run.loss, rel=0.10)


@pytest.mark.xfail(strict=True, reason=(
    "known gap: fixed sizes make a burst-driven loss much rarer than exponential ones (the "
    "queue's random walk has no service variance), and the size term adds M/D/1/K - M/M/1/K "
    "at the mean load to the MMPP/M/1/K loss (~0 here): 4-8x too high over three seeds. "
    "A diffusion rescaling of the tail (the loss's exponent / the wait ratio) fixes this "
    "case but under-predicts heavy-overload losses (\"2x-K6\" above, ns-3 first-hop ports)"))
def test_short_bursts_of_fixed_size_packets_lose_as_rarely_as_packets_do() -> None:
    law = SizeLaw(np.array([0, 1, 2]), np.ones(2), np.full(2, 8000.0), np.zeros(2))
    streams = [Stream(37.5, (8000.0,), on_s=0.01, off_s=0.03), Stream(50.0, (8000.0,))]
    wait, loss = _one_port(streams, law, 21)
    run = simulate_fifo_port(streams, 1e6, 21, 3000.0)
    assert wait == pytest.approx(run.waiting_s, rel=0.06)  # the wait is right
    assert loss == pytest.approx(run.loss, rel=0.5)


@pytest.mark.parametrize(("sizes", "exponential_bits", "through", "local", "loss_rel"), [
    # fixed sizes behind a link as fast: the through stream's packets never queue behind one
    # another, so the buffer fills less often than M/D/1/K says (it said +25-32 %)
    ((8000.0,), 0.0, 0.4, 0.4, 0.17),
    # exponential sizes kept: small packets bunch behind a large one and a buffer counts
    # packets, so it fills more often than M/M/1/K says (it said -17-20 %); the infinite
    # buffer's wait ratio misses it too (-16 %), the finite buffer's sample path not (+5 %)
    ((), 8000.0, 0.6, 0.2, 0.12)],
    ids=["fixed", "exponential"])
def test_loss_behind_a_port_of_the_same_speed_matches_packets(
        sizes: tuple[float, ...], exponential_bits: float, through: float, local: float,
        loss_rel: float) -> None:
    cap, k = 1e6, 6
    law = (SizeLaw(np.array([0, 1, 2]), np.ones(2), np.zeros(2), np.full(2, exponential_bits))
           if exponential_bits else
           SizeLaw(np.array([0, 1, 2]), np.ones(2), np.full(2, sizes[0]), np.zeros(2)))
    pps = np.array([through, local]) * cap / law.mean_bits
    out = evaluate_paths(np.array([0, 2, 3]), np.array([0, 1, 1]), pps, law.mean_bits,
                         law.second_moment_bits2, Bursts.poisson(2), np.array([cap, cap]),
                         np.array([1000.0, float(k)]), size_law=law)
    run = simulate_tandem_ports(
        (cap, cap), Stream(float(pps[0]), sizes or (1.0,), exponential_bits=exponential_bits),
        Stream(float(pps[1]), sizes or (1.0,), exponential_bits=exponential_bits), k, 1000.0)
    assert out.port_loss[1] == pytest.approx(run.loss, rel=loss_rel)


@pytest.mark.slow
@pytest.mark.parametrize("k", [6, 20])
@pytest.mark.parametrize("exponential_bits", [0.0, 8000.0], ids=["fixed", "exponential"])
def test_wait_behind_a_busy_port_of_the_same_speed_matches_packets(
        exponential_bits: float, k: int) -> None:
    # a Poisson stream at load 0.5 crosses a port as fast, Poisson 0.3 joins at the second:
    # the second port's busy periods are 2.5x the first's, so it sees the first's output
    # mostly as Poisson; smoothing it as a train at every load said -13..-21 %
    cap, sizes = 1e6, (8000.0,)
    law = (SizeLaw(np.array([0, 1, 2]), np.ones(2), np.zeros(2), np.full(2, exponential_bits))
           if exponential_bits else
           SizeLaw(np.array([0, 1, 2]), np.ones(2), np.full(2, sizes[0]), np.zeros(2)))
    pps = np.array([0.5, 0.3]) * cap / law.mean_bits
    out = evaluate_paths(np.array([0, 2, 3]), np.array([0, 1, 1]), pps, law.mean_bits,
                         law.second_moment_bits2, Bursts.poisson(2), np.array([cap, cap]),
                         np.array([1e5, float(k)]), size_law=law)
    waits = [simulate_tandem_ports(
        (cap, cap), Stream(float(pps[0]), sizes, exponential_bits=exponential_bits),
        Stream(float(pps[1]), sizes, exponential_bits=exponential_bits), k, 400.0,
        seed=seed).waiting_s for seed in (1, 2)]
    assert out.port_waiting_s[1] == pytest.approx(np.mean(waits), rel=0.08)


@pytest.mark.parametrize("on_s", [0.02, 0.2])
def test_an_on_off_stream_behind_a_port_as_fast_hardly_queues_behind_itself(
        on_s: float) -> None:
    # fixed sizes, peak load 0.6 at both ports, Poisson 0.1 joins at the second: the
    # stream's packets leave the first port spaced by their own transmission and never
    # queue behind one another at the second (the model without that: +88 %, +133 %)
    cap, bits, through, local, peak = 1e6, 8000.0, 0.2, 0.1, 0.6
    off_s = on_s * (peak / through - 1.0)
    law = SizeLaw(np.array([0, 1, 2]), np.ones(2), np.full(2, bits), np.zeros(2))
    pps = np.array([through, local]) * cap / bits
    b = Bursts(np.array([peak / through, 1.0]), np.array([0.0, 1.0]), np.array([on_s, 1.0]),
               np.array([off_s, 1.0]))
    out = evaluate_paths(np.array([0, 2, 3]), np.array([0, 1, 1]), pps, law.mean_bits,
                         law.second_moment_bits2, b, np.array([cap, cap]),
                         np.array([1e4, 40.0]), size_law=law)
    waits = [simulate_tandem_ports(
        (cap, cap), Stream(float(pps[0]), (bits,), on_s=on_s, off_s=off_s),
        Stream(float(pps[1]), (bits,)), 40, 400.0, seed=seed).waiting_s for seed in (1, 2, 3)]
    assert out.port_waiting_s[1] == pytest.approx(np.mean(waits), rel=0.25)


def test_poisson_packets_beside_a_clipped_train_keep_the_residual_work() -> None:
    # an on-off stream whose bursts (peak 1.5 of the line rate) a port shared with Poisson
    # cross traffic (0.3) clips, on to a port as fast where light Poisson traffic (0.1)
    # joins; exponential sizes kept. The train's spacing must not take away the residual
    # work that the randomly arriving packets find (without that floor: -14 %; now -7 %)
    cap, bits, k, mean, on_s = 1e6, 8000.0, 21, 0.3, 0.2
    off_s = on_s * (1.5 / mean - 1.0)
    law = SizeLaw(np.arange(4), np.ones(3), np.zeros(3), np.full(3, bits))
    pps = np.array([mean, 0.3, 0.1]) * cap / bits
    b = Bursts(np.array([1.5 / mean, 1.0, 1.0]), np.array([0.0, 1.0, 1.0]),
               np.array([on_s, 1.0, 1.0]), np.array([off_s, 1.0, 1.0]))
    out = evaluate_paths(np.array([0, 2, 3, 4]), np.array([0, 1, 0, 1]), pps, law.mean_bits,
                         law.second_moment_bits2, b, np.full(2, cap), np.full(2, float(k)),
                         size_law=law)

    def stream(rate: float, on: float = 0.0, off: float = 0.0) -> Stream:
        return Stream(rate, (bits,), on_s=on, off_s=off, exponential_bits=bits)
    waits = [simulate_tandem_ports((cap, cap), stream(float(pps[0]), on_s, off_s),
                                   stream(float(pps[2])), k, 300.0, seed=seed,
                                   cross=stream(float(pps[1])), first_system_packets=k
                                   ).waiting_s for seed in (1, 2)]
    assert out.port_waiting_s[1] == pytest.approx(np.mean(waits), rel=0.1)


@pytest.mark.parametrize("fields", [
    {"arrival": "mmpp", "peak_rate_bps": 9e6, "on_mean_s": 0.05, "off_mean_s": 0.05},
    {"arrival": "onoff", "peak_rate_bps": 1.2e7, "on_mean_s": 0.05},
])
@pytest.mark.parametrize("scale", [0.25, 0.5, 1.5])
def test_scaled_traffic_scales_the_arrival_process_with_it(fields: dict[str, object],
                                                           scale: float) -> None:
    """A peak is the demand's at its planned rate: a run at a multiple of the traffic
    queues as the same network planned at that multiple, peak and all. Before, the peak
    stayed put: at a quarter of an MMPP's traffic its low state was a negative rate and the
    link queued 50x longer than at the plan."""
    def net(mult: float) -> object:
        scaled = {k: v * mult if k == "peak_rate_bps" else v for k, v in fields.items()}
        demand = {"src": "a", "dst": "b", "rate_bps": 6e6 * mult, **scaled}
        return build_network("n", [{"id": "a"}, {"id": "b"}],
                             [{"id": "l", "a": "a", "b": "b", "capacity_ab_bps": 1e7}],
                             [demand])

    c = compile_network(net(1.0))
    run = simulate(c, demand_rate_bps=c.demand_rate_bps * scale)
    want = simulate(compile_network(net(scale)))
    np.testing.assert_allclose(run.arc_queueing_s, want.arc_queueing_s, rtol=1e-12)
    from nettwin.engine.classes import simulate_classes, uniform_policy

    per_class = simulate_classes(c, uniform_policy(c), demand_rate_bps=c.demand_rate_bps * scale)
    want_c = compile_network(net(scale))
    np.testing.assert_allclose(per_class.arc_class_waiting_s,
                               simulate_classes(want_c, uniform_policy(want_c)).arc_class_waiting_s,
                               rtol=1e-9)  # the per-class engine scales the process too
    assert run.arc_queueing_s[0] > simulate(c, SimulationOptions(
        arrival_model=ArrivalModel.POISSON), demand_rate_bps=c.demand_rate_bps * scale
    ).arc_queueing_s[0]  # still bursty


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_moments_routed_over_the_bursty_demands_trees_only_equal_the_full_routing(
        seed: int) -> None:
    """The bursty moments are routed over the destinations of the bursty demands only
    (``only_destinations_of``): the loads equal routing every destination with the other
    demands at zero, with links down too."""
    from nettwin.engine.simulate import only_destinations_of, route
    from tests.conftest import random_network

    c = compile_network(random_network(seed, 30, 60))
    rng = np.random.default_rng(seed)
    bursty = rng.random(c.n_demands) < 0.05
    weight = np.where(bursty, rng.random(c.n_demands) * 1e6, 0.0)
    up = rng.random(c.n_arcs) > 0.1
    sub = only_destinations_of(c, bursty)
    assert sub.destinations.size < c.destinations.size
    np.testing.assert_allclose(route(sub, up, weight).load_bps, route(c, up, weight).load_bps,
                               rtol=1e-12, atol=1e-6)
