"""Traffic matrix from link counters: gravity prior, then tomography (tomogravity).

Operators rarely have the matrix; they have a rate per arc. With the routing matrix ``A``
(the share of each origin-destination pair's traffic on each arc, ECMP as the engine
routes) the measured arc rates are ``y = A x``: far fewer equations than pairs. Following
Zhang, Roughan, Duffield and Greenberg ("Fast accurate computation of large-scale IP traffic
matrices from link loads", SIGMETRICS 2003) the estimate is the matrix closest to a gravity
prior (in the prior-weighted norm) that reproduces the counters, computed here in one
bounded least-squares problem (non-negative, scipy ``lsq_linear``):

    minimise  ||A x - y||^2 + mu^2 ||(x - g) / sqrt(g)||^2 * scale   subject to x >= 0

with ``g`` the gravity prior: node weights from the traffic entering and leaving each node
(access counters when given, else half the traffic on its arcs), the prior then scaled to
fit the counters best. Uncertainty: the posterior covariance of the same problem read as a
linear-Gaussian model, ``(A'A / s^2 + W)^-1`` with ``s`` the residual spread and ``W`` the
prior weights; reported per pair as a standard deviation (for up to ``MAX_COV_PAIRS``).

Above ``LSQ_MAX_PAIRS`` routed pairs the same estimate is computed in closed form instead
(``method="projection"``): Zhang et al.'s weighted least squares with prior variance
proportional to the gravity value, i.e. the Gaussian posterior mean with
``P = diag(g * mean(g))`` given the counters (``nettwin.estimate.history.project_tm``:
one linear system per measured arc, whatever the number of pairs, negative pairs fixed at 0
and re-solved). The bounded least squares is exact about non-negativity but dense in the
pairs: germany50 (2,450 pairs) takes over a minute that way, milliseconds in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import lsq_linear

from nettwin.engine import CompiledNetwork
from nettwin.engine.nexthops import dag_arcs, distances_to

MAX_COV_PAIRS = 3000
LSQ_MAX_PAIRS = 400  # above: the closed-form projection (module doc)
# prior variance of the closed form: SPREAD * g * mean(g). Only the posterior spread depends
# on it (the counters pin the mean); 4 gave +-1 sd coverage of 46 % (GEANT) and 84 %
# (Abilene) on 12 measured matrices each, the bounded least squares 77 % / 92 %
SPREAD = 4.0


@dataclass(frozen=True, eq=False)
class RoutingMatrix:
    """``a[arc, pair]``: share of pair ``(src[pair], dst[pair])`` carried by ``arc``."""

    a: np.ndarray  # float64[m, pairs]
    src: np.ndarray  # int32[pairs]
    dst: np.ndarray
    routed: np.ndarray  # bool[pairs]: a path exists


def routing_matrix(net: CompiledNetwork, arc_up: np.ndarray | None = None,
                   nodes: np.ndarray | None = None) -> RoutingMatrix:
    """ECMP routing matrix between all ordered pairs of ``nodes`` (default: every node).

    Next hops of u towards t: every up arc (u, v) with metric + d(v, t) = d(u, t); traffic
    splits equally over them (per arc, parallel links included), as the engine routes."""
    up = net.arc_up if arc_up is None else arc_up
    n, m = net.n_nodes, net.n_arcs
    nodes = np.arange(n) if nodes is None else np.asarray(nodes)
    dist_to = distances_to(net, up, nodes)  # [len(nodes), n]: d(u -> nodes[j])
    k = nodes.size
    src = np.repeat(nodes, k).astype(np.int32)
    dst = np.tile(nodes, k).astype(np.int32)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    pair_of = {(int(s), int(d)): p for p, (s, d) in enumerate(zip(src, dst, strict=True))}
    a = np.zeros((m, src.size))
    routed = np.zeros(src.size, bool)
    for j, t in enumerate(nodes.tolist()):
        d = dist_to[j]
        dag = dag_arcs(net, d, up)
        flow = np.zeros((k, n))  # row: a source among nodes; column: where its unit is now
        for i, s in enumerate(nodes.tolist()):
            if s != t and np.isfinite(d[s]):
                flow[i, s] = 1.0
                routed[pair_of[(s, t)]] = True
        cols = np.array([pair_of[(s, t)] if s != t else -1 for s in nodes.tolist()])
        by_node: dict[int, list[int]] = {}
        for arc in dag.tolist():
            by_node.setdefault(int(net.arc_src[arc]), []).append(arc)
        for u in np.argsort(-np.where(np.isfinite(d), d, -1.0), kind="stable").tolist():
            if u == t or not np.isfinite(d[u]) or u not in by_node:
                continue
            share = flow[:, u] / len(by_node[u])
            if not share.any():
                continue
            for arc in by_node[u]:
                has = cols >= 0
                a[arc, cols[has]] += share[has]
                flow[:, net.arc_dst[arc]] += share
    return RoutingMatrix(a, src, dst, routed)


def pair_rates(net: CompiledNetwork, rm: RoutingMatrix) -> np.ndarray:
    """The network's own demands summed per pair of ``rm`` (the true matrix, in the order
    the estimate uses): what validation routes and then estimates back."""
    n = net.n_nodes
    keys = rm.src.astype(np.int64) * n + rm.dst
    order = np.argsort(keys, kind="stable")
    ok = net.demand_src != net.demand_dst
    wanted = net.demand_src[ok].astype(np.int64) * n + net.demand_dst[ok]
    pos = order[np.searchsorted(keys[order], wanted)]
    x = np.zeros(rm.src.size)
    np.add.at(x, pos, net.demand_rate_bps[ok])
    return x


@dataclass(frozen=True, eq=False)
class TmEstimate:
    src: np.ndarray
    dst: np.ndarray
    rate_bps: np.ndarray  # estimate per pair
    prior_bps: np.ndarray  # gravity prior per pair
    std_bps: np.ndarray | None  # posterior standard deviation per pair (None: too many)
    residual_bps: np.ndarray  # A x - y on the measured arcs
    measured_arcs: np.ndarray
    # how surprising the counters are given the prior: mean normalised innovation squared
    # (b - B m)' S^-1 (b - B m) / rows of the Gaussian model (history priors only; nan else)
    innovation: float = float("nan")
    # how far the estimate itself misses the counters, in units of the counters' own noise
    # (``standardised_misfit``; history priors only, nan else): the drift statistic
    misfit: float = float("nan")


def gravity_prior(rm: RoutingMatrix, y: np.ndarray, measured: np.ndarray, n: int,
                  arc_src: np.ndarray, arc_dst: np.ndarray,
                  node_out_bps: np.ndarray | None = None,
                  node_in_bps: np.ndarray | None = None) -> np.ndarray:
    """Gravity: pair (s, d) gets out(s) * in(d); scaled to fit the counters best."""
    if node_out_bps is None or node_in_bps is None:
        load = np.zeros(n)
        np.add.at(load, arc_src[measured], y)
        np.add.at(load, arc_dst[measured], y)
        node_out_bps = node_in_bps = load / 2
    g = node_out_bps[rm.src] * node_in_bps[rm.dst]
    g = np.where(rm.routed, g, 0.0)
    fit = rm.a[measured] @ g
    denom = float(fit @ fit)
    scale = float(fit @ y) / denom if denom > 0 else 0.0
    return np.asarray(g * max(scale, 0.0))


def estimate_tm(rm: RoutingMatrix, arc_rate_bps: np.ndarray, arc_src: np.ndarray,
                arc_dst: np.ndarray, n_nodes: int, *, mu: float = 0.01,
                node_out_bps: np.ndarray | None = None, node_in_bps: np.ndarray | None = None,
                prior: np.ndarray | None = None, method: str = "auto") -> TmEstimate:
    """Tomogravity estimate from the measured arc rates (nan: arc not measured).
    ``method``: "lsq" (bounded least squares), "projection" (closed form), or "auto" (the
    least squares up to ``LSQ_MAX_PAIRS`` routed pairs, the closed form above)."""
    if method not in ("auto", "lsq", "projection"):
        raise ValueError(f"method {method!r}: use auto, lsq or projection")
    measured = np.flatnonzero(np.isfinite(arc_rate_bps))
    y = arc_rate_bps[measured]
    a = rm.a[measured]
    g = prior if prior is not None else gravity_prior(
        rm, y, measured, n_nodes, arc_src, arc_dst, node_out_bps, node_in_bps)
    if method == "projection" or (method == "auto" and int(rm.routed.sum()) > LSQ_MAX_PAIRS):
        from nettwin.estimate.history import project_tm  # history builds on this module

        live = g[rm.routed]
        level = SPREAD * (float(live.mean()) if live.size and live.mean() > 0 else 1.0)
        est = project_tm(rm, arc_rate_bps, g, np.sqrt(np.clip(g, 0.0, None) * level),
                         node_out_bps=node_out_bps, node_in_bps=node_in_bps,
                         n_nodes=n_nodes)
        return TmEstimate(est.src, est.dst, est.rate_bps, g, est.std_bps, est.residual_bps,
                          est.measured_arcs)
    scale = max(float(np.abs(y).max(initial=0.0)), 1.0)  # solve in units of the largest rate
    gn = g / scale
    weight = mu / np.sqrt(gn + max(float(gn.max(initial=0.0)) * 1e-6, 1e-12))
    rows_a, rows_b = [a], [y / scale]
    if node_out_bps is not None and node_in_bps is not None:
        out_rows = np.zeros((n_nodes, rm.src.size))
        out_rows[rm.src, np.arange(rm.src.size)] = 1.0
        in_rows = np.zeros((n_nodes, rm.src.size))
        in_rows[rm.dst, np.arange(rm.src.size)] = 1.0
        rows_a += [out_rows, in_rows]
        rows_b += [node_out_bps / scale, node_in_bps / scale]
    free = rm.routed
    mat = np.vstack([*rows_a, np.diag(weight)])[:, free]
    rhs = np.concatenate([*rows_b, weight * gn])
    sol = lsq_linear(mat, rhs, bounds=(0.0, np.inf),
                     method="bvls" if free.sum() <= 400 else "trf", max_iter=5000)
    x = np.zeros(rm.src.size)
    x[free] = sol.x * scale
    residual = a @ x - y
    std = None
    if free.sum() <= MAX_COV_PAIRS and measured.size:
        # linear-Gaussian reading: counters with noise s (the residual spread, at least 1 %
        # of the mean rate), prior precision (weight / s)^2 in the same normalised units
        rn = residual / scale
        s2 = max(float(np.mean(rn ** 2)), (0.01 * float(np.mean(np.abs(y))) / scale) ** 2,
                 1e-30)
        af = mat[: sum(r.shape[0] for r in rows_a)]
        precision = (af.T @ af + np.diag(weight[free] ** 2)) / s2
        try:
            cov = np.linalg.inv(precision)
            std = np.zeros(rm.src.size)
            std[free] = np.sqrt(np.clip(np.diag(cov), 0.0, None)) * scale
        except np.linalg.LinAlgError:
            std = None
    return TmEstimate(rm.src, rm.dst, x, g, std, residual, measured)


def estimation_errors(true_bps: np.ndarray, est_bps: np.ndarray, share: float = 0.75
                      ) -> dict[str, float]:
    """Error of an estimate against the real matrix: traffic-weighted mean absolute relative
    error, RMS relative error over the largest pairs carrying ``share`` of the traffic
    (Zhang et al.), and the median relative error of those pairs. An empty true matrix has
    no relative error: nan throughout (callers report it as empty, never as 0 %)."""
    total = float(true_bps.sum())
    order = np.argsort(-true_bps)
    cum = np.cumsum(true_bps[order])
    top = order[: int(np.searchsorted(cum, share * total)) + 1]
    top = top[true_bps[top] > 0]
    if top.size == 0:  # an empty matrix: no error to speak of (nan, not a perfect 0 %)
        return {"weighted_error": float("nan"), "rmsre_top": float("nan"),
                "median_rel_error_top": float("nan"), "pairs_top": 0}
    rel = np.abs(est_bps[top] - true_bps[top]) / true_bps[top]
    return {
        "weighted_error": float(np.abs(est_bps - true_bps).sum() / total),
        "rmsre_top": float(np.sqrt(np.mean(rel ** 2))),
        "median_rel_error_top": float(np.median(rel)),
        "pairs_top": int(top.size),
    }
