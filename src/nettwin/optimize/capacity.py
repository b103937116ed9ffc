"""Capacity planning: the cheapest capacity modules (and new links) such that no link
exceeds a utilisation threshold, normally and under every single failure.

Routing follows the IGP as deployed (ECMP on the configured metrics, which an upgrade
does not change), so capacity never moves traffic: with no candidate links the problem
falls apart into one small integer covering problem per link (need = worst load over the
failures / threshold), solved exactly. Candidate links do change routing, and modules
persist from year to year: those couple the links, and the MILP of
``nettwin.optimize.capacity_milp`` handles them, with requirement rows added lazily from
incremental failure sweeps (solve, sweep, add what is violated, repeat) until a sweep of
the plan confirms every failure. ``greedy_capacity`` is the planner's rule of thumb
(one module on the most utilised link under the worst failure, until all pass), kept as
the baseline the MILP is measured against.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nettwin.engine import compile_network
from nettwin.engine.incremental import evaluate_failure_sets, prepare_baseline
from nettwin.errors import NettwinError
from nettwin.model import Network
from nettwin.optimize.capacity_loads import (
    LOST_TOLERANCE_BPS,
    Candidate,
    PatternLoads,
    Resilience,
    cut_side,
    disconnected_demands,
    evaluate_pattern,
    failed_link_ids,
    failure_sets,
    pattern_network,
)
from nettwin.optimize.capacity_milp import DEFER, Master, Slot, Solution

__all__ = ["Candidate", "CapacityPlan", "InfeasiblePlanError", "LinkOffer", "Module",
           "ModuleCatalogue", "Resilience", "apply_capacity_plan", "greedy_capacity",
           "plan_capacity", "plan_changes"]

Progress = Callable[[float, str], None]
TOLERANCE = 1e-9  # relative slack when checking a requirement
ENUMERATE_CANDIDATES = 6  # up to 2**6 sets of built candidates are each priced exactly


class InfeasiblePlanError(NettwinError):
    """No module set meets the threshold; ``binding`` names the constraint that cannot be
    met (link or failure, what it needs and what is at most available)."""

    def __init__(self, message: str, binding: dict[str, Any]) -> None:
        super().__init__(message)
        self.binding = binding


@dataclass(frozen=True)
class Module:
    """One installable module: its capacity (added to both directions) and its cost on the
    link it is offered for (per-km costs already applied)."""

    capacity_bps: float
    cost: float
    name: str = ""

    def label(self) -> str:
        if self.name:
            return self.name
        c = self.capacity_bps
        return f"{c / 1e9:g}G" if c >= 1e9 else f"{c / 1e6:g}M"


@dataclass(frozen=True)
class LinkOffer:
    """What can be added to one link: module types (any number of each) and a cap on how
    many modules the link takes in all (ports, slots; None: no cap)."""

    modules: tuple[Module, ...] = ()
    max_modules: int | None = None


@dataclass(frozen=True)
class ModuleCatalogue:
    """Offers per link id (links and candidates), with a default for the rest."""

    per_link: Mapping[str, LinkOffer] = field(default_factory=dict)
    default: LinkOffer | None = None

    def offer(self, link_id: str) -> LinkOffer:
        return self.per_link.get(link_id) or self.default or LinkOffer()


@dataclass(frozen=True)
class YearPlan:
    year: int
    traffic_factor: float
    cost: float
    upgrades: tuple[dict[str, Any], ...]
    new_links: tuple[dict[str, Any], ...]
    worst_utilisation_normal: float
    worst_utilisation_failure: float | None
    worst_failure: str | None


@dataclass(frozen=True, eq=False)
class CapacityPlan:
    """A plan and its proof: cost beside the bounds, and the final sweep's worst cases."""

    method: str  # "milp" or "greedy"
    status: str  # "optimal", "time limit", "feasible" (greedy)
    cost: float  # total capex, all years, undiscounted
    cost_discounted: float  # what the MILP minimises (= cost for one year, no discount)
    lp_bound: float | None  # LP relaxation of the final master
    best_bound: float | None  # HiGHS's dual bound of the final master
    gap: float | None  # (cost_discounted - best_bound) / cost_discounted
    lp_gap: float | None  # (cost_discounted - lp_bound) / cost_discounted
    upgrades: tuple[dict[str, Any], ...]
    new_links: tuple[dict[str, Any], ...]
    years: tuple[YearPlan, ...]
    worst_utilisation_normal: float
    worst_utilisation_failure: float | None
    worst_failure: str | None
    iterations: int
    patterns_evaluated: int
    requirement_rows: int
    failures_checked: int
    seconds: float
    cpu_seconds: float
    threshold: float
    resilience: Resilience
    added_bps: Mapping[str, float]  # per link or candidate: capacity added (both directions)
    candidates: tuple[Candidate, ...] = ()
    notes: tuple[str, ...] = ()

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "method": self.method, "status": self.status, "cost": self.cost,
            "lp_bound": self.lp_bound, "best_bound": self.best_bound, "gap": self.gap,
            "lp_gap": self.lp_gap, "upgrades": list(self.upgrades),
            "new_links": list(self.new_links),
            "worst_utilisation_normal": self.worst_utilisation_normal,
            "worst_utilisation_failure": self.worst_utilisation_failure,
            "worst_failure": self.worst_failure, "iterations": self.iterations,
            "patterns_evaluated": self.patterns_evaluated,
            "requirement_rows": self.requirement_rows,
            "failures_checked": self.failures_checked, "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds, "threshold": self.threshold,
            "survive": self.resilience.value, "notes": list(self.notes),
        }
        if len(self.years) > 1:
            doc["cost_discounted"] = self.cost_discounted
            doc["years"] = [dataclasses.asdict(y) for y in self.years]
        return doc


