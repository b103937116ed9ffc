"""Per-class queueing against textbook formulas, and the model against OMNeT++ ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from nettwin.engine.drr import DRR_SIZE_ORDER_GAIN
from nettwin.engine.qna import arrival_variability, link_spacing, network_arrival_variability
from nettwin.engine.qos import (
    PathDemands,
    Scheduler,
    evaluate_class_queues,
    simulate_paths,
)
from nettwin.engine.wfq import water_fill
from nettwin.io.gnnet import iter_gnnet_samples, predict
from nettwin.reference.port_sim import (
    simulate_port,
    simulate_port_pair,
    simulate_smoothed_port,
    simulate_tandem,
)
from tests.conftest import data_path

X = np.array([[1e-3, 1e-3]])  # 1 ms mean service
X2 = 1.5 * X**2  # E[S^2] with squared CV 0.5
BIG = np.array([[1e6, 1e6]])


def _one_port(lam: list[float], sched: Scheduler, w: list[float] | None = None):  # type: ignore[no-untyped-def]
    return evaluate_class_queues(np.array([lam]), X, X2, np.array([sched]),
                                 np.array([w or [0.5, 0.5]]), BIG)


def test_fifo_is_pollaczek_khinchine_for_every_class() -> None:
    q = _one_port([300.0, 200.0], Scheduler.FIFO)
    rho = 0.5
    pk = (500.0 * 1.5e-6) / (2 * (1 - rho))
    np.testing.assert_allclose(q.waiting_s[0], [pk, pk], rtol=1e-12)


def test_strict_priority_is_cobham() -> None:
    q = _one_port([300.0, 400.0], Scheduler.SP)
    r = 700.0 * 1.5e-6 / 2
    assert q.waiting_s[0, 0] == pytest.approx(r / (1 - 0.3))
    assert q.waiting_s[0, 1] == pytest.approx(r / ((1 - 0.3) * (1 - 0.7)))


def test_fair_queueing_limits() -> None:
    for sched in (Scheduler.WFQ, Scheduler.DRR):
        alone = _one_port([600.0, 0.0], sched)  # one class active: plain M/G/1
        assert alone.waiting_s[0, 0] == pytest.approx(600 * 1.5e-6 / (2 * (1 - 0.6)))
        assert alone.waiting_s[0, 1] == 0.0
        even = _one_port([300.0, 300.0], sched)  # symmetric: both classes wait alike
        assert even.waiting_s[0, 0] == pytest.approx(even.waiting_s[0, 1])
    # virtual clock with equal stamps is one FIFO queue; round robin between two like classes
    # is too: they wait alike and, by the conservation law, as long as FIFO (the GPS view of
    # DRR alone was 18 % above P-K here) but for DRR's order by size (two classes alike: half
    # the packets meet one of the other class)
    for sched, size_order in ((Scheduler.WFQ, 1.0), (Scheduler.DRR, 1 - DRR_SIZE_ORDER_GAIN / 2)):
        even = _one_port([300.0, 300.0], sched)
        assert even.waiting_s[0] == pytest.approx(
            [size_order * 600 * 1.5e-6 / (2 * (1 - 0.6))] * 2, rel=1e-6)
    # DRR: a heavy weight shields a class the way a higher priority does, never more
    skew = _one_port([300.0, 300.0], Scheduler.DRR, [0.9, 0.1])
    sp = _one_port([300.0, 300.0], Scheduler.SP)
    assert sp.waiting_s[0, 0] <= skew.waiting_s[0, 0] < skew.waiting_s[0, 1] \
        <= sp.waiting_s[0, 1]


def test_wfq_class_beyond_its_weight_goes_last() -> None:
    # virtual clock: class 1 sends 0.3 on a weight of 0.1, its stamps run ahead of real time
    # without bound, so it is served after class 0 as under strict priority (Cobham)
    wfq = _one_port([300.0, 300.0], Scheduler.WFQ, [0.9, 0.1])
    sp = _one_port([300.0, 300.0], Scheduler.SP)
    np.testing.assert_allclose(wfq.waiting_s, sp.waiting_s, rtol=1e-6)


SIZES = [300.0, 1700.0]  # bits, equally likely: the GNNet packets
CAP = 1e4


def _port_cases(seed: int, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    weights = np.array([[1 / 3, 1 / 3, 1 / 3], [0.5, 0.4, 0.1], [0.6, 0.3, 0.1],
                        [0.9, 0.05, 0.05]])
    return [(rng.dirichlet([1, 1, 1]) * rng.uniform(0.4, 0.85) / 0.1,
             weights[rng.integers(len(weights))]) for _ in range(n)]


def _model_vs_packets(sched: Scheduler, seed: int, n: int, equal_weights: bool = False
                      ) -> np.ndarray:
    """Relative error of the model's per-class waiting against the packet simulation."""
    errors = []
    x, x2 = 1000.0 / CAP, (300.0**2 + 1700.0**2) / 2 / CAP**2
    for k, (lam, w) in enumerate(_port_cases(seed, n)):
        w = np.full(3, 1 / 3) if equal_weights else w
        run = simulate_port(lam.tolist(), [SIZES] * 3, CAP, sched, weights=w.tolist(),
                            quantum_bits=(1700.0 * w / w.max()).tolist(), packets=60_000,
                            seed=k)
        q = evaluate_class_queues(lam[None], np.full((1, 3), x), np.full((1, 3), x2),
                                  np.array([sched]), w[None], np.full((1, 3), 1e9))
        errors.append(np.abs(q.waiting_s[0] - run.waiting_s) / run.waiting_s)
    return np.concatenate(errors)


