"""The packet-level FIFO port (``reference.port_sim.simulate_fifo_port``) against closed
forms: M/M/1/K (wait and loss) and M/D/1 (Pollaczek-Khinchine, a buffer that never fills)."""

from __future__ import annotations

import numpy as np
import pytest

from nettwin.engine.queueing import mm1k_blocking_and_mean
from nettwin.reference.port_sim import Stream, simulate_fifo_port

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
