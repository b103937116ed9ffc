"""What the weight search minimises, scored for many candidate metric settings at once.

Every score is a lexicographic key (primary, secondary): smaller is better.

* MLU: the maximum link utilisation, then a soft maximum (sum of (u / u0)^16) so that
  relieving one of several equally hot arcs counts as progress.
* DELAY: the traffic-weighted mean delay from the queueing model (exactly
  sum(load x arc delay) / routed traffic: a demand's mean delay is the ECMP-split average of
  its arcs' delays), then MLU.
* SLA: services whose SLA breaks, then MLU.
* Robust (``--survive n-1``): the worst MLU over all single-link failures (the engine's
  incremental sweep), then the intact MLU.
"""

from __future__ import annotations

import dataclasses
import enum

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationOptions
from nettwin.engine.failure_sets import evaluate_failure_sets
from nettwin.engine.incremental import prepare_baseline
from nettwin.engine.simulate import queue_arcs, queue_bursty_arcs, queues_bursts
from nettwin.scenarios.services import check_services

SOFT_POWER = 16


class Objective(enum.Enum):
    """What to minimise."""

    MLU = "mlu"
    DELAY = "delay"
    SLA = "sla"


class Survive(enum.Enum):
    """Which failures the weights must survive."""

    NONE = "none"
    N1 = "n-1"


@dataclasses.dataclass(frozen=True)
class Score:
    """Per candidate (arrays over candidates)."""

    primary: np.ndarray
    secondary: np.ndarray
    mlu: np.ndarray  # intact maximum link utilisation
    worst_mlu: np.ndarray  # worst single-failure MLU (= mlu without --survive)
    worst_failure: np.ndarray  # link index of the worst failure, -1 without --survive
    worst_arc: np.ndarray  # the hottest arc in the worst failure, -1 without --survive


def utilisation(net: CompiledNetwork, arc_up: np.ndarray, loads: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(arc_up & (net.arc_capacity_bps > 0), loads / net.arc_capacity_bps, 0.0)
    return np.asarray(util)


def mean_delay_s(net: CompiledNetwork, options: SimulationOptions, loads: np.ndarray,
                 routed_bps: float) -> np.ndarray:
    """Traffic-weighted mean delay for each row of arc loads."""
    _, delay = queue_arcs(net, options, loads)
    total = (loads * delay).sum(axis=-1)
    return np.asarray(total / routed_bps if routed_bps > 0 else total * 0.0)


def better(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """a strictly better than b (relative tolerance 1e-12 on the primary)."""
    tol = 1e-12 * max(1.0, abs(b[0]))
    if a[0] < b[0] - tol:
        return True
    return abs(a[0] - b[0]) <= tol and a[1] < b[1] - 1e-12 * max(1.0, abs(b[1]))


class Scorer:
    """Scores candidate metric settings for one objective."""

    def __init__(self, net: CompiledNetwork, arc_up: np.ndarray, rate: np.ndarray,
                 objective: Objective, survive: Survive, options: SimulationOptions,
                 reference_mlu: float) -> None:
        self.net = net
        self.arc_up = arc_up
        self.rate = rate
        self.objective = objective
        self.survive = survive
        self.options = options
        self.ref = reference_mlu if reference_mlu > 0 else 1.0
        self.failures = [np.array([2 * i, 2 * i + 1], np.int64)
                         for i in range(net.n_arcs // 2) if arc_up[2 * i] or arc_up[2 * i + 1]]
        self.failure_links = np.array([i for i in range(net.n_arcs // 2)
                                       if arc_up[2 * i] or arc_up[2 * i + 1]], np.int64)
        self.routed_bps = float(rate.sum())
        self.failure_evaluations = 0

    def score(self, loads: np.ndarray, metrics: list[np.ndarray]) -> Score:
        """Scores of candidates given their intact arc loads (rows) and metric arrays."""
        util = utilisation(self.net, self.arc_up, loads)
        mlu = util.max(axis=1, initial=0.0)
        soft = ((util / self.ref) ** SOFT_POWER).sum(axis=1)
        none = np.full(mlu.shape, -1, np.int64)
        if self.survive is Survive.N1:
            worst, where, arc, soft_worst = self.worst_failures(metrics)
            return Score(worst, mlu + 1e-6 * soft_worst, mlu, worst, where, arc)
        if self.objective is Objective.MLU:
            return Score(mlu, soft, mlu, mlu, none, none)
        if self.objective is Objective.DELAY:
            return Score(self.mean_delays(loads, metrics), mlu, mlu, mlu, none, none)
        broken = np.array([self.sla_violations(metric, load)
                           for metric, load in zip(metrics, loads, strict=True)], np.float64)
        return Score(broken, mlu, mlu, mlu, none, none)

    def mean_delays(self, loads: np.ndarray, metrics: list[np.ndarray]) -> np.ndarray:
        """The traffic-weighted mean delay of each candidate. Where demands carry bursty
        arrival processes (and the options queue them so) their links are queued as
        ``simulate`` queues them, the bursts routed by each candidate's metrics (three
        routings of the bursty demands' destinations per candidate)."""
        if not queues_bursts(self.net, self.options):
            return mean_delay_s(self.net, self.options, loads, self.routed_bps)
        out = np.zeros(len(metrics))
        for i, (metric, load) in enumerate(zip(metrics, loads, strict=True)):
            net = dataclasses.replace(self.net, arc_metric=metric)
            q, delay = queue_arcs(net, self.options, load)
            _, delay = queue_bursty_arcs(net, self.options, self.arc_up, self.rate, q, delay)
            out[i] = (load * delay).sum() / self.routed_bps if self.routed_bps > 0 else 0.0
        return out

    def sla_violations(self, metric: np.ndarray, load: np.ndarray) -> int:
        net = dataclasses.replace(self.net, arc_metric=metric)
        return int(check_services(net, self.options, self.arc_up, load,
                                  self.rate).violated.sum())

    def worst_failures(self, metrics: list[np.ndarray]
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per metric setting: the worst single-link-failure MLU, that link, the hottest arc
        then, a soft maximum over failures. Evaluated with the engine's incremental sweep."""
        worst = np.zeros(len(metrics))
        where = np.full(len(metrics), -1, np.int64)
        arc = np.full(len(metrics), -1, np.int64)
        soft = np.zeros(len(metrics))
        for i, metric in enumerate(metrics):
            base = prepare_baseline(dataclasses.replace(self.net, arc_metric=metric),
                                    self.arc_up, self.rate)
            out = evaluate_failure_sets(base, self.failures)
            self.failure_evaluations += len(self.failures)
            if out.max_utilisation.size:
                k = int(np.argmax(out.max_utilisation))
                worst[i] = out.max_utilisation[k]
                where[i] = self.failure_links[k]
                arc[i] = out.max_utilisation_arc[k]
                soft[i] = ((out.max_utilisation / self.ref) ** SOFT_POWER).sum()
        return worst, where, arc, soft