def test_packet_simulator_meets_the_textbook() -> None:
    # the oracle itself: one class of fixed-size packets is M/D/1; two classes under strict
    # priority follow Cobham
    x = 1000.0 / CAP
    run = simulate_port([7.0], [[1000.0]], CAP, Scheduler.FIFO, packets=150_000)
    assert run.waiting_s[0] == pytest.approx(0.7 * x / (2 * 0.3), rel=0.05)
    run = simulate_port([3.0, 4.0], [SIZES, SIZES], CAP, Scheduler.SP, packets=150_000)
    r = 7.0 * (300.0**2 + 1700.0**2) / 2 / CAP**2 / 2
    np.testing.assert_allclose(run.waiting_s, [r / 0.7, r / (0.7 * 0.3)], rtol=0.06)


def test_wfq_clocks_keep_the_work_and_differ_beyond_the_weight() -> None:
    # packets of one size: any work-conserving order keeps the same number in the system at
    # every instant, so the summed waits are the same whatever clock stamps the packets;
    # class 2 beyond its weight (0.3 on 0.1) is served last by the virtual clock (its stamps
    # run ahead of real time: strict priority's wait), while GPS's virtual time and SCFQ's
    # keep its share, at the others' expense
    runs = {clock: simulate_port([4.0, 2.0, 3.0], [[1000.0]] * 3, CAP, Scheduler.WFQ,
                                 weights=[0.6, 0.3, 0.1], packets=30_000, warmup=0.0,
                                 wfq_clock=clock) for clock in ("real", "scfq", "gps")}
    total = {k: float((r.waiting_s * r.delivered).sum()) for k, r in runs.items()}
    assert total["scfq"] == pytest.approx(total["real"], rel=1e-9)
    assert total["gps"] == pytest.approx(total["real"], rel=1e-9)
    last = simulate_port([4.0, 2.0, 3.0], [[1000.0]] * 3, CAP, Scheduler.SP, packets=30_000,
                         warmup=0.0).waiting_s[2]
    assert runs["real"].waiting_s[2] == pytest.approx(last, rel=0.01)
    for clock in ("scfq", "gps"):
        assert runs[clock].waiting_s[2] < 0.99 * last
        assert (runs[clock].waiting_s[:2] > 1.05 * runs["real"].waiting_s[:2]).all()
    with pytest.raises(ValueError, match="wfq_clock"):
        simulate_port([1.0], [[1000.0]], CAP, Scheduler.WFQ, wfq_clock="wall")


def test_wfq_model_follows_the_packet_simulation() -> None:
    # measured: 7.2 % mean error over random three-class ports (loads 0.4-0.85), the worst
    # 35 % on a nearly idle class; rerun with other packet seeds 5.4-7.2 % and 18-35 %. A
    # GPS-fluid share model of the same ports is off by 25 %
    e = _model_vs_packets(Scheduler.WFQ, seed=7, n=8)
    assert e.mean() < 0.08 and e.max() < 0.40


def test_drr_model_follows_the_packet_simulation() -> None:
    # measured: 6.0 % mean error, 33 % worst (DRR, quantum one largest packet for the
    # heaviest weight; cases of seeds 11 and 13: 11.2 % and 17.5 % mean); the GPS view alone
    # was 10.4 % (12.9 %, 22.7 %)
    e = _model_vs_packets(Scheduler.DRR, seed=7, n=8)
    assert e.mean() < 0.075 and e.max() < 0.45


