"""What the twin adds to plain forecasting: per link, the busy hour the forecast demands
load it to under normal routing and under the worst single link failure (exact incremental
sweep), and the time until that reaches capacity at the traffic's growth rate."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nettwin.engine import CompiledNetwork
from nettwin.engine.failure_sets import evaluate_failure_sets
from nettwin.engine.incremental import prepare_baseline
from nettwin.forecast.seasonal import ForecastError, fit_seasonal

Z95 = 1.96


@dataclass(frozen=True)
class LinkOutlook:
    link: str
    busy_utilisation: float  # forecast peak of the next day (upper 95 % bound), normal
    worst_failure_utilisation: float  # the same under the worst single link failure
    worst_failure: str  # which link's failure
    days_to_exhaustion: float  # at the growth rate, normal routing (inf: never)
    days_to_exhaustion_failure: float  # under the worst single failure


@dataclass(frozen=True, eq=False)
class DemandForecast:
    """Next-day forecasts per demand: [steps, demands] point and 95 % bounds."""

    point_bps: np.ndarray
    lower_bps: np.ndarray
    upper_bps: np.ndarray


def forecast_demands(rate_bps: np.ndarray, period: int, steps: int,
                     progress: Callable[[int, int], None] | None = None) -> DemandForecast:
    """Per demand (column), the next ``steps`` samples with 95 % intervals; a demand with
    too little traffic to model (under half its samples non-zero) is forecast by its
    seasonal mean. ``progress(done, total)`` hears each demand done (a model is fitted per
    demand: the long part of a forecast)."""
    n, k = rate_bps.shape
    point = np.zeros((steps, k))
    lower = np.zeros((steps, k))
    upper = np.zeros((steps, k))
    for j in range(k):
        if progress is not None:
            progress(j, k)
        y = rate_bps[:, j]
        if (y > 0).mean() < 0.5:
            days = y[:(n // period) * period].reshape(-1, period)
            prof = days.mean(axis=0)
            t = np.arange(n, n + steps) % period
            point[:, j] = lower[:, j] = prof[t]
            upper[:, j] = days.max(axis=0)[t]
            continue
        model = fit_seasonal(y, period)
        log_point, sigma = model.forecast_from(model.adjusted, n - 1, steps)
        point[:, j] = model.to_rate(log_point)
        lower[:, j] = model.to_rate(log_point - Z95 * sigma)
        upper[:, j] = model.to_rate(log_point + Z95 * sigma)
    if progress is not None:
        progress(k, k)
    return DemandForecast(point, lower, upper)


def growth_per_day(rate_bps: np.ndarray, period: int) -> float:
    """Relative growth of the total traffic per day: OLS slope of the daily mean's log."""
    total = rate_bps.sum(axis=1)
    days = total[:(total.size // period) * period].reshape(-1, period).mean(axis=1)
    if days.size < 2 or (days <= 0).any():
        raise ForecastError("growth needs at least two whole days of traffic")
    slope = float(np.polyfit(np.arange(days.size), np.log(days), 1)[0])
    return math.expm1(slope)


def days_to_exhaustion(utilisation: float, growth: float) -> float:
    if utilisation >= 1.0:
        return 0.0
    if growth <= 0 or utilisation <= 0:
        return math.inf
    return math.log(1.0 / utilisation) / math.log1p(growth)


def link_outlook(c: CompiledNetwork, busy_rate_bps: np.ndarray, growth: float
                 ) -> list[LinkOutlook]:
    """Per link, normal and worst-single-failure busy-hour utilisation and time to
    exhaustion for demands at ``busy_rate_bps``."""
    base = prepare_baseline(c, demand_rate_bps=busy_rate_bps)
    util = np.where(c.arc_up, base.load_bps / c.arc_capacity_bps, 0.0)
    sets = [np.array([2 * i, 2 * i + 1]) for i in range(len(c.link_ids))]
    out = evaluate_failure_sets(base, sets)
    worst = np.maximum(out.arc_worst_utilisation, util)
    rows = []
    for i, lid in enumerate(c.link_ids):
        a = 2 * i + int(worst[2 * i + 1] > worst[2 * i])
        n = 2 * i + int(util[2 * i + 1] > util[2 * i])
        which = int(out.arc_worst_set[a])
        rows.append(LinkOutlook(lid, float(util[n]), float(worst[a]),
                                c.link_ids[which] if which >= 0 else "",
                                days_to_exhaustion(float(util[n]), growth),
                                days_to_exhaustion(float(worst[a]), growth)))
    return rows
