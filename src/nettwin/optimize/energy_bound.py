"""The saving no sleep schedule can beat: per interval, a MILP over any routing.

min  sum_l W_l (s + (1 - s) y_l)
s.t. for every destination t and node v != t:  out_t(v) - in_t(v) = traffic v -> t,
     for every arc a of link l:  sum_t f_t(a) <= max_utilisation x capacity(a) x y_l,
     f >= 0,  y_l in {0, 1} for fibre (on/off), y_l in [0, 1] for radio links.

W_l is the link's awake power, s the sleep fraction. Routing here is free (splittable
multicommodity flow, no IGP, no dwell, no n-1), so any schedule the IGP can realise is a
feasible point: the optimum power is a lower bound on the schedule's, and 1 - power/total
an upper bound on its saving. A radio link's levels draw at least their capacity share of
power (carriers: equal; modulation caps: more), so a continuous y_l relaxes them. Solved
with HiGHS (scipy.optimize.milp) under a time limit per interval; when it stops early,
its dual bound (still valid) is reported.

Intervals are taken in blocks (``block``, default one hour): a block's MILP uses each
demand's smallest rate over the block. Less traffic never needs more power, so the block's
optimum bounds every interval in it (a valid, slightly weaker bound, ``block`` times
cheaper). With every link on/off, the links up must also span each group of nodes that
exchange traffic (sum of y >= nodes - 1 per group): a valid cut that speeds HiGHS up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from nettwin.engine.compiled import CompiledNetwork
from nettwin.optimize.power import PowerModel
from nettwin.optimize.tolerance import clean_figure


def saving_bound(net: CompiledNetwork, power: PowerModel, rate_bps: np.ndarray, *,
                 max_utilisation: float, time_limit_s: float = 2.0, block: int = 1,
                 progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Per interval and for the day: the saving upper bound (``saving_upper_bound``,
    an energy fraction) and how each block's MILP ended."""
    t0 = time.perf_counter()
    model_up = net.arc_up[0::2] & net.arc_up[1::2]
    links = np.flatnonzero(model_up)
    arcs = np.sort(np.concatenate([2 * links, 2 * links + 1]))
    n, m, t_count = net.n_nodes, int(arcs.size), int(net.destinations.size)
    n_l = int(links.size)
    link_pos = np.full(len(net.link_ids), -1)
    link_pos[links] = np.arange(n_l)
    scale = float(net.arc_capacity_bps[arcs].max()) if m else 1.0
    # conservation rows: commodity j, node v (one row per commodity dropped: they sum to 0)
    j_idx = np.repeat(np.arange(t_count), m)
    k_idx = np.tile(np.arange(m), t_count)
    var = j_idx * m + k_idx
    rows = np.concatenate([j_idx * n + net.arc_src[arcs][k_idx],
                           j_idx * n + net.arc_dst[arcs][k_idx]])
    cols = np.concatenate([var, var])
    vals = np.concatenate([np.ones(var.size), -np.ones(var.size)])
    keep = np.ones(t_count * n, bool)
    keep[np.arange(t_count) * n + net.destinations] = False
    new_row = np.cumsum(keep) - 1
    sel = keep[rows]
    n_var = t_count * m + n_l
    a_eq = sparse.csr_matrix((vals[sel], (new_row[rows[sel]], cols[sel])),
                             shape=(int(keep.sum()), n_var))
    # capacity rows: sum_j f_j(a) - u cap(a) y_l(a) <= 0
    cap = net.arc_capacity_bps[arcs] / scale * max_utilisation
    a_ub = sparse.hstack([sparse.hstack([sparse.identity(m, format="csr")] * t_count),
                          sparse.csr_matrix((-cap, (np.arange(m), link_pos[arcs // 2])),
                                            shape=(m, n_l))], format="csr")
    w = power.awake_w[links]
    sf = power.sleep_fraction
    c = np.concatenate([np.zeros(t_count * m), w * (1 - sf)])
    fixed = float(w.sum() * sf)
    integrality = np.concatenate([np.zeros(t_count * m), (power.n_levels[links] == 2)])
    bounds = Bounds(np.zeros(n_var), np.concatenate([np.full(t_count * m, np.inf),
                                                     np.ones(n_l)]))
    # traffic that no routing can carry (no path with every link up) is left out
    from scipy.sparse.csgraph import shortest_path

    g = sparse.csr_matrix((np.ones(m), (net.arc_dst[arcs], net.arc_src[arcs])), shape=(n, n))
    reach = np.isfinite(shortest_path(g, unweighted=True, indices=net.destinations))
    dest_of = np.repeat(np.arange(t_count), np.diff(net.dest_ptr))
    d_idx = net.dest_demand
    src = net.demand_src[d_idx]
    ok_d = reach[dest_of, src]
    total_w = float(w.sum())
    constraints_extra = []
    if integrality[t_count * m:].all():
        need = _spanning_links(net, rate_bps.max(axis=0) > 0)
        if need > 0:
            row = np.concatenate([np.zeros(t_count * m), np.ones(n_l)])
            constraints_extra.append(LinearConstraint(row.reshape(1, -1), need, np.inf))
    lower: list[float] = []
    statuses: list[str] = []
    steps = rate_bps.shape[0]
    block = max(1, int(block))
    starts = list(range(0, steps, block))
    for bi, t in enumerate(starts):
        balance = np.zeros((t_count, n))
        r = rate_bps[t:t + block].min(axis=0)[d_idx][ok_d] / scale
        np.add.at(balance, (dest_of[ok_d], src[ok_d]), r)
        np.add.at(balance, (dest_of[ok_d], net.destinations[dest_of[ok_d]]), -r)
        b = balance.reshape(-1)[keep]
        res = milp(c, constraints=[LinearConstraint(a_eq, b, b),
                                   LinearConstraint(a_ub, -np.inf, 0.0), *constraints_extra],
                   integrality=integrality, bounds=bounds,
                   options={"time_limit": float(time_limit_s), "disp": False})
        dual = getattr(res, "mip_dual_bound", None)
        if res.status == 0:
            lo = float(dual) if dual is not None and np.isfinite(dual) else float(res.fun)
            statuses.append("optimal")
        elif dual is not None and np.isfinite(dual):
            lo = float(dual)
            statuses.append("time limit")
        else:  # no answer in time (or infeasible: the limit cannot hold even all awake)
            lo = 0.0
            statuses.append("no bound" if res.status != 2 else "infeasible")
        size = min(block, steps - t)
        # the power any routing needs, met to HiGHS's tolerance: down to its grid, so the
        # saving bound made from it stays an upper bound and carries no noise digits
        lower += [clean_figure(max(0.0, lo) + fixed, total_w, down=True)] * size
        if progress is not None:
            progress((bi + 1) / len(starts))
    low = np.array(lower)
    return {
        "method": f"MILP (multicommodity flow, any routing; HiGHS), blocks of {block} "
                  "interval(s) at each demand's least rate",
        "saving_upper_bound": clean_figure(1.0 - float(low.sum()) / (total_w * steps), 1.0,
                                           up=True) if total_w else 0.0,
        "per_interval_upper_bound": [clean_figure(1.0 - lo / total_w, 1.0, up=True)
                                     if total_w else 0.0 for lo in low],
        "optimal_blocks": statuses.count("optimal"),
        "blocks": len(starts),
        "statuses": sorted(set(statuses)),
        "seconds": time.perf_counter() - t0,
    }


def _spanning_links(net: CompiledNetwork, active: np.ndarray) -> int:
    """Links any routing needs up: per group of nodes joined by demands with traffic, the
    group's size - 1 (a spanning tree)."""
    from scipy.sparse.csgraph import connected_components

    n = net.n_nodes
    src, dst = net.demand_src[active], net.demand_dst[active]
    g = sparse.csr_matrix((np.ones(src.size), (src, dst)), shape=(n, n))
    _, label = connected_components(g, directed=False)
    touched = np.zeros(n, bool)
    touched[src] = touched[dst] = True
    sizes = np.bincount(label[touched])
    return int((sizes[sizes > 0] - 1).sum())
