"""Forwarding checks of a change: for every source router and destination prefix, before
and after — reachability lost or gained, forwarding loops, blackholes, paths that became
asymmetric — each with a path that shows it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

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


def _asymmetry(before: ForwardingState, after: ForwardingState, changed: np.ndarray
               ) -> tuple[tuple[AsymmetryFinding, ...], int, int]:
    """Router pairs whose paths were mirror images before and are not after (paths
    compared as the sets of links any ECMP branch uses)."""
    loopback = {}
    for p, probe in enumerate(after.probes):
        if probe.owner >= 0 and probe.prefix.length == 32 and probe.owner not in loopback:
            loopback[probe.owner] = p
    pairs: list[tuple[int, int]] = []
    for b, pb in loopback.items():
        if not changed[pb]:
            continue
        pairs += [(min(a, b), max(a, b)) for a in loopback if a != b]
    pairs = sorted(set(pairs))
    checked = pairs[:MAX_ASYMMETRY_PAIRS]
    same_links = before.compiled.link_ids == after.compiled.link_ids
    found: list[AsymmetryFinding] = []
    count = 0
    for a, b in checked:
        pa, pb = loopback[b], loopback[a]  # a -> b uses b's loopback
        ra, rb = reach_of(after, pa), reach_of(after, pb)
        if outcomes(ra)[a] != 0 or outcomes(rb)[b] != 0:
            continue  # not delivered both ways: reported as lost, loop or blackhole instead
        ab_after, ba_after = _links_used(after, pa, a), _links_used(after, pb, b)
        if ab_after == ba_after:
            continue
        ab_before, ba_before = _links_used(before, pa, a), _links_used(before, pb, b)
        if same_links and ab_before != ba_before:
            continue  # already asymmetric: not the change's doing
        count += 1
        if len(found) < MAX_LISTED:
            found.append(AsymmetryFinding(
                after.compiled.node_ids[a], after.compiled.node_ids[b],
                _names(after, trace(after, pa, a, "deliver", ra)),
                _names(after, trace(after, pb, b, "deliver", rb))))
    return tuple(found), count, len(checked)
