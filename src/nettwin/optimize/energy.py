"""Energy saving under SLA: the sleep schedule of a measured day
(:mod:`nettwin.optimize.sleep`), then the whole day replayed through the engine.

The replay (:func:`replay_schedule`) is independent of the search: a full ``simulate``
per interval with the sleepers removed, and with n-1 a sweep of every single failure
(before the sleepers wake, and after: ``worst_failure_mlu_woken``). Energy: each link's
awake watts (:mod:`nettwin.optimize.power`) times the time at each level; a link woken at
an interval boundary draws full power ``wake_time_s`` earlier.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationOptions, compile_network, simulate
from nettwin.engine.failure_sets import evaluate_failure_sets
from nettwin.engine.incremental import prepare_baseline
from nettwin.errors import ValidationError
from nettwin.model import Network
from nettwin.model.problems import Problem
from nettwin.optimize.objective import Survive
from nettwin.optimize.power import PowerModel, build_power_model
from nettwin.optimize.sleep import (
    EPS,
    EnergySettings,
    Progress,
    Schedule,
    SleepPlanner,
    plan_schedule,
)
from nettwin.optimize.tolerance import ARITHMETIC_TOL, clean_figure
from nettwin.optimize.weights import kernel_threads


@dataclass(frozen=True, eq=False)
class Replay:
    """The day replayed through the engine with the schedule (arrays over intervals)."""

    mlu: np.ndarray
    mlu_all_awake: np.ndarray
    sla_violations: np.ndarray  # int: services broken (with sla) + demands cut off
    over_limit_arcs: np.ndarray  # int: awake arcs above max_utilisation
    power_w: np.ndarray  # mean power per interval (wake-up energy included)
    power_all_awake_w: float
    worst_failure_mlu: np.ndarray  # n-1, sleepers still asleep (nan without n-1)
    worst_failure: tuple[str, ...]  # the link of that failure ('' without n-1)
    cut_failures: np.ndarray  # int: single failures that cut more before waking than awake
    worst_failure_mlu_woken: np.ndarray  # n-1 after waking every sleeper


def replay_schedule(net: CompiledNetwork, power: PowerModel, levels: np.ndarray,
                    rate_bps: np.ndarray, *, interval_s: float, settings: EnergySettings,
                    options: SimulationOptions | None = None,
                    progress: Progress | None = None) -> Replay:
    """Every interval through ``simulate`` with the schedule; energy per interval."""
    options = options or SimulationOptions()
    planner = SleepPlanner(net, power, settings, options)
    steps = levels.shape[0]
    n1 = settings.survive is Survive.N1
    mlu, mlu_all = np.zeros(steps), np.zeros(steps)
    sla, over, cut = (np.zeros(steps, np.int64) for _ in range(3))
    worst, worst_woken = np.full(steps, np.nan), np.full(steps, np.nan)
    worst_link = [""] * steps
    watts = np.zeros(steps)
    wake_share = min(1.0, settings.wake_time_s / interval_s)
    all_awake = np.zeros(levels.shape[1], np.int64)
    for t in range(steps):
        lv, rate = levels[t], rate_bps[t]
        cnet, up = planner.compiled(lv), planner.arc_up(lv)
        res = simulate(cnet, options, arc_up=up, demand_rate_bps=rate)
        util = np.where(up, res.arc_utilisation, 0.0)
        mlu[t] = util.max(initial=0.0)
        over[t] = int((util > settings.max_utilisation + EPS).sum())
        sla[t] = int((~res.demand_routed & (rate > 0)).sum())
        if settings.sla:
            sla[t] += int(res.services.violated.sum())
        full = simulate(net, options, demand_rate_bps=rate)
        mlu_all[t] = np.where(net.arc_up, full.arc_utilisation, 0.0).max(initial=0.0)
        watts[t] = planner.power.power_w(lv)[planner.model_up].sum()
        if t > 0:  # links woken at this boundary drew full power wake_time_s earlier
            woke = planner.power.asleep(levels[t - 1]) & ~planner.power.asleep(lv)
            watts[t] += wake_share * float(
                (planner.power.awake_w * (1.0 - planner.power.sleep_fraction))[woke].sum())
        if n1:
            links = np.flatnonzero(up[0::2])
            if links.size:
                base = prepare_baseline(cnet, up, rate)
                out = evaluate_failure_sets(base, [np.array([2 * i, 2 * i + 1])
                                                   for i in links])
                k = int(np.argmax(out.max_utilisation))
                worst[t] = out.max_utilisation[k]
                worst_link[t] = net.link_ids[links[k]]
                ref_lost, _ = planner.reference(rate)
                tol = EPS * max(float(rate.sum()), 1.0)
                cut[t] = int((out.lost_bps > ref_lost[links] + tol).sum())
            worst_woken[t] = planner.reference(rate)[1].max(initial=0.0)
        if progress is not None:
            progress((t + 1) / steps)
    total = float(planner.power.power_w(all_awake)[planner.model_up].sum())
    return Replay(mlu, mlu_all, sla, over, watts, total, worst, tuple(worst_link), cut,
                  worst_woken)


@dataclass(frozen=True, eq=False)
class EnergyResult:
    """A day's sleep schedule and its replay."""

    network: str
    link_ids: tuple[str, ...]
    labels: tuple[str, ...]
    interval_s: float
    settings: EnergySettings
    power: PowerModel
    schedule: Schedule
    replay: Replay
    seconds: dict[str, float]
    bound: dict[str, Any] | None = None

    @property
    def kwh_all_awake(self) -> float:
        steps = self.schedule.levels.shape[0]
        return float(self.replay.power_all_awake_w * steps * self.interval_s / 3.6e6)

    @property
    def kwh_schedule(self) -> float:
        return float(self.replay.power_w.sum()) * self.interval_s / 3.6e6

    @property
    def energy_saved_fraction(self) -> float:
        total = self.kwh_all_awake
        return 1.0 - self.kwh_schedule / total if total > 0 else 0.0

    def asleep(self, t: int) -> list[str]:
        mask = self.power.asleep(self.schedule.levels[t])
        return [self.link_ids[i] for i in np.flatnonzero(mask)]

    def reduced(self, t: int) -> dict[str, str]:
        lv = self.schedule.levels[t]
        part = (lv > 0) & ~self.power.asleep(lv)
        return {self.link_ids[i]: self.power.level_names[i][lv[i]] for i in np.flatnonzero(part)}

    def to_document(self) -> dict[str, Any]:
        """JSON-ready: headline figures, the power model, and every interval."""
        r, s = self.replay, self.settings
        n1 = s.survive is Survive.N1
        intervals = []
        for t in range(self.schedule.levels.shape[0]):
            row: dict[str, Any] = {
                "t": t, "label": self.labels[t] if t < len(self.labels) else str(t),
                "asleep": self.asleep(t), "reduced": self.reduced(t),
                "mlu": float(r.mlu[t]), "mlu_all_awake": float(r.mlu_all_awake[t]),
                "power_w": float(r.power_w[t]), "sla_violations": int(r.sla_violations[t]),
                "broken_all_awake": bool(self.schedule.unholdable[t]),
                "over_limit_arcs": int(r.over_limit_arcs[t])}
            if n1:
                row.update(worst_failure_mlu=float(r.worst_failure_mlu[t]),
                           worst_failure=r.worst_failure[t],
                           cut_failures=int(r.cut_failures[t]),
                           worst_failure_mlu_woken=float(r.worst_failure_mlu_woken[t]))
            intervals.append(row)
        asleep_counts = self.power.asleep(self.schedule.levels).sum(axis=1)
        doc: dict[str, Any] = {
            "network": self.network, "steps": len(intervals), "interval_s": self.interval_s,
            "max_utilisation": s.max_utilisation, "survive": s.survive.value, "sla": s.sla,
            "wake_time_s": s.wake_time_s, "min_dwell": s.min_dwell,
            "energy_saved_fraction": self.energy_saved_fraction,
            "kwh_saved": clean_figure(self.kwh_all_awake - self.kwh_schedule,
                                      self.kwh_all_awake, tol=ARITHMETIC_TOL),
            "kwh_all_awake": self.kwh_all_awake, "kwh_schedule": self.kwh_schedule,
            "power_all_awake_w": r.power_all_awake_w,
            "sla_violations": int(r.sla_violations.sum()),
            "over_limit_arcs": int(r.over_limit_arcs.sum()),
            "mlu_max": float(r.mlu.max(initial=0.0)),
            "mlu_all_awake_max": float(r.mlu_all_awake.max(initial=0.0)),
            "asleep_mean": float(asleep_counts.mean()) if asleep_counts.size else 0.0,
            "asleep_max": int(asleep_counts.max(initial=0)),
            "dwell_breaks": self.schedule.dwell_breaks,
            # intervals where even every link awake breaks a limit: the network's, not the plan's
            "intervals_broken_all_awake": [int(t) for t in
                                           np.flatnonzero(self.schedule.unholdable)],
            "evaluations": self.schedule.evaluations,
            "links": [{"link": lid, "awake_w": float(self.power.awake_w[i]),
                       "source": self.power.sources[i],
                       "levels": list(self.power.level_names[i])}
                      for i, lid in enumerate(self.link_ids)],
            "intervals": intervals, "seconds": self.seconds,
        }
        if n1:
            doc["worst_failure_mlu"] = float(np.nanmax(r.worst_failure_mlu, initial=0.0))
            doc["worst_failure_mlu_woken"] = float(np.nanmax(r.worst_failure_mlu_woken,
                                                             initial=0.0))
            doc["cut_failures"] = int(r.cut_failures.sum())
        if self.bound is not None:
            doc["bound"] = self.bound
        return doc


