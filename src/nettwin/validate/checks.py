"""Forwarding checks of a change: for every source router and destination prefix, before
and after — reachability lost or gained, forwarding loops, blackholes, paths that became
asymmetric — each with a path that shows it."""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

import numpy as np
from numba import njit

from nettwin.validate.forwarding import ForwardingState, Reach, reach_of, trace

MAX_LISTED = 200  # findings listed per kind (counts are always whole)
MAX_ASYMMETRY_PAIRS = 20_000  # node pairs whose symmetry is compared


class Outcome(enum.Enum):
    """What happens to packets from one router to one prefix (over every ECMP branch)."""

    DELIVERED = "delivered"
    PARTIAL = "partial"  # some branches deliver, others drop or loop
    LOST = "lost"


_LABELS = tuple(o.value for o in Outcome)


def outcomes(reach: Reach) -> np.ndarray:
    """Per router: 0 delivered, 1 partial, 2 lost."""
    bad = reach.drops | reach.loops
    return np.where(reach.delivers, np.where(bad, 1, 0), 2)


@dataclass(frozen=True)
class PairFinding:
    """One source router and destination prefix, with the path before and after."""

    source: str
    prefix: str
    destination: str | None  # the owning node
    before: str
    after: str
    path_before: tuple[str, ...]
    path_after: tuple[str, ...]


@dataclass(frozen=True)
class LoopFinding:
    prefix: str
    cycle: tuple[str, ...]  # routers around the loop, the first repeated last
    sources: int  # routers whose packets (some ECMP branch) enter it
    example_path: tuple[str, ...]
    new: bool


@dataclass(frozen=True)
class BlackholeFinding:
    prefix: str
    destination: str | None
    routers: tuple[str, ...]  # routers without a route (or with a discard route)
    sources: int
    example_path: tuple[str, ...]
    new: bool


@dataclass(frozen=True)
class AsymmetryFinding:
    a: str
    b: str
    path_ab: tuple[str, ...]
    path_ba: tuple[str, ...]  # b -> a, as travelled


@dataclass(frozen=True)
class ForwardingReport:
    """Every forwarding finding of a change."""

    probes: int
    probes_changed: int
    pairs_checked: int
    reachability_lost: tuple[PairFinding, ...]
    reachability_lost_count: int
    reachability_gained: tuple[PairFinding, ...]
    reachability_gained_count: int
    loops: tuple[LoopFinding, ...]
    blackholes: tuple[BlackholeFinding, ...]
    asymmetric: tuple[AsymmetryFinding, ...]
    asymmetric_count: int
    asymmetry_pairs_checked: int
    inactive_routes: tuple[str, ...]

    @property
    def new_loops(self) -> tuple[LoopFinding, ...]:
        return tuple(x for x in self.loops if x.new)

    @property
    def new_blackholes(self) -> tuple[BlackholeFinding, ...]:
        return tuple(x for x in self.blackholes if x.new)


def _names(state: ForwardingState, path: list[int]) -> tuple[str, ...]:
    return tuple(state.compiled.node_ids[v] for v in path)


def _changed(before: ForwardingState, after: ForwardingState) -> np.ndarray:
    """Probes whose forwarding differs anywhere (arcs are matched by link id)."""
    if before.compiled.link_ids == after.compiled.link_ids:
        arcs_differ = (before.next_hop != after.next_hop).any(axis=1)
    else:
        b_pos = {lid: i for i, lid in enumerate(before.compiled.link_ids)}
        a_pos = {lid: i for i, lid in enumerate(after.compiled.link_ids)}
        common = [lid for lid in a_pos if lid in b_pos]
        bi = np.array([2 * b_pos[lid] + d for lid in common for d in (0, 1)], np.int64)
        ai = np.array([2 * a_pos[lid] + d for lid in common for d in (0, 1)], np.int64)
        arcs_differ = (before.next_hop[:, bi] != after.next_hop[:, ai]).any(axis=1)
        only_after = np.setdiff1d(np.arange(after.compiled.n_arcs), ai)
        only_before = np.setdiff1d(np.arange(before.compiled.n_arcs), bi)
        arcs_differ |= after.next_hop[:, only_after].any(axis=1)
        arcs_differ |= before.next_hop[:, only_before].any(axis=1)
    changed: np.ndarray = (arcs_differ | (before.local != after.local).any(axis=1)
                           | (before.drop != after.drop).any(axis=1))
    return changed


