"""What no mapping can beat, for one slice: the max flow (min cut) between its endpoints and
the propagation delay of its fastest path, normally and with any one link failed, and the
share of time its endpoints stay connected. A slice that breaks one of these can never be
admitted; the first broken one is the binding constraint it is told about.

Flows: Edmonds-Karp on the arcs' capacities (per demand pair, and per source and per
destination over all their pairs: each a necessary condition). With a link failed only the
links the unfailed solution uses can lower the value, so only those are recomputed.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nettwin.engine.compiled import CompiledNetwork


@dataclass(frozen=True)
class Binding:
    """Why a slice cannot be admitted: the constraint, its value and limit, the failed link
    (None: with everything up) and the links that make it (a min cut, a path)."""

    kind: str  # min-cut | propagation | connectivity | availability | sla | isolation
    message: str
    value: float | None = None
    limit: float | None = None
    failure: str | None = None
    links: tuple[str, ...] = field(default=())

    def to_document(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "value": self.value,
                "limit": self.limit, "failure": self.failure, "links": list(self.links)}


@dataclass(frozen=True, eq=False)
class Flow:
    value_bps: float
    arc_flow_bps: np.ndarray  # [arcs]
    cut_arcs: np.ndarray  # arcs from the source side to the sink side (a min cut)


def max_flow(net: CompiledNetwork, arc_up: np.ndarray, sources: list[int],
             sinks: list[int]) -> Flow:
    """Maximum flow from any of ``sources`` to any of ``sinks`` over the up arcs."""
    n, m = net.n_nodes, net.n_arcs
    s_node, t_node = n, n + 1
    head: list[int] = []
    cap: list[float] = []
    adj: list[list[int]] = [[] for _ in range(n + 2)]

    def add(u: int, v: int, c: float) -> int:
        adj[u].append(len(head))
        head.append(v)
        cap.append(c)
        adj[v].append(len(head))
        head.append(u)
        cap.append(0.0)
        return len(head) - 2

    edge_of = np.full(m, -1, np.int64)
    for a in np.flatnonzero(arc_up).tolist():
        edge_of[a] = add(int(net.arc_src[a]), int(net.arc_dst[a]),
                         float(net.arc_capacity_bps[a]))
    for s in set(sources):
        add(s_node, s, float("inf"))
    for t in set(sinks):
        add(t, t_node, float("inf"))
    total = 0.0
    while True:
        parent = [-1] * (n + 2)
        parent[s_node] = -2
        queue = deque([s_node])
        while queue and parent[t_node] == -1:
            u = queue.popleft()
            for e in adj[u]:
                v = head[e]
                if parent[v] == -1 and cap[e] > 1e-9:
                    parent[v] = e
                    queue.append(v)
        if parent[t_node] == -1:
            break
        push, v = float("inf"), t_node
        while v != s_node:
            e = parent[v]
            push = min(push, cap[e])
            v = head[e ^ 1]
        v = t_node
        while v != s_node:
            e = parent[v]
            cap[e] -= push
            cap[e ^ 1] += push
            v = head[e ^ 1]
        total += push
    side = np.array([p != -1 for p in parent[:n]], bool)  # reached in the last search
    used = edge_of >= 0
    flow = np.zeros(m)
    flow[used] = np.array([cap[e ^ 1] for e in edge_of[used].tolist()])
    cut = np.flatnonzero(used & side[net.arc_src] & ~side[net.arc_dst])
    return Flow(total, flow, cut)


def fastest_path(net: CompiledNetwork, arc_up: np.ndarray, src: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Propagation delay of the fastest path from ``src`` to every node (inf: unreachable)
    and the arc each is reached by (-1: none); ties broken by arc number."""
    dist = np.full(net.n_nodes, np.inf)
    via = np.full(net.n_nodes, -1, np.int64)
    dist[src] = 0.0
    heap = [(0.0, src)]
    done = np.zeros(net.n_nodes, bool)
    while heap:
        d, u = heapq.heappop(heap)
        if done[u]:
            continue
        done[u] = True
        for a in net.out_arc[net.out_ptr[u]:net.out_ptr[u + 1]].tolist():
            if not arc_up[a]:
                continue
            v = int(net.arc_dst[a])
            nd = d + float(net.arc_propagation_s[a])
            if nd < dist[v] or (nd == dist[v] and not done[v] and a < via[v]):
                dist[v] = nd
                via[v] = a
                heapq.heappush(heap, (nd, v))
    return dist, via


