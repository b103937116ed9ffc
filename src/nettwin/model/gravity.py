"""Gravity traffic matrices: demand(s, d) proportional to weight(s) x weight(d).

The usual prior when no measured matrix exists (Roughan, "Simplifying the synthesis of
Internet traffic matrices", CCR 2005). Vectorised: a million demands in well under a second.
"""

from __future__ import annotations

import numpy as np

from nettwin.model.demands import DemandTable


def gravity_demands(weights: np.ndarray, total_bps: float) -> DemandTable:
    """A full directed matrix (no diagonal) over nodes 0..n-1, summing to ``total_bps``."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size < 2 or (w < 0).any() or not np.isfinite(w).all():
        raise ValueError("weights must be a 1-D array of at least two finite values >= 0")
    n = w.size
    # row-major off-diagonal pairs, built as int32 (25M demands: no n x n mask, no int64)
    src = np.repeat(np.arange(n, dtype=np.int32), n - 1)
    dst = np.tile(np.arange(n - 1, dtype=np.int32), n)
    dst += dst >= src
    rate = w[src]
    rate *= w[dst]
    total_mass = rate.sum()
    if total_mass > 0:
        rate *= total_bps / total_mass
    else:
        rate[:] = 0.0
    return DemandTable(src=src, dst=dst, rate_bps=rate, class_index=np.zeros(src.size, np.int16))
