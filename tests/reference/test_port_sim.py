"""The packet-level FIFO port (``reference.port_sim.simulate_fifo_port``) against closed
forms: M/M/1/K (wait and loss) and M/D/1 (Pollaczek-Khinchine, a buffer that never fills)."""

from __future__ import annotations

import numpy as np
import pytest

from nettwin.engine.qos import Scheduler
from nettwin.engine.queueing import mm1k_blocking_and_mean
from nettwin.reference.port_sim import (
    Stream,
    simulate_fifo_port,
    simulate_port_pair,
    simulate_tandem_ports,
)

CAPACITY_BPS = 1e6
SIZE_BITS = 8000.0  # 8 ms per packet


@pytest.mark.parametrize(("rho", "k"), [(0.7, 6), (0.9, 11)])
def test_poisson_exponential_sizes_is_mm1k(rho: float, k: int) -> None:
    lam = rho * CAPACITY_BPS / SIZE_BITS
    run = simulate_fifo_port([Stream(lam, exponential_bits=SIZE_BITS)], CAPACITY_BPS, k,
                             3000.0)
    blocking, mean_n = mm1k_blocking_and_mean(np.array([rho]), np.array([float(k)]))
    wait = mean_n[0] / (lam * (1.0 - blocking[0])) - SIZE_BITS / CAPACITY_BPS  # Little
    assert run.loss == pytest.approx(blocking[0], rel=0.08)
    assert run.waiting_s == pytest.approx(wait, rel=0.04)


def test_poisson_fixed_sizes_with_a_large_buffer_is_md1() -> None:
    rho, x = 0.6, SIZE_BITS / CAPACITY_BPS
    run = simulate_fifo_port([Stream(0.5 * rho / x, (SIZE_BITS,)),
                              Stream(0.5 * rho / x, (SIZE_BITS,))], CAPACITY_BPS, 1000,
                             3000.0)
    assert run.loss == 0.0
    assert run.waiting_s == pytest.approx(rho * x / (2.0 * (1.0 - rho)), rel=0.04)
    assert run.stream_waiting_s == pytest.approx([run.waiting_s] * 2, rel=0.05)


def test_a_tandem_with_cross_traffic_at_the_first_port_keeps_equal_sizes_spaced() -> None:
    # equal sizes, equal speeds: whatever the first port interleaves, the through stream's
    # packets leave it at least one transmission apart and never wait at the second one
    through = Stream(30.0, (8000.0,), on_s=0.05, off_s=0.1)
    cross = Stream(60.0, (8000.0,))
    alone = simulate_tandem_ports((1e6, 1e6), through, Stream(1e-9, (8000.0,)), 10, 200.0,
                                  cross=cross, first_system_packets=20)
    assert alone.stream_waiting_s[0] == pytest.approx(0.0, abs=1e-12)
    # a local stream at the second port makes them wait there again
    mixed = simulate_tandem_ports((1e6, 1e6), through, Stream(20.0, (8000.0,)), 10, 200.0,
                                  cross=cross, first_system_packets=20)
    assert mixed.stream_waiting_s[0] > 1e-4


def test_a_port_pair_at_equal_speeds_never_queues_the_first_ports_departures() -> None:
    # equal sizes: whatever the first port (DRR beside a saturated class) interleaves, its
    # departures leave at least one transmission apart and a second port of the same rate
    # sends each before the next has arrived: without local traffic it never waits (with
    # 300 / 1,700-bit packets it does: a short packet behind a long one catches it up)
    cap = 4e4
    first, second = simulate_port_pair(
        [12.0, 10.0, 24.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], (cap, cap),
        (Scheduler.DRR, Scheduler.DRR), weights=([0.6, 0.3, 0.1], [0.6, 0.3, 0.1]),
        quantum_bits=([13600.0, 6800.0, 2267.0], None), buffer_packets=(32, 32),
        sizes_bits=[1000.0], packets=20_000)
    assert first.loss[2] > 0.1  # the first port is past capacity: its class 2 saturated
    assert second.waiting_s == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)
    assert second.loss.sum() == 0.0