def check_rates(net: CompiledNetwork, rate_bps: np.ndarray) -> np.ndarray:
    """The series as float64[intervals, demands], or a clear error."""
    rate = np.asarray(rate_bps, dtype=np.float64)
    if rate.ndim != 2 or rate.shape[1] != net.n_demands or rate.shape[0] < 1:
        raise ValidationError([Problem(
            "traffic series", "needs one row per interval and one column per demand of the "
            "network", value=f"shape {rate.shape}",
            fix=f"give rate_bps as [intervals, {net.n_demands}] (nettwin.io.traffic_series "
                "reads a folder of matrices)")])
    if not np.isfinite(rate).all() or (rate < 0).any():
        raise ValidationError([Problem("traffic series", "rates must be finite and >= 0",
                                       fix="clean the series")])
    return rate


def optimize_energy(network: Network, rate_bps: np.ndarray, *, interval_s: float = 300.0,
                    labels: Sequence[str] = (), max_utilisation: float = 0.8,
                    survive: Survive | str = Survive.NONE, sla: bool = False,
                    wake_time_s: float = 60.0, min_dwell: int = 3,
                    sleep_fraction: float = 0.0, radio_levels: bool = True,
                    bound: bool = False, bound_time_limit_s: float = 2.0,
                    options: SimulationOptions | None = None,
                    progress: Progress | None = None,
                    compiled: CompiledNetwork | None = None,
                    threads: int | None = None) -> EnergyResult:
    """Plan which links sleep in each interval of ``rate_bps`` (float[intervals, demands],
    aligned with the network's demand table) and replay the day with the plan.

    ``threads``: kernel threads (default: 1 on small networks, else all).
    ``bound`` adds, per interval, the MILP bound of any routing (no IGP, no dwell, no n-1):
    the saving no schedule can beat (:mod:`nettwin.optimize.energy_bound`).
    """
    settings = EnergySettings(max_utilisation, Survive(survive), sla, wake_time_s, min_dwell)
    settings.check()
    if not interval_s > 0:
        raise ValidationError([Problem("interval_s", "must be > 0", value=interval_s,
                                       fix="give the spacing of the matrices in seconds")])
    net = compiled or compile_network(network)
    rate = check_rates(net, rate_bps)
    try:
        power = build_power_model(network, sleep_fraction=sleep_fraction,
                                  radio_levels=radio_levels)
    except ValueError as exc:
        raise ValidationError([Problem("sleep_fraction", str(exc), value=sleep_fraction,
                                       fix="give a fraction in [0, 1)")]) from None
    share = (0.0, 0.7, 1.0) if bound else (0.0, 0.85, 1.0)

    def part(i: int) -> Progress | None:
        if progress is None:
            return None
        lo, hi = share[i], share[i + 1]
        return lambda f: progress(lo + (hi - lo) * f)

    with kernel_threads(net, threads):
        t0 = time.perf_counter()
        schedule = plan_schedule(net, power, rate, settings, options, part(0))
        t1 = time.perf_counter()
        replay = replay_schedule(net, power, schedule.levels, rate, interval_s=interval_s,
                                 settings=settings, options=options,
                                 progress=part(1) if not bound else None)
        t2 = time.perf_counter()
    bound_doc = None
    if bound:
        from nettwin.optimize.energy_bound import saving_bound

        bound_doc = saving_bound(net, power, rate, max_utilisation=max_utilisation,
                                 time_limit_s=bound_time_limit_s,
                                 block=max(1, round(3600 / interval_s)), progress=part(1))
    t3 = time.perf_counter()
    return EnergyResult(network.name, net.link_ids, tuple(labels), float(interval_s),
                        settings, power, schedule, replay,
                        {"plan": t1 - t0, "replay": t2 - t1, "bound": t3 - t2}, bound_doc)

