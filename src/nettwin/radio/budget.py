"""Link budgets of every microwave link at once: clear-sky level, margin and availability
per modulation mode, annual outage, and what limits each link.

RSL(mode) = min(Tx, Tx_max(mode)) + G_a + G_b - FSL (P.525) - gas (P.676) - losses. The time a
mode is unavailable is the rain time (P.530-18 §2.4.1, inverse; below 0.001 % of the time an
extrapolation, flagged per link and mode) plus the multipath time (P.530-18 §2.3.2 for any fade
depth, average year per §2.3.4) for its fade margin; the link is down below the lowest mode.
P.530 apportions multipath to performance and rain to availability: both are reported apart,
their sum is the conservative unavailability.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nettwin.errors import ValidationError
from nettwin.model import Network
from nettwin.model.elements import resolve_length_km
from nettwin.model.fields import Polarization
from nettwin.model.problems import Problem
from nettwin.radio import climate
from nettwin.radio.acm import AcmProfile, bundled_profiles, stack_profiles
from nettwin.radio.p530 import (
    MINUTES_PER_YEAR,
    multipath_time_exceeded,
    rain_attenuation_001,
    rain_beyond_method,
    rain_time_exceeded,
)
from nettwin.radio.p676 import gaseous_specific_attenuation, water_vapour_pressure_hpa
from nettwin.radio.p838 import rain_coefficients

SPEED_OF_LIGHT_M_S = 299_792_458.0
STANDARD_PRESSURE_HPA = 1013.25
STANDARD_TEMPERATURE_K = 288.15
STANDARD_WATER_VAPOUR_G_M3 = 7.5


def free_space_loss_db(f_ghz: np.ndarray | float, d_km: np.ndarray | float) -> np.ndarray:
    """ITU-R P.525: L = 92.45 + 20 log10 f(GHz) + 20 log10 d(km)."""
    return np.asarray(92.45 + 20 * np.log10(f_ghz) + 20 * np.log10(d_km))


def dish_gain_dbi(
    diameter_m: np.ndarray | float, f_ghz: np.ndarray | float, efficiency: np.ndarray | float
) -> np.ndarray:
    """Parabolic antenna gain, 10 log10(eta (pi D / lambda)^2)."""
    wavelength = SPEED_OF_LIGHT_M_S / (np.asarray(f_ghz) * 1e9)
    return np.asarray(
        10 * np.log10(efficiency * (np.pi * np.asarray(diameter_m) / wavelength) ** 2)
    )


@dataclass(frozen=True, eq=False)
class RadioArrays:
    """Every radio link of a network as arrays (row i = radio link i)."""

    link_ids: tuple[str, ...]
    link_index: np.ndarray  # position of the link in the network (arcs 2i, 2i+1)
    profile_ids: tuple[str, ...]
    f_ghz: np.ndarray
    d_km: np.ndarray
    tilt_deg: np.ndarray  # 0 horizontal, 90 vertical
    gain_dbi: np.ndarray  # both antennas together
    losses_db: np.ndarray
    tx_dbm: np.ndarray  # configured, +inf: the profile's max per mode
    r001_mm_h: np.ndarray
    dn1: np.ndarray
    latitude_deg: np.ndarray  # path midpoint
    inclination_mrad: np.ndarray
    lower_antenna_m: np.ndarray
    hysteresis_db: np.ndarray
    capacity_bps: np.ndarray  # [links, modes], 0 padding
    threshold_dbm: np.ndarray  # [links, modes], +inf padding
    max_tx_dbm: np.ndarray  # [links, modes], -inf padding
    a_lat: np.ndarray
    a_lon: np.ndarray
    b_lat: np.ndarray
    b_lon: np.ndarray
    k: np.ndarray  # P.838 coefficients at the link's frequency and polarisation
    alpha: np.ndarray
    gas_db: np.ndarray
    mode_names: tuple[tuple[str, ...], ...] = ()  # per link, most robust first

    def mode_name(self, link: int, mode: int) -> str:
        """'down' for -1, else the profile's name of the mode (e.g. '1024QAM')."""
        return "down" if mode < 0 else self.mode_names[link][mode]

    @property
    def n(self) -> int:
        return len(self.link_ids)

    @property
    def top_mode(self) -> np.ndarray:
        """Index of each link's highest mode (where it sits in clear sky)."""
        return np.asarray(np.where(np.isfinite(self.threshold_dbm),
                                   np.arange(self.threshold_dbm.shape[1]), -1).max(axis=1))

    def rsl_clear_dbm(self) -> np.ndarray:
        """Clear-sky received level per mode, [links, modes] (-inf for absent modes)."""
        tx = np.minimum(self.tx_dbm[:, None], self.max_tx_dbm)
        path = (
            self.gain_dbi - free_space_loss_db(self.f_ghz, self.d_km) - self.gas_db - self.losses_db
        )
        return np.asarray(tx + path[:, None])


