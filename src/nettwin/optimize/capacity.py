"""Capacity planning: the cheapest capacity modules (and new links) such that no link
exceeds a utilisation threshold, normally and under every single failure.

Routing follows the IGP as deployed (ECMP on the configured metrics, which an upgrade
does not change), so capacity never moves traffic: with no candidate links the problem
falls apart into one small integer covering problem per link (need = worst load over the
failures / threshold), solved exactly. Candidate links do change routing, and modules
persist from year to year: those couple the links. With few candidates and one year,
every set of built candidates is swept and priced by its own MILP (exact). Otherwise the
master MILP of ``nettwin.optimize.capacity_milp`` takes requirement rows lazily from
incremental failure sweeps (solve, sweep, add what is violated, repeat) until a sweep of
the plan confirms every failure; its bound is weak (pattern rows are big-M), the gap says
how weak. ``greedy_capacity`` is the planner's rule of thumb
(one module on the most utilised link under the worst failure, until all pass), kept as
the baseline the MILP is measured against.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from nettwin.model import Network
from nettwin.optimize.capacity_loads import (
    Candidate,
    PatternLoads,
    Resilience,
    evaluate_pattern,
    failure_sets,
)
from nettwin.optimize.capacity_milp import Master, Slot, Solution
from nettwin.optimize.capacity_model import (
    TOLERANCE,
    CapacityPlan,
    InfeasiblePlanError,
    LinkOffer,
    Module,
    ModuleCatalogue,
    PlanProblem,
    Progress,
    check_connectivity,
    explain_capacity,
    max_addable_bps,
    need_bps,
    plan_problem,
    plan_slots,
    year_weights,
)
from nettwin.optimize.capacity_report import apply_capacity_plan, build_plan, plan_changes

__all__ = ["Candidate", "CapacityPlan", "InfeasiblePlanError", "LinkOffer", "Module",
           "ModuleCatalogue", "Resilience", "apply_capacity_plan", "greedy_capacity",
           "plan_capacity", "plan_changes"]

ENUMERATE_CANDIDATES = 8  # up to 2**8 sets of built candidates are each priced exactly


def plan_capacity(network: Network, catalogue: ModuleCatalogue, *, threshold: float = 0.8,
                  resilience: Resilience = Resilience.N1,
                  candidates: Sequence[Candidate] = (), growth: float = 1.0, years: int = 1,
                  discount_rate: float = 0.0, time_limit_s: float = 300.0,
                  progress: Progress | None = None) -> CapacityPlan:
    """The cheapest modules (and candidate links) keeping every link at or below
    ``threshold`` normally and under every failure of ``resilience``, for each year's
    traffic (today's x growth**k, k = 1..years; 1 year with growth 1: today's).

    Raises ``InfeasiblePlanError`` naming the binding constraint when no plan exists."""
    t0, c0 = time.perf_counter(), time.process_time()
    problem = plan_problem(network, catalogue, candidates, threshold, resilience, growth, years,
                       discount_rate)
    report = progress or (lambda _f, _m: None)
    slots = plan_slots(problem)
    cand_index = {c.id: k for k, c in enumerate(problem.candidates)}
    total = float(network.demands.rate_bps.sum()) * max(problem.factors) / threshold
    master = Master(slots, len(problem.factors), year_weights(problem), total / problem.scale)
    cache: dict[frozenset[str], PatternLoads] = {}
    slot_position = {sid: i for i, sid in enumerate(problem.slot_ids)}

    def loads_for(opened: frozenset[str]) -> PatternLoads:
        if opened not in cache:
            report(min(0.85, 0.05 + 0.8 * (time.perf_counter() - t0) / time_limit_s),
                   f"sweeping {len(failure_sets(network, resilience))} failures"
                   f"{f' with {len(opened)} new link(s)' if opened else ''}")
            cache[opened] = evaluate_pattern(network, problem.candidates, opened, resilience)
        return cache[opened]

    def names(positions: frozenset[int]) -> frozenset[str]:
        return frozenset(problem.candidates[c].id for c in positions)

    if problem.candidates:
        _add_node_cuts(problem, master, slots)
    if problem.candidates and len(problem.factors) == 1 and \
            len(problem.candidates) <= ENUMERATE_CANDIDATES:
        best, priced, status, lp_bound, rows = _price_patterns(
            problem, master, loads_for, names, t0, time_limit_s, cache)
        report(0.95, "final sweep of the plan")
        return build_plan(problem, "milp", status, best, slots, names, lp_bound, priced,
                          len(cache), rows, t0, c0)
    iterations = 0
    status = "optimal"
    best_bound = -math.inf
    incumbent = _price_no_new_links(problem, master, loads_for, time_limit_s) \
        if problem.candidates else None
    while True:
        remaining = time_limit_s - (time.perf_counter() - t0)
        if remaining <= 0 and incumbent is not None:
            status = "time limit"
            break
        iterations += 1
        report(min(0.85, 0.05 + 0.8 * (time.perf_counter() - t0) / time_limit_s),
               f"MILP iteration {iterations} ({len(master.rows_lb)} rows)")
        solution = master.solve(max(1.0, remaining))
        if solution.status == "infeasible":
            if incumbent is not None:  # cannot happen for a relaxation; keep what we have
                break
            _raise_infeasible(problem, cache)
        best_bound = max(best_bound, solution.bound)
        violated, connected = False, True
        for k, factor in enumerate(problem.factors):
            opened = names(solution.opened[k])
            loads = loads_for(opened)
            lost = check_connectivity(problem, loads, opened)
            if lost is not None:
                crossing, message, binding = lost
                if not crossing:
                    raise InfeasiblePlanError(message, binding)
                master.add_cover([cand_index[c] for c in crossing])
                violated, connected = True, False
                continue
            # every requirement of the pattern goes in at once, so the master prices this
            # pattern exactly from now on (only those the solution violates are news)
            for sid in loads.link_ids:
                i = slot_position[sid]
                need = need_bps(problem, loads, sid, factor)
                have = sum(cap * problem.scale * solution.counts[i, j, k]
                           for j, cap in enumerate(slots[i].module_capacity))
                if need > max_addable_bps(problem.catalogue.offer(sid)) and \
                        not problem.candidates:
                    message, binding = explain_capacity(problem, loads, factor, k + 1, sid)
                    raise InfeasiblePlanError(message, binding)
                master.add_requirement(i, solution.opened[k], k, need / problem.scale)
                violated |= need > have * (1 + TOLERANCE) + 1e-6
        if not violated:  # every pattern it builds swept and met: optimal for the master
            if incumbent is None or solution.objective <= incumbent.objective:
                incumbent = solution
            status = solution.status
            break
        if connected and problem.candidates:
            # the plan these patterns need, priced exactly: the best so far is the answer
            # if time runs out before the master's bound meets it
            fixed = master.solve(max(1.0, time_limit_s - (time.perf_counter() - t0)),
                                 fixed=solution.opened)
            if fixed.status != "infeasible" and (
                    incumbent is None or fixed.objective < incumbent.objective):
                incumbent = fixed
            if incumbent is not None and best_bound >= incumbent.objective * (1 - 1e-9):
                break
    if incumbent is None:
        raise InfeasiblePlanError("no plan found within the time limit (the candidate links "
                                  "tried so far leave demands disconnected); raise "
                                  "--time-limit", {"constraint": "time limit"})
    incumbent.bound = min(max(best_bound, incumbent.bound if status == "optimal" else
                              best_bound), incumbent.objective)
    report(0.9, "LP relaxation")
    lp = master.solve(max(1.0, time_limit_s - (time.perf_counter() - t0)), relax=True)
    report(0.95, "final sweep of the plan")
    return build_plan(problem, "milp", status, incumbent, slots, names, lp.objective
                       if lp.status != "infeasible" else None, iterations, len(cache),
                       len(master.rows_lb), t0, c0)


def _price_no_new_links(problem: PlanProblem, master: Master,
                        loads_for: Callable[[frozenset[str]], PatternLoads],
                        time_limit_s: float) -> Solution | None:
    """The plan that builds nothing new, priced exactly: the incumbent the lazy master
    starts from (its first proposals may build links the node cuts favour)."""
    loads = loads_for(frozenset())
    if check_connectivity(problem, loads, frozenset()) is not None:
        return None
    position = {sid: i for i, sid in enumerate(problem.slot_ids)}
    for k, factor in enumerate(problem.factors):
        for sid in loads.link_ids:
            master.add_requirement(position[sid], frozenset(), k,
                                   need_bps(problem, loads, sid, factor) / problem.scale)
    solution = master.solve(time_limit_s, fixed=[frozenset()] * len(problem.factors))
    return None if solution.status == "infeasible" else solution


def _price_patterns(problem: PlanProblem, master: Master,
                    loads_for: Callable[[frozenset[str]], PatternLoads],
                    names: Callable[[frozenset[int]], frozenset[str]], t0: float,
                    time_limit_s: float, cache: Mapping[frozenset[str], PatternLoads]
                    ) -> tuple[Solution, int, str, float, int]:
    """Few candidates, one year: every set of built candidates is swept and priced exactly
    by its own small MILP (with the set fixed it falls apart per link), cheapest setup
    first; a set whose setup alone costs more than the best plan is skipped. Exact: the
    bound (and the LP bound) is the least over the sets of theirs, and, for sets not
    reached in time, the master's LP bound with the routing-free node cuts."""
    n = len(problem.candidates)
    setup = [c.setup_cost for c in problem.candidates]
    masks = sorted(range(2 ** n), key=lambda m: (sum(setup[c] for c in range(n) if m >> c & 1),
                                                 m))
    best: Solution | None = None
    bound = lp_bound = math.inf
    priced = rows = 0
    status = "optimal"
    first_cut: tuple[list[str], str, dict[str, Any]] | None = None
    for mask in masks:
        pattern = frozenset(c for c in range(n) if mask >> c & 1)
        fixed_cost = sum(setup[c] for c in pattern)
        if best is not None and fixed_cost >= best.objective:
            bound, lp_bound = min(bound, fixed_cost), min(lp_bound, fixed_cost)
            continue
        remaining = time_limit_s - (time.perf_counter() - t0)
        if remaining <= 0 and best is not None:
            status = "time limit"
            rest = master.solve(60.0, relax=True).objective
            bound, lp_bound = min(bound, rest), min(lp_bound, rest)
            break
        opened = names(pattern)
        loads = loads_for(opened)
        lost = check_connectivity(problem, loads, opened)
        if lost is not None:
            first_cut = first_cut or lost
            continue
        position = {sid: i for i, sid in enumerate(problem.slot_ids)}
        local = Master(master.slots, 1, master.weights, master.candidate_bound)
        for sid in loads.link_ids:
            local.add_requirement(position[sid], pattern, 0,
                                  need_bps(problem, loads, sid, problem.factors[0])
                                  / problem.scale)
        rows += len(local.rows_lb)
        solution = local.solve(max(1.0, remaining), fixed=[pattern])
        priced += 1
        if solution.status == "infeasible":
            continue
        bound = min(bound, solution.bound)
        lp_bound = min(lp_bound, local.solve(max(1.0, remaining), fixed=[pattern],
                                             relax=True).objective)
        if best is None or solution.objective < best.objective:
            best = solution
    if best is None:
        if first_cut is not None and len(cache) == 2 ** n and all(
                check_connectivity(problem, loads, opened) for opened, loads in cache.items()):
            raise InfeasiblePlanError(first_cut[1].replace(
                "add a candidate link", "no candidate set reconnects it: add another "
                                        "candidate link"), first_cut[2])
        _raise_infeasible(problem, cache)
    assert best is not None
    best.bound = min(bound, best.objective)
    return best, priced, status, min(lp_bound, best.objective), rows


