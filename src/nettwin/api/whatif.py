"""What-ifs answered from a basis's kept state: pure failures through the incremental engine.

A scenario that only fails links, nodes or SRLGs changes routing only toward the
destinations whose shortest-path DAG loses an arc. Such a what-if is answered from the
basis's incremental-engine state (made on the first one, kept with the basis): arc loads by
the incremental engine, then only those destinations routed again to find the demands that
moved or were lost, and the services' demands measured on the new delays. The answer equals
the full engine's (``tests/api/test_whatif_fast.py`` checks it) at a fraction of the cost.
Every other scenario (metrics, drains, capacities, traffic, links added or removed) runs the
full engine. Equal requests on the same basis share one answer (``Basis.answers``), kept as
the JSON bytes served (checked against ``WhatIfDoc`` once, when made).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from nettwin.api.basis import Basis
from nettwin.api.schemas import WhatIfDoc
from nettwin.api.turns import computing, costs
from nettwin.engine import CompiledNetwork, SimulationOptions
from nettwin.engine.incremental import (
    Baseline,
    affected_destinations,
    failure_loads,
    prepare_baseline,
)
from nettwin.engine.path_metrics import path_metrics_all
from nettwin.engine.simulate import (
    ServiceReport,
    queue_arcs,
    queue_bursty_arcs,
    route,
    service_report,
)
from nettwin.engine.threads import parallel_region
from nettwin.engine.upstream import failure_outcome, link_components, sorted_and_routed
from nettwin.report import json_safe
from nettwin.scenarios import Scenario, run_whatif
from nettwin.scenarios.apply import apply_scenario, link_arcs, node_arcs, srlg_arcs
from nettwin.scenarios.changes import FailLink, FailNode, FailSrlg
from nettwin.scenarios.whatif import ArcChange, ScenarioDiff, ServiceChange, diff_document

if TYPE_CHECKING:
    from nettwin.api.processes import WhatIfProcesses

FAILURES = (FailLink, FailNode, FailSrlg)


@dataclass(frozen=True, eq=False)
class FailureState:
    """What failure what-ifs on one basis reuse."""

    incremental: Baseline
    service_dests: np.ndarray  # int64[...]: positions of destinations with service demands
    util_before: np.ndarray  # float64[m]: utilisation where up, 0 where down
    # the service demands by destination (CSR over destination positions, as dest_ptr)
    svc_ptr: np.ndarray
    svc_dem: np.ndarray
    # the distinct service demands (sorted), service_demand as positions among them, and
    # their baseline worst delay, loss and routed flag
    svc_unique: np.ndarray
    svc_members: np.ndarray
    svc_worst: np.ndarray
    svc_loss: np.ndarray
    svc_routed: np.ndarray
    link_pos: dict[str, int]  # link id -> position
    srlgs: frozenset[str]
    by_source: np.ndarray  # int8[destinations]: how to look demands up (upstream)
    symmetric: bool  # every link of the basis up in both directions or neither


def prepare_failures(b: Basis) -> FailureState:
    c, r = b.compiled, b.baseline
    with parallel_region(1):
        base = prepare_baseline(c)
    pos = np.full(c.n_nodes, -1, np.int64)
    pos[c.destinations] = np.arange(c.destinations.size)
    is_svc = np.zeros(c.n_demands, bool)
    is_svc[c.service_demand] = True
    keep = is_svc[c.dest_demand]
    kept = np.zeros(keep.size + 1, np.int64)
    np.cumsum(keep, out=kept[1:])
    svc_dem = c.dest_demand[keep]
    svc = np.unique(pos[c.demand_dst[c.service_demand]]) if c.service_demand.size else \
        np.zeros(0, np.int64)
    unique, members = np.unique(c.service_demand, return_inverse=True)
    net = b.network
    return FailureState(
        base, svc, np.where(r.arc_up, r.arc_utilisation, 0.0), kept[c.dest_ptr], svc_dem,
        unique.astype(np.int64), members.astype(np.int64).reshape(-1),
        r.demand_delay_worst_s[unique], r.demand_loss[unique], r.demand_routed[unique],
        {lid: i for i, lid in enumerate(net.links)},
        frozenset(g for link in net.links.values() for g in link.srlgs),
        sorted_and_routed(c.dest_ptr, c.dest_demand, c.demand_src, c.demand_dst,
                          r.demand_routed),
        _symmetric(base.arc_up))


def failure_state(b: Basis) -> FailureState:
    state: FailureState = b.derived.get("failures", lambda: prepare_failures(b))
    return state


def whatif_answer(b: Basis, changes: list[dict[str, Any]], scenario: Scenario,
                  limit: int) -> bytes:
    """The what-if answer on ``b`` as JSON bytes (one per distinct request, kept with the
    basis). It is checked against ``WhatIfDoc`` once, when made: a kept answer is served as
    it is, neither checked nor serialised again."""
    answer: bytes = b.answers.get(answer_key(changes, limit), lambda: checked_answer(
        json_safe(diff_document(whatif_diff(b, scenario), limit) | {"basis": b.document()})))
    return answer


async def answer_elsewhere(b: Basis, changes: list[dict[str, Any]], scenario: Scenario,
                           limit: int, processes: WhatIfProcesses) -> bytes | None:
    """On the event loop: the answer from a worker process (``api.processes``), kept with
    the basis as ``whatif_answer`` keeps its own; None where the server must make it (not
    only failures, an unknown id, ``b`` with no worker yet: then it is sent to them for the
    next what-ifs, a worker lost). Waiting for a worker is served cheapest first, as
    ``api.turns.Turns`` serves the server's own."""
    st = b.derived.peek("failures")  # made by a what-if answered in the server first
    if not only_failures(scenario) or st is None or not st.done():
        return None
    processes.send_later(b)  # to a worker that lacks it (a new one, say); once
    if not processes.holds(b.serial):
        return None
    state: FailureState = st.result()
    failed = _failed_arcs(b, state, scenario)
    if failed is None:
        return None
    answer = await processes.ask(b.serial, changes, limit,
                                 costs.expected_s(_work(state, failed)))
    if answer is not None:
        b.answers.put(answer_key(changes, limit), answer)
    return answer