@dataclass(frozen=True)
class _Problem:
    network: Network
    catalogue: ModuleCatalogue
    candidates: tuple[Candidate, ...]
    threshold: float
    resilience: Resilience
    factors: tuple[float, ...]  # traffic factor per year
    discount_rate: float
    scale: float  # bit/s per unit of capacity inside the MILP

    @property
    def slot_ids(self) -> tuple[str, ...]:
        return (*self.network.links, *(c.id for c in self.candidates))

    def capacity_before(self, slot_id: str) -> tuple[float, float]:
        link = self.network.links.get(slot_id)
        return (0.0, 0.0) if link is None else (link.capacity_ab_bps, link.capacity_ba_bps)


def _problem(network: Network, catalogue: ModuleCatalogue, candidates: Sequence[Candidate],
             threshold: float, resilience: Resilience, growth: float, years: int,
             discount_rate: float) -> _Problem:
    if not 0 < threshold <= 1:
        raise NettwinError(f"threshold {threshold!r} is not in (0, 1]: give the utilisation "
                           "no link may exceed, e.g. 0.8")
    if years < 1 or growth <= 0:
        raise NettwinError(f"years {years!r} / growth {growth!r}: give years >= 1 and a "
                           "growth factor > 0 (1.3 = +30 % a year)")
    ids = set(network.links)
    for c in candidates:
        problem = ("its id is already a link" if c.id in ids else
                   f"node {c.a!r} is not in the network" if c.a not in network.nodes else
                   f"node {c.b!r} is not in the network" if c.b not in network.nodes else
                   "its ends are the same node" if c.a == c.b else
                   f"metric {c.metric!r} must be a positive integer" if c.metric < 1 else "")
        if problem:
            raise NettwinError(f"candidate link {c.id!r}: {problem}. Fix the candidates file.")
        ids.add(c.id)
    caps = [m.capacity_bps for lid in ids for m in catalogue.offer(lid).modules]
    for lid in ids:
        for m in catalogue.offer(lid).modules:
            if not (m.capacity_bps > 0 and m.cost >= 0 and math.isfinite(m.cost)):
                raise NettwinError(f"link {lid!r}: module {m.label()} has capacity "
                                   f"{m.capacity_bps!r} bit/s and cost {m.cost!r}; give a "
                                   "positive capacity and a non-negative cost")
    factors = tuple(growth ** k for k in range(1, years + 1)) if growth != 1.0 or years > 1 \
        else (1.0,)
    return _Problem(network, catalogue, tuple(candidates), threshold, resilience, factors,
                    discount_rate, max(caps) if caps else 1e9)


