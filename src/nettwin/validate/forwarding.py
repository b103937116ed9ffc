"""Per-prefix forwarding as routers do it: the RIB per router (connected, static, OSPF),
longest-prefix match, administrative distance between sources of the same prefix (a tie goes
to the lower route metric, as in zebra: a static route's is 0), ECMP.

``build_forwarding`` gives, per destination probe (an address standing for a prefix) and
router, the next-hop arcs, "delivered here" or "dropped here". OSPF routes come from the
engine's compiled arrays (next hops: every up arc with cost + d(next, owner) = d(router,
owner), confirmed against FRR); static routes override them where they are longer, or as
long with a lower distance. Walks over that graph find loops and blackholes.

Static next hops resolve as FRR does by default: a connected address (the peer's end of a
link /30) or an interface directly; any other address recursively through OSPF (never
through another static route or a default route); an unresolvable next hop makes the route
inactive, which is reported.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from nettwin.engine import CompiledNetwork
from nettwin.engine.nexthops import distances_to
from nettwin.validate.addressing import AddressPlan, Prefix
from nettwin.validate.changeset import CONNECTED_DISTANCE, OSPF_DISTANCE, StaticRoute

_CHUNK = 256  # owners per block when testing arcs against distances (bounds memory)


@dataclass(frozen=True)
class Probe:
    """A destination the checks send to: the first address of ``prefix``; ``owner`` is the
    node that owns it (-1: no node of the network does, e.g. an external static prefix)."""

    address: int
    prefix: Prefix
    owner: int


@dataclass(frozen=True)
class InactiveRoute:
    route: StaticRoute
    reason: str


@dataclass(frozen=True, eq=False)
class ForwardingState:
    """Forwarding of every probe at every router, as boolean arrays."""

    compiled: CompiledNetwork
    arc_up: np.ndarray  # bool[m]
    probes: tuple[Probe, ...]
    next_hop: np.ndarray  # bool[p, m]: arc a is a next hop of its tail router for probe p
    local: np.ndarray  # bool[p, n]: delivered at this router
    drop: np.ndarray  # bool[p, n]: no route here, or a discard route
    static: np.ndarray  # bool[p, n]: the route chosen here is a static route
    inactive: tuple[InactiveRoute, ...]
    dist: np.ndarray  # float64[n, n]: OSPF distance from router u to router t at [t, u]

    def successors(self, p: int, router: int) -> list[int]:
        c = self.compiled
        arcs = c.out_arc[c.out_ptr[router]:c.out_ptr[router + 1]]
        return [int(c.arc_dst[a]) for a in arcs if self.next_hop[p, a]]


def make_probes(plan: AddressPlan, routes: list[StaticRoute]) -> tuple[Probe, ...]:
    """Every owned prefix, then every static prefix that is not one of them."""
    probes = [Probe(p.network, p, node) for node, p in plan.owner_prefixes]
    seen = {p.prefix for p in probes}
    for r in sorted(routes, key=lambda r: (r.prefix.network, r.prefix.length)):
        if r.prefix in seen:
            continue
        seen.add(r.prefix)
        owner = plan.owner_of(r.prefix.network)
        probes.append(Probe(r.prefix.network, r.prefix, owner[0] if owner else -1))
    return tuple(probes)


def _ospf_next_hops(c: CompiledNetwork, up: np.ndarray, dist: np.ndarray,
                    owners: np.ndarray) -> np.ndarray:
    """bool[len(owners), m]: the ECMP next-hop arcs toward each owner node."""
    out = np.zeros((owners.size, c.n_arcs), bool)
    src, dst = c.arc_src, c.arc_dst
    metric = c.arc_metric.astype(np.float64)
    for start in range(0, owners.size, _CHUNK):
        d = dist[owners[start:start + _CHUNK]]
        ds = d[:, src]
        out[start:start + _CHUNK] = up & np.isfinite(ds) & (ds == metric + d[:, dst])
    return out


def _resolve(route: StaticRoute, r: int, c: CompiledNetwork, up: np.ndarray,
             plan: AddressPlan, dist: np.ndarray, link_pos: dict[str, int],
             address_link: dict[int, tuple[str, int]]) -> tuple[np.ndarray | None, str]:
    """Next-hop arcs of a static route at router r (empty: discard), or None and why."""
    if route.discard:
        return np.zeros(0, np.int64), ""
    if route.via_link is not None:
        i = link_pos.get(route.via_link)
        if i is None:
            return None, f"no link {route.via_link!r} (removed by the change?)"
        arc = 2 * i if c.arc_src[2 * i] == r else 2 * i + 1
        if c.arc_src[arc] != r:
            return None, f"link {route.via_link!r} does not end at {c.node_ids[r]!r}"
        if not up[arc]:
            return None, f"interface on link {route.via_link!r} is down"
        return np.array([arc], np.int64), ""
    x = route.via_address
    assert x is not None
    owner: int | None = None
    if x in address_link:
        lid, end = address_link[x]
        i = link_pos.get(lid)
        if i is None:
            return None, f"next hop is on link {lid!r}, which the change removes"
        ends = (int(c.arc_src[2 * i]), int(c.arc_dst[2 * i]))
        if r in ends:
            mine = 2 * i if r == ends[0] else 2 * i + 1
            if ends[end] == r:
                return None, "next hop is this router's own interface address"
            if not up[mine]:
                return None, f"connected next hop on link {lid!r} is down"
            return np.array([mine], np.int64), ""
        owner = ends[end]
    else:
        found = plan.owner_of(x)
        owner = found[0] if found is not None else None
    if owner is None:
        return None, "next hop address is not in the network (no route to it)"
    if owner == r:
        return None, "next hop is an address of this router"
    if not np.isfinite(dist[owner, r]):
        return None, f"next hop (on {c.node_ids[owner]!r}) is unreachable by OSPF"
    arcs = c.out_arc[c.out_ptr[r]:c.out_ptr[r + 1]].astype(np.int64)
    d = dist[owner]
    on = up[arcs] & (d[r] == c.arc_metric[arcs] + d[c.arc_dst[arcs]])
    return arcs[on], ""


def build_forwarding(c: CompiledNetwork, arc_up: np.ndarray, plan: AddressPlan,
                     routes: tuple[StaticRoute, ...], probes: tuple[Probe, ...]
                     ) -> ForwardingState:
    """Forwarding of each probe at each router: statics over OSPF by LPM and distance."""
    n = c.n_nodes
    up = np.asarray(arc_up, bool)
    dist = distances_to(c, up)
    owners = np.array([max(p.owner, 0) for p in probes], np.int64)
    has_owner = np.array([p.owner >= 0 for p in probes], bool)
    uniq, inverse = np.unique(owners, return_inverse=True)
    next_hop = _ospf_next_hops(c, up, dist, uniq)[inverse] if probes else np.zeros(
        (0, c.n_arcs), bool)
    next_hop &= has_owner[:, None]
    rows = np.arange(len(probes))
    local = np.zeros((len(probes), n), bool)
    local[rows[has_owner], owners[has_owner]] = True
    reach = np.isfinite(dist[owners]) & has_owner[:, None]
    drop = ~reach & ~local
    static = np.zeros((len(probes), n), bool)
    owner_len = np.array([p.prefix.length if p.owner >= 0 else -1 for p in probes])
    # the owner's prefix may be shorter than the probe's (a static inside an aggregate)
    for j, p in enumerate(probes):
        if p.owner >= 0:
            found = plan.owner_of(p.address)
            owner_len[j] = found[1].length if found else -1

    link_pos = {lid: i for i, lid in enumerate(c.link_ids)}
    node_pos = {nid: i for i, nid in enumerate(c.node_ids)}
    address_link = plan.link_of_address()
    inactive: list[InactiveRoute] = []
    resolved: dict[int, list[tuple[StaticRoute, np.ndarray]]] = {}
    for route in routes:
        r = node_pos.get(route.router)
        if r is None:
            inactive.append(InactiveRoute(route, "no such router"))
            continue
        arcs, why = _resolve(route, r, c, up, plan, dist, link_pos, address_link)
        if arcs is None:
            inactive.append(InactiveRoute(route, why))
            continue
        resolved.setdefault(r, []).append((route, arcs))
    for r, candidates in resolved.items():
        out = c.out_arc[c.out_ptr[r]:c.out_ptr[r + 1]]
        for j, p in enumerate(probes):
            matching = [(rt, arcs) for rt, arcs in candidates if rt.prefix.contains(p.address)]
            if not matching:
                continue
            length = max(rt.prefix.length for rt, _ in matching)
            best = min(rt.distance for rt, _ in matching if rt.prefix.length == length)
            if local[j, r]:
                rival = (owner_len[j], CONNECTED_DISTANCE)
            elif reach[j, r]:
                rival = (owner_len[j], OSPF_DISTANCE)
            else:
                rival = (-1, 256)
            # equal distance: zebra prefers the lower metric, and a static's is 0
            if length < rival[0] or (length == rival[0] and best > rival[1]):
                continue
            chosen = [arcs for rt, arcs in matching
                      if rt.prefix.length == length and rt.distance == best]
            hops = np.unique(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)
            next_hop[j, out] = False
            next_hop[j, hops] = True
            local[j, r] = False
            drop[j, r] = hops.size == 0
            static[j, r] = True
    return ForwardingState(c, up, probes, next_hop, local, drop, static, tuple(inactive),
                           dist)


@dataclass(frozen=True, eq=False)
class Reach:
    """Per router, for one probe: can its packets be delivered, dropped, or loop?"""

    delivers: np.ndarray  # bool[n]: some ECMP branch reaches the owner
    drops: np.ndarray  # bool[n]: some branch meets a router with no route
    loops: np.ndarray  # bool[n]: some branch enters a forwarding loop


def classify(state: ForwardingState, p: int) -> Reach:
    """Reverse searches from delivering and dropping routers; loops are what is left after
    peeling routers whose every branch ends (Kahn's algorithm on the forwarding graph)."""
    c = state.compiled
    arcs = np.flatnonzero(state.next_hop[p])
    src, dst = c.arc_src[arcs], c.arc_dst[arcs]
    n = c.n_nodes
    preds: list[list[int]] = [[] for _ in range(n)]
    for s, d in zip(src.tolist(), dst.tolist(), strict=True):
        preds[d].append(s)

    def backwards(seeds: np.ndarray) -> np.ndarray:
        seen = seeds.copy()
        queue = deque(np.flatnonzero(seeds).tolist())
        while queue:
            v = queue.popleft()
            for u in preds[v]:
                if not seen[u]:
                    seen[u] = True
                    queue.append(u)
        return seen

    delivers = backwards(state.local[p])
    drops = backwards(state.drop[p])
    outdeg = np.bincount(src, minlength=n)
    queue = deque(np.flatnonzero(outdeg == 0).tolist())
    gone = np.zeros(n, bool)
    while queue:
        v = queue.popleft()
        gone[v] = True
        for u in preds[v]:
            outdeg[u] -= 1
            if outdeg[u] == 0:
                queue.append(u)
    return Reach(delivers, drops, ~gone)


def classify_ospf(state: ForwardingState, p: int) -> Reach:
    """``classify`` for a probe no static route touches: OSPF never loops, and every
    router either reaches the owner or has no route (vectorised, no walk)."""
    ok = state.local[p] | ~state.drop[p]
    return Reach(ok, ~ok, np.zeros_like(ok))


def reach_of(state: ForwardingState, p: int) -> Reach:
    return classify(state, p) if state.static[p].any() else classify_ospf(state, p)


def trace(state: ForwardingState, p: int, source: int, goal: str, reach: Reach) -> list[int]:
    """One forwarding path from ``source`` that shows ``goal``: 'deliver' (to the owner),
    'drop' (to a router with no route) or 'loop' (around a cycle, the repeated router
    last)."""
    if goal == "loop":
        path, seen = [source], {source}
        v = source
        while True:
            nxt = [u for u in state.successors(p, v) if reach.loops[u]]
            if not nxt:
                return path
            v = nxt[0]
            path.append(v)
            if v in seen:
                return path
            seen.add(v)
    target = state.local[p] if goal == "deliver" else state.drop[p]
    parent = {source: -1}
    queue = deque([source])
    while queue:
        v = queue.popleft()
        if target[v]:
            out = [v]
            while parent[out[-1]] >= 0:
                out.append(parent[out[-1]])
            return out[::-1]
        for u in state.successors(p, v):
            if u not in parent:
                parent[u] = v
                queue.append(u)
    return [source]
