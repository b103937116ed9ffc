"""The packet-size law read from an ns3gt scenario: the laws ns3gt samples exactly, any
other law by the two-moment fit of the moments the result reports (as the docstring says)."""

from __future__ import annotations

import numpy as np

from nettwin.io.ns3gt import scenario_size_law


def test_each_kind_keeps_the_reported_moments() -> None:
    sizes = [{"type": "fixed", "bytes": 1000},
             {"type": "bimodal", "p_small": 0.4, "small_bytes": 64, "large_bytes": 1500},
             {"type": "empirical", "probs": [1, 3], "values": [100, 900]},
             {"type": "exponential", "mean_bytes": 800},
             {"type": "lognormal", "mean_bytes": 700, "sigma": 0.3}, {}]
    mean = 8.0 * np.array([1000.0, 0.4 * 64 + 0.6 * 1500, 0.25 * 100 + 0.75 * 900, 800.0,
                           700.0, 500.0])
    m2 = 64.0 * np.array([1e6, 0.4 * 64**2 + 0.6 * 1500**2, 0.25 * 100**2 + 0.75 * 900**2,
                          2 * 800.0**2, 700.0**2 * 1.09, 500.0**2 * 3.0])
    law = scenario_size_law(sizes, mean, m2)
    np.testing.assert_allclose(law.mean_bits, mean, rtol=1e-12)
    np.testing.assert_allclose(law.second_moment_bits2, m2, rtol=1e-12)
    np.testing.assert_allclose(np.bincount(np.repeat(np.arange(6), np.diff(law.ptr)),
                                           law.prob), 1.0)