def _need_bps(problem: _Problem, loads: PatternLoads, slot_id: str, factor: float) -> float:
    """Capacity the slot must gain (both directions get every module) in this pattern."""
    i = loads.position[slot_id]
    before = problem.capacity_before(slot_id)
    return float(max(factor * loads.worst_bps[i, d] / problem.threshold - before[d]
                     for d in (0, 1)))


def _fmt_bps(bps: float) -> str:
    return f"{bps / 1e9:.3g} Gbit/s" if bps >= 1e8 else f"{bps / 1e6:.3g} Mbit/s"


def _check_connectivity(problem: _Problem, loads: PatternLoads, opened: frozenset[str]
                        ) -> tuple[list[str], str, dict[str, Any]] | None:
    """The first demand the pattern cannot carry at all (never, or after a failure): the
    candidates that could reconnect it, and the explanation if none is built."""
    net = pattern_network(problem.network, problem.candidates, opened)
    failed: list[str] = []
    if loads.normal_unroutable:
        src, dst, bps = loads.normal_unroutable[0]
        lost = list(loads.normal_unroutable)
        why = (f"{len(lost)} demand(s) have no path even with nothing failed, e.g. {src} -> "
               f"{dst} ({_fmt_bps(bps)})")
        what = "normal operation"
    else:
        bad = np.flatnonzero(loads.failure_lost_bps > LOST_TOLERANCE_BPS)
        if not bad.size:
            return None
        failure = loads.failures[int(bad[np.argmax(loads.failure_lost_bps[bad])])]
        failed = failed_link_ids(failure, loads.link_ids)
        lost = disconnected_demands(net, failed)
        src, dst, bps = lost[0] if lost else ("?", "?", 0.0)
        what = failure.label
        why = (f"the failure of {what} disconnects {len(lost)} demand(s) "
               f"({_fmt_bps(sum(x[2] for x in lost))}), e.g. {src} -> {dst}")
    side = cut_side(net, failed, (src, dst))
    crossing = [c.id for c in problem.candidates
                if c.id not in opened and c.id not in failed and ((c.a in side) != (c.b in side))]
    fix = ("capacity cannot reconnect it: add a candidate link (--candidates) joining "
           f"{sorted(side)[:5]}{' ...' if len(side) > 5 else ''} to the rest"
           + (", or plan with --survive none" if failed else ""))
    binding = {"constraint": "connectivity", "failure": what if failed else None,
               "demand": {"src": src, "dst": dst, "rate_bps": bps},
               "demands_disconnected": len(lost), "side": sorted(side)}
    return crossing, f"infeasible: {why}; {fix}", binding


def _explain_capacity(problem: _Problem, loads: PatternLoads, factor: float, year: int,
                      slot_id: str) -> tuple[str, dict[str, Any]]:
    offer = problem.catalogue.offer(slot_id)
    need = _need_bps(problem, loads, slot_id, factor)
    i = loads.position[slot_id]
    worst = factor * float(loads.worst_bps[i].max())
    when = loads.worst_failure[i] or "normal operation"
    most = (0.0 if not offer.modules else math.inf if offer.max_modules is None
            else offer.max_modules * max(m.capacity_bps for m in offer.modules))
    limit = ("no module is offered for it" if not offer.modules else
             f"at most {offer.max_modules} module(s) of up to "
             f"{_fmt_bps(max(m.capacity_bps for m in offer.modules))} add {_fmt_bps(most)}")
    message = (f"infeasible: link {slot_id!r} carries {_fmt_bps(worst)} under {when}"
               f"{f' in year {year}' if len(problem.factors) > 1 else ''}; at threshold "
               f"{problem.threshold:g} it needs {_fmt_bps(need)} more, but {limit}. Fix: "
               "offer larger modules or raise max_modules for it (modules.yaml), add a "
               "candidate link that relieves it, or raise --threshold")
    binding = {"constraint": "link capacity", "link": slot_id, "failure": when,
               "year": year, "load_bps": worst, "need_bps": need, "available_bps": most}
    return message, binding


def _max_addable_bps(offer: LinkOffer) -> float:
    if not offer.modules:
        return 0.0
    if offer.max_modules is None:
        return math.inf
    return offer.max_modules * max(m.capacity_bps for m in offer.modules)


