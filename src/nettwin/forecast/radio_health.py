"""Radio predictive maintenance from received-level (RSL) history: tell rain fades from
degradation, and warn before a degradation eats the fade margin.

- **Rain** fades are transient and shared: a cell crossing the area fades nearby links at
  the same time, each by its own frequency's ITU-R P.838 specific attenuation (k R^alpha per
  km). A fade counts as rain when a neighbouring link (midpoints within ``neighbour_km``)
  fades by 1 dB or more at the same time; its evidence gives the rain rate each faded link
  implies (P.838 inverted over its path), which agree for one cell.
- **Degradation** is one link's clear-sky level going down while its neighbours' stays: a
  **misalignment** is a step (a two-level fit beats a line), a **slow decline** a trend
  (water in the waveguide, a corroding connector). Both are judged on the samples left when
  rain-like periods (any neighbour fading) are masked, over a trailing window, re-checked
  every ``check_s``: the first check that finds one is when the warning is given.
- **Warning**: the time the decline, extrapolated, reaches the fade margin (the clear-sky
  level above the threshold of the top modulation: beyond it the link loses capacity in
  clear sky). A step beyond the margin is exhausted at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from nettwin.radio.budget import RadioArrays

SECONDS_PER_DAY = 86400.0


class HealthKind(StrEnum):
    RAIN_FADE = "rain_fade"
    MISALIGNMENT = "misalignment"
    SLOW_DECLINE = "slow_decline"


@dataclass(frozen=True)
class HealthConfig:
    fade_db: float = 3.0  # a rain fade worth reporting
    neighbour_km: float = 15.0
    neighbour_fade_db: float = 2.0  # a neighbour this far down at the same time: rain
    window_s: float = 2 * SECONDS_PER_DAY  # trailing window of the trend and step fits
    check_s: float = 2 * 3600.0
    min_step_db: float = 2.0
    min_rate_db_per_day: float = 0.2
    min_decline_db: float = 1.0  # over the window
    step_hold_s: float = 2 * 3600.0  # a step must hold this long (rain does not)
    significance: float = 6.0  # t-statistic of the step or slope
    block_s: float = 3 * 3600.0  # fits run on each block's 80th percentile (rain dips out)


@dataclass(frozen=True)
class HealthAlarm:
    link: str
    kind: HealthKind
    start: float  # when it began (epoch s; a trend: where the line leaves clear sky)
    detected_at: float  # when the check found it (the warning)
    eta_exhausted: float = math.inf  # when the fade margin is gone (epoch s)
    rate_db_per_day: float = 0.0
    step_db: float = 0.0
    evidence: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"link": self.link, "kind": self.kind.value, "start": self.start,
                "detected_at": self.detected_at,
                "eta_exhausted": None if math.isinf(self.eta_exhausted) else self.eta_exhausted,
                "rate_db_per_day": self.rate_db_per_day, "step_db": self.step_db,
                "evidence": list(self.evidence)}


def implied_rain_rate(fade_db: np.ndarray | float, k: np.ndarray | float,
                      alpha: np.ndarray | float, d_km: np.ndarray | float) -> np.ndarray:
    """The uniform rain rate (mm/h) over the path that gives the fade (P.838 inverted)."""
    gamma = np.maximum(np.asarray(fade_db, np.float64), 0.0) / (np.asarray(k) * np.asarray(d_km))
    return np.asarray(gamma ** (1.0 / np.asarray(alpha)))


class RadioHealth:
    """Rain versus degradation on one network's radio links."""

    def __init__(self, radio: RadioArrays, config: HealthConfig | None = None) -> None:
        self.radio = radio
        self.config = config or HealthConfig()
        lat = (radio.a_lat + radio.b_lat) / 2
        lon = (radio.a_lon + radio.b_lon) / 2
        dy = (lat[:, None] - lat[None, :]) * 111.2
        dx = (lon[:, None] - lon[None, :]) * 111.2 * np.cos(np.radians(lat.mean()))
        dist = np.hypot(dx, dy)
        self.neighbours = (dist <= self.config.neighbour_km) & ~np.eye(radio.n, dtype=bool)

    def assess(self, times: np.ndarray, rsl_dbm: np.ndarray,
               clear_sky_dbm: np.ndarray | None = None, margin_db: np.ndarray | None = None
               ) -> list[HealthAlarm]:
        """Rain fades and degradations in the history, each with its warning time."""
        cfg = self.config
        rsl = _fill(np.asarray(rsl_dbm, np.float64))
        day0 = times < times[0] + SECONDS_PER_DAY
        ref = clear_sky_dbm if clear_sky_dbm is not None else \
            np.nanpercentile(rsl[day0], 90, axis=0)
        fade = ref[None, :] - rsl
        # rain-like: a neighbour fading at the same time (a cell is wider than one path),
        # against the neighbour's level of the last day (its own step or decline, already
        # in that level, must not keep its neighbours "in the rain")
        recent = _rolling_reference(times, rsl)
        near = ((recent - rsl) >= cfg.neighbour_fade_db).astype(np.int64) @ \
            self.neighbours.astype(np.int64) > 0
        rainy = dilate(near, max(1, round(3600.0 / _step(times))))
        alarms = self._rain(times, fade, near)
        alarms += self._degradations(times, rsl, ref, rainy, margin_db)
        return sorted(alarms, key=lambda a: (a.detected_at, a.link))

    # ------------------------------------------------------------------ rain
    def _rain(self, times: np.ndarray, fade: np.ndarray, near: np.ndarray
              ) -> list[HealthAlarm]:
        cfg, r = self.config, self.radio
        out = []
        for i in range(r.n):
            for s, e in true_runs(fade[:, i] >= cfg.fade_db):
                if not near[s:e + 1, i].any():
                    continue  # one link alone: not rain (a degradation is judged below)
                k = s + int(np.argmax(fade[s:e + 1, i]))
                rate = float(implied_rain_rate(fade[k, i], r.k[i], r.alpha[i], r.d_km[i]))
                others = [j for j in np.flatnonzero(self.neighbours[i]).tolist()
                          if fade[k, j] >= cfg.neighbour_fade_db]
                ev = [f"{fade[k, i]:.1f} dB at {r.f_ghz[i]:.0f} GHz over {r.d_km[i]:.1f} km: "
                      f"{rate:.0f} mm/h (P.838)"]
                ev += [f"{r.link_ids[j]} {fade[k, j]:.1f} dB at {r.f_ghz[j]:.0f} GHz: "
                       f"{float(implied_rain_rate(fade[k, j], r.k[j], r.alpha[j], r.d_km[j])):.0f}"
                       " mm/h" for j in others[:4]]
                out.append(HealthAlarm(r.link_ids[i], HealthKind.RAIN_FADE, float(times[s]),
                                       float(times[e]), evidence=tuple(ev)))
        return out

    # ------------------------------------------------------------------ degradation
    def _degradations(self, times: np.ndarray, rsl: np.ndarray, ref: np.ndarray,
                      rainy: np.ndarray, margin_db: np.ndarray | None) -> list[HealthAlarm]:
        cfg, r = self.config, self.radio
        out: list[HealthAlarm] = []
        done = np.zeros(r.n, bool)
        t0 = times[0] + cfg.window_s / 2
        for t in np.arange(t0, times[-1] + 1e-9, cfg.check_s):
            lo = int(np.searchsorted(times, t - cfg.window_s))
            hi = int(np.searchsorted(times, t, side="right"))
            tt = times[lo:hi]
            block = ((tt - tt[0]) // cfg.block_s).astype(np.int64)
            for i in np.flatnonzero(~done).tolist():
                keep = ~rainy[lo:hi, i]
                bt, by = _blocks(tt[keep], rsl[lo:hi, i][keep], block[keep])
                if by.size < 8:
                    continue
                found = self._judge(bt, by, float(t), i, ref[i],
                                    None if margin_db is None else float(margin_db[i]))
                if found is not None:
                    out.append(found)
                    done[i] = True
        return out

    def _judge(self, t: np.ndarray, y: np.ndarray, now: float, i: int, ref: float,
               margin: float | None) -> HealthAlarm | None:
        """A step or a decline in one link's clear-sky samples of the window, or None."""
        cfg = self.config
        n = y.size
        x = (t - t[0]) / SECONDS_PER_DAY
        slope, icpt = np.polyfit(x, y, 1)
        line_rss = float(((y - (slope * x + icpt)) ** 2).sum())
        c1 = np.concatenate([[0.0], np.cumsum(y)])
        c2 = np.concatenate([[0.0], np.cumsum(y * y)])
        s = np.arange(2, n - 1)
        rss = (c2[s] - c1[s] ** 2 / s) + (c2[n] - c2[s] - (c1[n] - c1[s]) ** 2 / (n - s))
        j = int(s[np.argmin(rss)])
        step_rss = float(rss.min())
        jump = float(c1[j] / j - (c1[n] - c1[j]) / (n - j))  # > 0: the level fell
        sigma = math.sqrt(max(step_rss, 1e-12) / max(n - 2, 1))
        t_step = jump / (sigma * math.sqrt(1 / j + 1 / (n - j)))
        lid = self.radio.link_ids[i]
        level = float(np.median(y[-max(4, n // 20):]))
        lost = ref - level
        if jump >= cfg.min_step_db and t_step >= cfg.significance \
                and step_rss < 0.5 * line_rss and now - t[j] >= cfg.step_hold_s:
            eta = now if margin is not None and lost >= margin else math.inf
            return HealthAlarm(lid, HealthKind.MISALIGNMENT, float(t[j]), now, eta,
                               step_db=jump, evidence=(
                                   f"clear-sky level stepped down {jump:.1f} dB at one "
                                   "instant, neighbours steady", *_margin_text(lost, margin)))
        se = math.sqrt(line_rss / max(n - 2, 1) / max(float(((x - x.mean()) ** 2).sum()), 1e-12))
        if -slope >= cfg.min_rate_db_per_day and -slope * x[-1] >= cfg.min_decline_db \
                and -slope / max(se, 1e-12) >= cfg.significance:
            rate = float(-slope)
            eta = math.inf
            if margin is not None:
                eta = now + max(margin - lost, 0.0) / rate * SECONDS_PER_DAY
            start = float(t[0] + max(0.0, (icpt - ref) / rate) * SECONDS_PER_DAY)
            return HealthAlarm(lid, HealthKind.SLOW_DECLINE, min(start, now), now, eta,
                               rate_db_per_day=rate, evidence=(
                                   f"clear-sky level falling {rate:.2f} dB/day, neighbours "
                                   "steady", *_margin_text(lost, margin)))
        return None


def _blocks(t: np.ndarray, y: np.ndarray, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per block with 3 samples or more: its first time and its 80th percentile."""
    if block.size == 0:
        return np.zeros(0), np.zeros(0)
    ids, first, count = np.unique(block, return_index=True, return_counts=True)
    ok = count >= 3
    vals = [float(np.percentile(y[block == b], 80)) for b in ids[ok].tolist()]
    return t[first[ok]], np.asarray(vals)


def _margin_text(lost: float, margin: float | None) -> tuple[str, ...]:
    if margin is None:
        return ()
    return (f"{lost:.1f} dB of the {margin:.1f} dB fade margin used",)


def _rolling_reference(times: np.ndarray, rsl: np.ndarray, span_s: float = SECONDS_PER_DAY,
                       block_s: float = 3600.0) -> np.ndarray:
    """Per sample and link the clear-sky level of the trailing day: the median over the
    day's hourly blocks of each block's 90th percentile (rain fills few blocks)."""
    block = ((times - times[0]) // block_s).astype(np.int64)
    n_b = int(block[-1]) + 1
    p90 = np.full((n_b, rsl.shape[1]), np.nan)
    for b in range(n_b):
        rows = rsl[block == b]
        if rows.size:
            p90[b] = np.percentile(rows, 90, axis=0)
    per = max(1, int(span_s // block_s))
    ref = np.empty_like(p90)
    for b in range(n_b):
        ref[b] = np.nanmedian(p90[max(0, b - per):b + 1], axis=0)
    return np.asarray(ref[block])


def _step(times: np.ndarray) -> float:
    return float(np.median(np.diff(times))) if times.size > 1 else 1.0


def _fill(x: np.ndarray) -> np.ndarray:
    """Missing readings carried forward (then the first one backward)."""
    out = x.copy()
    for j in range(out.shape[1]):
        col = out[:, j]
        ok = np.isfinite(col)
        if not ok.any():
            col[:] = 0.0
            continue
        idx = np.maximum.accumulate(np.where(ok, np.arange(col.size), -1))
        col[:] = np.where(idx >= 0, col[np.maximum(idx, 0)], col[np.flatnonzero(ok)[0]])
    return out


def dilate(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` (bool, time first) widened by ``n`` steps either way."""
    out = x.copy()
    for k in range(1, n + 1):
        out[k:] |= x[:-k]
        out[:-k] |= x[k:]
    return out


def true_runs(x: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of every run of True."""
    idx = np.flatnonzero(np.diff(np.concatenate([[0], x.astype(np.int8), [0]])))
    return [(int(s), int(e) - 1) for s, e in zip(idx[::2], idx[1::2], strict=True)]
