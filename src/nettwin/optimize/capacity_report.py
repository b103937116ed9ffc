"""A solved capacity plan, proven and written out: per-year records of what to add, a sweep
of the planned network with real capacities (independent of the MILP's rows), the upgraded
network and the plan as what-if changes."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nettwin.engine import compile_network
from nettwin.engine.failure_sets import evaluate_failure_sets
from nettwin.engine.incremental import prepare_baseline
from nettwin.model import Network
from nettwin.optimize.capacity_loads import failure_sets, pattern_network
from nettwin.optimize.capacity_milp import Slot, Solution
from nettwin.optimize.capacity_model import CapacityPlan, PlanProblem, YearPlan


def build_plan(problem: PlanProblem, method: str, status: str, solution: Solution,
                slots: list[Slot], names: Callable[[frozenset[int]], frozenset[str]],
                lp_bound: float | None, iterations: int, patterns: int, rows: int,
                t0: float, c0: float) -> CapacityPlan:
    pv = 1.0 / (1 + problem.discount_rate) ** np.arange(len(problem.factors))
    year_plans = []
    counts = solution.counts
    total = discounted = 0.0
    added: dict[str, float] = {}
    checked = 0
    for k, factor in enumerate(problem.factors):
        prev = counts[:, :, k - 1] if k else np.zeros(counts.shape[:2])
        ups, news, spent = _year_records(problem, slots, counts[:, :, k], prev,
                                         solution.opened[k - 1] if k else frozenset(),
                                         solution.opened[k])
        total += spent
        discounted += spent * pv[k]
        added = {s.id: float(sum(c * problem.scale * counts[i, j, k]
                                 for j, c in enumerate(s.module_capacity)))
                 for i, s in enumerate(slots)}
        normal, worst, label, checked = _verify(problem, added, names(solution.opened[k]),
                                                factor)
        year_plans.append(YearPlan(k + 1, factor, spent, tuple(ups), tuple(news), normal,
                                   worst, label))
    last = len(problem.factors) - 1
    ups, news, _ = _year_records(problem, slots, counts[:, :, last],
                                 np.zeros(counts.shape[:2]), frozenset(), solution.opened[last])
    objective = float(discounted)
    # the master weighs year k a hair below its present value (deferral tie-break), so its
    # bounds are valid lower bounds of the present value as they stand
    best = None if method == "greedy" else min(solution.bound, objective)
    lp = None if lp_bound is None else min(lp_bound, objective)

    def gap(b: float | None) -> float | None:
        if b is None:
            return None
        return 0.0 if objective <= 0 else max(0.0, (objective - b) / objective)

    worst_fail = max((y.worst_utilisation_failure for y in year_plans
                      if y.worst_utilisation_failure is not None), default=None)
    worst_label = next((y.worst_failure for y in year_plans
                        if y.worst_utilisation_failure == worst_fail), None)
    notes = []
    if not problem.candidates:
        notes.append("no candidate links: routing is fixed by the IGP, so the plan is one "
                     "exact integer covering problem per link (need = worst load / threshold)")
    return CapacityPlan(
        method=method, status=status, cost=float(total), cost_discounted=objective,
        lp_bound=lp, best_bound=best, gap=gap(best), lp_gap=gap(lp), upgrades=tuple(ups),
        new_links=tuple(news), years=tuple(year_plans),
        worst_utilisation_normal=max(y.worst_utilisation_normal for y in year_plans),
        worst_utilisation_failure=worst_fail, worst_failure=worst_label,
        iterations=iterations, patterns_evaluated=patterns, requirement_rows=rows,
        failures_checked=checked, seconds=time.perf_counter() - t0,
        cpu_seconds=time.process_time() - c0, threshold=problem.threshold,
        resilience=problem.resilience,
        added_bps={sid: v for sid, v in added.items() if v > 0},
        candidates=tuple(c for c in problem.candidates
                         if any(n["link"] == c.id for n in news)),
        notes=tuple(notes))


def _year_records(problem: PlanProblem, slots: list[Slot], now: np.ndarray, before: np.ndarray,
                  opened_before: frozenset[int], opened_now: frozenset[int]
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    """Upgrades and new links between two cumulative states, with their cost."""
    ups: list[dict[str, Any]] = []
    news: list[dict[str, Any]] = []
    spent = 0.0
    for i, s in enumerate(slots):
        offer = problem.catalogue.offer(s.id)
        delta = now[i, :len(s.module_capacity)] - before[i, :len(s.module_capacity)]
        modules: list[dict[str, Any]] = [{"module": offer.modules[j].label(),
                    "capacity_bps": offer.modules[j].capacity_bps,
                    "cost": offer.modules[j].cost, "count": round(float(delta[j]))}
                   for j in range(len(s.module_capacity)) if delta[j] > 0.5]
        cost = sum(m["cost"] * m["count"] for m in modules)
        prior = sum(offer.modules[j].capacity_bps * before[i, j]
                    for j in range(len(s.module_capacity)))
        added = sum(m["capacity_bps"] * m["count"] for m in modules)
        if s.candidate >= 0:
            if s.candidate in opened_now and s.candidate not in opened_before:
                c = problem.candidates[s.candidate]
                news.append({"link": c.id, "a": c.a, "b": c.b, "metric": c.metric,
                             "setup_cost": c.setup_cost, "modules": modules,
                             "capacity_bps_after": prior + added,
                             "cost": c.setup_cost + cost})
                spent += c.setup_cost + cost
            elif modules:
                ups.append({"link": s.id, "modules": modules, "capacity_bps_before": prior,
                            "capacity_bps_after": prior + added, "cost": cost})
                spent += cost
            continue
        if modules:
            before_bps = problem.capacity_before(s.id)[0] + prior
            ups.append({"link": s.id, "modules": modules, "capacity_bps_before": before_bps,
                        "capacity_bps_after": before_bps + added, "cost": cost})
            spent += cost
    return ups, news, float(spent)


def _planned_network(problem: PlanProblem, added: Mapping[str, float],
                     opened: frozenset[str]) -> Network:
    net = pattern_network(problem.network, problem.candidates, opened)
    links = {lid: dataclasses.replace(lk, capacity_ab_bps=lk.capacity_ab_bps + added.get(lid, 0),
                                      capacity_ba_bps=lk.capacity_ba_bps + added.get(lid, 0))
             for lid, lk in net.links.items()}
    return dataclasses.replace(net, links=links)


def _verify(problem: PlanProblem, added: Mapping[str, float], opened: frozenset[str],
            factor: float) -> tuple[float, float | None, str | None, int]:
    """Sweep the planned network with real capacities: worst utilisation normally and over
    every failure, and which failure (the proof, independent of the MILP's rows)."""
    net = _planned_network(problem, added, opened)
    compiled = compile_network(net)
    with np.errstate(divide="ignore", invalid="ignore"):
        base = prepare_baseline(compiled, demand_rate_bps=compiled.demand_rate_bps * factor)
        util = np.where(base.load_bps > 0, base.load_bps / compiled.arc_capacity_bps, 0.0)
    normal = float(util.max()) if util.size else 0.0
    failures = failure_sets(net, problem.resilience)
    if not failures:
        return normal, None, None, 0
    outcome = evaluate_failure_sets(base, [f.arcs for f in failures])
    k = int(np.argmax(outcome.max_utilisation))
    return normal, float(outcome.max_utilisation[k]), failures[k].label, len(failures)


def apply_capacity_plan(network: Network, plan: CapacityPlan) -> Network:
    """The network after the plan: modules added to both directions, new links built."""
    opened = frozenset(c.id for c in plan.candidates)
    net = pattern_network(network, plan.candidates, opened)
    links = {lid: dataclasses.replace(
        lk, capacity_ab_bps=lk.capacity_ab_bps + plan.added_bps.get(lid, 0.0),
        capacity_ba_bps=lk.capacity_ba_bps + plan.added_bps.get(lid, 0.0))
        for lid, lk in net.links.items()}
    return dataclasses.replace(net, links=links)


def plan_changes(network: Network, plan: CapacityPlan) -> list[dict[str, Any]]:
    """The plan as what-if scenario changes (``set_capacity``, ``add_link``): applied to the
    network, they give ``apply_capacity_plan``'s result."""
    changes: list[dict[str, Any]] = []
    built = {c.id: c for c in plan.candidates}
    for lid, added in plan.added_bps.items():
        if lid in built:
            c = built[lid]
            record = {"id": c.id, "a": c.a, "b": c.b, "capacity_bps": added,
                      "metric": c.metric}
            if c.length_km is not None:
                record["length_km"] = c.length_km
            changes.append({"add_link": record})
            continue
        link = network.links[lid]
        if link.capacity_ab_bps == link.capacity_ba_bps:
            changes.append({"set_capacity": {"link": lid,
                                             "capacity_bps": link.capacity_ab_bps + added}})
        else:
            changes += [{"set_capacity": {"link": lid, "direction": d,
                                          "capacity_bps": cap + added}}
                        for d, cap in (("ab", link.capacity_ab_bps),
                                       ("ba", link.capacity_ba_bps))]
    return changes