def _coarse_quantum_errors(seeds: tuple[int, ...], equal_weights: bool) -> np.ndarray:
    """The model against packet-by-packet DRR with a quantum of 4 largest packets."""
    errors = []
    x, x2 = 1000.0 / CAP, (300.0**2 + 1700.0**2) / 2 / CAP**2
    for seed in seeds:
        for k, (lam, w) in enumerate(_port_cases(seed, 8)):
            w = np.full(3, 1 / 3) if equal_weights else w
            run = simulate_port(lam.tolist(), [SIZES] * 3, CAP, Scheduler.DRR,
                                weights=w.tolist(),
                                quantum_bits=(4 * 1700.0 * w / w.max()).tolist(),
                                packets=60_000, seed=k)
            q = evaluate_class_queues(lam[None], np.full((1, 3), x), np.full((1, 3), x2),
                                      np.array([Scheduler.DRR]), w[None], np.full((1, 3), 1e9),
                                      drr_turn_packets=np.array([4 * 1.7]))
            errors.append(np.abs(q.waiting_s[0] - run.waiting_s) / run.waiting_s)
    return np.concatenate(errors)


def test_coarse_drr_quantum_follows_the_packet_simulation() -> None:
    # 6.8 mean packets a turn. Round robin (k-limited polling with that k): measured 6.8 %
    # mean error, 30 % worst (taken as 1.7 packets a turn: 12.4 %). Unequal weights (the
    # blend toward FIFO, an empirical form chosen on GNNet): 13.7 % and 13.9 % over the cases
    # of seeds 7 and 11 (taken as 1.7 packets a turn: 11.9 % and 19.0 %)
    e = _coarse_quantum_errors((7,), equal_weights=True)
    assert e.mean() < 0.085 and e.max() < 0.40
    assert _coarse_quantum_errors((7, 11), equal_weights=False).mean() < 0.16


def test_round_robin_follows_the_packet_simulation() -> None:
    # equal weights (quantum one largest packet: round robin): the conserved total split as
    # k-limited polling; measured 6.1 % mean error, 26 % worst (the GPS view: 22 %, 55 %)
    e = _model_vs_packets(Scheduler.DRR, seed=3, n=8, equal_weights=True)
    assert e.mean() < 0.08 and e.max() < 0.35


def _saturated_drr_errors(seed: int, quantum_multiple: float, apart: bool = False
                          ) -> np.ndarray:
    """The model against packet-by-packet DRR at ports where one class asks more than its
    share (32-packet buffers): relative error of the waits of the classes that lose nothing
    there, the quantum of the heaviest weight ``quantum_multiple`` largest packets (``apart``:
    given to the model as the saturated turn only, its quantum below saturation one largest
    packet)."""
    rng = np.random.default_rng(seed)
    weights = np.array([[0.6, 0.3, 0.1], [0.65, 0.25, 0.1], [0.8, 0.1, 0.1], [0.5, 0.4, 0.1],
                        [1 / 3, 1 / 3, 1 / 3], [0.7, 0.2, 0.1]])
    x, x2 = 1000.0 / CAP, (300.0**2 + 1700.0**2) / 2 / CAP**2
    errors = []
    for k in range(8):
        w = weights[rng.integers(len(weights))]
        rho = rng.uniform(0.05, 0.3, 3)
        rho[rng.integers(3)] = rng.uniform(0.6, 1.0)
        lam = rho / x
        run = simulate_port(lam.tolist(), [SIZES] * 3, CAP, Scheduler.DRR, weights=w.tolist(),
                            quantum_bits=(quantum_multiple * 1700.0 * w / w.max()).tolist(),
                            buffer_packets=32, packets=60_000, seed=k)
        q = evaluate_class_queues(lam[None], np.full((1, 3), x), np.full((1, 3), x2),
                                  np.array([Scheduler.DRR]), w[None], np.full((1, 3), 32.0),
                                  drr_turn_packets=np.array([1.7 if apart else
                                                             quantum_multiple * 1.7]),
                                  drr_saturated_turn_packets=np.array([quantum_multiple * 1.7])
                                  if apart else None)
        _, saturated = water_fill(rho[None], w[None], np.ones((1, 3), bool), np.ones(1))
        clean = (run.loss < 1e-3) & saturated.any() & ~saturated[0]
        errors.append((np.abs(q.waiting_s[0] - run.waiting_s) / run.waiting_s)[clean])
    return np.concatenate(errors)


@pytest.mark.parametrize("quantum_multiple", [1.0, 4.0, 10.0])
def test_drr_beside_a_saturated_class_follows_the_packet_simulation(
        quantum_multiple: float) -> None:
    # a saturated class takes its whole turn every round: the others are a polling queue
    # with vacations. Measured here: 5.7 %, 4.5 %, 8.1 % mean error with quanta of 1, 4 and
    # 10 largest packets (22 % worst; seeds 1 / 2 of this draw: 9.0 / 9.0 %, 5.0 / 5.7 %,
    # 5.4 / 7.4 %). Before the round's tail join and the rounds crossed (engine.drr): 5.2 %,
    # 7.0 %, 7.7 % (seeds 1 / 2: 7.3 / 8.5 %, 10.3 / 7.6 %, 10.1 / 6.4 %; other draws of
    # such ports, 20-30 classes that lose nothing per quantum: 6.0-8.1 %, 6.9-9.0 %,
    # 7.0-11.9 %); the GPS share with a round wait before that: 18.9 %, 30.6 %, 56.2 % (76 %
    # worst; other draws 22.6-28.5 %, 25.5-28.7 %, 45.0-52.2 %)
    e = _saturated_drr_errors(5, quantum_multiple)
    assert e.size >= 8
    assert e.mean() < 0.09 and e.max() < 0.25


