"""IGP weight optimisation end to end: validate, bound, search, prune, order, verify."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from nettwin.engine import CompiledNetwork, SimulationOptions, compile_network, simulate
from nettwin.engine.failure_sets import evaluate_failure_sets
from nettwin.engine.incremental import prepare_baseline
from nettwin.engine.threads import parallel_region
from nettwin.errors import ValidationError
from nettwin.model import Network
from nettwin.model.fields import MAX_IGP_METRIC
from nettwin.model.problems import Problem
from nettwin.optimize.bound import Bound, BoundMethod, mcf_bound
from nettwin.optimize.moves import RoutingTable
from nettwin.optimize.objective import Objective, Scorer, Survive
from nettwin.optimize.search import (
    Progress,
    SearchLimits,
    changed_links,
    order_changes,
    prune_changes,
    search,
)

DEFAULT_MAX_METRIC = 65_535  # OSPF's 16-bit interface cost


def arc_keys(network: Network, net: CompiledNetwork) -> list[str]:
    """'A->B' per arc (node ids as in the input); parallel links add ' (LINK)'."""
    ids = net.node_ids
    plain = [f"{ids[net.arc_src[a]]}->{ids[net.arc_dst[a]]}" for a in range(net.n_arcs)]
    counts: dict[str, int] = {}
    for k in plain:
        counts[k] = counts.get(k, 0) + 1
    return [k if counts[k] == 1 else f"{k} ({net.link_ids[a // 2]})"
            for a, k in enumerate(plain)]


def apply_metrics(network: Network, metric: np.ndarray) -> Network:
    """The network with link i's metrics set to metric[2i] (a->b) and metric[2i+1] (b->a)."""
    links = {lid: dataclasses.replace(link, metric_ab=int(metric[2 * i]),
                                      metric_ba=int(metric[2 * i + 1]))
             for i, (lid, link) in enumerate(network.links.items())}
    return dataclasses.replace(network, links=links)


def check_traffic(network: Network, net: CompiledNetwork, source: str = "optimize") -> None:
    """Optimising needs traffic, and every demand must have a path."""
    if net.n_demands == 0 or not (net.demand_rate_bps > 0).any():
        raise ValidationError([Problem(
            f"{source}: traffic", "there is no traffic to route (no demand with a rate > 0)",
            fix="give a traffic matrix with --traffic (or demands in the network file)")], source)
    result = simulate(net)
    bad = np.flatnonzero(~result.demand_routed & (net.demand_rate_bps > 0))
    if bad.size:
        ids = network.demand_ids
        raise ValidationError([Problem(
            f"{source}: demand {ids[d]}", "no path from its source to its destination",
            fix="add or bring up a link on the way, or remove the demand")
            for d in bad.tolist()], source)


def check_limits(objective: Objective, max_changes: int | None, max_metric: int,
                 time_limit_s: float, iterations: int | None, network: Network) -> None:
    problems = []
    if max_changes is not None and max_changes < 1:
        problems.append(Problem("optimize: --changes", "no link may change, so there is "
                                "nothing to optimise", field="changes", value=max_changes,
                                fix="allow at least one link to change (--changes 1 or more)"))
    if not 1 <= max_metric <= MAX_IGP_METRIC:
        problems.append(Problem("optimize: --max-metric", f"must be within 1..{MAX_IGP_METRIC}",
                                field="max_metric", value=max_metric,
                                fix="use 65535 for OSPF, up to 16777215 for IS-IS wide metrics"))
    if iterations is None and not time_limit_s >= 1.0:
        problems.append(Problem("optimize: --time-limit", "under a second is too short to "
                                "search", field="time_limit_s", value=time_limit_s,
                                fix="give 1 s or more (or a number of iterations)"))
    if iterations is not None and iterations < 1:
        problems.append(Problem("optimize: --iterations", "must be at least 1",
                                field="iterations", value=iterations, fix="give 1 or more"))
    if objective is Objective.SLA and not network.services:
        problems.append(Problem("optimize: --objective", "the network has no services, so "
                                "no SLA to meet", field="objective", value="sla",
                                fix="add services with SLA targets, or use mlu or delay"))
    if problems:
        raise ValidationError(problems, "optimize")


