"""Delay variance (jitter) of full finite-buffer queues and of delays seen within a horizon,
against independent oracles: a packet-by-packet M/M/1/K simulation, exact rational sums and
scipy's lognormal."""

from __future__ import annotations

from collections import deque
from fractions import Fraction

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import lognorm

from nettwin.engine.qos import Scheduler, evaluate_class_queues
from nettwin.engine.queueing import mm1k_admitted_wait_moments
from nettwin.io.gnnet import observed_delay_sd


def simulate_mm1k(rho: float, k: int, packets: int, seed: int) -> np.ndarray:
    """Waiting times (service 1) of the admitted packets of a FIFO M/M/1/K queue."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / rho, packets))
    services = rng.exponential(1.0, packets)
    departures = np.empty(packets)
    waits = np.empty(packets)
    done = admitted = 0
    last = 0.0
    for a, s in zip(arrivals.tolist(), services.tolist(), strict=True):
        while done < admitted and departures[done] <= a:
            done += 1
        if admitted - done >= k:  # k in the system: lost
            continue
        start = max(a, last)
        last = start + s
        departures[admitted] = last
        waits[admitted] = start - a
        admitted += 1
    return waits[admitted // 20:admitted]  # without the start-up


@pytest.mark.parametrize(("rho", "k"), [(0.95, 10), (1.0, 16), (1.3, 10), (4.0, 6)])
def test_admitted_wait_matches_packet_simulation(rho: float, k: int) -> None:
    waits = simulate_mm1k(rho, k, 300_000, seed=7)
    mean, var = mm1k_admitted_wait_moments(np.array([rho]), np.array([float(k)]))
    assert mean[0] == pytest.approx(waits.mean(), rel=0.03)
    assert var[0] == pytest.approx(waits.var(), rel=0.05)


def test_old_full_queue_variance_was_wrong_near_capacity() -> None:
    """The full queue's K services squared is far from the simulation at rho = 1; the
    closed form is not."""
    waits = simulate_mm1k(1.0, 16, 300_000, seed=3)
    _, var = mm1k_admitted_wait_moments(np.array([1.0]), np.array([16.0]))
    assert abs(16.0 - waits.var()) > 0.3 * waits.var()  # 16 against about 29
    assert var[0] == pytest.approx(waits.var(), rel=0.05)


@pytest.mark.parametrize("rho", ["1/3", "999999/1000000", "1", "1000001/1000000", "3/2", "40"])
@pytest.mark.parametrize("k", [1, 2, 7, 64, 1001])
def test_admitted_wait_matches_exact_sums(rho: str, k: int) -> None:
    """E[W] = E[N], Var W = E[N] + Var N, N the truncated geometric an admitted packet
    finds, summed exactly in rationals (no series, no cancellation)."""
    r = Fraction(rho)
    weights = [r ** n for n in range(k)]
    total = sum(weights)
    m1 = sum(n * w for n, w in enumerate(weights)) / total
    m2 = sum(n * n * w for n, w in enumerate(weights)) / total
    mean, var = mm1k_admitted_wait_moments(np.array([float(r)]), np.array([float(k)]))
    assert mean[0] == pytest.approx(float(m1), rel=1e-9, abs=1e-12)
    assert var[0] == pytest.approx(float(m1 + m2 - m1 * m1), rel=1e-8, abs=1e-12)


def test_engine_full_fifo_port_jitter_matches_simulation() -> None:
    """One FIFO port past capacity (rho 1.3, buffer 9): the engine's waiting mean and variance
    of the admitted packets against the packet simulation (exponential sizes)."""
    x = 1e-3
    q = evaluate_class_queues(np.array([[1.3 / x]]), np.array([[x]]), np.array([[2 * x * x]]),
                              np.array([Scheduler.FIFO]), np.ones((1, 1)), np.array([[9]]))
    waits = simulate_mm1k(1.3, 10, 300_000, seed=11) * x
    assert q.waiting_s[0, 0] == pytest.approx(waits.mean(), rel=0.03)
    assert q.waiting_var_s2[0, 0] == pytest.approx(waits.var(), rel=0.05)


@pytest.mark.parametrize(("mean", "sd"), [(1.0, 0.5), (18.0, 3.0), (20.0, 2.0), (25.0, 4.0),
                                          (60.0, 10.0), (400.0, 300.0)])
def test_observed_sd_is_the_truncated_lognormal(mean: float, sd: float) -> None:
    """Against scipy's lognormal integrated numerically below the horizon."""
    horizon = 20.0
    s2 = np.log1p(sd * sd / mean ** 2)
    law = lognorm(np.sqrt(s2), scale=mean * np.exp(-s2 / 2))
    assert law.mean() == pytest.approx(mean) and law.std() == pytest.approx(sd)
    mass = law.cdf(horizon)
    m1 = quad(lambda t: t * law.pdf(t), 0, horizon, epsabs=0, epsrel=1e-12, limit=200)[0] / mass
    m2 = quad(lambda t: t * t * law.pdf(t), 0, horizon, epsabs=0, epsrel=1e-12,
              limit=200)[0] / mass
    got = observed_delay_sd(np.array([mean]), np.array([sd * sd]), horizon)[0]
    assert got == pytest.approx(np.sqrt(m2 - m1 * m1), rel=1e-3)


