"""The counters' relative noise, read from the counters themselves.

Every estimate is told how far its counters may be off (``noise``: the weight of the
counters against the prior, and the unit of the drift statistic ``standardised_misfit``).
A fixed setting is right only as long as the counters keep the error it assumed. Flow
conservation gives the error from the counters alone: at every node the traffic arriving
on its arcs plus the traffic its access counters say it sends equals the traffic leaving on
its arcs plus the traffic delivered to it, whatever the routing and whatever the matrix. So
its residual

    r_v = sum_in y_a + out_v - sum_out y_a - in_v

is pure counter error. With each counter off by an independent relative Gaussian error of
scale eta, r_v ~ N(0, eta^2 s_v^2), s_v^2 the sum of the squares of the counters that enter
r_v; the maximum-likelihood estimate is eta^2 = mean_v (r_v / s_v)^2 over the nodes whose
counters are all present (each node counts once: a fit weighted by s_v^2 rests on the few
busiest nodes: 0.45-2.4 % for 1 % noise on ten GEANT intervals with a counter missing,
this one 0.8-1.8 %). One
interval of N nodes gives eta within about sqrt(1 / (2 N)) of itself (GEANT, 23 nodes:
+-15 %). A silent link failure does not move
it (conservation holds on any routing), so the drift alarm keeps its unit when the matrix
is rerouted. A node with unmetered local traffic (a router's own control traffic, drops)
adds its imbalance to the estimate: read as noise, it loosens the fit, never tightens it.

Why (December 2026, training days only; prior learned on the days before, 1 % Gaussian
noise on every counter): told the fixed 1e-3, the misfit alarm fired on every interval
(germany50 4 of 4, GEANT 20 of 20) and the error grew (germany50 8.2 -> 10.6 %, GEANT
11.7 -> 12.0 %); told the noise read here (median 0.99 / 0.96 %), no alarm and the error
of the true noise told (8.2 / 11.7 %). It needs the access counters (node totals): the
live twin has link counters only, where conservation cannot be written, so it keeps its
configured ``counter_noise``. ``benchmarks/bench_tm.py`` reports it on the test days.
"""

from __future__ import annotations

import numpy as np

from nettwin.errors import NettwinError


def conservation_noise(arc_rate_bps: np.ndarray, arc_src: np.ndarray, arc_dst: np.ndarray,
                       node_out_bps: np.ndarray, node_in_bps: np.ndarray) -> float:
    """The counters' relative noise from the flow-conservation residuals at the nodes
    (module doc); nan when no node has all its counters (``arc_rate_bps`` nan where a
    counter is missing) or no traffic."""
    y = np.asarray(arc_rate_bps, dtype=np.float64)
    # integer totals would overflow when squared (above ~3 Gbit/s in int64)
    node_out_bps = np.asarray(node_out_bps, dtype=np.float64)
    node_in_bps = np.asarray(node_in_bps, dtype=np.float64)
    arc_src, arc_dst = np.asarray(arc_src), np.asarray(arc_dst)
    n = node_out_bps.size
    if y.shape != arc_src.shape or arc_dst.shape != arc_src.shape or node_in_bps.size != n:
        raise NettwinError(
            f"conservation_noise: {y.size} arc rates for {arc_src.size} arcs and "
            f"{node_out_bps.size} node egress against {node_in_bps.size} ingress totals; "
            "give one rate per arc (nan where missing) and one total per node")
    missing = ~np.isfinite(y)
    incomplete = (np.bincount(arc_src[missing], minlength=n)
                  + np.bincount(arc_dst[missing], minlength=n)) > 0
    known = np.where(missing, 0.0, y)
    residual = (np.bincount(arc_dst, known, n) + node_out_bps
                - np.bincount(arc_src, known, n) - node_in_bps)
    scale = (np.bincount(arc_dst, known**2, n) + np.bincount(arc_src, known**2, n)
             + node_out_bps**2 + node_in_bps**2)
    ok = ~incomplete & np.isfinite(residual) & (scale > 0)
    if not ok.any():
        return float("nan")
    return float(np.sqrt(np.mean(residual[ok] ** 2 / scale[ok])))