@pytest.mark.parametrize("quantum_multiple", [4.0, 8.0])
def test_saturated_turn_given_apart_follows_the_packet_simulation(
        quantum_multiple: float) -> None:
    # GNNet's turns beside a saturated class are longer than its quantum below saturation
    # suggests (io.gnnet.saturated_quantum_bits: 8 largest packets at 40 kbit/s): given apart,
    # the saturated turn alone sets the polling, and the model follows packet DRR with that
    # quantum as when the quantum is given whole. Measured: 4.5 % and 7.3 % mean error with
    # quanta of 4 and 8 largest packets (the same as given whole; 8: seeds 1 / 2 5.8 / 6.6 %)
    e = _saturated_drr_errors(5, quantum_multiple, apart=True)
    assert e.size >= 8
    assert e.mean() < 0.09 and e.max() < 0.25


def test_overload_fills_the_buffer_and_drops() -> None:
    q = evaluate_class_queues(np.array([[1500.0, 0.0]]), X, X2, np.array([Scheduler.WFQ]),
                              np.array([[0.5, 0.5]]), np.array([[32.0, 32.0]]))
    assert q.loss[0, 0] == pytest.approx(1 - 1 / 1.5, rel=1e-3)  # fluid limit of M/M/1/K
    assert 25e-3 < q.waiting_s[0, 0] < 33e-3  # about a full buffer of 32 packets


def test_losses_thin_downstream_traffic() -> None:
    # one demand over two ports; the first is overloaded, so the second sees less
    demands = PathDemands(np.array([0, 2]), np.array([0, 1]), np.array([0]),
                          np.array([2000.0]), np.array([1000.0]), np.array([1.5e6]))
    res = simulate_paths(demands, np.array([1e6, 1e6]), np.array([Scheduler.FIFO] * 2),
                         np.full((2, 1), 1.0), np.full((2, 1), 32.0))
    assert res.queues.loss[0, 0] == pytest.approx(0.5, rel=1e-2)
    assert res.queues.utilisation[1] == pytest.approx(res.queues.utilisation[0] / 2, rel=1e-2)
    l0, l1 = res.queues.loss[:, 0]
    assert l1 == pytest.approx(1 / 34, rel=1e-6)  # M/M/1/K at rho = 1: 1/(K+1), K = 33
    assert res.loss[0] == pytest.approx(1 - (1 - l0) * (1 - l1), rel=1e-12)


def test_scheduling_aware_model_on_omnet_samples_without_drops() -> None:
    tarball = data_path("gnnet2020", "train", "gnnet_data_set_0_99.tar.gz")
    errors, single = [], []
    for sample in iter_gnnet_samples(tarball):
        if sample.drop_fraction.max() > 0:
            continue
        aware = predict(sample).delay_s
        fifo = predict(sample, scheduling_aware=False).delay_s
        errors.append(np.abs(aware - sample.delay_s) / sample.delay_s)
        single.append(np.abs(fifo - sample.delay_s) / sample.delay_s)
    e, s = np.concatenate(errors), np.concatenate(single)
    assert e.size > 5000
    # measured 1.040 % vs 4.23 % (the data set is fixed: no noise to allow for)
    assert e.mean() < 0.0115 and e.mean() < s.mean() / 3.5


def test_mm1_delay_variance_is_the_textbook_one() -> None:
    # M/M/1 (exponential sizes: E[S^2] = 2 E[S]^2): the sojourn time is exponential with rate
    # mu - lambda, so its variance is 1 / (mu - lambda)^2, waiting and service together
    cap, mean_bits = 1e9, 8000.0
    mu = cap / mean_bits
    for rho in (0.1, 0.5, 0.85):
        lam = rho * mu
        demands = PathDemands(np.array([0, 1]), np.array([0]), np.array([0]),
                              np.array([lam]), np.array([mean_bits]),
                              np.array([2 * mean_bits ** 2]))
        res = simulate_paths(demands, np.array([cap]), np.array([Scheduler.FIFO]),
                             np.array([[1.0]]), np.array([[1e9]]))
        assert res.delay_s[0] == pytest.approx(1 / (mu - lam), rel=1e-9)
        assert res.delay_var_s2[0] == pytest.approx(1 / (mu - lam) ** 2, rel=1e-9)


