"""ITU-R P.676-13 Annex 1: specific attenuation by atmospheric gases, line by line.

gamma = gamma_o + gamma_w = 0.1820 f (N''_oxygen(f) + N''_water(f))  [dB/km], summing the
44 oxygen and 35 water-vapour resonance lines (Tables 1 and 2, shipped as data) plus the
dry-air continuum. Vectorised over any broadcastable inputs.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np


@cache
def _lines(name: str) -> np.ndarray:
    text = (resources.files("nettwin.radio") / "data" / name).read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line and not line.startswith("#")][1:]
    return np.array([[float(x) for x in row.split(",")] for row in rows])


def _line_shape(f: np.ndarray, fi: np.ndarray, df: np.ndarray, delta: np.ndarray) -> np.ndarray:
    shape = (f / fi) * (
        (df - delta * (fi - f)) / ((fi - f) ** 2 + df**2)
        + (df - delta * (fi + f)) / ((fi + f) ** 2 + df**2)
    )
    return np.asarray(shape)


def water_vapour_pressure_hpa(
    rho_g_m3: np.ndarray | float, temperature_k: np.ndarray | float
) -> np.ndarray:
    """Partial pressure of water vapour from its density (P.676 eq. 4)."""
    return np.asarray(np.asarray(rho_g_m3) * np.asarray(temperature_k) / 216.7)


def gaseous_specific_attenuation(
    frequency_ghz: np.ndarray | float,
    pressure_hpa: np.ndarray | float,
    temperature_k: np.ndarray | float,
    rho_g_m3: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Oxygen and water-vapour specific attenuation (dB/km); ``pressure_hpa`` is the dry-air
    pressure, ``rho_g_m3`` the water-vapour density."""
    f = np.asarray(frequency_ghz, dtype=np.float64)[..., None]
    p = np.asarray(pressure_hpa, dtype=np.float64)[..., None]
    t = np.asarray(temperature_k, dtype=np.float64)[..., None]
    e = water_vapour_pressure_hpa(np.asarray(rho_g_m3, dtype=np.float64)[..., None], t)
    theta = 300.0 / t
    ox = _lines("p676_oxygen_lines.csv")
    fo, a1, a2, a3, a4, a5, a6 = (ox[:, i] for i in range(7))
    s = a1 * 1e-7 * p * theta**3 * np.exp(a2 * (1 - theta))
    df = a3 * 1e-4 * (p * theta ** (0.8 - a4) + 1.1 * e * theta)
    df = np.sqrt(df**2 + 2.25e-6)  # Zeeman splitting of the oxygen lines
    delta = (a5 + a6 * theta) * 1e-4 * (p + e) * theta**0.8
    n_ox = (s * _line_shape(f, fo, df, delta)).sum(axis=-1)
    wv = _lines("p676_water_vapour_lines.csv")
    fw, b1, b2, b3, b4, b5, b6 = (wv[:, i] for i in range(7))
    s = b1 * 1e-1 * e * theta**3.5 * np.exp(b2 * (1 - theta))
    df = b3 * 1e-4 * (p * theta**b4 + b5 * e * theta**b6)
    df = 0.535 * df + np.sqrt(0.217 * df**2 + 2.1316e-12 * fw**2 / theta)  # Doppler
    n_w = (s * _line_shape(f, fw, df, np.zeros_like(df))).sum(axis=-1)
    f0, p0, t0, e0 = f[..., 0], p[..., 0], theta[..., 0], e[..., 0]
    d = 5.6e-4 * (p0 + e0) * t0**0.8
    n_dry = (
        f0
        * p0
        * t0**2
        * (6.14e-5 / (d * (1 + (f0 / d) ** 2)) + 1.4e-12 * p0 * t0**1.5 / (1 + 1.9e-5 * f0**1.5))
    )
    return 0.1820 * f0 * (n_ox + n_dry), 0.1820 * f0 * n_w