@dataclass(frozen=True, eq=False)
class WeightsResult:
    """Optimised IGP metrics and what they achieve; ``to_document()`` is out.json."""

    objective: Objective
    mlu: float
    mlu_before: float
    bound: Bound
    metric: np.ndarray  # int64[arcs]
    metric_before: np.ndarray
    weights: dict[str, int]
    changed_links: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    seconds: float
    evaluations: int
    iterations: int
    seed: int
    stopped: str
    objective_value: float
    objective_before: float
    worst_failure: str | None = None
    worst_mlu: float | None = None
    worst_mlu_before: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mlu_lower_bound(self) -> float:
        return self.bound.value

    @property
    def ratio(self) -> float:
        value = self.worst_mlu if self.worst_mlu is not None else self.mlu
        return self.bound.ratio(value)

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "objective": self.objective.value,
            "mlu": self.mlu, "mlu_before": self.mlu_before,
            "mlu_lower_bound": self.bound.value, "ratio": self.ratio,
            "lower_bound_method": self.bound.method.value,
            "objective_value": self.objective_value, "objective_before": self.objective_before,
            "weights": self.weights, "changed_links": self.changed_links, "steps": self.steps,
            "seconds": self.seconds, "evaluations": self.evaluations,
            "iterations": self.iterations, "seed": self.seed, "stopped": self.stopped,
        }
        if self.worst_mlu is not None:
            doc |= {"worst_failure": self.worst_failure, "worst_mlu": self.worst_mlu,
                    "worst_mlu_before": self.worst_mlu_before}
        return doc | self.extra


