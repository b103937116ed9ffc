"""The sleep schedule of a day: which links (radio carriers, modulation caps) sleep in
each interval, keeping the utilisation limit, SLAs and optionally n-1.

Sleeping a link removes it from the IGP graph (the engine recomputes shortest paths and
ECMP); sleeping a carrier or capping a modulation only lowers capacity. Per interval, in
time order:

1. Keep last interval's plan if it still holds under this interval's traffic; else wake
   sleepers (those free to change, the one that helps most first) until it holds.
2. Greedily step links down (sleep, or one radio level lower), the largest saving first
   (ties: the lowest resulting maximum utilisation), while everything holds. Every
   candidate removal is evaluated exactly with the incremental engine (one baseline, one
   sweep of all candidates); a step down must hold for the next ``min_dwell`` intervals
   (checked against their per-demand maximum: with routing fixed, loads are monotone in
   the rates), and a link changes level at most once per ``min_dwell`` intervals.

"Holds" means: no demand with traffic cut off, every awake arc at or below
``max_utilisation``, with ``sla`` every service's SLA met (delay, loss: queueing model),
and with ``survive=N1`` every single failure of an awake link cuts off no more traffic than
it would with every link awake and leaves no arc above ``wake_utilisation`` (100 %: no
congestion loss, unless that failure does worse with every link awake) while the sleepers
wake (``wake_time_s``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationOptions
from nettwin.engine.failure_sets import evaluate_failure_sets
from nettwin.engine.incremental import prepare_baseline
from nettwin.engine.shortest_paths import UNREACHABLE
from nettwin.engine.simulate import route
from nettwin.errors import ValidationError
from nettwin.model.problems import Problem
from nettwin.optimize.objective import Survive
from nettwin.optimize.power import PowerModel
from nettwin.scenarios.services import check_services

WAKE_UTILISATION = 1.0  # while sleepers wake after a failure: no arc beyond its capacity
EPS = 1e-9  # relative tolerance of the utilisation and traffic checks

Progress = Callable[[float], None]


@dataclass(frozen=True)
class EnergySettings:
    """What every interval's plan must keep."""

    max_utilisation: float = 0.8
    survive: Survive = Survive.NONE
    sla: bool = False
    wake_time_s: float = 60.0
    min_dwell: int = 3
    wake_utilisation: float = WAKE_UTILISATION

    def check(self) -> None:
        problems = []
        if not 0.0 < self.max_utilisation <= 10.0:
            problems.append(Problem("max_utilisation", "must be in (0, 10]",
                                    value=self.max_utilisation, fix="give e.g. 0.8"))
        if not self.wake_time_s >= 0.0:
            problems.append(Problem("wake_time_s", "must be >= 0", value=self.wake_time_s,
                                    fix="give the seconds a sleeping link takes to wake"))
        if self.min_dwell < 1:
            problems.append(Problem("min_dwell", "must be at least 1 interval",
                                    value=self.min_dwell, fix="give e.g. 3"))
        if problems:
            raise ValidationError(problems, "energy settings")


