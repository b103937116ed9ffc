"""Failure sweeps: every link, node, SRLG (and pairs), evaluated exactly and incrementally.

Reports what capacity planners ask for: per arc the worst-case utilisation over all failures
and the failure causing it; per element a criticality ranking (traffic lost, SLAs broken,
max utilisation); per service the failures that break its SLA.
"""

from __future__ import annotations

import enum
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationOptions, compile_network
from nettwin.engine.failure_sets import SetOutcome, evaluate_failure_sets
from nettwin.engine.incremental import Baseline, failure_loads, prepare_baseline
from nettwin.model import Network
from nettwin.scenarios.apply import link_arcs, node_arcs, srlg_arcs
from nettwin.scenarios.distributed import evaluate_sets_distributed, merge_outcomes
from nettwin.scenarios.services import check_services

Progress = Callable[[int, int], None]


class ElementKind(enum.Enum):
    """What a failure takes down."""

    LINK = "link"
    NODE = "node"
    SRLG = "srlg"
    LINK_PAIR = "link-pair"


@dataclass(frozen=True)
class Failure:
    """One failure of a sweep: what failed, by id, and the arcs that go down."""

    kind: ElementKind
    ids: tuple[str, ...]
    arcs: np.ndarray = field(compare=False)

    @property
    def label(self) -> str:
        return f"{self.kind.value} {' + '.join(self.ids)}"


def link_failures(network: Network) -> list[Failure]:
    return [Failure(ElementKind.LINK, (lid,), np.array(link_arcs(i), np.int64))
            for i, lid in enumerate(network.links)]


def node_failures(network: Network, compiled: CompiledNetwork) -> list[Failure]:
    return [Failure(ElementKind.NODE, (nid,), node_arcs(compiled, i).astype(np.int64))
            for i, nid in enumerate(network.node_ids)]


def srlg_failures(network: Network) -> list[Failure]:
    groups = sorted({g for link in network.links.values() for g in link.srlgs})
    return [Failure(ElementKind.SRLG, (g,), np.array(srlg_arcs(network, g), np.int64))
            for g in groups]


@dataclass(frozen=True)
class PairPlan:
    """Which link pairs an N-2 sweep evaluates, and how many it leaves out."""

    pairs: list[tuple[int, int]]
    total: int
    skipped: int
    rule: str


