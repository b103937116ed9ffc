"""ITU-R P.838-3: rain specific attenuation gamma_R = k R^alpha (dB/km).

k and alpha for horizontal and vertical polarisation from the recommendation's curve fits
(Tables 1-4), combined for any polarisation tilt tau and path elevation theta (eqs. 4-5).
"""

from __future__ import annotations

import numpy as np

# (a_j, b_j, c_j) per term, then m and c of the linear term; Tables 1-4 of P.838-3.
_KH = ((-5.33980, -0.10008, 1.13098), (-0.35351, 1.26970, 0.45400),
       (-0.23789, 0.86036, 0.15354), (-0.94158, 0.64552, 0.16817)), -0.18961, 0.71147
_KV = ((-3.80595, 0.56934, 0.81061), (-3.44965, -0.22911, 0.51059),
       (-0.39902, 0.73042, 0.11899), (0.50167, 1.07319, 0.27195)), -0.16398, 0.63297
_AH = ((-0.14318, 1.82442, -0.55187), (0.29591, 0.77564, 0.19822),
       (0.32177, 0.63773, 0.13164), (-5.37610, -0.96230, 1.47828),
       (16.1721, -3.29980, 3.43990)), 0.67849, -1.95537
_AV = ((-0.07771, 2.33840, -0.76284), (0.56727, 0.95545, 0.54039),
       (-0.20238, 1.14520, 0.26809), (-48.2991, 0.791669, 0.116226),
       (48.5833, 0.791459, 0.116479)), -0.053739, 0.83433


def _fit(table: tuple[tuple[tuple[float, float, float], ...], float, float],
         log_f: np.ndarray | float) -> np.ndarray:
    terms, m, c = table
    total = np.zeros_like(log_f)
    for a, b, cc in terms:
        total += a * np.exp(-(((log_f - b) / cc) ** 2))
    return total + m * log_f + c


def rain_coefficients(frequency_ghz: np.ndarray | float, elevation_deg: np.ndarray | float = 0.0,
                      tilt_deg: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """k and alpha; tilt 0 deg = horizontal polarisation, 90 deg = vertical, 45 = circular."""
    log_f = np.log10(np.asarray(frequency_ghz, dtype=np.float64))
    kh, kv = 10 ** _fit(_KH, log_f), 10 ** _fit(_KV, log_f)
    ah, av = _fit(_AH, log_f), _fit(_AV, log_f)
    geometry = (np.cos(np.radians(elevation_deg)) ** 2
                * np.cos(np.radians(2 * np.asarray(tilt_deg, dtype=np.float64))))
    k = (kh + kv + (kh - kv) * geometry) / 2
    alpha = (kh * ah + kv * av + (kh * ah - kv * av) * geometry) / (2 * k)
    return k, alpha


def rain_specific_attenuation(rain_rate_mm_h: np.ndarray | float, frequency_ghz: np.ndarray | float,
                              elevation_deg: np.ndarray | float = 0.0,
                              tilt_deg: np.ndarray | float = 0.0) -> np.ndarray:
    """gamma_R in dB/km for a rain rate in mm/h."""
    k, alpha = rain_coefficients(frequency_ghz, elevation_deg, tilt_deg)
    return np.asarray(k * np.asarray(rain_rate_mm_h, dtype=np.float64) ** alpha)