class SleepPlanner:
    """Feasibility of link levels under given rates, on one compiled network."""

    def __init__(self, net: CompiledNetwork, power: PowerModel, settings: EnergySettings,
                 options: SimulationOptions) -> None:
        self.net, self.power, self.s, self.options = net, power, settings, options
        self.model_up = net.arc_up[0::2] & net.arc_up[1::2]
        self.sla = settings.sla and bool(net.service_ids)
        self.dest_of = np.repeat(np.arange(net.destinations.size), np.diff(net.dest_ptr))
        self.evaluations = 0
        self._ref_key: bytes = b""
        self._ref: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))

    def arc_up(self, levels: np.ndarray) -> np.ndarray:
        awake = self.model_up & ~self.power.asleep(levels)
        return np.repeat(awake, 2)

    def compiled(self, levels: np.ndarray) -> CompiledNetwork:
        factor = self.power.level_capacity[np.arange(levels.size), levels]
        if (factor[self.model_up & ~self.power.asleep(levels)] >= 1.0).all():
            return self.net
        factor = np.where(factor > 0, factor, 1.0)  # asleep: down anyway, keep no zeros
        return dataclasses.replace(self.net,
                                   arc_capacity_bps=self.net.arc_capacity_bps
                                   * np.repeat(factor, 2))

    def cut_demands(self, dist: np.ndarray, rate: np.ndarray) -> int:
        d = self.net.dest_demand
        cut = (dist[self.dest_of, self.net.demand_src[d]] == UNREACHABLE) & (rate[d] > 0)
        return int(cut.sum())

    def holds(self, levels: np.ndarray, rate: np.ndarray) -> tuple[bool, float]:
        """Does this plan keep everything (see the module docstring)? And its MLU."""
        self.evaluations += 1
        net = self.compiled(levels)
        up = self.arc_up(levels)
        state = route(net, up, rate)
        util = np.where(up, state.load_bps / net.arc_capacity_bps, 0.0)
        mlu = float(util.max(initial=0.0))
        if self.cut_demands(state.dist, rate) or mlu > self.s.max_utilisation + EPS:
            return False, mlu
        if self.sla and check_services(net, self.options, up, state.load_bps,
                                         rate).violated.any():
            return False, mlu
        return self.survives(levels, rate), mlu

    def reference(self, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per link: traffic its failure cuts off and the MLU after it, every link awake:
        what no schedule can improve (waking cannot restore a link that failed)."""
        key = rate.tobytes()
        if self._ref_key != key:
            lost = np.zeros(self.model_up.size)
            mlu = np.zeros(self.model_up.size)
            links = np.flatnonzero(self.model_up)
            if links.size:
                base = prepare_baseline(self.net, np.repeat(self.model_up, 2), rate)
                out = evaluate_failure_sets(base, [np.array([2 * i, 2 * i + 1])
                                                   for i in links])
                lost[links], mlu[links] = out.lost_bps, out.max_utilisation
            self._ref_key, self._ref = key, (lost, mlu)
        return self._ref

    def survives(self, levels: np.ndarray, rate: np.ndarray) -> bool:
        """With n-1: every single awake-link failure cuts off no more traffic than it would
        with every link awake, and leaves no arc above ``wake_utilisation`` (or above what
        that failure does with every link awake) while the sleepers wake."""
        if self.s.survive is Survive.NONE:
            return True
        net = self.compiled(levels)
        up = self.arc_up(levels)
        links = np.flatnonzero(up[0::2])
        if links.size == 0:
            return True
        base = prepare_baseline(net, up, rate)
        out = evaluate_failure_sets(base, [np.array([2 * i, 2 * i + 1]) for i in links])
        ref_lost, ref_mlu = self.reference(rate)
        tol = EPS * max(float(rate.sum()), 1.0)
        return bool((out.lost_bps <= ref_lost[links] + tol).all()
                    and (out.max_utilisation <= np.maximum(self.s.wake_utilisation,
                                                           ref_mlu[links]) + EPS).all())

    def step_down(self, levels: np.ndarray, rate: np.ndarray, free: np.ndarray
                  ) -> np.ndarray | None:
        """The best one-link step down that holds (largest saving, then lowest MLU), or
        None. ``free``: links allowed to change now."""
        p = self.power
        last = p.n_levels - 1
        cand = np.flatnonzero(free & self.model_up & (levels < last))
        if cand.size == 0:
            return None
        net = self.compiled(levels)
        up = self.arc_up(levels)
        base = prepare_baseline(net, up, rate)
        load = base.load_bps
        self.evaluations += 1
        options: list[tuple[float, float, int, int]] = []  # (-saving, mlu, link, level)
        sleep = [int(i) for i in cand]
        out = evaluate_failure_sets(base, [np.array([2 * i, 2 * i + 1]) for i in sleep])
        total = float(rate.sum())
        for k, i in enumerate(sleep):
            if out.lost_bps[k] > EPS * max(total, 1.0):
                continue
            if out.max_utilisation[k] <= self.s.max_utilisation + EPS:
                saving = p.awake_w[i] * (p.level_power[i, levels[i]] - p.level_power[i, last[i]])
                options.append((-saving, float(out.max_utilisation[k]), i, int(last[i])))
        util = np.where(up, load / net.arc_capacity_bps, 0.0)
        for i in cand.tolist():  # one radio level lower: same routing, less capacity here
            lv = int(levels[i]) + 1
            if lv >= last[i]:
                continue
            ratio = p.level_capacity[i, levels[i]] / p.level_capacity[i, lv]
            here = float(util[2 * i:2 * i + 2].max()) * ratio
            if here <= self.s.max_utilisation + EPS:
                saving = p.awake_w[i] * (p.level_power[i, levels[i]] - p.level_power[i, lv])
                others = np.delete(util, [2 * i, 2 * i + 1]).max(initial=0.0)
                options.append((-saving, max(here, float(others)), int(i), lv))
        for neg_saving, _, i, lv in sorted(options):
            if neg_saving >= 0:
                break
            trial = levels.copy()
            trial[i] = lv
            if self.sla or self.s.survive is not Survive.NONE:
                ok, _ = self.holds(trial, rate)
                if not ok:
                    continue
            return trial
        return None

    def wake_until_holds(self, levels: np.ndarray, rate: np.ndarray, free: np.ndarray
                         ) -> tuple[np.ndarray, int, bool]:
        """Wake links (free ones first, the one that helps most each time) until the plan
        holds; returns the plan, how many locked links had to wake early, and whether it
        holds (not even with every link awake: the network itself breaks a limit)."""
        forced = 0
        ok, _ = self.holds(levels, rate)
        while not ok:
            below = np.flatnonzero(self.model_up & (levels > 0))
            if below.size == 0:
                break  # everything awake: the network itself breaks a limit here
            pool = below[free[below]]
            if pool.size == 0:
                pool = below
                forced += 1
            best: tuple[bool, float, int] | None = None
            for i in pool:
                trial = levels.copy()
                trial[i] = 0
                t_ok, t_mlu = self.holds(trial, rate)
                key = (not t_ok, t_mlu, int(i))
                if best is None or key < (not best[0], best[1], best[2]):
                    best = (t_ok, t_mlu, int(i))
            assert best is not None
            levels = levels.copy()
            levels[best[2]] = 0
            ok = best[0]
        return levels, forced, ok


@dataclass(frozen=True, eq=False)
class Schedule:
    """Per interval and link: the level (0 awake ... n_levels-1 asleep)."""

    levels: np.ndarray  # int64[intervals, links]
    dwell_breaks: int  # locked links woken early (the plan could not hold otherwise)
    evaluations: int
    unholdable: np.ndarray  # bool[intervals]: not even every link awake holds there


def plan_schedule(net: CompiledNetwork, power: PowerModel, rate_bps: np.ndarray,
                  settings: EnergySettings, options: SimulationOptions | None = None,
                  progress: Progress | None = None) -> Schedule:
    """The sleep schedule of a day (see the module docstring)."""
    planner = SleepPlanner(net, power, settings, options or SimulationOptions())
    steps, n_links = rate_bps.shape[0], len(net.link_ids)
    dwell = settings.min_dwell
    levels = np.zeros(n_links, np.int64)
    changed = np.full(n_links, -(10**9), np.int64)
    plan = np.zeros((steps, n_links), np.int64)
    forced_total = 0
    unholdable = np.zeros(steps, bool)
    for t in range(steps):
        free = t - changed >= dwell
        before = levels
        levels, forced, holds = planner.wake_until_holds(levels, rate_bps[t], free)
        forced_total += forced
        unholdable[t] = not holds
        window = rate_bps[t:t + dwell].max(axis=0)
        changed[levels != before] = t
        free = t - changed >= dwell
        while True:
            nxt = planner.step_down(levels, window, free)
            if nxt is None:
                break
            changed[nxt != levels] = t  # may step further down in this interval
            levels = nxt
        plan[t] = levels
        if progress is not None:
            progress((t + 1) / steps)
    return Schedule(plan, forced_total, planner.evaluations, unholdable)