@pytest.mark.parametrize("load", [0.3, 0.6, 0.9, 0.97])
def test_coarse_wfq_turns_move_the_waits_toward_fifo(load: float) -> None:
    # the virtual clock's waits (a turn of 1.7 mean packets, or none given) against FIFO's,
    # Pollaczek-Khinchine R / (1 - rho): coarser turns land in between, closer to FIFO, the
    # same at every class; at 0.95 and beyond the blend is off
    rho = np.array([0.1, 0.3, 0.6]) * load
    lam = (rho / X[0, 0])[None]
    x, x2 = np.full((1, 3), X[0, 0]), np.full((1, 3), X2[0, 0])
    w = np.array([[0.6, 0.3, 0.1]])

    def waits(turn: float | None) -> np.ndarray:
        t = None if turn is None else np.array([turn])
        q = evaluate_class_queues(lam, x, x2, np.array([Scheduler.WFQ]), w,
                                  np.full((1, 3), 1e6), drr_turn_packets=t)
        return q.waiting_s[0]

    fifo = (lam * x2).sum() / 2 / (1 - rho.sum())
    base = waits(None)
    np.testing.assert_allclose(waits(1.7), base, rtol=1e-12)
    previous = base
    for turn in (4.0, 10.0, 40.0):
        now = waits(turn)
        if load >= 0.95:
            np.testing.assert_allclose(now, base, rtol=1e-12)
            continue
        assert (np.abs(now - fifo) <= np.abs(previous - fifo) + 1e-15).all()
        assert ((now - base) * (fifo - base) >= 0).all()  # never past FIFO's side
        previous = now
    if load < 0.95:
        assert (np.abs(previous - fifo) < np.abs(base - fifo)).all()


@pytest.mark.parametrize(("w", "load"), [([0.6, 0.3, 0.1], 0.7), ([1 / 3, 1 / 3, 1 / 3], 0.85)])
def test_drr_per_packet_waits_sum_below_the_size_blind_law(w: list[float], load: float) -> None:
    # DRR orders by size (a packet waits for its deficit): packet DRR's sum rho_c W_c against
    # FIFO's on the same arrivals, and the model's against Pollaczek-Khinchine's, agree
    sizes, cap = [300.0, 1700.0], 1e4
    x, x2 = 0.1, (300.0 ** 2 + 1700.0 ** 2) / 2 / cap ** 2
    rho = np.array([0.3, 0.3, 0.4]) * load
    runs = {sched: simulate_port((rho / x).tolist(), [sizes] * 3, cap, sched, weights=w,
                                 quantum_bits=(1700 * np.array(w) / max(w)).tolist(),
                                 packets=150_000, seed=1)
            for sched in (Scheduler.DRR, Scheduler.FIFO)}
    drr, fifo = (runs[s].waiting_s for s in (Scheduler.DRR, Scheduler.FIFO))
    packet = (rho * drr).sum() / (rho * fifo).sum()
    q = evaluate_class_queues((rho / x)[None], np.full((1, 3), x), np.full((1, 3), x2),
                              np.array([Scheduler.DRR]), np.array([w]), np.full((1, 3), 1e6),
                              drr_turn_packets=np.array([1.7]))
    model = (rho * q.waiting_s[0]).sum() / (load * (rho / x).sum() * x2 / 2 / (1 - load))
    assert model == pytest.approx(packet, abs=0.03)


@pytest.mark.parametrize("sched", [Scheduler.SP, Scheduler.WFQ])
def test_a_light_class_at_a_port_kept_busy_waits_the_residual_however_smooth(
        sched: Scheduler) -> None:
    # class 1 is past capacity and always queued: the server never idles, so a rare class-0
    # packet finds one in service and waits its length-biased residual E[S^2] / (2 E[S]),
    # whatever the variability of its own (or the port's) arrivals
    lam = np.array([[1.0, 1.3 / X[0, 0]]])
    residual = X2[0, 0] / (2 * X[0, 0])
    for scv in (1.0, 0.3, 0.05):
        kept = np.ones((1, 2))
        for _ in range(30):  # the losses' fixed point, as simulate_paths finds it
            q = evaluate_class_queues(lam, X, X2, np.array([sched]), np.array([[0.9, 0.1]]),
                                      np.array([[32.0, 32.0]]), kept,
                                      arrival_scv=np.array([scv]))
            kept = 0.5 * kept + 0.5 * (1.0 - q.loss)
        assert q.loss[0, 1] > 0.2 and q.loss[0, 0] < 1e-9
        assert q.waiting_s[0, 0] == pytest.approx(residual, rel=0.01)


