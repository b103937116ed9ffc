"""Traffic over time for the environments: one row of demand rates per interval.

A series is aligned with the network's demand table (column i = demand i). It comes from
arrays (``series_from_matrices``: the matrices a loader read, e.g. the SNDlib Abilene
5-minute files via ``nettwin agent`` or ``nettwin.io``), or, when none is given, from the
network's own matrix under a diurnal profile (``diurnal_series``; said so in ``source``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nettwin.engine import CompiledNetwork
from nettwin.errors import ValidationError
from nettwin.model.problems import Problem


@dataclass(frozen=True, eq=False)
class TrafficSeries:
    """Demand rates per interval: ``rate_bps[step, demand]``."""

    rate_bps: np.ndarray  # float64[steps, demands]
    interval_s: float
    steps_per_day: int
    labels: tuple[str, ...] = ()  # one per step (e.g. the file's time), optional
    source: str = "given"

    @property
    def steps(self) -> int:
        return int(self.rate_bps.shape[0])

    @property
    def days(self) -> int:
        return max(1, self.steps // self.steps_per_day)

    def scaled(self, factor: float) -> TrafficSeries:
        return TrafficSeries(self.rate_bps * factor, self.interval_s, self.steps_per_day,
                             self.labels, self.source + (f" x{factor:g}" if factor != 1 else ""))


def check_series(series: TrafficSeries, net: CompiledNetwork) -> TrafficSeries:
    """The series, after checking it fits the network (shape, finite, non-negative)."""
    r = series.rate_bps
    problems = []
    if r.ndim != 2 or r.shape[1] != net.n_demands:
        problems.append(Problem("traffic series", "needs one column per demand of the network",
                                value=f"shape {r.shape}",
                                fix=f"give rate_bps as [steps, {net.n_demands}]"))
    elif r.shape[0] < 2:
        problems.append(Problem("traffic series", "needs at least two intervals",
                                value=r.shape[0], fix="give a longer series"))
    elif not np.isfinite(r).all() or (r < 0).any():
        problems.append(Problem("traffic series", "rates must be finite and >= 0",
                                fix="clean the series"))
    if not series.interval_s > 0 or series.steps_per_day < 1:
        problems.append(Problem("traffic series", "interval_s must be > 0 and "
                                "steps_per_day >= 1", value=(series.interval_s,
                                                             series.steps_per_day)))
    if problems:
        raise ValidationError(problems)
    return series


def series_from_matrices(net: CompiledNetwork, src: Sequence[np.ndarray],
                         dst: Sequence[np.ndarray], rate_bps: Sequence[np.ndarray], *,
                         interval_s: float, labels: Sequence[str] = (),
                         source: str = "matrices") -> TrafficSeries:
    """Align traffic matrices (node positions and rates per interval) with the network's
    demands; a pair a matrix lacks is 0 in that interval, a pair the network lacks is an
    error (build the network's demand table from the union of pairs first)."""
    n = net.n_nodes
    key = net.demand_src.astype(np.int64) * n + net.demand_dst
    column = {int(k): i for i, k in enumerate(key.tolist())}
    rows = np.zeros((len(rate_bps), net.n_demands))
    missing: set[tuple[int, int]] = set()
    for step, (s, d, r) in enumerate(zip(src, dst, rate_bps, strict=True)):
        keys = np.asarray(s, np.int64) * n + np.asarray(d, np.int64)
        cols = np.array([column.get(int(k), -1) for k in keys.tolist()], np.int64)
        bad = cols < 0
        if bad.any():
            missing.update(zip(np.asarray(s)[bad].tolist(), np.asarray(d)[bad].tolist(),
                               strict=True))
        np.add.at(rows[step], cols[~bad], np.asarray(r, np.float64)[~bad])
    if missing:
        pairs = sorted(missing)[:5]
        raise ValidationError([Problem(
            "traffic series", f"{len(missing)} node pair(s) have traffic but no demand in the "
            "network", value=[f"{net.node_ids[a]}->{net.node_ids[b]}" for a, b in pairs],
            fix="give the network a demand (rate 0 is fine) for every pair of the series")])
    if not interval_s >= 1e-3 or not np.isfinite(interval_s):  # also nan
        raise ValidationError([Problem("traffic series", "interval out of range",
                                       field="interval_s", value=interval_s,
                                       fix="seconds per matrix, e.g. 300 for 5-minute data")])
    per_day = max(1, round(86_400 / interval_s))
    return check_series(TrafficSeries(rows, float(interval_s), per_day, tuple(labels),
                                      source), net)


def diurnal_series(net: CompiledNetwork, *, days: int = 7, interval_s: float = 300.0,
                   trough: float = 0.35, noise: float = 0.05, seed: int = 0) -> TrafficSeries:
    """The network's matrix as the peak of a day: a cosine over the day (lowest at 04:00,
    highest at 16:00, ``trough`` x peak at night) with lognormal noise per demand and
    interval, and a slightly different level each day. A stand-in where no measured series
    is given."""
    per_day = max(2, round(86_400 / interval_s))
    rng = np.random.default_rng(seed)
    hours = (np.arange(per_day * days) % per_day) * interval_s / 3600.0
    shape = 0.5 * (1 - np.cos(2 * np.pi * (hours - 4.0) / 24.0))
    level = trough + (1 - trough) * shape
    day_level = np.repeat(rng.uniform(0.9, 1.05, days), per_day)
    jitter = rng.lognormal(-noise**2 / 2, noise, (per_day * days, net.n_demands))
    rows = net.demand_rate_bps[None, :] * (level * day_level)[:, None] * jitter
    return TrafficSeries(rows, interval_s, per_day, (), f"diurnal x{days} days (synthetic, "
                         f"seed {seed})")