def _slots(problem: _Problem) -> list[Slot]:
    out = []
    for sid in problem.slot_ids:
        offer = problem.catalogue.offer(sid)
        position = next((k for k, c in enumerate(problem.candidates) if c.id == sid), -1)
        out.append(Slot(sid, tuple(m.capacity_bps / problem.scale for m in offer.modules),
                        tuple(m.cost for m in offer.modules), offer.max_modules, position,
                        problem.candidates[position].setup_cost if position >= 0 else 0.0))
    return out


def _weights(problem: _Problem) -> np.ndarray:
    k = np.arange(len(problem.factors))
    return 1.0 / ((1 + problem.discount_rate) * (1 + DEFER)) ** k


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
    problem = _problem(network, catalogue, candidates, threshold, resilience, growth, years,
                       discount_rate)
    report = progress or (lambda _f, _m: None)
    slots = _slots(problem)
    cand_index = {c.id: k for k, c in enumerate(problem.candidates)}
    total = float(network.demands.rate_bps.sum()) * max(problem.factors) / threshold
    master = Master(slots, len(problem.factors), _weights(problem), total / problem.scale)
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
        best, priced, status = _price_patterns(problem, master, loads_for, names, t0,
                                               time_limit_s, cache)
        report(0.9, "LP relaxation")
        lp = master.solve(max(1.0, time_limit_s - (time.perf_counter() - t0)), relax=True)
        report(0.95, "final sweep of the plan")
        return _build_plan(problem, "milp", status, best, slots, names, lp.objective
                           if lp.status != "infeasible" else None, priced, len(cache),
                           len(master.rows_lb), t0, c0)
    iterations = 0
    status = "optimal"
    incumbent: Solution | None = None
    best_bound = -math.inf
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
            lost = _check_connectivity(problem, loads, opened)
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
                need = _need_bps(problem, loads, sid, factor)
                have = sum(cap * problem.scale * solution.counts[i, j, k]
                           for j, cap in enumerate(slots[i].module_capacity))
                if need > _max_addable_bps(problem.catalogue.offer(sid)) and \
                        not problem.candidates:
                    message, binding = _explain_capacity(problem, loads, factor, k + 1, sid)
                    raise InfeasiblePlanError(message, binding)
                master.add_requirement(i, solution.opened[k], k, need / problem.scale)
                violated |= need > have * (1 + TOLERANCE) + 1e-6
        if not violated:
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
    return _build_plan(problem, "milp", status, incumbent, slots, names, lp.objective
                       if lp.status != "infeasible" else None, iterations, len(cache),
                       len(master.rows_lb), t0, c0)


def _price_patterns(problem: _Problem, master: Master,
                    loads_for: Callable[[frozenset[str]], PatternLoads],
                    names: Callable[[frozenset[int]], frozenset[str]], t0: float,
                    time_limit_s: float, cache: Mapping[frozenset[str], PatternLoads]
                    ) -> tuple[Solution, int, str]:
    """Few candidates, one year: every set of built candidates is swept and priced exactly
    (the master with those candidates fixed falls apart per link), cheapest setup first;
    a set whose setup alone costs more than the best plan is skipped. Exact; the bound is
    the least of the per-set bounds (and the master's LP bound for sets not reached)."""
    n = len(problem.candidates)
    setup = [c.setup_cost for c in problem.candidates]
    masks = sorted(range(2 ** n), key=lambda m: (sum(setup[c] for c in range(n) if m >> c & 1),
                                                 m))
    best: Solution | None = None
    bound = math.inf
    priced = 0
    status = "optimal"
    first_cut: tuple[list[str], str, dict[str, Any]] | None = None
    for mask in masks:
        pattern = frozenset(c for c in range(n) if mask >> c & 1)
        fixed_cost = sum(setup[c] for c in pattern)
        if best is not None and fixed_cost >= best.objective:
            bound = min(bound, fixed_cost)
            continue
        remaining = time_limit_s - (time.perf_counter() - t0)
        if remaining <= 0 and best is not None:
            status = "time limit"
            bound = min(bound, master.solve(60.0, relax=True).objective)
            break
        opened = names(pattern)
        loads = loads_for(opened)
        lost = _check_connectivity(problem, loads, opened)
        if lost is not None:
            first_cut = first_cut or lost
            continue
        position = {sid: i for i, sid in enumerate(problem.slot_ids)}
        for sid in loads.link_ids:
            master.add_requirement(position[sid], pattern, 0,
                                   _need_bps(problem, loads, sid, 1.0 * problem.factors[0])
                                   / problem.scale)
        solution = master.solve(max(1.0, remaining), fixed=[pattern])
        priced += 1
        if solution.status == "infeasible":
            continue
        bound = min(bound, solution.bound)
        if best is None or solution.objective < best.objective:
            best = solution
    if best is None:
        if first_cut is not None and len(cache) == 2 ** n and all(
                _check_connectivity(problem, loads, opened) for opened, loads in cache.items()):
            raise InfeasiblePlanError(first_cut[1].replace(
                "add a candidate link", "no candidate set reconnects it: add another "
                                        "candidate link"), first_cut[2])
        _raise_infeasible(problem, cache)
    assert best is not None
    best.bound = min(bound, best.objective)
    return best, priced, status