def widest_path(net: CompiledNetwork, arc_up: np.ndarray, src: int, room_bps: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """The path from ``src`` to every node whose narrowest arc has the most ``room_bps``
    (ties: the fastest by propagation); that room per node (-inf: unreachable) and the arc
    each is reached by (-1: none)."""
    width = np.full(net.n_nodes, -np.inf)
    delay = np.full(net.n_nodes, np.inf)
    via = np.full(net.n_nodes, -1, np.int64)
    width[src], delay[src] = np.inf, 0.0
    heap = [(-np.inf, 0.0, src)]
    done = np.zeros(net.n_nodes, bool)
    while heap:
        _w, d, u = heapq.heappop(heap)
        if done[u]:
            continue
        done[u] = True
        for a in net.out_arc[net.out_ptr[u]:net.out_ptr[u + 1]].tolist():
            v = int(net.arc_dst[a])
            if not arc_up[a] or done[v]:
                continue
            w = min(width[u], float(room_bps[a]))
            nd = d + float(net.arc_propagation_s[a])
            if w > width[v] or (w == width[v] and nd < delay[v]):
                width[v], delay[v], via[v] = w, nd, a
                heapq.heappush(heap, (-w, nd, v))
    width[src] = -np.inf
    return width, via


def path_to(via: np.ndarray, net: CompiledNetwork, dst: int) -> list[int]:
    """The arcs from the tree's root to ``dst``, in order."""
    arcs: list[int] = []
    v = dst
    while via[v] >= 0:
        arcs.append(int(via[v]))
        v = int(net.arc_src[via[v]])
    return arcs[::-1]


def _links(net: CompiledNetwork, arcs: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(net.link_ids[int(a) // 2] for a in arcs))


def _mbps(bps: float) -> str:
    return f"{bps / 1e9:.3g} Gbit/s" if bps >= 1e9 else f"{bps / 1e6:.3g} Mbit/s"


def rate_binding(net: CompiledNetwork, arc_up: np.ndarray, src: np.ndarray, dst: np.ndarray,
                 rate_bps: np.ndarray, failures: list[tuple[str, np.ndarray]],
                 label: str) -> Binding | None:
    """The first cut the slice's rates do not fit through: per pair, per source and per
    destination, with everything up, then with each link of ``failures`` down."""
    groups: list[tuple[str, list[int], list[int], float]] = []
    pairs: dict[tuple[int, int], float] = {}
    for s, d, r in zip(src.tolist(), dst.tolist(), rate_bps.tolist(), strict=True):
        pairs[s, d] = pairs.get((s, d), 0.0) + r
    names = net.node_ids
    for (s, d), r in pairs.items():
        groups.append((f"from {names[s]} to {names[d]}", [s], [d], r))
    for s in sorted(set(src.tolist())):
        dsts = sorted({d for (a, d) in pairs if a == s})
        if len(dsts) > 1:
            groups.append((f"from {names[s]} to its {len(dsts)} destinations", [s], dsts,
                           sum(r for (a, _), r in pairs.items() if a == s)))
    for d in sorted(set(dst.tolist())):
        srcs = sorted({a for (a, b) in pairs if b == d})
        if len(srcs) > 1:
            groups.append((f"from its {len(srcs)} sources to {names[d]}", srcs, [d],
                           sum(r for (_, b), r in pairs.items() if b == d)))
    for where, sources, sinks, need in groups:
        if need <= 0:
            continue
        base = max_flow(net, arc_up, sources, sinks)
        cases: list[tuple[str | None, Flow]] = [(None, base)]
        touched = {int(a) // 2 for a in np.flatnonzero(base.arc_flow_bps > 1e-9).tolist()}
        cases += [(name, max_flow(net, up, sources, sinks)) for name, up in failures
                  if net.link_ids.index(name) in touched]
        for failed, flow in cases:
            if need > flow.value_bps * (1 + 1e-9):
                under = f" with link {failed} failed" if failed else ""
                cut = _links(net, flow.cut_arcs)
                if flow.value_bps <= 0:
                    return Binding("connectivity", f"{label} needs {_mbps(need)} {where}, "
                                   f"but no path joins them{under}", need, 0.0, failed, cut)
                return Binding("min-cut", f"{label} needs {_mbps(need)} {where}, above the "
                               f"{_mbps(flow.value_bps)} max flow (min cut: {', '.join(cut)})"
                               f"{under}", need, flow.value_bps, failed, cut)
    return None


def delay_binding(net: CompiledNetwork, arc_up: np.ndarray, src: np.ndarray, dst: np.ndarray,
                  max_delay_s: float, failures: list[tuple[str, np.ndarray]],
                  label: str) -> tuple[Binding | None, float]:
    """The first demand whose fastest path (by propagation) is slower than ``max_delay_s``,
    with everything up, then with each link on a fastest path down; and the slowest fastest
    path with everything up."""
    worst = 0.0
    names = net.node_ids
    for s in sorted(set(src.tolist())):
        dsts = sorted(set(dst[src == s].tolist()))
        dist, via = fastest_path(net, arc_up, s)
        worst = max(worst, float(dist[dsts].max()))
        cases: list[tuple[str | None, np.ndarray, np.ndarray]] = [(None, dist, via)]
        on_path = {int(a) // 2 for d in dsts for a in path_to(via, net, d)}
        for name, up in failures:
            if net.link_ids.index(name) in on_path:
                cases.append((name, *fastest_path(net, up, s)))
        for failed, dist_f, via_f in cases:
            for d in dsts:
                if dist_f[d] > max_delay_s * (1 + 1e-12):
                    under = f" with link {failed} failed" if failed else ""
                    if not np.isfinite(dist_f[d]):
                        return Binding("connectivity", f"{label}: no path from {names[s]} to "
                                       f"{names[d]}{under}", None, max_delay_s, failed,
                                       ()), worst
                    path = path_to(via_f, net, d)
                    return Binding("propagation", f"{label} allows {1e3 * max_delay_s:.3g} ms "
                                   f"from {names[s]} to {names[d]}, below the "
                                   f"{1e3 * dist_f[d]:.3g} ms propagation delay of the "
                                   f"fastest path ({' - '.join(_links(net, path))}){under}",
                                   float(dist_f[d]), max_delay_s, failed,
                                   _links(net, path)), worst
    return None, worst


def connected_pairs(net: CompiledNetwork, arc_up: np.ndarray, src: np.ndarray,
                    dst: np.ndarray) -> bool:
    """Whether every (src, dst) pair is joined by up arcs."""
    for s in sorted(set(src.tolist())):
        dist, _ = fastest_path(net, arc_up, s)
        if not np.isfinite(dist[dst[src == s]]).all():
            return False
    return True
