"""The lower bound on maximum link utilisation: the optimal multicommodity flow.

min U  s.t.  for every destination t and node v != t:  out_t(v) - in_t(v) = traffic v -> t,
             for every arc a:  sum_t f_t(a) <= U * capacity(a),  f >= 0.

Flows are aggregated per destination (one commodity per destination, as in the
Fortz–Thorup and Parham et al. evaluations), solved with HiGHS through scipy (sparse).
No routing, with any metrics or waypoints, can beat it. When destinations x arcs exceeds
MAX_LP_VARIABLES, nearby destinations are merged into one commodity (a relaxation: still a
valid, weaker bound); when HiGHS runs out of time, the cut bound (traffic leaving or entering
a node over its capacity) is reported instead.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from nettwin.engine.compiled import CompiledNetwork
from nettwin.errors import SimulationError
from nettwin.optimize.tolerance import PRIMAL_FEASIBILITY_TOL, clean_figure

MAX_LP_VARIABLES = 200_000


class BoundMethod(enum.Enum):
    MCF_LP = "mcf-lp"  # the optimal multicommodity flow
    MCF_AGGREGATED = "mcf-lp-aggregated"  # destinations merged into groups: a relaxation
    CUT = "node-cut"  # max over nodes of traffic in or out / capacity in or out


@dataclass(frozen=True)
class Bound:
    """A lower bound on the maximum link utilisation any routing can reach."""

    value: float
    method: BoundMethod
    seconds: float

    def ratio(self, achieved: float) -> float:
        """How far ``achieved`` is above the bound, to the LP's tolerance: an optimum
        reached reads 1.0 (the bound sits up to two grid steps of the tolerance below the
        LP's value, floored, then the ratio rounded: 1.0000001 at an optimum otherwise)."""
        if self.value <= 0:
            return float("inf")
        r = achieved / self.value
        return 1.0 if abs(r - 1.0) <= 2.0 * PRIMAL_FEASIBILITY_TOL else clean_figure(r)


def cut_bound(net: CompiledNetwork, arc_up: np.ndarray, rate: np.ndarray) -> float:
    """Every node must send its traffic out over its up out-arcs (and receive over in-arcs)."""
    n = net.n_nodes
    cap = np.where(arc_up, net.arc_capacity_bps, 0.0)
    out_cap = np.bincount(net.arc_src, weights=cap, minlength=n)
    in_cap = np.bincount(net.arc_dst, weights=cap, minlength=n)
    sent = np.bincount(net.demand_src, weights=rate, minlength=n)
    received = np.bincount(net.demand_dst, weights=rate, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.concatenate([np.where(sent > 0, sent / out_cap, 0.0),
                                 np.where(received > 0, received / in_cap, 0.0)])
    return float(ratios.max(initial=0.0))


def mcf_bound(net: CompiledNetwork, arc_up: np.ndarray | None = None,
              demand_rate_bps: np.ndarray | None = None, *,
              time_limit_s: float = 300.0) -> Bound:
    """Min-max utilisation multicommodity flow; demands with no path are left out (no
    routing can carry them). See the module docstring for large networks."""
    t0 = time.perf_counter()
    ok = net.arc_up if arc_up is None else np.asarray(arc_up, bool)
    rate = net.demand_rate_bps if demand_rate_bps is None else np.asarray(demand_rate_bps)
    arcs = np.flatnonzero(ok & (net.arc_capacity_bps > 0))
    n, t_count, m = net.n_nodes, int(net.destinations.size), int(arcs.size)
    if t_count == 0 or not (rate > 0).any():
        return Bound(0.0, BoundMethod.MCF_LP, time.perf_counter() - t0)
    reach = _reachable_to(net, arcs)
    dest_of = np.repeat(np.arange(t_count), np.diff(net.dest_ptr))
    d_idx = net.dest_demand
    src = net.demand_src[d_idx]
    ok_d = reach[dest_of, src]
    g_count = min(t_count, max(1, (MAX_LP_VARIABLES - 1) // max(m, 1)))
    group = (np.arange(t_count) if g_count == t_count
             else _local_groups(net, arcs, g_count))
    scale = float(net.arc_capacity_bps[arcs].max())
    # commodity g: traffic to the destinations of group g (one per destination when the LP
    # fits; merged commodities are a relaxation, so the bound stays valid)
    balance = np.zeros((g_count, n))
    r = rate[d_idx][ok_d] / scale
    np.add.at(balance, (group[dest_of[ok_d]], src[ok_d]), r)
    np.add.at(balance, (group[dest_of[ok_d]], net.destinations[dest_of[ok_d]]), -r)
    j_idx = np.repeat(np.arange(g_count), m)
    k_idx = np.tile(np.arange(m), g_count)
    var = j_idx * m + k_idx
    tail = net.arc_src[arcs][k_idx]
    head = net.arc_dst[arcs][k_idx]
    rows = np.concatenate([j_idx * n + tail, j_idx * n + head])
    cols = np.concatenate([var, var])
    vals = np.concatenate([np.ones(var.size), -np.ones(var.size)])
    keep_row = np.ones(g_count * n, bool)  # each commodity's rows sum to zero: drop one
    first = np.full(g_count, -1)
    first[group[::-1]] = net.destinations[::-1]
    keep_row[np.arange(g_count) * n + first] = False
    new_row = np.cumsum(keep_row) - 1
    sel = keep_row[rows]
    a_eq = sparse.csr_matrix((vals[sel], (new_row[rows[sel]], cols[sel])),
                             shape=(int(keep_row.sum()), g_count * m + 1))
    b_eq = balance.reshape(-1)[keep_row]
    t_count = g_count
    cap = net.arc_capacity_bps[arcs] / scale
    a_ub = sparse.hstack([sparse.hstack([sparse.identity(m, format="csr")] * t_count),
                          sparse.csr_matrix(-cap.reshape(-1, 1))], format="csr")
    c = np.zeros(t_count * m + 1)
    c[-1] = 1.0
    res = linprog(c, A_ub=a_ub, b_ub=np.zeros(m), A_eq=a_eq, b_eq=b_eq, bounds=(0, None),
                  method="highs", options={"time_limit": float(time_limit_s),
                                           "primal_feasibility_tolerance":
                                               PRIMAL_FEASIBILITY_TOL})
    if res.status == 1:  # time limit
        return Bound(cut_bound(net, ok, rate), BoundMethod.CUT, time.perf_counter() - t0)
    method = (BoundMethod.MCF_LP if g_count == int(net.destinations.size)
              else BoundMethod.MCF_AGGREGATED)
    if res.status != 0:
        raise SimulationError(f"the multicommodity-flow LP failed: {res.message}")
    # U is met to HiGHS's tolerance: down to its grid (relative, so that an optimum reached
    # reads a ratio of 1.0), never above the optimum and with no noise digits
    value = max(0.0, clean_figure(float(res.x[-1]), down=True))
    return Bound(max(value, cut_bound(net, ok, rate) if method is not BoundMethod.MCF_LP
                     else 0.0), method, time.perf_counter() - t0)


def _local_groups(net: CompiledNetwork, arcs: np.ndarray, count: int) -> np.ndarray:
    """Destinations in ``count`` groups of nearby nodes (nearest of ``count`` spread-out
    centres, by hops): merging nearby destinations loses the least of the bound."""
    from scipy.sparse.csgraph import shortest_path

    n = net.n_nodes
    g = sparse.csr_matrix((np.ones(arcs.size), (net.arc_src[arcs], net.arc_dst[arcs])),
                          shape=(n, n))
    centres = net.destinations[np.linspace(0, net.destinations.size - 1, count).astype(int)]
    hops = shortest_path(g, unweighted=True, directed=False, indices=centres)
    group: np.ndarray = np.argmin(hops[:, net.destinations], axis=0)
    return group


def _reachable_to(net: CompiledNetwork, arcs: np.ndarray) -> np.ndarray:
    """reach[j, v]: node v has a path over ``arcs`` to destination j."""
    from scipy.sparse.csgraph import shortest_path

    n = net.n_nodes
    g = sparse.csr_matrix((np.ones(arcs.size), (net.arc_dst[arcs], net.arc_src[arcs])),
                          shape=(n, n))
    d = shortest_path(g, unweighted=True, indices=net.destinations)
    reach: np.ndarray = np.isfinite(d)
    return reach