def plan_link_pairs(n_links: int, ranking: Sequence[int] | None, max_pairs: int) -> PairPlan:
    """All pairs when they fit in ``max_pairs``; otherwise all pairs among the most critical
    links (by ``ranking``, most critical first) that fit, reporting the rest as skipped."""
    total = n_links * (n_links - 1) // 2
    if total <= max_pairs or ranking is None:
        pairs = list(itertools.combinations(range(n_links), 2))[:max_pairs]
        return PairPlan(pairs, total, total - len(pairs),
                        "all pairs" if total <= max_pairs else f"first {max_pairs} pairs")
    k = 2
    while (k + 1) * k // 2 <= max_pairs and k < n_links:
        k += 1
    top = sorted(ranking[:k])
    pairs = list(itertools.combinations(top, 2))
    return PairPlan(pairs, total, total - len(pairs),
                    f"pairs among the {k} most critical links of the single-failure sweep")


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Outcome of every failure, plus worst cases and rankings derived from them."""

    network: Network
    compiled: CompiledNetwork
    baseline: Baseline
    failures: list[Failure]
    outcome: SetOutcome
    service_violations: np.ndarray  # bool[failures, services]
    pair_plan: PairPlan | None = None

    def criticality(self) -> np.ndarray:
        """Failure indices, most damaging first: traffic lost, SLAs broken, max utilisation."""
        o = self.outcome
        broken = self.service_violations.sum(axis=1)
        return np.lexsort((-o.max_utilisation, -broken, -o.lost_bps))

    def failures_breaking(self, service: str) -> list[Failure]:
        i = self.compiled.service_ids.index(service)
        return [f for f, bad in zip(self.failures, self.service_violations[:, i], strict=True)
                if bad]

    def worst_case_rows(self) -> list[dict[str, Any]]:
        """Per arc: baseline and worst-case utilisation, and the failure that causes it."""
        c, o, base = self.compiled, self.outcome, self.baseline
        rows = []
        for a in range(c.n_arcs):
            k = int(o.arc_worst_set[a])
            rows.append({
                "arc": c.arc_label(a),
                "capacity_bps": float(c.arc_capacity_bps[a]),
                "baseline_utilisation": float(base.load_bps[a] / c.arc_capacity_bps[a]),
                "worst_utilisation": float(o.arc_worst_utilisation[a]),
                "worst_failure": self.failures[k].label if k >= 0 else None,
            })
        return rows

    def failure_rows(self) -> list[dict[str, Any]]:
        """Per failure, most critical first."""
        c, o = self.compiled, self.outcome
        rows = []
        for rank, i in enumerate(self.criticality().tolist(), start=1):
            f = self.failures[i]
            arc = int(o.max_utilisation_arc[i])
            rows.append({
                "rank": rank, "kind": f.kind.value, "failure": " + ".join(f.ids),
                "lost_bps": float(o.lost_bps[i]),
                "max_utilisation": float(o.max_utilisation[i]),
                "max_utilisation_arc": c.arc_label(arc) if arc >= 0 else None,
                "overloaded_arcs": int(o.overloaded_arcs[i]),
                "services_broken": [c.service_ids[s] for s in
                                    np.flatnonzero(self.service_violations[i])],
            })
        return rows


CHUNK_S = 0.2  # a sweep reports progress (and can be cancelled) about this often
MAX_BATCH = 2000


def evaluate(baseline: Baseline, failures: list[Failure], options: SimulationOptions,
             *, progress: Progress | None = None, batch: int | None = None,
             scheduler: str | None = None) -> tuple[SetOutcome, np.ndarray]:
    """Evaluate failures in batches (progress after each); check services where there are.

    Without ``batch``, batches are sized to take about ``CHUNK_S`` each (starting small,
    at most doubling), so progress, and a cancel raised from it, come promptly even on a
    network where one failure takes seconds; memory stays bounded by the batch."""
    sets = [f.arcs for f in failures]
    if scheduler is not None:
        outcome = evaluate_sets_distributed(baseline, sets, scheduler)
        if progress:
            progress(len(sets), len(sets))
    else:
        parts = []
        start, size = 0, batch or 8
        while start < len(sets):
            began = time.perf_counter()
            parts.append(evaluate_failure_sets(baseline, sets[start:start + size]))
            start += size
            if progress:
                progress(min(start, len(sets)), len(sets))
            if batch is None:
                took = max(time.perf_counter() - began, 1e-6)
                size = max(1, min(2 * size, MAX_BATCH, int(size * CHUNK_S / took)))
        outcome = merge_outcomes(parts, baseline)
    c = baseline.net
    violations = np.zeros((len(failures), len(c.service_ids)), bool)
    if c.service_ids:
        for i, f in enumerate(failures):
            if progress and i % 16 == 15:  # a chance to cancel during the service checks
                progress(len(sets), len(sets))
            load, _ = failure_loads(baseline, f.arcs)
            up = baseline.arc_up.copy()
            up[f.arcs] = False
            violations[i] = check_services(c, options, up, load,
                                           baseline.demand_rate_bps).violated
    return outcome, violations


def run_sweep(network: Network, options: SimulationOptions | None = None, *,
              links: bool = True, nodes: bool = False, srlgs: bool = False,
              link_pairs: bool = False, max_pairs: int = 20_000,
              compiled: CompiledNetwork | None = None, progress: Progress | None = None,
              scheduler: str | None = None, baseline: Baseline | None = None) -> SweepResult:
    """Fail every chosen element one at a time (and link pairs if asked), exactly.
    ``baseline``: the incremental engine's state of ``compiled`` when one is kept already."""
    options = options or SimulationOptions()
    compiled = compiled or compile_network(network)
    baseline = baseline if baseline is not None and baseline.net is compiled else \
        prepare_baseline(compiled)
    parts: list[tuple[list[Failure], SetOutcome, np.ndarray]] = []

    def run(failures: list[Failure]) -> tuple[list[Failure], SetOutcome, np.ndarray]:
        outcome, violations = evaluate(baseline, failures, options, progress=progress,
                                       scheduler=scheduler)
        return failures, outcome, violations

    singles = run(link_failures(network)) if links or link_pairs else None
    if links and singles is not None:
        parts.append(singles)
    others = (node_failures(network, compiled) if nodes else []) + (
        srlg_failures(network) if srlgs else [])
    if others:
        parts.append(run(others))
    plan = None
    if link_pairs and singles is not None:
        ranking = SweepResult(network, compiled, baseline, *singles).criticality().tolist()
        plan = plan_link_pairs(len(network.links), ranking, max_pairs)
        single_links = singles[0]
        parts.append(run([
            Failure(ElementKind.LINK_PAIR, (single_links[i].ids[0], single_links[j].ids[0]),
                    np.concatenate([single_links[i].arcs, single_links[j].arcs]))
            for i, j in plan.pairs]))
    failures = [f for part in parts for f in part[0]]
    outcome = merge_outcomes([part[1] for part in parts], baseline)
    violations = (np.vstack([part[2] for part in parts]) if parts
                  else np.zeros((0, len(compiled.service_ids)), bool))
    return SweepResult(network, compiled, baseline, failures, outcome, violations, plan)