def prepare_answers(b: Basis) -> None:
    """Make ``b``'s failure state and load the kernels a failure what-if runs (a worker
    process does it when it takes a basis, before its first what-if)."""
    st = failure_state(b)
    if st.link_pos:
        arcs = np.asarray(link_arcs(0), np.int64)
        arc_up = b.compiled.arc_up.copy()
        arc_up[arcs] = False
        failure_diff(b, st, arc_up, arcs)


def answer_key(changes: list[dict[str, Any]], limit: int) -> tuple[str, int]:
    """Equal requests on a basis share one answer: the changes as canonical JSON, and the
    entries kept per list."""
    return json.dumps(changes, sort_keys=True, default=str), limit


async def answer_once(b: Basis, changes: list[dict[str, Any]], limit: int,
                      make: Callable[[], Awaitable[bytes]]) -> bytes:
    """On the event loop: the answer kept for an equal request, or being made for one (in a
    thread, or for a request on this loop that came first); else ``make()``'s (a thread's
    work), which the equal requests that come meanwhile share. A dashboard's 50 equal
    what-ifs at once take one thread, not 50 blocked on the first."""
    key = answer_key(changes, limit)
    made: Future[bytes] | None = b.answers.peek(key)
    if made is not None:
        return made.result() if made.done() else await asyncio.wrap_future(made)
    # by loop too: a task is awaited on its own loop only (one per server, but an app may
    # be served by two at once, as in the tests)
    here = (asyncio.get_running_loop(), key)
    flight = b.flights.get(here)
    if flight is None:
        # a task of its own: a request dropped by its client does not cancel it for others
        flight = b.flights[here] = asyncio.ensure_future(make())
        flight.add_done_callback(lambda _done: b.flights.pop(here, None))
    answer: bytes = await asyncio.shield(flight)
    return answer


def checked_answer(doc: dict[str, Any]) -> bytes:
    """A what-if document checked against the published ``WhatIfDoc`` and serialised."""
    return WhatIfDoc.model_validate(doc).model_dump_json().encode()


def only_failures(scenario: Scenario) -> bool:
    """Whether the scenario only fails links, nodes or SRLGs (answered incrementally)."""
    return bool(scenario.changes) and all(isinstance(ch, FAILURES) for ch in scenario.changes)


def whatif_diff(b: Basis, scenario: Scenario) -> ScenarioDiff:
    """The scenario against ``b``'s no-change run: incrementally when it only fails things."""
    if only_failures(scenario):
        st = failure_state(b)
        failed = _failed_arcs(b, st, scenario)
        if failed is None:  # an unknown id: apply_scenario says which
            applied = apply_scenario(b.network, b.compiled, scenario)
            arc_up, failed = applied.arc_up, applied.failed_arcs
        else:
            arc_up = b.compiled.arc_up.copy()
            arc_up[failed] = False
        work = _work(st, failed)
        with computing().turn(costs.expected_s(work)):
            t = time.perf_counter()
            diff = failure_diff(b, st, arc_up, failed)
            costs.learn(work, time.perf_counter() - t)
            return diff
    return run_whatif(b.network, scenario, compiled=b.compiled, baseline=b.baseline).diff