def worst_single_failure(net: CompiledNetwork, arc_up: np.ndarray, rate: np.ndarray,
                         metric: np.ndarray) -> tuple[float, int]:
    """Worst MLU over all single-link failures, and that link (a full incremental sweep)."""
    links = [i for i in range(net.n_arcs // 2) if arc_up[2 * i] or arc_up[2 * i + 1]]
    if not links:
        return 0.0, -1
    base = prepare_baseline(dataclasses.replace(net, arc_metric=metric), arc_up, rate)
    out = evaluate_failure_sets(base, [np.array([2 * i, 2 * i + 1]) for i in links])
    k = int(np.argmax(out.max_utilisation))
    return float(out.max_utilisation[k]), links[k]


def failure_bound(net: CompiledNetwork, arc_up: np.ndarray, rate: np.ndarray,
                  time_limit_s: float) -> Bound:
    """The largest per-failure MCF bound over all single-link failures: no metrics can make
    the worst failure better than this."""
    t0 = time.perf_counter()
    best = Bound(0.0, BoundMethod.MCF_LP, 0.0)
    for i in range(net.n_arcs // 2):
        if not (arc_up[2 * i] or arc_up[2 * i + 1]):
            continue
        up = arc_up.copy()
        up[[2 * i, 2 * i + 1]] = False
        b = mcf_bound(net, up, rate, time_limit_s=time_limit_s)
        if b.value > best.value or b.method is BoundMethod.CUT:
            best = Bound(max(b.value, best.value),
                         BoundMethod.CUT if BoundMethod.CUT in (b.method, best.method)
                         else BoundMethod.MCF_LP, 0.0)
    return Bound(best.value, best.method, time.perf_counter() - t0)


def kernel_threads(net: CompiledNetwork, threads: int | None
                   ) -> contextlib.AbstractContextManager[None]:
    """Small networks run the kernels on one thread: a parallel region costs more than
    routing a few dozen destinations (and far more when the cores are shared)."""
    before = numba.get_num_threads()
    small = int(net.destinations.size) * net.n_arcs < 500_000
    return parallel_region(max(1, min(threads or (1 if small else before), before)))


def optimize_weights(
    network: Network,
    *,
    objective: Objective = Objective.MLU,
    survive: Survive = Survive.NONE,
    max_changes: int | None = None,
    max_metric: int = DEFAULT_MAX_METRIC,
    symmetric: bool = False,
    time_limit_s: float = 60.0,
    iterations: int | None = None,
    seed: int = 0,
    options: SimulationOptions | None = None,
    progress: Progress | None = None,
    compiled: CompiledNetwork | None = None,
    threads: int | None = None,
) -> WeightsResult:
    """Integer IGP metrics minimising the objective (see :mod:`nettwin.optimize`)."""
    check_limits(objective, max_changes, max_metric, time_limit_s, iterations, network)
    net = compiled or compile_network(network)
    with kernel_threads(net, threads):
        return _optimize_weights(network, net, objective, survive, max_changes, max_metric,
                                 symmetric, time_limit_s, iterations, seed,
                                 options or SimulationOptions(), progress)


def _optimize_weights(network: Network, net: CompiledNetwork, objective: Objective,
                      survive: Survive, max_changes: int | None, max_metric: int,
                      symmetric: bool, time_limit_s: float, iterations: int | None, seed: int,
                      options: SimulationOptions, progress: Progress | None) -> WeightsResult:
    t0 = time.perf_counter()
    check_traffic(network, net)
    arc_up, rate = net.arc_up, net.demand_rate_bps
    before = net.arc_metric.copy()
    table = RoutingTable(net, before, arc_up, rate)
    util0 = float(simulate(net, options).kpis()["max_utilisation"])
    scorer = Scorer(net, arc_up, rate, objective, survive, options, util0)
    first = scorer.score(table.load[None, :], [before])
    limits = SearchLimits(max_metric=max_metric, symmetric=symmetric, max_changes=max_changes,
                          time_limit_s=max(0.0, time_limit_s - (time.perf_counter() - t0)),
                          iterations=iterations, seed=seed)
    found = search(table, scorer, limits, progress)
    # the bound after the search, so that a large LP never eats the search's time
    bound = (failure_bound(net, arc_up, rate, max(time_limit_s, 30.0))
             if survive is Survive.N1
             else mcf_bound(net, arc_up, rate, time_limit_s=max(time_limit_s, 30.0)))
    prune_changes(table, scorer, before, found.key)
    final = table.metric.copy()
    table.set_metrics(before)
    steps = order_changes(table, scorer, final)
    metric = table.metric.copy()  # == final
    evaluations = table.evaluations + found.screened
    after = simulate(dataclasses.replace(net, arc_metric=metric), options)
    mlu = float(after.kpis()["max_utilisation"])
    end = scorer.score(after.arc_load_bps[None, :], [metric])
    keys = arc_keys(network, net)
    links = changed_links(metric, before).tolist()
    ids = net.node_ids
    changed = [{"link": net.link_ids[k], "a": ids[net.arc_src[2 * k]],
                "b": ids[net.arc_dst[2 * k]],
                "metric_ab_before": int(before[2 * k]), "metric_ba_before": int(before[2 * k + 1]),
                "metric_ab": int(metric[2 * k]), "metric_ba": int(metric[2 * k + 1])}
               for k in links]
    step_docs = [{"step": i + 1, "link": net.link_ids[s.link], "metric_ab": s.metric_ab,
                  "metric_ba": s.metric_ba, "mlu": s.mlu, "objective_value": s.primary}
                 | ({"worst_mlu": s.worst_mlu} if survive is Survive.N1 else {})
                 for i, s in enumerate(steps)]
    worst = worst_before = None
    worst_label = None
    if survive is Survive.N1:
        worst, link = worst_single_failure(net, arc_up, rate, metric)
        worst_before, _ = worst_single_failure(net, arc_up, rate, before)
        worst_label = net.link_ids[link] if link >= 0 else None
    return WeightsResult(
        objective=objective, mlu=mlu, mlu_before=util0, bound=bound, metric=metric,
        metric_before=before, weights={k: int(metric[a]) for a, k in enumerate(keys)},
        changed_links=changed, steps=step_docs, seconds=time.perf_counter() - t0,
        evaluations=evaluations, iterations=found.iterations, seed=seed,
        stopped=found.stop.value, objective_value=float(end.primary[0]),
        objective_before=float(first.primary[0]), worst_failure=worst_label, worst_mlu=worst,
        worst_mlu_before=worst_before)
