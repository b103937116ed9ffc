"""Capacity planning's records and rules: module offers, the plan and its years, the
problem as posed (threshold, failures, traffic per year), each link's need in a swept
pattern, and the explanations given when no plan exists."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nettwin.errors import NettwinError
from nettwin.model import Network
from nettwin.optimize.capacity_loads import (
    LOST_TOLERANCE_BPS,
    Candidate,
    PatternLoads,
    Resilience,
    cut_side,
    disconnected_demands,
    failed_link_ids,
    pattern_network,
)
from nettwin.optimize.capacity_milp import DEFER, Slot

Progress = Callable[[float, str], None]
TOLERANCE = 1e-9  # relative slack when checking a requirement


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
    cost_per_km: float = 0.0  # kept for a default offer: a candidate adds it at its length

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
class PlanProblem:
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


def plan_problem(network: Network, catalogue: ModuleCatalogue, candidates: Sequence[Candidate],
             threshold: float, resilience: Resilience, growth: float, years: int,
             discount_rate: float) -> PlanProblem:
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
    return PlanProblem(network, catalogue, tuple(candidates), threshold, resilience, factors,
                    discount_rate, max(caps) if caps else 1e9)


def need_bps(problem: PlanProblem, loads: PatternLoads, slot_id: str, factor: float) -> float:
    """Capacity the slot must gain (both directions get every module) in this pattern."""
    i = loads.position[slot_id]
    before = problem.capacity_before(slot_id)
    return float(max(factor * loads.worst_bps[i, d] / problem.threshold - before[d]
                     for d in (0, 1)))


def format_bps(bps: float) -> str:
    return f"{bps / 1e9:.3g} Gbit/s" if bps >= 1e8 else f"{bps / 1e6:.3g} Mbit/s"


def check_connectivity(problem: PlanProblem, loads: PatternLoads, opened: frozenset[str]
                        ) -> tuple[list[str], str, dict[str, Any]] | None:
    """The first demand the pattern cannot carry at all (never, or after a failure): the
    candidates that could reconnect it, and the explanation if none is built."""
    net = pattern_network(problem.network, problem.candidates, opened)
    failed: list[str] = []
    if loads.normal_unroutable:
        src, dst, bps = loads.normal_unroutable[0]
        lost = list(loads.normal_unroutable)
        why = (f"{len(lost)} demand(s) have no path even with nothing failed, e.g. {src} -> "
               f"{dst} ({format_bps(bps)})")
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
               f"({format_bps(sum(x[2] for x in lost))}), e.g. {src} -> {dst}")
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


def explain_capacity(problem: PlanProblem, loads: PatternLoads, factor: float, year: int,
                      slot_id: str) -> tuple[str, dict[str, Any]]:
    offer = problem.catalogue.offer(slot_id)
    need = need_bps(problem, loads, slot_id, factor)
    i = loads.position[slot_id]
    worst = factor * float(loads.worst_bps[i].max())
    when = loads.worst_failure[i] or "normal operation"
    most = (0.0 if not offer.modules else math.inf if offer.max_modules is None
            else offer.max_modules * max(m.capacity_bps for m in offer.modules))
    limit = ("no module is offered for it" if not offer.modules else
             f"at most {offer.max_modules} module(s) of up to "
             f"{format_bps(max(m.capacity_bps for m in offer.modules))} add {format_bps(most)}")
    message = (f"infeasible: link {slot_id!r} carries {format_bps(worst)} under {when}"
               f"{f' in year {year}' if len(problem.factors) > 1 else ''}; at threshold "
               f"{problem.threshold:g} it needs {format_bps(need)} more, but {limit}. Fix: "
               "offer larger modules or raise max_modules for it (modules.yaml), add a "
               "candidate link that relieves it, or raise --threshold")
    binding = {"constraint": "link capacity", "link": slot_id, "failure": when,
               "year": year, "load_bps": worst, "need_bps": need, "available_bps": most}
    return message, binding


def max_addable_bps(offer: LinkOffer) -> float:
    if not offer.modules:
        return 0.0
    if offer.max_modules is None:
        return math.inf
    return offer.max_modules * max(m.capacity_bps for m in offer.modules)


def plan_slots(problem: PlanProblem) -> list[Slot]:
    out = []
    for sid in problem.slot_ids:
        offer = problem.catalogue.offer(sid)
        position = next((k for k, c in enumerate(problem.candidates) if c.id == sid), -1)
        out.append(Slot(sid, tuple(m.capacity_bps / problem.scale for m in offer.modules),
                        tuple(m.cost for m in offer.modules), offer.max_modules, position,
                        problem.candidates[position].setup_cost if position >= 0 else 0.0))
    return out


def year_weights(problem: PlanProblem) -> np.ndarray:
    k = np.arange(len(problem.factors))
    return 1.0 / ((1 + problem.discount_rate) * (1 + DEFER)) ** k