def compile_radio(
    network: Network, profiles: Mapping[str, AcmProfile] | None = None
) -> RadioArrays:
    """Gather every microwave link's radio parameters; report every problem at once."""
    profiles = {**bundled_profiles(), **(profiles or {})}
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for i, link in enumerate(network.links.values()):
        radio = link.radio
        if radio is None:
            continue
        label = f"link {link.id!r} radio"
        a, b = network.nodes[link.a], network.nodes[link.b]
        length = resolve_length_km(link, a, b)
        if not a.has_coordinates or not b.has_coordinates:
            problems.append(
                Problem(
                    label,
                    "both ends need coordinates for a radio path",
                    fix="give latitude/longitude of both nodes",
                )
            )
            continue
        if radio.profile not in profiles:
            problems.append(
                Problem(
                    label,
                    "unknown ACM profile",
                    field="profile",
                    value=radio.profile,
                    fix=f"use one of {sorted(profiles)[:6]}... or define it",
                )
            )
            continue
        gains = []
        for end in ("a", "b"):
            g = getattr(radio, f"antenna_gain_{end}_dbi")
            if g is None and radio.dish_diameter_m is not None:
                g = float(
                    dish_gain_dbi(
                        radio.dish_diameter_m, radio.frequency_ghz, radio.antenna_efficiency
                    )
                )
            if g is None:
                problems.append(
                    Problem(
                        label,
                        f"no antenna gain at end {end.upper()}",
                        field=f"antenna_gain_{end}_dbi",
                        fix="give the gain or dish_diameter_m",
                    )
                )
            gains.append(g or 0.0)
        assert length is not None
        rows.append(
            {
                "id": link.id,
                "index": i,
                "radio": radio,
                "d": max(length, 0.01),
                "gain": sum(gains),
                "a": a,
                "b": b,
            }
        )
    if problems:
        raise ValidationError(problems)
    lat_a = np.array([r["a"].latitude for r in rows], dtype=np.float64)
    lon_a = np.array([r["a"].longitude for r in rows], dtype=np.float64)
    lat_b = np.array([r["b"].latitude for r in rows], dtype=np.float64)
    lon_b = np.array([r["b"].longitude for r in rows], dtype=np.float64)
    mid_lat, mid_lon = (lat_a + lat_b) / 2, (lon_a + lon_b) / 2
    given_r = np.array(
        [
            r["radio"].rain_rate_r001_mm_h if r["radio"].rain_rate_r001_mm_h is not None else np.nan
            for r in rows
        ],
        dtype=np.float64,
    )
    given_dn1 = np.array(
        [r["radio"].dn1 if r["radio"].dn1 is not None else np.nan for r in rows], dtype=np.float64
    )
    if np.isnan(given_r).any():
        given_r = np.where(np.isnan(given_r), climate.rain_rate_r001(mid_lat, mid_lon), given_r)
    if np.isnan(given_dn1).any():
        given_dn1 = np.where(
            np.isnan(given_dn1), climate.refractivity_gradient_dn1(mid_lat, mid_lon), given_dn1
        )
    f = np.array([r["radio"].frequency_ghz for r in rows], dtype=np.float64)
    d = np.array([r["d"] for r in rows], dtype=np.float64)
    tilt = np.array(
        [0.0 if r["radio"].polarization is Polarization.HORIZONTAL else 90.0 for r in rows]
    )
    k, alpha = rain_coefficients(f, 0.0, tilt)
    e = water_vapour_pressure_hpa(STANDARD_WATER_VAPOUR_G_M3, STANDARD_TEMPERATURE_K)
    gas_o, gas_w = gaseous_specific_attenuation(
        f, STANDARD_PRESSURE_HPA - e, STANDARD_TEMPERATURE_K, STANDARD_WATER_VAPOUR_G_M3
    )
    alt_a = np.array([r["radio"].altitude_a_m for r in rows], dtype=np.float64)
    alt_b = np.array([r["radio"].altitude_b_m for r in rows], dtype=np.float64)
    cap, thr, tx = stack_profiles(profiles[r["radio"].profile] for r in rows)
    return RadioArrays(
        link_ids=tuple(r["id"] for r in rows),
        link_index=np.array([r["index"] for r in rows], np.int64),
        profile_ids=tuple(r["radio"].profile for r in rows),
        f_ghz=f,
        d_km=d,
        tilt_deg=tilt,
        gain_dbi=np.array([r["gain"] for r in rows]),
        losses_db=np.array([r["radio"].losses_db for r in rows], dtype=np.float64),
        tx_dbm=np.array(
            [
                r["radio"].tx_power_dbm if r["radio"].tx_power_dbm is not None else math.inf
                for r in rows
            ],
            dtype=np.float64,
        ),
        r001_mm_h=given_r,
        dn1=given_dn1,
        latitude_deg=mid_lat,
        inclination_mrad=np.abs(alt_a - alt_b) / d,
        lower_antenna_m=np.minimum(alt_a, alt_b),
        hysteresis_db=np.array([r["radio"].hysteresis_db for r in rows], dtype=np.float64),
        capacity_bps=cap,
        threshold_dbm=thr,
        max_tx_dbm=tx,
        a_lat=lat_a,
        a_lon=lon_a,
        b_lat=lat_b,
        b_lon=lon_b,
        k=k,
        alpha=alpha,
        gas_db=(gas_o + gas_w) * d,
        mode_names=tuple(tuple(m.name for m in profiles[r["radio"].profile].modes)
                         for r in rows),
    )


