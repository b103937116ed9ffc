"""ITU-R P.530-18 for terrestrial line-of-sight links: rain fade and multipath fading.

Rain (§2.4.1)
    A0.01 = gamma_R d r (eq. 33) with the distance factor (eq. 32)
    r = 1 / (0.477 d^0.633 R^(0.073 alpha) f^0.123 - 10.579 (1 - exp(-0.024 d))), r <= 2.5.
    Other percentages, 0.001 % <= p <= 1 % (eq. 34/35):
    A_p = A0.01 C1 p^-(C2 + C3 log10 p), C1 = 0.07^C0 0.12^(1-C0),
    C2 = 0.855 C0 + 0.546 (1-C0), C3 = 0.139 C0 + 0.043 (1-C0), and
    C0 = 0.12 + 0.4 [log10 (f/10)^0.8] for f >= 10 GHz (0.12 below).
    The exponent 0.8 applies to f/10 *inside* the logarithm: the text writes it on the
    argument, and by the usual precedence log x^a = log(x^a) (the Recommendation's own
    "log10 p" terms read the same way), so C0 = 0.12 + 0.32 log10(f/10). ITU-R's OFCOM
    reference implementation of P.530-18 (Stevanovic, eeveetza/p530) reads it so; the
    ``itur`` Python package reads (log10(f/10))^0.8, which gives a larger C0 above 10 GHz
    (at 23 GHz: 0.236 against 0.297) and is not followed here.
    Below 0.001 % the Recommendation gives nothing. ``rain_time_exceeded`` extends the
    distribution by its tangent in log-log coordinates at 0.001 % (same value and slope,
    A = A_0.001 (p / 0.001)^-s, s = C2 - 6 C3 > 0): continuous with a continuous slope, no
    cliff, and — the power law curving downwards in log-log — never smaller than the
    power law itself continued, so the extrapolated outage errs on the long side. Results
    there are flagged by ``rain_beyond_method``.

Multipath (§2.3)
    §2.3.1 (small percentages, deep fades): pw = p0 10^(-A/10) with the occurrence factor
    p0. P.530-18 computes its K from the Recommendation's own digital maps (log K, dN75),
    which are not bundled; K here is P.530's map-free form K = 10^(-4.6 - 0.0027 dN1) with
    p0 = K d^3.1 (1 + |eps_p|)^-1.29 f^0.8 10^(-0.00089 h_L) (the quick-planning equations
    of P.530-17 §2.3.1, eqs. 5 and 8), dN1 from P.453.
    §2.3.2 (all percentages): At = 25 + 1.2 log10 p0 (eq. 12); A >= At: pw = p0 10^(-A/10)
    (eq. 13); A < At: pt = p0 10^(-At/10) (14), qa' = -20 log10(-ln((100 - pt)/100)) / At
    (15), qt = (qa' - 2) / ((1 + 0.3 10^(-At/20)) 10^(-0.016 At)) - 4.3 (10^(-At/20) +
    At/800) (16), qa = 2 + (1 + 0.3 10^(-A/20)) 10^(-0.016 A) (qt + 4.3 (10^(-A/20) +
    A/800)) (17), pw = 100 (1 - exp(-10^(-qa A/20))) (18). Continuous at At by
    construction (qa(At) = qa'), monotonic while p0 < 2000 as the Recommendation says
    (beyond, e.g. p0 = 5000 %, a very long low path, it is not: the values are still those
    of the text, not smoothed).
    §2.3.4 to an average year: dG = 10.5 - 5.6 log10(1.1 +- |cos 2 xi|^0.7) - 2.7 log10 d
    + 1.7 log10(1 + |eps_p|) dB, dG <= 10.8 (eq. 24, + for |xi| <= 45 deg); deep tail
    p = 10^(-dG/10) pw (25); shallow range (step 4): the §2.3.2 method with pt replaced by
    10^(-dG/10) pt (At unchanged).
    P.530 §2.3 notes that multipath need only be computed for paths longer than 5 km and
    "can be set to zero" below; it is computed for every path here (the safe side).

Combination (the Recommendation's prediction of total outage): multipath outage counts
towards performance, rain outage towards availability; ``nettwin.radio.budget`` reports
both apart and their sum as the (conservative) time a mode is not available.
"""

