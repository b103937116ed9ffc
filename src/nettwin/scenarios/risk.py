"""Monte Carlo risk: random failures (independent and SRLG-correlated) and traffic growth.

Each sample draws which links, nodes and SRLGs are down (each with its unavailability
1 - MTBF / (MTBF + MTTR)) and a traffic growth factor (lognormal). Failures are evaluated
exactly with the incremental engine; arc loads scale linearly with traffic, so one failure
evaluation serves any growth factor. Results are distributions with confidence intervals.
Seeded: the same seed gives the same numbers, on one core or on a cluster.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationOptions, compile_network
from nettwin.engine.failure_sets import evaluate_failure_sets
from nettwin.engine.incremental import failure_loads, prepare_baseline
from nettwin.model import Network
from nettwin.model.elements import resolve_length_km
from nettwin.scenarios.apply import link_arcs, node_arcs, srlg_arcs
from nettwin.scenarios.distributed import evaluate_sets_distributed
from nettwin.scenarios.services import check_services

HOURS_PER_YEAR = 8766.0


@dataclass(frozen=True)
class RiskModel:
    """Failure and growth assumptions. Per-link overrides come from link attributes
    ``mtbf_h`` / ``mttr_h``; the defaults are common planning figures."""

    fiber_cuts_per_1000km_year: float = 4.0  # cuts per 1,000 route-km per year
    link_mtbf_h: float = 50_000.0  # links without a length (equipment failures)
    link_mttr_h: float = 12.0
    node_mtbf_h: float = 100_000.0
    node_mttr_h: float = 4.0
    srlg_mtbf_h: float = 100_000.0  # duct/tower events, taking the whole group down
    srlg_mttr_h: float = 24.0
    growth_median: float = 1.0  # traffic multiplier: median of a lognormal
    growth_sigma: float = 0.0  # its log-standard deviation (0: fixed)
    include_nodes: bool = True

    def link_unavailability(self, length_km: float | None, attributes: dict[str, Any] | None
                            ) -> float:
        attrs = attributes or {}
        mttr = float(attrs.get("mttr_h", self.link_mttr_h))
        if "mtbf_h" in attrs:
            mtbf = float(attrs["mtbf_h"])
        elif length_km:
            cuts_per_hour = self.fiber_cuts_per_1000km_year * length_km / 1000 / HOURS_PER_YEAR
            mtbf = 1.0 / cuts_per_hour
        else:
            mtbf = self.link_mtbf_h
        return mttr / (mtbf + mttr)


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % confidence interval of a probability (Wilson score)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, eq=False)
class RiskResult:
    samples: int
    seed: int
    growth: np.ndarray
    failed_elements: np.ndarray  # per sample, how many elements were down
    max_utilisation: np.ndarray
    unserved_bps: np.ndarray
    service_ids: tuple[str, ...]
    service_violated: np.ndarray  # bool[samples, services]

    def summary(self) -> dict[str, Any]:
        """Means with 95 % intervals, percentiles, and probabilities with Wilson intervals."""
        def dist(x: np.ndarray) -> dict[str, float]:
            half = 1.96 * float(x.std(ddof=1)) / math.sqrt(x.size) if x.size > 1 else 0.0
            return {"mean": float(x.mean()), "ci95_low": float(x.mean()) - half,
                    "ci95_high": float(x.mean()) + half, "p50": float(np.percentile(x, 50)),
                    "p95": float(np.percentile(x, 95)), "p99": float(np.percentile(x, 99)),
                    "max": float(x.max())}

        over = int((self.max_utilisation > 1.0).sum())
        lost = int((self.unserved_bps > 0).sum())
        return {
            "samples": self.samples, "seed": self.seed,
            "max_utilisation": dist(self.max_utilisation),
            "unserved_bps": dist(self.unserved_bps),
            "p_overload": over / self.samples,
            "p_overload_ci95": wilson_interval(over, self.samples),
            "p_traffic_lost": lost / self.samples,
            "p_traffic_lost_ci95": wilson_interval(lost, self.samples),
            "services": {
                sid: {"p_sla_violation": float(self.service_violated[:, i].mean()),
                      "ci95": wilson_interval(int(self.service_violated[:, i].sum()),
                                              self.samples)}
                for i, sid in enumerate(self.service_ids)},
        }


def run_risk(network: Network, model: RiskModel | None = None,
             options: SimulationOptions | None = None, *, samples: int = 10_000, seed: int = 0,
             compiled: CompiledNetwork | None = None,
             progress: Callable[[int, int], None] | None = None,
             batch: int = 2_000, scheduler: str | None = None) -> RiskResult:
    """Draw ``samples`` failure/growth states and evaluate each exactly (on a Dask cluster
    when ``scheduler`` is given: same draws, same numbers)."""
    model = model or RiskModel()
    options = options or SimulationOptions()
    compiled = compiled or compile_network(network)
    base = prepare_baseline(compiled)
    rng = np.random.default_rng(seed)
    links = list(network.links.values())
    elements: list[np.ndarray] = []
    p_down: list[float] = []
    for i, link in enumerate(links):
        a, b = network.nodes[link.a], network.nodes[link.b]
        elements.append(np.array(link_arcs(i), np.int64))
        p_down.append(model.link_unavailability(resolve_length_km(link, a, b), link.attributes))
    if model.include_nodes:
        for v in range(compiled.n_nodes):
            elements.append(node_arcs(compiled, v).astype(np.int64))
            p_down.append(model.node_mttr_h / (model.node_mtbf_h + model.node_mttr_h))
    for g in sorted({g for link in links for g in link.srlgs}):
        elements.append(np.array(srlg_arcs(network, g), np.int64))
        p_down.append(model.srlg_mttr_h / (model.srlg_mtbf_h + model.srlg_mttr_h))
    p = np.array(p_down)
    down = rng.random((samples, p.size)) < p
    growth = (model.growth_median * np.exp(model.growth_sigma * rng.standard_normal(samples))
              if model.growth_sigma > 0 else np.full(samples, model.growth_median))
    sets = [np.unique(np.concatenate([elements[e] for e in np.flatnonzero(row)]))
            if row.any() else np.zeros(0, np.int64) for row in down]
    max_util = np.empty(samples)
    lost = np.empty(samples)
    base_unrouted = float(compiled.demand_rate_bps[
        _unroutable_mask(compiled, base)].sum())
    for start in range(0, samples, batch):
        chunk = sets[start:start + batch]
        out = (evaluate_failure_sets(base, chunk) if scheduler is None
               else evaluate_sets_distributed(base, chunk, scheduler))
        max_util[start:start + len(chunk)] = out.max_utilisation
        lost[start:start + len(chunk)] = out.lost_bps + base_unrouted
        if progress:
            progress(min(start + batch, samples), samples)
    max_util *= growth
    lost *= growth
    violated = np.zeros((samples, len(compiled.service_ids)), bool)
    if compiled.service_ids:
        cache: dict[bytes, np.ndarray] = {}
        for i, arcs in enumerate(sets):
            key = arcs.tobytes() + np.float64(growth[i]).tobytes()
            if key not in cache:
                load, _ = failure_loads(base, arcs) if arcs.size else (base.load_bps, 0.0)
                up = base.arc_up.copy()
                up[arcs] = False
                cache[key] = check_services(compiled, options, up, load * growth[i],
                                            base.demand_rate_bps * growth[i]).violated
            violated[i] = cache[key]
    return RiskResult(samples, seed, growth, down.sum(axis=1), max_util, lost,
                      compiled.service_ids, violated)


def _unroutable_mask(compiled: CompiledNetwork, base: Any) -> np.ndarray:
    """Demands the baseline itself cannot route (sources that do not reach the destination)."""
    from nettwin.engine.shortest_paths import UNREACHABLE

    row = np.searchsorted(compiled.destinations, compiled.demand_dst)
    return np.asarray(base.node_dist(row, compiled.demand_src) == UNREACHABLE)