def simulate_priority(rho_high: float, rho_low: float, k_low: int, packets: int,
                      seed: int) -> np.ndarray:
    """Waiting times (service 1, exponential) of the admitted low-priority packets of a
    non-preemptive strict-priority port: the high class unbounded, the low one at most
    ``k_low`` in the system."""
    rng = np.random.default_rng(seed)
    high = np.cumsum(rng.exponential(1 / rho_high, int(packets * rho_high / (rho_high + rho_low))))
    low = np.cumsum(rng.exponential(1 / rho_low, int(packets * rho_low / (rho_high + rho_low))))
    end = min(high[-1], low[-1])
    events = sorted([(t, 0) for t in high.tolist() if t < end]
                    + [(t, 1) for t in low.tolist() if t < end])
    queues: tuple[deque[float], deque[float]] = (deque(), deque())
    waits: list[float] = []
    free_at: float | None = None
    serving = -1

    def start(now: float) -> None:
        nonlocal free_at, serving
        for c in (0, 1):
            if queues[c]:
                arrived = queues[c].popleft()
                if c == 1:
                    waits.append(now - arrived)
                free_at, serving = now + rng.exponential(1.0), c
                return
        free_at, serving = None, -1

    for t, c in events:
        while free_at is not None and free_at <= t:
            start(free_at)
        if c == 1 and len(queues[1]) + (serving == 1) >= k_low:
            continue  # lost
        queues[c].append(t)
        if free_at is None:
            start(t)
    return np.array(waits[len(waits) // 20:])


@pytest.mark.parametrize(("rho_high", "rho_low"), [(0.5, 0.8), (0.3, 0.9), (0.6, 0.6)])
def test_engine_starved_priority_class_jitter_matches_simulation(rho_high: float,
                                                                 rho_low: float) -> None:
    """A low-priority class past the capacity the high class leaves it (buffer 9): its full
    queue's waiting variance against a packet-by-packet strict-priority simulation; the
    services stretched by the high class's work (completion time) bring it within 25 %, the
    former K (E[S] / (1 - rho_high))^2 was 50-75 % low."""
    q = evaluate_class_queues(np.array([[rho_high, rho_low]]), np.ones((1, 2)),
                              np.full((1, 2), 2.0), np.array([Scheduler.SP]),
                              np.full((1, 2), 0.5), np.array([[10**6, 9]]))
    waits = simulate_priority(rho_high, rho_low, 10, 400_000, seed=5)
    assert q.waiting_s[0, 1] == pytest.approx(waits.mean(), rel=0.05)
    assert q.waiting_var_s2[0, 1] == pytest.approx(waits.var(), rel=0.25)
    former = 10 / (1 - rho_high) ** 2
    assert abs(q.waiting_var_s2[0, 1] - waits.var()) < 0.5 * abs(former - waits.var())