def check_forwarding(before: ForwardingState, after: ForwardingState) -> ForwardingReport:
    """Compare forwarding before and after (same probes, same node order)."""
    assert before.probes == after.probes
    c = after.compiled
    n = c.n_nodes
    changed = _changed(before, after)
    lost: list[PairFinding] = []
    gained: list[PairFinding] = []
    lost_count = gained_count = 0
    loops: list[LoopFinding] = []
    holes: list[BlackholeFinding] = []
    reach_cache: dict[int, tuple[Reach, Reach]] = {}
    for p, probe in enumerate(after.probes):
        touched = bool(changed[p]) or bool(after.static[p].any())
        if not touched and not after.drop[p].any():
            continue
        rb, ra = reach_of(before, p), reach_of(after, p)
        reach_cache[p] = (rb, ra)
        dest = c.node_ids[probe.owner] if probe.owner >= 0 else None
        ob, oa = outcomes(rb), outcomes(ra)
        sources = np.ones(n, bool)
        if probe.owner >= 0:
            sources[probe.owner] = False
            newly_lost = np.flatnonzero(sources & (ob < 2) & (oa == 2))
            newly_gained = np.flatnonzero(sources & (ob == 2) & (oa < 2))
            lost_count += newly_lost.size
            gained_count += newly_gained.size
            for group, into, goal_b, goal_a in ((newly_lost, lost, "deliver", None),
                                                (newly_gained, gained, None, "deliver")):
                for s in group[:max(0, MAX_LISTED - len(into))].tolist():
                    gb = goal_b or ("loop" if rb.loops[s] else "drop")
                    ga = goal_a or ("loop" if ra.loops[s] else "drop")
                    into.append(PairFinding(
                        c.node_ids[s], str(probe.prefix), dest, _LABELS[ob[s]],
                        _LABELS[oa[s]],
                        _names(before, trace(before, p, s, gb, rb)),
                        _names(after, trace(after, p, s, ga, ra))))
        if ra.loops.any():
            s = int(np.flatnonzero(ra.loops)[0])
            path = trace(after, p, s, "loop", ra)
            cycle = path[path.index(path[-1]):]
            loops.append(LoopFinding(str(probe.prefix), _names(after, cycle),
                                     int(ra.loops.sum()), _names(after, path),
                                     new=not bool((rb.loops & ra.loops).any())))
        dropping = after.drop[p] & ~after.local[p]
        if probe.owner >= 0 and dropping.any():
            victims = ra.drops & sources
            if victims.any():
                s = int(np.flatnonzero(victims & ~dropping)[0]) if (
                    victims & ~dropping).any() else int(np.flatnonzero(victims)[0])
                was = before.drop[p] & ~before.local[p]
                holes.append(BlackholeFinding(
                    str(probe.prefix), dest, _names(after, np.flatnonzero(dropping).tolist()),
                    int(victims.sum()), _names(after, trace(after, p, s, "drop", ra)),
                    new=bool((dropping & ~was).any())))
    asym, asym_count, asym_checked = _asymmetry(before, after, changed)
    return ForwardingReport(
        len(after.probes), int(changed.sum()), len(after.probes) * (n - 1),
        tuple(lost), lost_count, tuple(gained), gained_count,
        tuple(sorted(loops, key=lambda x: not x.new)),
        tuple(sorted(holes, key=lambda x: (not x.new, -x.sources))),
        asym, asym_count, asym_checked,
        tuple(f"{r.route} ({r.reason})" for r in after.inactive))