def _work(st: FailureState, failed: np.ndarray) -> float:
    """A failure what-if's work for ``CostModel``: its failed arcs' DAG entries, plus one."""
    ptr = st.incremental.dag_ptr
    return float((ptr[failed + 1] - ptr[failed]).sum()) + 1.0


def _failed_arcs(b: Basis, st: FailureState, scenario: Scenario) -> np.ndarray | None:
    """The arcs a pure-failure scenario fails (as ``apply_scenario`` finds them, without
    copying the network's demand arrays); None when an id is unknown."""
    arcs: list[int] = []
    for ch in scenario.changes:
        if isinstance(ch, FailLink):
            if ch.link not in st.link_pos:
                return None
            arcs += link_arcs(st.link_pos[ch.link])
        elif isinstance(ch, FailNode):
            v = b.network.node_index.get(ch.node)
            if v is None:
                return None
            arcs += node_arcs(b.compiled, v).tolist()
        elif isinstance(ch, FailSrlg):
            if ch.srlg not in st.srlgs:
                return None
            arcs += srlg_arcs(b.network, ch.srlg)
    return np.unique(np.asarray(arcs, np.int64))


def _demands_of(dest_ptr: np.ndarray, dest_demand: np.ndarray,
                dests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR pointers and demand numbers of the destinations at positions ``dests`` (of the
    CSR ``dest_ptr``/``dest_demand``)."""
    if not dests.size:  # a network without services: nothing to look up, no numpy calls
        return np.zeros(1, np.int64), dest_demand[:0]
    lo, hi = dest_ptr[dests], dest_ptr[dests + 1]
    ptr = np.zeros(dests.size + 1, np.int64)
    np.cumsum(hi - lo, out=ptr[1:])
    demands = dest_demand[np.repeat(lo - ptr[:-1], hi - lo) + np.arange(ptr[-1])]
    return ptr, demands


class DemandIdsAt(Sequence[str]):
    """The ids of the demands numbered ``at``, in demand-number order, each made only when
    read: a what-if that reroutes a hundred thousand demands reports their count and makes
    no string, nor sorts the numbers (the answer lists only the lost ones; sorting the
    rerouted ones, a thousand on average on the 1,000-node network, was 3% of a what-if)."""

    __slots__ = ("_at", "_ids", "_sorted")

    def __init__(self, ids: Sequence[str], at: np.ndarray) -> None:
        self._ids = ids
        self._at = at
        self._sorted = False

    def __len__(self) -> int:
        return int(self._at.size)

    def _in_order(self) -> np.ndarray:
        if not self._sorted:  # two readers at once both sort: the same order either way
            self._at = np.sort(self._at)
            self._sorted = True
        return self._at

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        at = self._in_order()
        if isinstance(i, slice):
            return [self._ids[k] for k in at[i].tolist()]
        return self._ids[int(at[i])]


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
    failed = np.asarray(failed, np.int64)
    affected = np.sort(affected_destinations(base, failed))
    if by_reach is None:
        by_reach = st.symmetric and _symmetric(arc_up)
    with parallel_region(1):  # every kernel below releases the GIL
        load, _lost = failure_loads(base, failed)
        # what evaluate_queues calls utilisation; the queues themselves (6% of a what-if)
        # only where demands are measured again, below
        utilisation = load / np.asarray(c.arc_capacity_bps, np.float64)
        if by_reach:
            comp = link_components(c.n_nodes, arc_up, c.arc_src, c.arc_dst)
            _, _, in_src, _, in_out = base.csr
            rerouted, lost_at, restored = failure_outcome(
                base.out_pos[failed], c.arc_src[failed], affected, base.dag_bits(), c.in_ptr,
                in_src, in_out, c.dest_ptr, c.dest_demand, c.demand_src, c.demand_dst, comp,
                r.demand_routed, st.by_source)
            routes = (np.intersect1d(affected, st.service_dests) if st.service_dests.size
                      else st.service_dests)
            ptr, dem = _demands_of(st.svc_ptr, st.svc_dem, routes)  # services' only
        else:  # every demand toward the affected destinations, routed again
            routes = affected
            ptr, dem = _demands_of(c.dest_ptr, c.dest_demand, routes)
        na = dem.size
        # then the services' demands toward the other destinations, as they were routed
        others = (np.setdiff1d(st.service_dests, routes) if st.service_dests.size
                  else st.service_dests)
        ptr_o, dem_o = _demands_of(st.svc_ptr, st.svc_dem, others)
        dests = np.concatenate([routes, others])
        ptr = np.concatenate([ptr, na + ptr_o[1:]])
        dem = np.concatenate([dem, dem_o])
        k = dem.size
        delay_mean, delay_worst, delivered, hops, sig = (np.empty(k) for _ in range(5))
        routed = np.empty(k, bool)
        if k:
            q, arc_delay = queue_arcs(c, options, load)
            # as simulate: the bursty demands' moments routed over the links left
            q, arc_delay = queue_bursty_arcs(c, options, arc_up, r.demand_rate_bps, q,
                                             arc_delay)
            kept = base.state_rows(others)  # the unaffected rows, as the baseline routed
            new = route(dataclasses.replace(
                c, destinations=c.destinations[routes], dest_ptr=ptr[:routes.size + 1],
                dest_demand=dem[:na]), arc_up, r.demand_rate_bps)
            path_metrics_all(c.n_nodes, c.destinations[dests], ptr, np.arange(k),
                             c.demand_src[dem], c.out_ptr, c.out_arc, c.arc_dst,
                             c.arc_metric, arc_up, arc_delay, 1.0 - q.loss, c.arc_signature,
                             np.concatenate([new.dist, kept[0]]),
                             np.concatenate([new.order, kept[1]]),
                             np.concatenate([new.count, kept[2]]), 1,
                             delay_mean, delay_worst, delivered, hops, sig, routed)
    if not by_reach:  # compare the demands toward the affected destinations
        dem_a, now = dem[:na], routed[:na]
        moved = ~np.isclose(r.demand_path_signature[dem_a], sig[:na], rtol=0, atol=1e-12)
        was = r.demand_routed[dem_a]
        rerouted, lost_at, restored = (dem_a[was & now & moved], dem_a[was & ~now],
                                       dem_a[now & ~was])
    ids = b.network.demand_ids
    lost_at = np.sort(lost_at)  # compare lists them by demand number
    lost = tuple(ids[j] for j in lost_at.tolist())
    restored_ids = tuple(ids[j] for j in np.sort(restored).tolist())
    lost_bps = float(r.demand_rate_bps[lost_at].sum())
    services: tuple[ServiceChange, ...] = ()
    if c.service_ids:
        after = _services_after(c, st, dem, delay_worst, delivered, routed)
        services = tuple(ServiceChange(
            sid, float(r.services.worst_delay_s[i]), float(after.worst_delay_s[i]),
            bool(r.services.violated[i]), bool(after.violated[i]))
            for i, sid in enumerate(after.ids))
    # arcs, as compare lists them
    util_after = np.where(arc_up, utilisation, 0.0)
    step = np.flatnonzero(np.abs(util_after - st.util_before) >= 0.01)
    changes = [ArcChange(c.arc_label(a), float(st.util_before[a]), float(util_after[a]))
               for a in step.tolist()]
    changes.sort(key=lambda ch: -abs((ch.utilisation_after or 0)
                                     - (ch.utilisation_before or 0)))
    top_util = np.where(arc_up, utilisation, -1.0)
    top = int(np.argmax(top_util)) if top_util.size else 0
    return ScenarioDiff(
        tuple(changes), DemandIdsAt(ids, rerouted), lost, restored_ids, lost_bps,
        services, float(st.util_before.max(initial=0.0)),
        float(max(top_util.max(initial=0.0), 0.0)),
        c.arc_label(top) if top_util.size else "-")


def _services_after(c: CompiledNetwork, st: FailureState, dem: np.ndarray,
                    delay_worst: np.ndarray, delivered: np.ndarray,
                    routed: np.ndarray) -> ServiceReport:
    """The services' report with the demands ``dem`` measured again (the others as in the
    baseline), over the service demands only."""
    worst, loss, ok = st.svc_worst.copy(), st.svc_loss.copy(), st.svc_routed.copy()
    at = np.minimum(np.searchsorted(st.svc_unique, dem), max(st.svc_unique.size - 1, 0))
    hit = st.svc_unique[at] == dem if st.svc_unique.size else np.zeros(dem.size, bool)
    at = at[hit]
    worst[at], ok[at] = delay_worst[hit], routed[hit]
    loss[at] = np.where(routed[hit], 1.0 - delivered[hit], 1.0)
    return service_report(dataclasses.replace(c, service_demand=st.svc_members), worst, loss,
                          ok)


def _symmetric(arc_up: np.ndarray) -> bool:
    """Every link up in both directions or in neither (arc 2i is a->b, 2i+1 b->a)."""
    return bool(np.array_equal(arc_up[0::2], arc_up[1::2]))