def _add_node_cuts(problem: _Problem, master: Master, slots: list[Slot]) -> None:
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


def _raise_infeasible(problem: _Problem, cache: Mapping[frozenset[str], PatternLoads]
                      ) -> None:
    """The master has no solution: name a link whose need exceeds what it can take under
    every pattern swept so far (or, failing that, say what the master found)."""
    for opened, loads in cache.items():
        for k, factor in enumerate(problem.factors):
            for sid in loads.link_ids:
                if _need_bps(problem, loads, sid, factor) > _max_addable_bps(
                        problem.catalogue.offer(sid)):
                    message, binding = _explain_capacity(problem, loads, factor, k + 1, sid)
                    if opened:
                        message += f" (with new link(s) {sorted(opened)})"
                    raise InfeasiblePlanError(message, binding)
    raise InfeasiblePlanError("infeasible: no combination of candidate links and modules "
                              "meets the threshold under every failure",
                              {"constraint": "combined"})


def _build_plan(problem: _Problem, method: str, status: str, solution: Solution,
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


def _year_records(problem: _Problem, slots: list[Slot], now: np.ndarray, before: np.ndarray,
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


def _planned_network(problem: _Problem, added: Mapping[str, float],
                     opened: frozenset[str]) -> Network:
    net = pattern_network(problem.network, problem.candidates, opened)
    links = {lid: dataclasses.replace(lk, capacity_ab_bps=lk.capacity_ab_bps + added.get(lid, 0),
                                      capacity_ba_bps=lk.capacity_ba_bps + added.get(lid, 0))
             for lid, lk in net.links.items()}
    return dataclasses.replace(net, links=links)


def _verify(problem: _Problem, added: Mapping[str, float], opened: frozenset[str],
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


def greedy_capacity(network: Network, catalogue: ModuleCatalogue, *, threshold: float = 0.8,
                    resilience: Resilience = Resilience.N1, growth: float = 1.0,
                    years: int = 1) -> CapacityPlan:
    """The rule of thumb: year by year, add one module (the lowest cost per bit/s, the
    smallest on ties) to the most utilised link under the worst failure, until every link
    passes. No candidate links. The baseline the MILP is measured against."""
    t0, c0 = time.perf_counter(), time.process_time()
    problem = _problem(network, catalogue, (), threshold, resilience, growth, years, 0.0)
    slots = _slots(problem)
    loads = evaluate_pattern(network, (), frozenset(), resilience)
    lost = _check_connectivity(problem, loads, frozenset())
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
                message, binding = _explain_capacity(problem, loads, factor, k + 1, slots[i].id)
                raise InfeasiblePlanError(message, binding)
            counts[i, j, k] += 1
            n_installed[i] += 1
            current[i] += slots[i].module_capacity[j] * problem.scale
    solution = Solution("feasible", math.nan, math.nan, counts,
                        [frozenset()] * len(problem.factors))
    return _build_plan(problem, "greedy", "feasible", solution, slots,
                       lambda _c: frozenset(), None, 1, 1, 0, t0, c0)


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