def test_mg1_delay_variance_is_takacs_with_the_third_moment() -> None:
    # M/G/1 with two equally likely sizes (GNNet's 300 / 1,700 bits): Takacs, E[W^2] =
    # 2 E[W]^2 + lambda E[S^3] / (3 (1 - rho)); waiting and own service independent (FIFO)
    cap, sizes = 1e4, np.array([300.0, 1700.0])
    m1, m2, m3 = sizes.mean(), (sizes ** 2).mean(), (sizes ** 3).mean()
    for rho in (0.1, 0.5, 0.85):
        lam = rho * cap / m1
        demands = PathDemands(np.array([0, 1]), np.array([0]), np.array([0]), np.array([lam]),
                              np.array([m1]), np.array([m2]), np.array([m3]))
        res = simulate_paths(demands, np.array([cap]), np.array([Scheduler.FIFO]),
                             np.array([[1.0]]), np.array([[1e9]]))
        wait = lam * m2 / cap ** 2 / (2 * (1 - rho))
        var_w = wait ** 2 + lam * m3 / cap ** 3 / (3 * (1 - rho))
        assert res.delay_s[0] == pytest.approx(wait + m1 / cap, rel=1e-9)
        assert res.delay_var_s2[0] == pytest.approx(var_w + (m2 - m1 ** 2) / cap ** 2, rel=1e-9)


def test_arrival_variability_carries_through_a_chain_of_ports() -> None:
    # ports 0 -> 1 -> 2, all of port 0's traffic goes on to 1 and all of 1's to 2, no local
    # traffic after port 0: QNA's traffic variability equations by hand,
    # c_1 = r0^2 cs + (1 - r0^2) * 1, c_2 = r1^2 cs + (1 - r1^2) c_1; the one-pass form takes
    # port 1's arrivals as Poisson in port 2's
    rho, cs = np.array([0.8, 0.6, 0.5]), np.array([0.49, 0.2, 1.3])
    pps = np.full(3, 100.0)
    src, dst, stream = np.array([0, 1]), np.array([1, 2]), np.array([100.0, 100.0])
    c1 = rho[0] ** 2 * cs[0] + 1 - rho[0] ** 2
    c2 = rho[1] ** 2 * cs[1] + (1 - rho[1] ** 2) * c1
    full = network_arrival_variability(pps, rho, cs, src, dst, stream)
    np.testing.assert_allclose(full, [1.0, c1, c2], rtol=1e-12)
    one = arrival_variability(pps, rho, cs, src, dst, stream)
    np.testing.assert_allclose(one, [1.0, c1, rho[1] ** 2 * cs[1] + 1 - rho[1] ** 2],
                               rtol=1e-12)


@pytest.mark.parametrize("c1", [1.1e4, 1e4])
def test_smoother_arrivals_after_a_busy_port(c1: float) -> None:
    # a stream that crossed a busy port (rho 0.75) arrives smoother than Poisson, so the next
    # port (rho 0.88) waits less. Oracle: the tandem simulated packet by packet. Measured
    # over seeds 3-5: plain QNA 6-16 % high (seed 3: 13.6 % and 10.7 %); with the link
    # spacing (``link_spacing``: the busy term dropped on the equal-speed link, 9 % of it
    # kept on the 1.1x faster one) 6-15 % low (seed 3: -8.3 % and -10.2 %), a fifth to two
    # fifths of the error of the Poisson assumption
    c2, bits = 1e4, 1000.0
    through = 0.75 * c1 / bits
    local = 0.88 * c2 / bits - through
    sim = simulate_tandem((c1, c2), through, local, SIZES, packets=600_000, seed=3)
    second = (300.0**2 + 1700.0**2) / 2
    demands = PathDemands(np.array([0, 2, 3]), np.array([0, 1, 1]), np.array([0, 0]),
                          np.array([through, local]), np.full(2, bits), np.full(2, second))
    res = simulate_paths(demands, np.array([c1, c2]), np.array([Scheduler.FIFO] * 2),
                         np.ones((2, 1)), np.full((2, 1), 1e9))
    poisson = evaluate_class_queues(np.array([[through + local]]), np.array([[bits / c2]]),
                                    np.array([[second / c2**2]]), np.array([Scheduler.FIFO]),
                                    np.ones((1, 1)), np.full((1, 1), 1e9)).waiting_s[0, 0]
    model = res.queues.waiting_s[1, 0]
    assert abs(model - sim) / sim < 0.16
    assert abs(model - sim) < 0.45 * abs(poisson - sim)


