"""What-ifs answered from a basis's kept state: pure failures through the incremental engine.

A scenario that only fails links, nodes or SRLGs changes routing only toward the
destinations whose shortest-path DAG loses an arc. Such a what-if is answered from the
basis's incremental-engine state (made on the first one, kept with the basis): arc loads by
the incremental engine, then only those destinations routed again to find the demands that
moved or were lost, and the services' demands measured on the new delays. The answer equals
the full engine's (``tests/api/test_whatif_fast.py`` checks it) at a fraction of the cost.
Every other scenario (metrics, drains, capacities, traffic, links added or removed) runs the
full engine. Equal requests on the same basis share one answer (``Basis.answers``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from nettwin.api.basis import Basis
from nettwin.engine import CompiledNetwork, SimulationOptions
from nettwin.engine.incremental import Baseline, failure_loads, prepare_baseline
from nettwin.engine.routing import path_metrics_all
from nettwin.engine.simulate import queue_arcs, route, service_report
from nettwin.engine.upstream import mark_upstream
from nettwin.report import json_safe
from nettwin.scenarios import Scenario, run_whatif
from nettwin.scenarios.apply import apply_scenario
from nettwin.scenarios.changes import FailLink, FailNode, FailSrlg
from nettwin.scenarios.whatif import ArcChange, ScenarioDiff, ServiceChange, diff_document

FAILURES = (FailLink, FailNode, FailSrlg)


@dataclass(frozen=True, eq=False)
class FailureState:
    """What failure what-ifs on one basis reuse."""

    incremental: Baseline
    dest_pos: np.ndarray  # int64[n]: node -> its position among destinations (-1: none)
    service_dests: np.ndarray  # int64[...]: positions of destinations with service demands
    util_before: np.ndarray  # float64[m]: utilisation where up, 0 where down


def prepare_failures(b: Basis) -> FailureState:
    c = b.compiled
    with _one_thread():
        base = prepare_baseline(c)
    pos = np.full(c.n_nodes, -1, np.int64)
    pos[c.destinations] = np.arange(c.destinations.size)
    svc = np.unique(pos[c.demand_dst[c.service_demand]]) if c.service_demand.size else \
        np.zeros(0, np.int64)
    r = b.baseline
    return FailureState(base, pos, svc, np.where(r.arc_up, r.arc_utilisation, 0.0))


def failure_state(b: Basis) -> FailureState:
    state: FailureState = b.derived.get("failures", lambda: prepare_failures(b))
    return state


def whatif_document(b: Basis, changes: list[dict[str, Any]], scenario: Scenario,
                    limit: int) -> dict[str, Any]:
    """The what-if answer on ``b`` (one per distinct request, kept with the basis)."""
    key = (json.dumps(changes, sort_keys=True, default=str), limit)
    doc: dict[str, Any] = b.answers.get(key, lambda: json_safe(
        diff_document(whatif_diff(b, scenario), limit) | {"basis": b.document()}))
    return doc


def whatif_diff(b: Basis, scenario: Scenario) -> ScenarioDiff:
    """The scenario against ``b``'s no-change run: incrementally when it only fails things."""
    if scenario.changes and all(isinstance(ch, FAILURES) for ch in scenario.changes):
        applied = apply_scenario(b.network, b.compiled, scenario)  # checks every id
        if applied.network is b.network and applied.compiled is b.compiled:
            return failure_diff(b, failure_state(b), applied.arc_up, applied.failed_arcs)
    return run_whatif(b.network, scenario, compiled=b.compiled, baseline=b.baseline).diff


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """This request's kernels on one numba thread (the setting is per calling thread):
    concurrent what-ifs share the cores better than one what-if splitting tiny kernels."""
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _demands_of(c: Any, dests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR pointers and demand numbers of the destinations at positions ``dests``."""
    lo, hi = c.dest_ptr[dests], c.dest_ptr[dests + 1]
    ptr = np.zeros(dests.size + 1, np.int64)
    np.cumsum(hi - lo, out=ptr[1:])
    demands = c.dest_demand[np.repeat(lo - ptr[:-1], hi - lo) + np.arange(ptr[-1])]
    return ptr, demands


def failure_diff(b: Basis, st: FailureState, arc_up: np.ndarray, failed: np.ndarray,
                 options: SimulationOptions | None = None, *,
                 by_reach: bool | None = None) -> ScenarioDiff:
    """``compare`` of the full engine's run with ``failed`` arcs down, from the incremental
    state: loads by the incremental engine; the demands that move or are cut off found
    either by reachability (``by_reach``; links up in both directions or neither, the
    default where that holds) or by routing the affected destinations again; services
    measured on the new delays."""
    c, base, r = b.compiled, st.incremental, b.baseline
    options = options or r.options
    inc = base.dag_dest[np.concatenate([np.arange(base.dag_ptr[a], base.dag_ptr[a + 1])
                                        for a in failed.tolist()] or [np.zeros(0, np.int64)])]
    affected = np.unique(inc).astype(np.int64)
    if by_reach is None:
        by_reach = _symmetric(arc_up) and _symmetric(base.arc_up)
    with _one_thread():
        load, _lost = failure_loads(base, failed)
        q, arc_delay = queue_arcs(c, options, load)
        ptr_a, dem_a = _demands_of(c, affected)
        if by_reach:
            moved, now = _moved_by_reach(c, base, arc_up, failed, affected, ptr_a, dem_a)
            routes = np.intersect1d(affected, st.service_dests)
        else:
            routes = affected
        # the destinations routed again, the services' others as they were
        others = np.setdiff1d(st.service_dests, routes)
        dests = np.concatenate([routes, others])
        ptr, dem = _demands_of(c, dests)
        k = dem.size
        delay_mean, delay_worst, delivered, hops, sig = (np.empty(k) for _ in range(5))
        routed = np.empty(k, bool)
        if k:
            ptr_r, dem_r = _demands_of(c, routes)
            new = route(dataclasses.replace(
                c, destinations=c.destinations[routes], dest_ptr=ptr_r, dest_demand=dem_r),
                arc_up, r.demand_rate_bps)
            path_metrics_all(c.n_nodes, c.destinations[dests], ptr, np.arange(k),
                             c.demand_src[dem], c.out_ptr, c.out_arc, c.arc_dst,
                             c.arc_metric, arc_up, arc_delay, 1.0 - q.loss, c.arc_signature,
                             np.concatenate([new.dist, base.state.dist[others]]),
                             np.concatenate([new.order, base.state.order[others]]),
                             np.concatenate([new.count, base.state.count[others]]), 1,
                             delay_mean, delay_worst, delivered, hops, sig, routed)
    if not by_reach:  # the demands toward the affected destinations, routed again
        na = int(ptr[routes.size])
        now = routed[:na]
        moved = ~np.isclose(r.demand_path_signature[dem[:na]], sig[:na], rtol=0,
                            atol=1e-12)
        dem_a = dem[:na]
    first = np.argsort(dem_a, kind="stable")  # compare lists them by demand number
    idx, now, moved = dem_a[first], now[first], moved[first]
    was = r.demand_routed[idx]
    ids = b.network.demand_ids
    lost_at = idx[was & ~now]
    lost = tuple(ids[j] for j in lost_at.tolist())
    restored = tuple(ids[j] for j in idx[now & ~was].tolist())
    rerouted = tuple(ids[j] for j in idx[was & now & moved].tolist())
    lost_bps = float(r.demand_rate_bps[lost_at].sum())
    services: tuple[ServiceChange, ...] = ()
    if c.service_ids:
        worst, loss, ok = (r.demand_delay_worst_s.copy(), r.demand_loss.copy(),
                           r.demand_routed.copy())
        worst[dem], ok[dem] = delay_worst, routed
        loss[dem] = np.where(routed, 1.0 - delivered, 1.0)
        after = service_report(c, worst, loss, ok)
        services = tuple(ServiceChange(
            sid, float(r.services.worst_delay_s[i]), float(after.worst_delay_s[i]),
            bool(r.services.violated[i]), bool(after.violated[i]))
            for i, sid in enumerate(after.ids))
    # arcs, as compare lists them
    util_after = np.where(arc_up, q.utilisation, 0.0)
    step = np.flatnonzero(np.abs(util_after - st.util_before) >= 0.01)
    changes = [ArcChange(c.arc_label(a), float(st.util_before[a]), float(util_after[a]))
               for a in step.tolist()]
    changes.sort(key=lambda ch: -abs((ch.utilisation_after or 0)
                                     - (ch.utilisation_before or 0)))
    top_util = np.where(arc_up, q.utilisation, -1.0)
    top = int(np.argmax(top_util)) if top_util.size else 0
    return ScenarioDiff(
        tuple(changes), rerouted, lost, restored, lost_bps, services,
        float(st.util_before.max(initial=0.0)), float(max(top_util.max(initial=0.0), 0.0)),
        c.arc_label(top) if top_util.size else "-")


def _symmetric(arc_up: np.ndarray) -> bool:
    """Every link up in both directions or in neither (arc 2i is a->b, 2i+1 b->a)."""
    return bool(np.array_equal(arc_up[0::2], arc_up[1::2]))


def _moved_by_reach(c: CompiledNetwork, base: Baseline, arc_up: np.ndarray,
                    failed: np.ndarray, affected: np.ndarray, ptr: np.ndarray,
                    dem: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per demand of ``dem`` (toward the affected destinations): whether its paths change
    and whether it is still routed. A source whose DAG uses no failed arc keeps its paths;
    one whose DAG uses one loses that arc's share (its paths change) and stays routed
    exactly when it can still reach the destination: with links up in both directions or
    neither, when both lie in one connected component of the links left up."""
    marks = np.zeros((affected.size, c.n_nodes), bool)
    mark_upstream(failed, affected, base.state.dist, base.arc_up, c.in_ptr, c.in_arc,
                  c.arc_src, c.arc_dst, c.arc_metric, marks)
    up = np.flatnonzero(arc_up)
    graph = csr_matrix((np.ones(up.size, np.int8), (c.arc_src[up], c.arc_dst[up])),
                       shape=(c.n_nodes, c.n_nodes))
    _n, comp = connected_components(graph, directed=False)
    src = c.demand_src[dem]
    uses = marks[np.repeat(np.arange(affected.size), np.diff(ptr)), src]
    reach = comp[src] == comp[c.demand_dst[dem]]
    routed: np.ndarray = ~uses | reach
    return uses, routed