from __future__ import annotations

import numpy as np

MINUTES_PER_YEAR = 525_960.0
RAIN_P_MIN_PERCENT = 0.001  # lower end of P.530 §2.4.1's percentage range
RAIN_P_MAX_PERCENT = 1.0


def distance_factor(
    d_km: np.ndarray | float,
    r001_mm_h: np.ndarray | float,
    f_ghz: np.ndarray | float,
    alpha: np.ndarray | float,
) -> np.ndarray:
    """Effective-path-length factor r (P.530-18 eq. 32), capped at 2.5."""
    d = np.asarray(d_km, dtype=np.float64)
    r = 1.0 / (
        0.477
        * d**0.633
        * np.asarray(r001_mm_h, dtype=np.float64) ** (0.073 * alpha)
        * np.asarray(f_ghz, dtype=np.float64) ** 0.123
        - 10.579 * (1 - np.exp(-0.024 * d))
    )
    return np.asarray(np.where((r > 2.5) | (r <= 0), 2.5, r))


def rain_attenuation_001(
    gamma_r_db_km: np.ndarray | float,
    d_km: np.ndarray | float,
    r001_mm_h: np.ndarray | float,
    f_ghz: np.ndarray | float,
    alpha: np.ndarray | float,
) -> np.ndarray:
    """Path attenuation exceeded 0.01 % of the time (dB), P.530-18 eq. 33."""
    return np.asarray(gamma_r_db_km * d_km * distance_factor(d_km, r001_mm_h, f_ghz, alpha))


def rain_scaling_c0(f_ghz: np.ndarray | float) -> np.ndarray:
    """C0 of P.530-18 eq. 35: 0.12 + 0.4 log10((f/10)^0.8) from 10 GHz (see module doc)."""
    f = np.asarray(f_ghz, dtype=np.float64)
    return np.asarray(np.where(f >= 10, 0.12 + 0.4 * np.log10(np.maximum(f, 10.0) / 10) * 0.8,
                               0.12))


