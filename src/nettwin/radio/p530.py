"""ITU-R P.530-18 for terrestrial line-of-sight links: rain fade and multipath fading.

* Rain (§2.4.1): A0.01 = gamma_R d r with the distance factor
  r = 1 / (0.477 d^0.633 R^(0.073 alpha) f^0.123 - 10.579 (1 - exp(-0.024 d))), r <= 2.5;
  A_p = A0.01 C1 p^-(C2 + C3 log10 p) for 0.001 % <= p <= 1 %, with C0 = 0.12 + 0.4
  log10((f/10)^0.8) above 10 GHz (0.12 below), C1 = 0.07^C0 0.12^(1-C0),
  C2 = 0.855 C0 + 0.546 (1-C0), C3 = 0.139 C0 + 0.043 (1-C0). Its inverse (the time a
  margin is exceeded) is the root of a quadratic in log10 p.
* Multipath, quick planning method (§2.3.2): K = 10^(-4.6 - 0.0027 dN1),
  p_w = K d^3.1 (1 + |eps_p|)^-1.29 f^0.8 10^(-0.00089 h_L - A/10) % of the worst month;
  to an average year (§2.3.4): dG = 10.5 - 5.6 log10(1.1 +- |cos 2 xi|^0.7) - 2.7 log10 d
  + 1.7 log10(1 + |eps_p|), at most 10.8 dB, p = 10^(-dG/10) p_w.
"""

from __future__ import annotations

import numpy as np

MINUTES_PER_YEAR = 525_960.0


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
    """Path attenuation exceeded 0.01 % of the time (dB)."""
    return np.asarray(gamma_r_db_km * d_km * distance_factor(d_km, r001_mm_h, f_ghz, alpha))


def _c_coefficients(f_ghz: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f = np.asarray(f_ghz, dtype=np.float64)
    c0 = np.where(f >= 10, 0.12 + 0.4 * np.log10((f / 10) ** 0.8), 0.12)
    c1 = 0.07**c0 * 0.12 ** (1 - c0)
    c2 = 0.855 * c0 + 0.546 * (1 - c0)
    c3 = 0.139 * c0 + 0.043 * (1 - c0)
    return c1, c2, c3


def rain_attenuation_exceeded(
    a001_db: np.ndarray | float, f_ghz: np.ndarray | float, p_percent: np.ndarray | float
) -> np.ndarray:
    """Attenuation exceeded p % of the time, from A0.01."""
    c1, c2, c3 = _c_coefficients(f_ghz)
    p = np.asarray(p_percent, dtype=np.float64)
    return np.asarray(a001_db * c1 * p ** -(c2 + c3 * np.log10(p)))


def rain_time_exceeded(
    a001_db: np.ndarray | float, f_ghz: np.ndarray | float, attenuation_db: np.ndarray | float
) -> np.ndarray:
    """Percentage of time rain attenuation exceeds ``attenuation_db`` (inverse of the above),
    clipped to the method's 0.001-1 % range (0 when even 0.001 % stays below a fade margin
    that large: no outage to report from rain; 1 % when it is exceeded more often)."""
    c1, c2, c3 = _c_coefficients(f_ghz)
    a001 = np.asarray(a001_db, dtype=np.float64)
    a = np.asarray(attenuation_db, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log10(a / (a001 * c1))
        x = (-c2 + np.sqrt(c2**2 - 4 * c3 * log_ratio)) / (2 * c3)
    p = 10.0**x
    at_min = rain_attenuation_exceeded(a001, f_ghz, 0.001)
    p = np.where(a > at_min * (1 + 1e-12), 0.0, p)
    p = np.where((a <= 0) | ~np.isfinite(p), 1.0, np.minimum(p, 1.0))
    return np.asarray(np.where(a001 <= 0, 0.0, p))


def multipath_worst_month(
    fade_margin_db: np.ndarray | float,
    d_km: np.ndarray | float,
    f_ghz: np.ndarray | float,
    dn1: np.ndarray | float,
    lower_antenna_m: np.ndarray | float,
    path_inclination_mrad: np.ndarray | float,
) -> np.ndarray:
    """Percentage of the average worst month a multipath fade deeper than the margin."""
    k = 10.0 ** (-4.6 - 0.0027 * np.asarray(dn1, dtype=np.float64))
    return np.asarray(
        k
        * np.asarray(d_km) ** 3.1
        * (1 + np.abs(path_inclination_mrad)) ** -1.29
        * np.asarray(f_ghz) ** 0.8
        * 10 ** (-0.00089 * np.asarray(lower_antenna_m) - np.asarray(fade_margin_db) / 10)
    )


def worst_month_to_year(
    p_worst_month: np.ndarray | float,
    d_km: np.ndarray | float,
    path_inclination_mrad: np.ndarray | float,
    latitude_deg: np.ndarray | float,
) -> np.ndarray:
    """Average-year percentage from the average-worst-month one (P.530-18 §2.3.4)."""
    xi = np.radians(np.asarray(latitude_deg, dtype=np.float64))
    c = np.abs(np.cos(2 * xi)) ** 0.7
    sign = np.where(np.abs(np.degrees(xi)) <= 45, 1.0, -1.0)
    dg = (
        10.5
        - 5.6 * np.log10(1.1 + sign * c)
        - 2.7 * np.log10(np.asarray(d_km))
        + 1.7 * np.log10(1 + np.abs(path_inclination_mrad))
    )
    dg = np.minimum(dg, 10.8)
    return np.asarray(10 ** (-dg / 10) * p_worst_month)