def _add_node_cuts(problem: PlanProblem, master: Master, slots: list[Slot]) -> None:
    """Routing-free valid rows: all traffic a node sends (receives) must leave (enter) on
    its surviving links below the threshold, normally and with each of them failed. They
    hold for every set of built candidates, and lift the master's bound where the
    per-pattern rows are void."""
    position = {s.id: i for i, s in enumerate(slots)}
    ends = {s.id: (problem.network.links[s.id].a, problem.network.links[s.id].b)
            if s.candidate < 0 else (problem.candidates[s.candidate].a,
                                     problem.candidates[s.candidate].b) for s in slots}
    ids = problem.network.node_ids
    t = problem.network.demands
    sent = np.bincount(t.src, weights=t.rate_bps, minlength=len(ids))
    received = np.bincount(t.dst, weights=t.rate_bps, minlength=len(ids))
    for v, node in enumerate(ids):
        incident = [sid for sid, (a, b) in ends.items() if node in (a, b)]
        failing: list[str | None] = [None]
        if problem.resilience is not Resilience.NONE:
            failing += incident
        for down in failing:
            up = [sid for sid in incident if sid != down]
            for traffic, out in ((sent[v], True), (received[v], False)):
                before = 0.0
                for sid in up:
                    link = problem.network.links.get(sid)
                    if link is not None:
                        leaving = (link.a == node) == out
                        before += link.capacity_ab_bps if leaving else link.capacity_ba_bps
                for k, factor in enumerate(problem.factors):
                    need = factor * traffic / problem.threshold - before
                    if need > 0:
                        master.add_plain_row({(position[sid], j): cap for sid in up
                                              for j, cap in
                                              enumerate(slots[position[sid]].module_capacity)},
                                             k, need / problem.scale)


