"""Loads where static routes steer traffic: the engine routes demands by OSPF, so for each
destination router whose forwarding a static route changes, its traffic is pushed again
over the real forwarding graph and the difference replaces the OSPF share."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from nettwin.engine import CompiledNetwork
from nettwin.validate.forwarding import ForwardingState


@dataclass(frozen=True, eq=False)
class Steering:
    destinations: int  # destination routers whose traffic static routes steer
    load_delta_bps: np.ndarray  # float64[m]: add to the OSPF loads
    dropped_delta_bps: float  # more traffic dropped (no route / discard) than under OSPF
    looping_bps: float  # traffic that enters a forwarding loop


def push_over(c: CompiledNetwork, row: np.ndarray, local: np.ndarray, drop: np.ndarray,
              inflow_bps: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Arc loads of traffic entering at each router (``inflow_bps``) and following next-hop
    arcs ``row`` (split evenly, as OSPF ECMP does): (loads, dropped, looping)."""
    n = c.n_nodes
    arcs = np.flatnonzero(row)
    indeg = np.bincount(c.arc_dst[arcs], minlength=n)
    out: list[list[int]] = [[] for _ in range(n)]
    for a in arcs.tolist():
        out[int(c.arc_src[a])].append(a)
    flow = inflow_bps.astype(np.float64).copy()
    load = np.zeros(c.n_arcs)
    dropped = 0.0
    done = np.zeros(n, bool)
    queue = deque(np.flatnonzero(indeg == 0).tolist())
    while queue:
        v = queue.popleft()
        done[v] = True
        hops = out[v]
        if local[v]:
            pass
        elif drop[v] or not hops:
            dropped += flow[v]
        else:
            share = flow[v] / len(hops)
            for a in hops:
                load[a] += share
                u = int(c.arc_dst[a])
                flow[u] += share
        for a in hops:
            u = int(c.arc_dst[a])
            indeg[u] -= 1
            if indeg[u] == 0:
                queue.append(u)
    looping = float(flow[~done].sum())  # stuck on or behind a cycle
    return load, dropped, looping


def steer(state: ForwardingState, demand_rate_bps: np.ndarray) -> Steering:
    """Corrections to the engine's OSPF loads for the static routes in ``state``."""
    c = state.compiled
    n = c.n_nodes
    delta = np.zeros(c.n_arcs)
    dropped = looping = 0.0
    count = 0
    metric = c.arc_metric.astype(np.float64)
    for t in range(n):  # probe t is node t's loopback
        if not state.static[t].any():
            continue
        into = c.demand_dst == t
        if not into.any():
            continue
        count += 1
        inflow = np.bincount(c.demand_src[into], weights=demand_rate_bps[into], minlength=n)
        d = state.dist[t]
        ospf = state.arc_up & np.isfinite(d[c.arc_src]) & (d[c.arc_src] == metric + d[c.arc_dst])
        local = np.zeros(n, bool)
        local[t] = True
        base, base_drop, _ = push_over(c, ospf, local, ~np.isfinite(d) & ~local, inflow)
        real, real_drop, real_loop = push_over(c, state.next_hop[t], state.local[t],
                                               state.drop[t], inflow)
        delta += real - base
        dropped += real_drop - base_drop
        looping += real_loop
    return Steering(count, delta, dropped, looping)