@pytest.mark.parametrize(("sched", "w", "through", "local"), [
    (Scheduler.SP, None, [3.0, 3.0], [1.0, 1.5]),
    (Scheduler.SP, None, [2.0, 2.0, 2.0], [0.5, 0.5, 1.5]),
    (Scheduler.WFQ, [0.6, 0.3, 0.1], [3.0, 2.0, 2.0], [0.5, 0.5, 0.5]),
    (Scheduler.WFQ, [0.6, 0.3, 0.1], [4.0, 1.0, 2.0], [0.5, 0.5, 1.0])])
def test_smoothed_classes_keep_their_order_like_the_packets(
        sched: Scheduler, w: list[float] | None, through: list[float],
        local: list[float]) -> None:
    # per-class traffic that crossed a busy FIFO port of the same rate (load 0.6-0.7) joins
    # local Poisson traffic at an SP / WFQ port (load 0.85-0.9; WFQ's class 2 beyond its
    # weight). Oracle: both ports packet by packet. Measured (mean |error| over the classes,
    # seed 3): 5.8 / 8.8 % (SP), 5.7 / 8.5 % (WFQ), each class's wait scaled by the port's
    # QNA factor; keeping the first classes' residual whole and moving the smoothing's gain
    # to the classes served last (conservation law; better on GNNet, branch h-gnnet-tiers)
    # 7.1 / 10.5 % and 17.9 / 18.7 %: the smoothing lowers every class's wait, not mostly
    # the last one's
    classes = len(through)
    sim = simulate_smoothed_port(through, local, SIZES, CAP, sched, weights=w,
                                 packets=300_000, seed=3).waiting_s
    ptr = np.arange(0, 3 * classes, 3)[:, None] + np.array([0, 2])
    ptr = np.append(ptr.ravel(), 3 * classes)
    demands = PathDemands(ptr, np.tile([0, 1, 1], classes), np.repeat(np.arange(classes), 2),
                          np.ravel(np.column_stack([through, local])),
                          np.full(2 * classes, 1000.0), np.full(2 * classes, 1.49e6))
    weights = np.tile(w or [1.0 / classes] * classes, (2, 1))
    res = simulate_paths(demands, np.full(2, CAP), np.array([Scheduler.FIFO, sched]), weights,
                         np.full((2, classes), 1e9))
    assert (np.abs(res.queues.waiting_s[1] - sim) / sim).mean() < 0.10


@pytest.mark.parametrize(("c1", "c2", "rho1", "rho2"), [(1e4, 2.5e4, 0.9, 0.7),
                                                       (2.5e4, 4e4, 0.8, 0.8)])
def test_a_port_faster_than_its_input_link_sees_the_link_spacing(
        c1: float, c2: float, rho1: float, rho2: float) -> None:
    # a stream from a busy 10G (25G) port into a 25G (40G) one: its back-to-back packets are
    # spaced by their transmission on the slower link, so the faster port never queues them
    # behind each other; QNA charges that spacing's variability (rho1^2 c_s^2) to the second
    # port all the same. Oracle: the tandem simulated packet by packet. Measured over seeds
    # 3-5: QNA +23 to +24 % (+28 to +31 %), with the link spacing +3 to +5 % (+9 to +11 %)
    bits, second = 1000.0, (300.0**2 + 1700.0**2) / 2
    through = rho1 * c1 / bits
    local = rho2 * c2 / bits - through
    sim = simulate_tandem((c1, c2), through, local, SIZES, packets=600_000, seed=3)
    demands = PathDemands(np.array([0, 2, 3]), np.array([0, 1, 1]), np.array([0, 0]),
                          np.array([through, local]), np.full(2, bits), np.full(2, second))
    res = simulate_paths(demands, np.array([c1, c2]), np.array([Scheduler.FIFO] * 2),
                         np.ones((2, 1)), np.full((2, 1), 1e9))
    model = res.queues.waiting_s[1, 0]
    # plain QNA by hand: c_a^2 mixes the departures of port 0 (rho1^2 c_s^2 + 1 - rho1^2)
    # with the local Poisson stream; Kingman's scale on Pollaczek-Khinchine
    cs = second / bits**2 - 1.0
    ca = (through * (rho1**2 * cs + 1 - rho1**2) + local) / (through + local)
    pk = (through + local) * second / c2**2 / 2 / (1 - rho2)
    qna = pk * (ca + cs) / (1 + cs)
    assert link_spacing(np.array([c1, c2, c2]), np.array([c2, c1, c2])) == pytest.approx(
        [0.0, 1 - c1 / c2, 0.0])
    assert abs(model - sim) / sim < 0.13
    assert abs(model - sim) < 0.45 * abs(qna - sim)


@pytest.mark.parametrize(("w", "rho"), [([1 / 3] * 3, [0.4, 0.4, 0.47]),
                                        ([0.5, 0.4, 0.1], [0.562, 0.447, 0.349]),
                                        ([0.9, 0.05, 0.05], [0.3, 0.5, 0.4])])