@dataclass(frozen=True, eq=False)
class BudgetResult:
    """Per link and mode: clear-sky level, fade margin, unavailability (percent of a year)."""

    radio: RadioArrays
    rsl_dbm: np.ndarray
    margin_db: np.ndarray
    a001_db: np.ndarray
    rain_percent: np.ndarray
    multipath_percent: np.ndarray
    rain_extrapolated: np.ndarray  # bool: rain time below P.530's 0.001 %, extrapolated

    @property
    def unavailability_percent(self) -> np.ndarray:
        return np.asarray(np.minimum(self.rain_percent + self.multipath_percent, 100.0))

    @property
    def availability(self) -> np.ndarray:
        return np.asarray(1 - self.unavailability_percent / 100)

    @property
    def outage_minutes_per_year(self) -> np.ndarray:
        return np.asarray(self.unavailability_percent / 100 * MINUTES_PER_YEAR)

    def rows(self) -> list[dict[str, Any]]:
        """One row per link: lowest and highest mode, margins, availability, what limits."""
        r = self.radio
        out = []
        for i, lid in enumerate(r.link_ids):
            modes = np.flatnonzero(np.isfinite(r.threshold_dbm[i]))
            lo, hi = modes[0], modes[-1]
            limiting = (
                "rain" if self.rain_percent[i, lo] >= self.multipath_percent[i, lo] else "multipath"
            )
            out.append(
                {
                    "link": lid,
                    "profile": r.profile_ids[i],
                    "frequency_ghz": float(r.f_ghz[i]),
                    "length_km": float(r.d_km[i]),
                    "r001_mm_h": float(r.r001_mm_h[i]),
                    "rsl_top_mode_dbm": float(self.rsl_dbm[i, hi]),
                    "margin_lowest_mode_db": float(self.margin_db[i, lo]),
                    "margin_top_mode_db": float(self.margin_db[i, hi]),
                    "a001_rain_db": float(self.a001_db[i]),
                    "capacity_top_bps": float(r.capacity_bps[i, hi]),
                    "capacity_lowest_bps": float(r.capacity_bps[i, lo]),
                    "availability_top_mode": float(self.availability[i, hi]),
                    "availability_link_up": float(self.availability[i, lo]),
                    "outage_min_per_year": float(self.outage_minutes_per_year[i, lo]),
                    "rain_outage_min_per_year": float(
                        self.rain_percent[i, lo] / 100 * MINUTES_PER_YEAR),
                    "multipath_outage_min_per_year": float(
                        self.multipath_percent[i, lo] / 100 * MINUTES_PER_YEAR),
                    "rain_extrapolated": bool(self.rain_extrapolated[i, lo]),
                    "limited_by": limiting,
                }
            )
        return out


def link_budget(radio: RadioArrays) -> BudgetResult:
    """Margins and availability of every mode of every radio link."""
    rsl = radio.rsl_clear_dbm()
    margin = rsl - radio.threshold_dbm
    gamma = radio.k * radio.r001_mm_h**radio.alpha
    a001 = rain_attenuation_001(gamma, radio.d_km, radio.r001_mm_h, radio.f_ghz, radio.alpha)
    valid = np.isfinite(margin)
    m = np.where(valid, margin, 0.0)
    rain = rain_time_exceeded(a001[:, None], radio.f_ghz[:, None], m)
    extrapolated = rain_beyond_method(a001[:, None], radio.f_ghz[:, None], m) & valid
    mp = multipath_time_exceeded(
        m,
        radio.d_km[:, None],
        radio.f_ghz[:, None],
        radio.dn1[:, None],
        radio.lower_antenna_m[:, None],
        radio.inclination_mrad[:, None],
        radio.latitude_deg[:, None],
    )
    rain = np.where(m <= 0, 100.0, rain)
    mp = np.where(m <= 0, 100.0, mp)
    return BudgetResult(
        radio,
        rsl,
        np.where(valid, margin, np.nan),
        a001,
        np.where(valid, rain, np.nan),
        np.where(valid, mp, np.nan),
        extrapolated,
    )