def _links_used(state: ForwardingState, p: int, source: int) -> frozenset[int]:
    """Links (positions) on any forwarding branch from source for probe p."""
    c = state.compiled
    seen, stack, links = {source}, [source], set()
    while stack:
        v = stack.pop()
        for a in c.out_arc[c.out_ptr[v]:c.out_ptr[v + 1]].tolist():
            if state.next_hop[p, a]:
                links.add(a // 2)
                u = int(c.arc_dst[a])
                if u not in seen:
                    seen.add(u)
                    stack.append(u)
    return frozenset(links)


def _upstream(state: ForwardingState, p: int, seeds: np.ndarray) -> np.ndarray:
    """Routers whose packets for probe p pass through a seed router (seeds included)."""
    c = state.compiled
    on = state.next_hop[p]
    src, dst = c.arc_src[on], c.arc_dst[on]
    mark = seeds.copy()
    while True:
        new = mark[dst] & ~mark[src]
        if not new.any():
            return mark
        mark[src[new]] = True


def _rows_changed(before: ForwardingState, after: ForwardingState, p: int) -> np.ndarray:
    """Routers whose forwarding entry for probe p differs (next hops, local, drop)."""
    out: np.ndarray = (before.local[p] != after.local[p]) | (before.drop[p] != after.drop[p])
    if before.compiled.link_ids == after.compiled.link_ids:
        diff = before.next_hop[p] != after.next_hop[p]
        out[before.compiled.arc_src[diff]] = True
    else:
        out[:] = True  # links added or removed: every router is a candidate
    return out


def _asymmetry(before: ForwardingState, after: ForwardingState, changed: np.ndarray
               ) -> tuple[tuple[AsymmetryFinding, ...], int, int]:
    """Router pairs whose paths were mirror images before and are not after (paths
    compared as the sets of links any ECMP branch uses); only pairs where a path in either
    direction crosses a router whose forwarding changed."""
    loopback = {}
    for p, probe in enumerate(after.probes):
        if probe.owner >= 0 and probe.prefix.length == 32 and probe.owner not in loopback:
            loopback[probe.owner] = p
    pairs: set[tuple[int, int]] = set()
    for b, pb in loopback.items():
        if not changed[pb]:
            continue
        rows = _rows_changed(before, after, pb)
        moved = _upstream(after, pb, rows) | _upstream(before, pb, rows)
        pairs.update((min(a, b), max(a, b)) for a in np.flatnonzero(moved).tolist()
                     if a != b and a in loopback)
    ordered = sorted(pairs)
    checked = ordered[:MAX_ASYMMETRY_PAIRS]
    same_links = before.compiled.link_ids == after.compiled.link_ids
    ospf_only = [not (st.static[loopback[b]].any() or st.static[loopback[a]].any())
                 for a, b in checked for st in (before, after)]
    fast = [pair for pair, f, g in zip(checked, ospf_only[0::2], ospf_only[1::2], strict=True)
            if f and g]
    slow = [pair for pair, f, g in zip(checked, ospf_only[0::2], ospf_only[1::2], strict=True)
            if not (f and g)]
    hits: list[tuple[int, int]] = []
    if fast:
        a_idx = np.array([a for a, _ in fast], np.int64)
        b_idx = np.array([b for _, b in fast], np.int64)
        ok_a, sym_a = _symmetric_ospf(after, a_idx, b_idx)
        sym_b = _symmetric_ospf(before, a_idx, b_idx)[1] if same_links else np.ones(
            len(fast), bool)
        hits += [fast[i] for i in np.flatnonzero(ok_a & ~sym_a & sym_b).tolist()]
    for a, b in slow:
        pa, pb = loopback[b], loopback[a]  # a -> b uses b's loopback
        ra, rb = reach_of(after, pa), reach_of(after, pb)
        if outcomes(ra)[a] != 0 or outcomes(rb)[b] != 0:
            continue  # not delivered both ways: reported as lost, loop or blackhole instead
        if _links_used(after, pa, a) == _links_used(after, pb, b):
            continue
        if same_links and _links_used(before, pa, a) != _links_used(before, pb, b):
            continue  # already asymmetric: not the change's doing
        hits.append((a, b))
    hits.sort()
    found = []
    for a, b in hits[:MAX_LISTED]:
        pa, pb = loopback[b], loopback[a]
        path_ab = trace(after, pa, a, "deliver", reach_of(after, pa))
        path_ba = trace(after, pb, b, "deliver", reach_of(after, pb))
        # The fewest-hop branch each way may well be the same path (ECMP adds a branch in
        # one direction only): show a branch over a link the other direction never uses.
        used_ab, used_ba = _links_used(after, pa, a), _links_used(after, pb, b)
        if used_ab - used_ba:
            path_ab = _path_over(after, pa, a, min(used_ab - used_ba)) or path_ab
        elif used_ba - used_ab:
            path_ba = _path_over(after, pb, b, min(used_ba - used_ab)) or path_ba
        found.append(AsymmetryFinding(after.compiled.node_ids[a], after.compiled.node_ids[b],
                                      _names(after, path_ab), _names(after, path_ba)))
    return tuple(found), len(hits), len(checked)


def _path_over(state: ForwardingState, p: int, source: int, link: int) -> list[int] | None:
    """A forwarding path for probe p from source that crosses ``link`` (a position), or
    None: the fewest hops to a router forwarding over it, then on to delivery."""
    c = state.compiled
    parent = {source: -1}
    queue = deque([source])
    while queue:
        v = queue.popleft()
        for arc in c.out_arc[c.out_ptr[v]:c.out_ptr[v + 1]].tolist():
            if not state.next_hop[p, arc]:
                continue
            u = int(c.arc_dst[arc])
            if arc // 2 == link:
                head = [v]
                while parent[head[-1]] >= 0:
                    head.append(parent[head[-1]])
                return head[::-1] + trace(state, p, u, "deliver", reach_of(state, p))
            if u not in parent:
                parent[u] = v
                queue.append(u)
    return None


def _symmetric_ospf(state: ForwardingState, a: np.ndarray, b: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """For router pairs under pure OSPF: (reachable both ways, the links of every shortest
    a -> b path equal those of every b -> a path). An arc u -> v is on a shortest a -> b path
    iff d(a, u) + w(u, v) + d(v, b) = d(a, b): no walk needed."""
    c = state.compiled
    w = np.where(state.arc_up, c.arc_metric.astype(np.float64), np.inf)
    ok, same = _symmetric_pairs(a, b, np.ascontiguousarray(state.dist), c.arc_src.astype(
        np.int64), c.arc_dst.astype(np.int64), w, len(c.link_ids))
    return ok, same


@njit(cache=True)
def _symmetric_pairs(a: np.ndarray, b: np.ndarray, d: np.ndarray, src: np.ndarray,
                     dst: np.ndarray, w: np.ndarray, n_links: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    k = a.size
    ok = np.zeros(k, np.bool_)
    same = np.zeros(k, np.bool_)
    used = np.zeros(n_links, np.int8)
    for i in range(k):
        x, y = a[i], b[i]
        dxy, dyx = d[y, x], d[x, y]
        if not (np.isfinite(dxy) and np.isfinite(dyx)):
            continue
        ok[i] = True
        from_x = d[:, x].copy()  # distance from x to every router
        from_y = d[:, y].copy()
        to_x, to_y = d[x], d[y]
        used[:] = 0
        for e in range(src.size):
            if from_x[src[e]] + w[e] + to_y[dst[e]] == dxy:
                used[e >> 1] |= 1
            if from_y[src[e]] + w[e] + to_x[dst[e]] == dyx:
                used[e >> 1] |= 2
        sym = True
        for link in range(n_links):
            if used[link] == 1 or used[link] == 2:
                sym = False
                break
        same[i] = sym
    return ok, same
