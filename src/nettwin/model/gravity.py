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
    src, dst = np.nonzero(~np.eye(n, dtype=bool))
    mass = w[src] * w[dst]
    total_mass = mass.sum()
    rate = mass * (total_bps / total_mass) if total_mass > 0 else np.zeros_like(mass)
    return DemandTable(src=src.astype(np.int32), dst=dst.astype(np.int32), rate_bps=rate,
                       class_index=np.zeros(src.size, np.int16))