def test_overloaded_wfq_shares_by_weight_like_the_packets(w: list[float],
                                                          rho: list[float]) -> None:
    # past capacity, classes beyond their weight share what is left by weight (their stamps
    # move together): losses and full-buffer waits against the packet-by-packet virtual
    # clock with 32-packet buffers. Measured (seed 2; seeds 3-4 in brackets): losses within
    # 0.0062 (0.011), waits within 6.4 %, or 0.23 service times for a class that hardly
    # waits
    x, second = 1000.0 / CAP, (300.0**2 + 1700.0**2) / 2 / CAP**2
    lam = np.array(rho) / x
    run = simulate_port(lam.tolist(), [SIZES] * 3, CAP, Scheduler.WFQ, weights=w,
                        buffer_packets=32, packets=200_000, seed=2)
    q = evaluate_class_queues(lam[None], np.full((1, 3), x), np.full((1, 3), second),
                              np.array([Scheduler.WFQ]), np.array([w]), np.full((1, 3), 32.0))
    np.testing.assert_allclose(q.loss[0], run.loss, atol=0.012)
    np.testing.assert_allclose(q.waiting_s[0], run.waiting_s, rtol=0.07, atol=0.25 * x)


@pytest.mark.parametrize("sched", [Scheduler.FIFO, Scheduler.DRR])
def test_classes_polled_at_a_hot_drr_port_reach_the_next_port_smoother_than_poisson(
        sched: Scheduler) -> None:
    # a class polled beside a saturated one leaves the DRR port in turns, yet the next port
    # (same rate, local Poisson traffic, load 0.75) waits less than for Poisson arrivals at
    # the same rates, not more: the turns are sent at the link rate, which the next port
    # matches. Oracle: both ports packet by packet (seeds 1-3: FIFO 39-42 ms against 55-57
    # ms Poisson-fed, DRR's classes 26-32 % below). The model's QNA smoothing goes the same
    # way (FIFO within 12 % of the packets, 4-11 %: its DRR split errs by class, engine.drr)
    cap, w = 4e4, [0.6, 0.3, 0.1]
    lam1, local = np.array([12.0, 10.0, 24.0]), np.array([4.0, 2.0, 2.0])
    q1 = 13600.0 / 0.6  # io.gnnet.saturated_quantum_bits at 40 kbit/s, per unit of weight
    q2 = 6800.0 / 0.6  # its turn below saturation (DRR_QUANTUM_S of the rate)
    first, second = simulate_port_pair(
        lam1.tolist(), [1.0, 1.0, 0.0], local.tolist(), (cap, cap), (Scheduler.DRR, sched),
        weights=(w, w), quantum_bits=([q1 * v for v in w], [q2 * v for v in w]),
        buffer_packets=(32, 32), packets=100_000, seed=1)
    assert first.loss[2] > 0.2 and first.loss[:2].max() == 0.0  # class 2 saturated
    reach = lam1 * np.array([1.0, 1.0, 0.0]) + local
    plain = simulate_port(reach.tolist(), [SIZES] * 3, cap, sched, weights=w,
                          quantum_bits=[q2 * v for v in w], buffer_packets=32,
                          packets=100_000, seed=1)
    assert np.all(second.waiting_s < 0.85 * plain.waiting_s)
    bits, m2 = 1000.0, (300.0**2 + 1700.0**2) / 2
    demands = PathDemands(np.array([0, 2, 4, 5, 6, 7, 8]), np.array([0, 1, 0, 1, 0, 1, 1, 1]),
                          np.array([0, 1, 2, 0, 1, 2]), np.concatenate([lam1, local]),
                          np.full(6, bits), np.full(6, m2))
    caps = np.array([cap, cap])
    args = (demands, caps, np.array([Scheduler.DRR, sched]), np.array([w, w]),
            np.full((2, 3), 32.0))
    quanta = {"drr_quantum_bits": np.full(2, 6800.0),
              "drr_saturated_quantum_bits": np.full(2, 13600.0)}
    smooth = simulate_paths(*args, **quanta).queues.waiting_s[1]  # type: ignore[arg-type]
    poisson = simulate_paths(*args, smooth_arrivals=False,  # type: ignore[arg-type]
                             **quanta).queues.waiting_s[1]
    assert np.all(smooth < poisson)
    if sched == Scheduler.FIFO:
        assert smooth == pytest.approx(second.waiting_s, rel=0.12)
    else:  # DRR: the port's rate-weighted mean against the packets, +18 % (classes +21 /
        # +31 / -43 %: the model's DRR split below saturation, a known gap, engine.drr)
        assert (reach * smooth).sum() / reach.sum() == pytest.approx(
            (reach * second.waiting_s).sum() / reach.sum(), rel=0.2)
