"""Labelled synthetic radio history for predictive maintenance: weeks of received levels
(RSL) of every microwave link, with passing rain cells (integrated along each path with its
own frequency's ITU-R P.838 coefficients, so nearby links fade together, each by its
frequency) and at most one labelled degradation: a slow clear-sky decline (water in a
waveguide, corroding connector, slowly drifting mount) or a misalignment step (a mount
knocked by wind or work on the mast).

Fade margin: a link's clear-sky level above the threshold of its top modulation. It is
exhausted when the degradation alone eats it: the link then runs below full capacity in
clear sky. The label says when that happens (``exhausted_at``; inf if not in the window)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from nettwin.radio.budget import RadioArrays
from nettwin.radio.storm import AcmState, RainCell, Storm, StormField


class Degradation(StrEnum):
    SLOW_DECLINE = "slow_decline"
    MISALIGNMENT = "misalignment"


@dataclass(frozen=True)
class DegradationLabel:
    link: str
    kind: Degradation
    start: float  # epoch s
    rate_db_per_day: float = 0.0  # slow decline
    step_db: float = 0.0  # misalignment
    exhausted_at: float = math.inf  # when the degradation reaches the fade margin


@dataclass(frozen=True)
class RainLabel:
    """A rain cell's passage: when, and the links it faded by 3 dB or more."""

    start: float
    end: float
    links: tuple[str, ...]
    peak_mm_h: float


@dataclass(frozen=True, eq=False)
class RadioHistory:
    times: np.ndarray  # [T] epoch s
    link_ids: tuple[str, ...]
    rsl_dbm: np.ndarray  # [T, r] as read (noise, nan where a reading is lost)
    clear_sky_dbm: np.ndarray  # [r] at commissioning
    margin_db: np.ndarray  # [r] clear sky above the top modulation's threshold
    rain: tuple[RainLabel, ...] = ()
    degradation: DegradationLabel | None = None
    rain_fade_db: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # [T, r]


def clear_sky_levels(radio: RadioArrays) -> tuple[np.ndarray, np.ndarray]:
    """Each link's clear-sky RSL at its top modulation and its fade margin there (dB)."""
    top = radio.top_mode
    rows = np.arange(radio.n)
    clear = AcmState(radio).rsl_clear_dbm[rows, top]
    return clear, clear - radio.threshold_dbm[rows, top]


def synth_radio_history(radio: RadioArrays, seed: int = 0, days: float = 14.0,
                        interval_s: float = 900.0, storms_per_day: float = 0.6,
                        degradation: Degradation | None = None, noise_db: float = 0.3,
                        missing: float = 0.01, start_epoch_s: float = 1_767_225_600.0
                        ) -> RadioHistory:
    """One history of every radio link; the degradation (if any) on one random link."""
    rng = np.random.default_rng(seed)
    n_t = int(days * 86400 / interval_s) + 1
    times = start_epoch_s + interval_s * np.arange(n_t)
    clear, margin = clear_sky_levels(radio)
    fade = np.zeros((n_t, radio.n))
    lat0 = float(np.mean(np.concatenate([radio.a_lat, radio.b_lat])))
    lon0 = float(np.mean(np.concatenate([radio.a_lon, radio.b_lon])))
    spread_km = 25.0
    rains: list[RainLabel] = []
    for _ in range(int(rng.poisson(storms_per_day * days))):
        t_mid = float(rng.uniform(0.0, days * 86400))
        speed = float(rng.uniform(20, 60))
        heading = float(rng.uniform(0, 360))
        dur_min = 2 * spread_km / speed * 60  # the cell crosses the whole area
        back = math.radians(heading + 180)
        ox, oy = rng.uniform(-8, 8, 2)
        cx = ox + spread_km * math.sin(back)
        cy = oy + spread_km * math.cos(back)
        cell = RainCell(latitude=lat0 + cy / 111.2,
                        longitude=lon0 + cx / (111.2 * math.cos(math.radians(lat0))),
                        peak_mm_h=float(rng.uniform(20, 120)),
                        radius_km=float(rng.uniform(2, 6)), speed_kmh=speed,
                        heading_deg=heading)
        storm = Storm("passing cell", (cell,), dur_min, interval_s / 60)
        field_ = StormField(radio, storm)
        k0 = int((t_mid - dur_min * 30) // interval_s)
        steps = range(max(0, k0), min(n_t, k0 + int(dur_min * 60 // interval_s) + 1))
        hit: set[int] = set()
        for k in steps:
            a = field_.attenuation((k - k0) * interval_s / 60)
            fade[k] += a
            hit |= set(np.flatnonzero(a >= 3.0).tolist())
        if hit:
            rains.append(RainLabel(float(times[steps[0]]), float(times[steps[-1]]),
                                   tuple(radio.link_ids[i] for i in sorted(hit)),
                                   cell.peak_mm_h))
    rain_fade = fade.copy()
    label = None
    if degradation is not None:
        i = int(rng.integers(radio.n))
        k_start = int(rng.integers(n_t // 5, n_t // 2))
        t_start = float(times[k_start])
        if degradation is Degradation.SLOW_DECLINE:
            # exhausts the margin 3 to 25 days after its start
            rate = float(margin[i] / rng.uniform(3.0, 25.0))
            loss = np.maximum(times - t_start, 0.0) / 86400 * rate
            exhausted = t_start + margin[i] / rate * 86400
            label = DegradationLabel(radio.link_ids[i], degradation, t_start,
                                     rate_db_per_day=rate, exhausted_at=exhausted)
        else:
            step = float(rng.uniform(3.0, 12.0))
            loss = np.where(times >= t_start, step, 0.0)
            label = DegradationLabel(radio.link_ids[i], degradation, t_start, step_db=step,
                                     exhausted_at=t_start if step >= margin[i] else math.inf)
        fade[:, i] += loss
    # a little diurnal drift (temperature, ducting) and reading noise on every link
    hour = (times % 86400) / 3600
    drift = 0.3 * np.sin(2 * np.pi * (hour[:, None] - rng.uniform(0, 24, radio.n)) / 24)
    rsl = clear[None, :] - fade + drift + noise_db * rng.standard_normal(fade.shape)
    rsl[rng.random(rsl.shape) < missing] = np.nan
    return RadioHistory(times, radio.link_ids, np.round(rsl, 2), clear, margin,
                        tuple(rains), label, rain_fade)