def _c_coefficients(f_ghz: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c0 = rain_scaling_c0(f_ghz)
    c1 = 0.07**c0 * 0.12 ** (1 - c0)
    c2 = 0.855 * c0 + 0.546 * (1 - c0)
    c3 = 0.139 * c0 + 0.043 * (1 - c0)
    return c1, c2, c3


def rain_attenuation_exceeded(
    a001_db: np.ndarray | float, f_ghz: np.ndarray | float, p_percent: np.ndarray | float
) -> np.ndarray:
    """Attenuation exceeded p % of the time, from A0.01 (P.530-18 eq. 34); below 0.001 % the
    log-log tangent extension of the module doc (an extrapolation)."""
    c1, c2, c3 = _c_coefficients(f_ghz)
    p = np.asarray(p_percent, dtype=np.float64)
    x = np.log10(np.maximum(p, RAIN_P_MIN_PERCENT))
    a = np.asarray(a001_db, dtype=np.float64) * c1 * 10.0 ** (-(c2 + c3 * x) * x)
    slope = c2 - 6 * c3  # -dlog10(A)/dlog10(p) at p = 0.001 %
    below = p < RAIN_P_MIN_PERCENT
    with np.errstate(divide="ignore"):
        ext = a * (np.where(below, p, RAIN_P_MIN_PERCENT) / RAIN_P_MIN_PERCENT) ** -slope
    return np.asarray(np.where(below, ext, a))


def rain_beyond_method(
    a001_db: np.ndarray | float, f_ghz: np.ndarray | float, attenuation_db: np.ndarray | float
) -> np.ndarray:
    """True where ``attenuation_db`` is exceeded less than 0.001 % of the time: the time
    ``rain_time_exceeded`` gives there is an extrapolation beyond P.530's range."""
    a_min = rain_attenuation_exceeded(a001_db, f_ghz, RAIN_P_MIN_PERCENT)
    a001 = np.asarray(a001_db, dtype=np.float64)
    return np.asarray((np.asarray(attenuation_db) > a_min) & (a001 > 0))


def rain_time_exceeded(
    a001_db: np.ndarray | float, f_ghz: np.ndarray | float, attenuation_db: np.ndarray | float
) -> np.ndarray:
    """Percentage of time rain attenuation exceeds ``attenuation_db``: the inverse of eq. 34
    (root of a quadratic in log10 p) over 0.001-1 %, 1 % when exceeded more often, and the
    log-log tangent extension (module doc) below 0.001 % — continuous and decreasing in the
    attenuation everywhere, never 0 for a finite margin."""
    c1, c2, c3 = _c_coefficients(f_ghz)
    a001 = np.asarray(a001_db, dtype=np.float64)
    a = np.asarray(attenuation_db, dtype=np.float64)
    a_min = a001 * c1 * 10.0 ** (-(c2 - 3 * c3) * -3.0)  # eq. 34 at p = 0.001 %
    slope = c2 - 6 * c3
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log10(a / (a001 * c1))
        x = (-c2 + np.sqrt(c2**2 - 4 * c3 * log_ratio)) / (2 * c3)
        p_tail = RAIN_P_MIN_PERCENT * (a / a_min) ** (-1.0 / slope)
    p = np.where(a > a_min, p_tail, 10.0**x)
    p = np.where((a <= 0) | ~np.isfinite(p), RAIN_P_MAX_PERCENT, np.minimum(p, RAIN_P_MAX_PERCENT))
    return np.asarray(np.where(a001 <= 0, 0.0, p))


def multipath_occurrence_factor(
    d_km: np.ndarray | float,
    f_ghz: np.ndarray | float,
    dn1: np.ndarray | float,
    lower_antenna_m: np.ndarray | float,
    path_inclination_mrad: np.ndarray | float,
) -> np.ndarray:
    """p0, % of the average worst month: the intercept of the deep-fade tail (§2.3.2 step 1)
    with the map-free K of P.530-17 §2.3.1 eqs. 5 and 8 (see module doc)."""
    k = 10.0 ** (-4.6 - 0.0027 * np.asarray(dn1, dtype=np.float64))
    return np.asarray(
        k
        * np.asarray(d_km, dtype=np.float64) ** 3.1
        * (1 + np.abs(path_inclination_mrad)) ** -1.29
        * np.asarray(f_ghz, dtype=np.float64) ** 0.8
        * 10 ** (-0.00089 * np.asarray(lower_antenna_m, dtype=np.float64))
    )


def multipath_worst_month(
    fade_margin_db: np.ndarray | float,
    d_km: np.ndarray | float,
    f_ghz: np.ndarray | float,
    dn1: np.ndarray | float,
    lower_antenna_m: np.ndarray | float,
    path_inclination_mrad: np.ndarray | float,
) -> np.ndarray:
    """Deep-fade tail only (§2.3.1): % of the average worst month a fade exceeds the margin,
    pw = p0 10^(-A/10). Valid for small percentages (A >= At); see ``multipath_time_exceeded``
    for all fade depths."""
    p0 = multipath_occurrence_factor(d_km, f_ghz, dn1, lower_antenna_m, path_inclination_mrad)
    return np.asarray(p0 * 10 ** (-np.asarray(fade_margin_db, dtype=np.float64) / 10))


def geoclimatic_conversion_db(
    d_km: np.ndarray | float,
    path_inclination_mrad: np.ndarray | float,
    latitude_deg: np.ndarray | float,
) -> np.ndarray:
    """dG of P.530-18 §2.3.4 eq. 24 (at most 10.8 dB): worst month to average year."""
    xi = np.radians(np.asarray(latitude_deg, dtype=np.float64))
    c = np.abs(np.cos(2 * xi)) ** 0.7
    sign = np.where(np.abs(np.degrees(xi)) <= 45, 1.0, -1.0)
    dg = (
        10.5
        - 5.6 * np.log10(1.1 + sign * c)
        - 2.7 * np.log10(np.asarray(d_km, dtype=np.float64))
        + 1.7 * np.log10(1 + np.abs(path_inclination_mrad))
    )
    return np.asarray(np.minimum(dg, 10.8))


def worst_month_to_year(
    p_worst_month: np.ndarray | float,
    d_km: np.ndarray | float,
    path_inclination_mrad: np.ndarray | float,
    latitude_deg: np.ndarray | float,
) -> np.ndarray:
    """Average-year percentage of the deep-fade tail (P.530-18 §2.3.4 eq. 25)."""
    dg = geoclimatic_conversion_db(d_km, path_inclination_mrad, latitude_deg)
    return np.asarray(10 ** (-dg / 10) * np.asarray(p_worst_month))


def multipath_fade_exceeded(
    fade_db: np.ndarray | float, p0_percent: np.ndarray | float, dg_db: np.ndarray | float = 0.0
) -> np.ndarray:
    """% of time a multipath fade deeper than ``fade_db`` (> 0) occurs, for any depth:
    P.530-18 §2.3.2 eqs. 12-18 from the occurrence factor p0 (worst month). With ``dg_db``
    (eq. 24) the average year per §2.3.4: pt and the deep tail scaled by 10^(-dG/10)."""
    a = np.maximum(np.asarray(fade_db, dtype=np.float64), 1e-9)
    p0 = np.asarray(p0_percent, dtype=np.float64)
    scale = 10 ** (-np.asarray(dg_db, dtype=np.float64) / 10)
    at = 25 + 1.2 * np.log10(p0)  # eq. 12
    deep = scale * p0 * 10 ** (-a / 10)  # eq. 13 (and 25)
    at_s = np.maximum(at, 1e-9)  # eq. 15 divides by At; p0 < 1e-20 has no shallow range
    pt = scale * p0 * 10 ** (-at_s / 10)  # eq. 14 (scaled per §2.3.4 step 4)
    qa_t = -20 * np.log10(-np.log1p(-pt / 100)) / at_s  # eq. 15
    qt = (qa_t - 2) / ((1 + 0.3 * 10 ** (-at_s / 20)) * 10 ** (-0.016 * at_s)) - 4.3 * (
        10 ** (-at_s / 20) + at_s / 800)  # eq. 16
    qa = 2 + (1 + 0.3 * 10 ** (-a / 20)) * 10 ** (-0.016 * a) * (
        qt + 4.3 * (10 ** (-a / 20) + a / 800))  # eq. 17
    shallow = -100 * np.expm1(-(10 ** (-qa * a / 20)))  # eq. 18
    return np.asarray(np.where(a >= at, deep, shallow))


def multipath_time_exceeded(
    fade_margin_db: np.ndarray | float,
    d_km: np.ndarray | float,
    f_ghz: np.ndarray | float,
    dn1: np.ndarray | float,
    lower_antenna_m: np.ndarray | float,
    path_inclination_mrad: np.ndarray | float,
    latitude_deg: np.ndarray | float,
) -> np.ndarray:
    """% of an average year a multipath fade exceeds the margin (§2.3.2 with §2.3.4)."""
    p0 = multipath_occurrence_factor(d_km, f_ghz, dn1, lower_antenna_m, path_inclination_mrad)
    dg = geoclimatic_conversion_db(d_km, path_inclination_mrad, latitude_deg)
    return multipath_fade_exceeded(fade_margin_db, p0, dg)
