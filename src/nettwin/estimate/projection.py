"""The closed-form estimate of a traffic matrix from counters and a Gaussian prior, and
the drift statistic read from it (the prior itself: ``nettwin.estimate.prior``).

The estimate is the Gaussian posterior mean given the measurements ``B x = b`` (link
counters, node egress and ingress totals; a small relative noise), in closed form:

    x = m + P B' (B P B' + R)^-1 (b - B m),  P = diag(sd^2),  R = diag((eta b)^2)

(eta: the counters' relative noise, at least the prior's chosen noise floor), then
negative pairs are fixed at 0 and the rest re-solved (a few rounds: the non-negative
projection; S = B P B' + R is downdated by the columns fixed, not rebuilt). The linear
system has one row per measurement (arcs + 2 nodes), whatever the number of pairs, so
germany50 (2,450 pairs, 276 rows) solves in about 70 ms of CPU (140 ms when S was
rebuilt each round) where the bounded least squares of ``estimate_tm`` takes a minute.
The posterior standard deviation is diag(P - P B' S^-1 B P), by a Cholesky factor of S.

Drift: the estimate fits the counters as far as the prior's spread lets it, so its residual
misses a failure that routing explains. The innovation can: v = b - B m is what the counters
say beyond the prior, and v' S^-1 v / rows (S = B P B' + R, the normalised innovation
squared of a Kalman filter) stays near 1 while the routing and the history hold, and jumps
by one to four orders of magnitude when a link has silently failed (Abilene: 0.9 in normal
operation; 8.5 to 37,000 with each of the single link failures that change routing). The
alarm level is learned on the held-out history (``HistoryPrior.alarm_innovation``). The
innovation also grows on any interval unlike the history (germany50's quietest Sunday:
10 against a level of 6.7, a false alarm), and a failure that moves a few pairs can hide
under it. So the alarm also reads the posterior's own misfit, each counter's residual in
units of its noise (``standardised_misfit``), against a chi-square level from the noise
model (``misfit_level``): traffic on counters that the twin's routing cannot explain the
posterior cannot fit. Decided on training data alone (rolling origins, every
routing-changing single link failure simulated on 8 training estimates): failures caught
Abilene 100 -> 100 %, GEANT 73 -> 86 %, germany50 83 -> 92 % (innovation alone, then
either). A misfit level learned from the history (twice its 99th percentile, as the
innovation's) caught more (99 / 92 / 94 %) but alarmed on any counter noise (the
history's matrices are routed without noise); it gave on the test days of
``benchmarks/bench_tm.py`` 100 / 90 / 94 % caught and false alarms 0 / 8 / 14 %.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cholesky, solve_triangular
from scipy.stats import chi2

from nettwin.estimate.tm import RoutingMatrix, TmEstimate


def project_tm(rm: RoutingMatrix, arc_rate_bps: np.ndarray, prior_bps: np.ndarray,
               prior_sd_bps: np.ndarray, *, node_out_bps: np.ndarray | None = None,
               node_in_bps: np.ndarray | None = None, n_nodes: int | None = None,
               noise: float = 1e-3, rounds: int = 8, with_std: bool = True) -> TmEstimate:
    """Gaussian posterior of the matrix given the counters (closed form, module doc):
    exact where the counters pin a pair down, the prior where they say nothing; the
    non-negative projection by fixing negative pairs at 0 and solving again. Without
    ``with_std`` the posterior spread is not computed (``std_bps`` None): the mean alone
    costs about half as much."""
    measured = np.flatnonzero(np.isfinite(arc_rate_bps))
    y = arc_rate_bps[measured]
    blocks, rhs = [rm.a[measured]], [y]
    if node_out_bps is not None and node_in_bps is not None:
        n = n_nodes if n_nodes is not None else node_out_bps.size
        rows_out = np.zeros((n, rm.src.size))
        rows_out[rm.src, np.arange(rm.src.size)] = 1.0
        rows_in = np.zeros((n, rm.src.size))
        rows_in[rm.dst, np.arange(rm.src.size)] = 1.0
        blocks += [rows_out, rows_in]
        rhs += [node_out_bps, node_in_bps]
    b_all = np.vstack(blocks)
    b = np.concatenate(rhs)
    scale = max(float(np.abs(b).max(initial=0.0)), 1.0)
    m = np.where(rm.routed, prior_bps, 0.0) / scale
    var = np.where(rm.routed, prior_sd_bps, 0.0) ** 2 / scale**2 + 1e-18
    bn = b / scale
    r = (noise * np.abs(bn)) ** 2 + 1e-18
    free = rm.routed.copy()
    x = np.zeros(rm.src.size)
    innovation = float("nan")
    bf = b_all[:, free]
    s = (bf * var[free]) @ bf.T + np.diag(r)  # S = B P B' + R
    for _ in range(rounds):
        bf = b_all[:, free]
        v = bn - bf @ m[free]
        gain = np.linalg.solve(s, v)
        if not np.isfinite(innovation):  # of the prior itself, before any clipping
            innovation = float(v @ gain) / max(v.size, 1)
        x[:] = 0.0
        x[free] = m[free] + var[free] * (bf.T @ gain)
        neg = free & (x < 0)
        if not neg.any():
            break
        # pairs fixed at 0 leave S: a downdate by their columns, not a new product
        b_neg = b_all[:, neg]
        s -= (b_neg * var[neg]) @ b_neg.T
        free &= ~neg
    x = np.maximum(x, 0.0)
    rate = x * scale
    residual = rm.a[measured] @ rate - y
    prior_kept = np.where(rm.routed, prior_bps, 0.0)
    misfit = standardised_misfit(residual, y, noise)
    if not with_std:
        return TmEstimate(rm.src, rm.dst, rate, prior_kept, None, residual, measured,
                          innovation, misfit)
    bf = b_all[:, free]
    # posterior variance diag(P - P B' S^-1 B P), with S = L L': P B' L'^-1 squared
    pbt = bf * var[free]
    post = var.copy()
    try:
        w = solve_triangular(cholesky(s, lower=True), pbt, lower=True)
        post[free] = var[free] - (w**2).sum(axis=0)
    except LinAlgError:  # numerically not positive definite (rows without traffic)
        post[free] = var[free] - np.einsum("ij,ij->j", pbt, np.linalg.solve(s, pbt))
    post[~free] = 0.0
    std = np.sqrt(np.clip(post, 0.0, None)) * scale
    std = np.where(rm.routed, std, 0.0)
    return TmEstimate(rm.src, rm.dst, rate, prior_kept, std, residual, measured, innovation,
                      misfit)


# the misfit's alarm: its chi-square tail at this probability under the counter noise model
MISFIT_TAIL = 1e-3


def misfit_level(counters: int) -> float:
    """The drift alarm level of the standardised misfit of ``counters`` measured arcs: the
    (1 - ``MISFIT_TAIL``) quantile of chi-square(counters) / counters. With the noise the
    estimate is told, the misfit's mean is at most 1 (tr(S^-1 R) / rows) and it stays
    under this level (Abilene, 1 % counter noise told: at most 1.3 against 2.0). A level
    learned from the history's misfits instead (noise-free routed matrices, about 0.02)
    alarms on any real counter noise (0.1 % already: most Abilene intervals)."""
    return float(chi2.ppf(1.0 - MISFIT_TAIL, counters) / counters) if counters else np.inf


# a counter reading zero still has some noise: this share of the mean counter (else a
# zero counter that the estimate misses by a rounding error would weigh infinitely)
MISFIT_FLOOR = 0.01


def standardised_misfit(residual_bps: np.ndarray, counter_bps: np.ndarray,
                        noise: float) -> float:
    """Mean squared residual of an estimate on the measured arcs, each in units of that
    counter's own noise (``noise`` times the counter, at least ``MISFIT_FLOOR`` of the mean
    counter): the drift statistic. Why the residual and not the innovation: the
    innovation grows whenever the matrix is unlike the history (a quiet Sunday beyond the
    training days: germany50, 10 against an alarm level of 6.7), while the posterior can
    follow such a matrix wherever the prior's spread allows and still fits the counters
    (nearly: a prior far off leaves some residual, the module doc). What it cannot fit
    is traffic on counters that the twin's routing does not explain (a silent failure):
    the residual is then many times the counters' noise. It is scale free (counters and
    residual scale together), so a busy and a quiet hour read alike."""
    if counter_bps.size == 0:
        return float("nan")
    y = np.abs(counter_bps)
    scale = noise * (y + MISFIT_FLOOR * float(y.mean()))
    z = np.divide(residual_bps, scale, out=np.zeros_like(y), where=scale > 0)
    return float(np.mean(z**2))