def _raise_infeasible(problem: PlanProblem, cache: Mapping[frozenset[str], PatternLoads]
                      ) -> None:
    """The master has no solution: name a link whose need exceeds what it can take under
    every pattern swept so far (or, failing that, say what the master found)."""
    for opened, loads in cache.items():
        for k, factor in enumerate(problem.factors):
            for sid in loads.link_ids:
                if need_bps(problem, loads, sid, factor) > max_addable_bps(
                        problem.catalogue.offer(sid)):
                    message, binding = explain_capacity(problem, loads, factor, k + 1, sid)
                    if opened:
                        message += f" (with new link(s) {sorted(opened)})"
                    raise InfeasiblePlanError(message, binding)
    raise InfeasiblePlanError("infeasible: no combination of candidate links and modules "
                              "meets the threshold under every failure",
                              {"constraint": "combined"})


def greedy_capacity(network: Network, catalogue: ModuleCatalogue, *, threshold: float = 0.8,
                    resilience: Resilience = Resilience.N1, growth: float = 1.0,
                    years: int = 1) -> CapacityPlan:
    """The rule of thumb: year by year, add one module (the lowest cost per bit/s, the
    smallest on ties) to the most utilised link under the worst failure, until every link
    passes. No candidate links. The baseline the MILP is measured against."""
    t0, c0 = time.perf_counter(), time.process_time()
    problem = plan_problem(network, catalogue, (), threshold, resilience, growth, years, 0.0)
    slots = plan_slots(problem)
    loads = evaluate_pattern(network, (), frozenset(), resilience)
    lost = check_connectivity(problem, loads, frozenset())
    if lost is not None:
        raise InfeasiblePlanError(lost[1], lost[2])
    width = max((len(s.module_capacity) for s in slots), default=0)
    counts = np.zeros((len(slots), max(width, 1), len(problem.factors)))
    before = np.array([[problem.capacity_before(s.id)[d] for d in (0, 1)] for s in slots])
    choice = []
    for s in slots:
        ratio = [cost / cap for cap, cost in zip(s.module_capacity, s.module_cost, strict=True)]
        best = [j for j, r in enumerate(ratio) if r <= min(ratio) * (1 + 1e-9)]
        choice.append(min(best, key=lambda j: s.module_capacity[j]) if best else -1)
    current = np.zeros(len(slots))
    n_installed = np.zeros(len(slots))
    for k, factor in enumerate(problem.factors):
        if k:
            counts[:, :, k] = counts[:, :, k - 1]
        while True:
            cap = before + current[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                util = np.where(loads.worst_bps > 0, factor * loads.worst_bps / cap, 0.0)
            per_link = util.max(axis=1)
            i = int(np.argmax(per_link))
            if per_link[i] <= threshold * (1 + TOLERANCE):
                break
            offer = catalogue.offer(slots[i].id)
            j = choice[i]
            if j < 0 or (offer.max_modules is not None and n_installed[i] >= offer.max_modules):
                message, binding = explain_capacity(problem, loads, factor, k + 1, slots[i].id)
                raise InfeasiblePlanError(message, binding)
            counts[i, j, k] += 1
            n_installed[i] += 1
            current[i] += slots[i].module_capacity[j] * problem.scale
    solution = Solution("feasible", math.nan, math.nan, counts,
                        [frozenset()] * len(problem.factors))
    return build_plan(problem, "greedy", "feasible", solution, slots,
                       lambda _c: frozenset(), None, 1, 1, 0, t0, c0)
