"""IGP metrics plus segment-routing waypoints, end to end (see ``waypoints`` for the method)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationOptions, compile_network, simulate
from nettwin.engine.simulate import route
from nettwin.errors import ValidationError
from nettwin.model import Network
from nettwin.model.problems import Problem
from nettwin.optimize.bound import Bound, mcf_bound
from nettwin.optimize.objective import SOFT_POWER, Objective, better, utilisation
from nettwin.optimize.search import Progress
from nettwin.optimize.waypoints import (
    Waypoints,
    all_distances,
    best_waypoints,
    ecmp_fraction,
    load_on_arc,
    path_arcs,
    via_nodes,
)
from nettwin.optimize.weights import (
    DEFAULT_MAX_METRIC,
    WeightsResult,
    arc_keys,
    check_limits,
    check_traffic,
    kernel_threads,
    optimize_weights,
)

DEMANDS_PER_STEP = 8  # the demands loading the hot arc most, tried each step
GIVE_UP_AFTER = 25  # steps without improvement (hot arcs chosen at random among the top)


@dataclass(frozen=True, eq=False)
class PathsResult:
    """Waypoints per demand on top of (optimised) metrics; ``to_document()`` is out.json,
    ``paths_document()`` the explicit-paths file (sr.yaml)."""

    mlu: float
    mlu_before: float
    mlu_weights_only: float
    bound: Bound
    segments: int
    waypoints: list[dict[str, Any]]
    weights: dict[str, int]  # every arc's metric, as in WeightsResult
    weights_result: WeightsResult | None  # the metric optimisation run first, if any
    metric: np.ndarray
    seconds: float
    evaluations: int  # metric settings and waypoint choices evaluated
    stopped: str

    @property
    def mlu_lower_bound(self) -> float:
        return self.bound.value

    @property
    def ratio(self) -> float:
        return self.bound.ratio(self.mlu)

    @property
    def changed_links(self) -> list[dict[str, Any]]:
        return self.weights_result.changed_links if self.weights_result else []

    @property
    def steps(self) -> list[dict[str, Any]]:
        return self.weights_result.steps if self.weights_result else []

    def to_document(self) -> dict[str, Any]:
        w = self.weights_result
        doc: dict[str, Any] = w.to_document() if w is not None else {}
        doc |= {"mlu": self.mlu, "mlu_before": self.mlu_before,
                "mlu_weights_only": self.mlu_weights_only, "mlu_lower_bound": self.bound.value,
                "lower_bound_method": self.bound.method.value, "ratio": self.ratio,
                "weights": self.weights, "changed_links": self.changed_links,
                "steps": self.steps, "segments": self.segments,
                "demands_with_waypoints": len(self.waypoints), "paths": self.waypoints,
                "seconds": self.seconds,
                "evaluations": self.evaluations,
                "stopped": self.stopped}
        return doc

    def paths_document(self) -> dict[str, Any]:
        return {"paths": [{"demand": p["demand"], "via": p["via"]} for p in self.waypoints]}


def pinned_loads(net: CompiledNetwork, metric: np.ndarray, pins: dict[int, Waypoints]
                 ) -> np.ndarray:
    """Arc loads with ``pins`` on their explicit paths and every other demand on the IGP."""
    rate = net.demand_rate_bps.copy()
    for d in pins:
        rate[d] = 0.0
    load: np.ndarray = route(dataclasses.replace(net, arc_metric=metric), net.arc_up,
                             rate).load_bps.copy()
    for d, p in pins.items():
        load[list(p.arcs)] += net.demand_rate_bps[d]
    return load


def optimize_paths(
    network: Network,
    *,
    segments: int = 2,
    optimize_metrics: bool = True,
    weights_share: float = 0.5,
    max_metric: int = DEFAULT_MAX_METRIC,
    symmetric: bool = False,
    time_limit_s: float = 60.0,
    seed: int = 0,
    options: SimulationOptions | None = None,
    progress: Progress | None = None,
    compiled: CompiledNetwork | None = None,
    threads: int | None = None,
) -> PathsResult:
    """Waypoints (at most ``segments`` segments per demand) minimising the maximum
    utilisation, on top of the network's metrics or of metrics optimised first (for
    ``weights_share`` of the time)."""
    t0 = time.perf_counter()
    if segments not in (2, 3):
        raise ValidationError([Problem("optimize paths: --segments", "must be 2 or 3",
                                       field="segments", value=segments,
                                       fix="2 = one waypoint per demand, 3 = up to two")],
                              "optimize")
    check_limits(Objective.MLU, None, max_metric, time_limit_s, None, network)
    net = compiled or compile_network(network)
    check_traffic(network, net)
    w_res = None
    metric = net.arc_metric.copy()
    if optimize_metrics:
        w_res = optimize_weights(network, max_metric=max_metric, symmetric=symmetric,
                                 time_limit_s=max(1.0, time_limit_s * weights_share), seed=seed,
                                 options=options, progress=progress, compiled=net,
                                 threads=threads)
        metric = w_res.metric.copy()
    bound = w_res.bound if w_res is not None else mcf_bound(net)
    with kernel_threads(net, threads):
        pins, evaluations, stop = _search_waypoints(net, metric, segments, seed,
                                                    time_limit_s - (time.perf_counter() - t0),
                                                    progress)
    mlu_before = float(simulate(net).kpis()["max_utilisation"])
    weights_only = float(utilisation(net, net.arc_up, pinned_loads(net, metric, {})).max())
    mlu = float(utilisation(net, net.arc_up, pinned_loads(net, metric, pins)).max())
    ids, dids = net.node_ids, network.demand_ids
    docs = [{"demand": dids[d], "waypoints": [ids[w] for w in p.nodes],
             "via": [ids[x] for x in via_nodes(net, int(net.demand_src[d]), p.arcs)]}
            for d, p in sorted(pins.items())]
    keys = arc_keys(network, net)
    return PathsResult(mlu, mlu_before, weights_only, bound, segments, docs,
                       {k: int(metric[a]) for a, k in enumerate(keys)}, w_res, metric,
                       time.perf_counter() - t0,
                       evaluations + (w_res.evaluations if w_res else 0), stop)


def _search_waypoints(net: CompiledNetwork, metric: np.ndarray, segments: int, seed: int,
                      time_left_s: float, progress: Progress | None
                      ) -> tuple[dict[int, Waypoints], int, str]:
    rng = np.random.default_rng(seed)
    ok, rate, cap = net.arc_up, net.demand_rate_bps, net.arc_capacity_bps
    n = net.n_nodes
    dist = all_distances(n, net.in_ptr, net.in_arc, net.arc_src, metric, ok)
    pins: dict[int, Waypoints] = {}
    pinned = np.zeros(net.n_demands, bool)
    load = pinned_loads(net, metric, pins)
    util = utilisation(net, ok, load)
    ref = max(float(util.max()), 1e-12)
    cur = (float(util.max()), float(((util / ref) ** SOFT_POWER).sum()))
    node_f, arc_f = np.zeros(n), np.zeros(net.n_arcs)
    t0 = time.perf_counter()
    stall = evaluations = 0
    stop = "converged"
    try:
        while True:
            elapsed = time.perf_counter() - t0
            if elapsed >= time_left_s:
                stop = "time-limit"
                break
            if progress:
                progress(elapsed / max(time_left_s, 1e-9), cur[0])
            if stall >= GIVE_UP_AFTER:
                break
            util = utilisation(net, ok, load)
            top = np.argsort(-util)[:1 if stall == 0 else 5]
            hot = int(top[0] if stall == 0 else rng.choice(top))
            through = load_on_arc(hot, net.destinations, net.dest_ptr, net.dest_demand,
                                  net.demand_src, rate, pinned, dist, net.out_ptr, net.out_arc,
                                  net.arc_dst, metric, ok)
            for d, p in pins.items():
                if hot in p.arcs:
                    through[d] = rate[d]
            cands = [int(d) for d in np.argsort(-through)[:DEMANDS_PER_STEP] if through[d] > 0]
            best: tuple[float, float] | None = None
            choice: tuple[int, tuple[int, ...], np.ndarray] | None = None
            for d in cands:
                s, t = int(net.demand_src[d]), int(net.demand_dst[d])
                base = load.copy()
                if d in pins:
                    base[list(pins[d].arcs)] -= rate[d]
                else:
                    ecmp_fraction(s, t, dist[t], net.out_ptr, net.out_arc, net.arc_dst, metric,
                                  ok, node_f, arc_f)
                    base -= rate[d] * arc_f
                np.maximum(base, 0.0, out=base)
                mlu, soft, w1, w2 = best_waypoints(s, t, float(rate[d]), segments, base, cap,
                                                   ref, dist, net.out_ptr, net.out_arc,
                                                   net.arc_src, net.arc_dst, metric, ok)
                evaluations += n if segments == 2 else n * n
                if w1 < 0:
                    continue
                if best is None or better((mlu, soft), best):
                    best = (mlu, soft)
                    choice = (d, (w1,) if w2 < 0 else (w1, w2), base)
            if best is None or choice is None or not better(best, cur):
                stall += 1
                continue
            d, nodes, base = choice
            arcs = path_arcs(net, dist, metric, ok, int(net.demand_src[d]),
                             int(net.demand_dst[d]), nodes)
            pins[d] = Waypoints(d, nodes, arcs)
            pinned[d] = True
            load = base
            load[list(arcs)] += rate[d]
            cur, stall = best, 0
    except KeyboardInterrupt:
        stop = "interrupted"
    return pins, evaluations, stop
