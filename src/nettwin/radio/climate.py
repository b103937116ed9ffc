"""Climate inputs from the ITU-R digital maps: R0.01 (P.837-7), wet refractivity and the
refractivity gradient dN1 (P.453-14), bilinear on each map's grid (P.1144).

The maps are large; they are read from the ``itur`` package's data folder when it is
installed (``pip install nettwin[climate]``) — only its data files, never its code, which
has known errors in P.530. Without them, give R0.01 and dN1 per link or per network.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import numpy as np

from nettwin.errors import ClimateDataError


def maps_folder() -> Path | None:
    """Where the ITU-R maps lie (the itur package's data folder), or None."""
    spec = importlib.util.find_spec("itur")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return folder if folder.is_dir() else None


@cache
def _grid(lat_file: str, lon_file: str, value_file: str) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    folder = maps_folder()
    if folder is None:
        raise ClimateDataError(
            "ITU-R climate maps not installed: `pip install nettwin[climate]`, or give "
            "rain_rate_r001_mm_h and dn1 for each radio link")
    lat = np.load(folder / lat_file)["arr_0"][:, 0]
    lon = np.load(folder / lon_file)["arr_0"][0, :]
    values = np.load(folder / value_file)["arr_0"].astype(np.float64)
    if lat[0] > lat[-1]:
        lat, values = lat[::-1], values[::-1, :]
    return lat, lon, values


def bilinear(lat_grid: np.ndarray, lon_grid: np.ndarray, values: np.ndarray,
             lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Bilinear interpolation on a regular lat/lon grid (P.1144 Annex 1, method 1b)."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    lon0, step_lon = lon_grid[0], lon_grid[1] - lon_grid[0]
    lon = (lon - lon0) % 360.0 + lon0  # the grid's own longitude convention
    step_lat = lat_grid[1] - lat_grid[0]
    fr = np.clip((lat - lat_grid[0]) / step_lat, 0, lat_grid.size - 1 - 1e-9)
    fc = np.clip((lon - lon0) / step_lon, 0, lon_grid.size - 1 - 1e-9)
    r, c = np.floor(fr).astype(int), np.floor(fc).astype(int)
    dr, dc = fr - r, fc - c
    return np.asarray(values[r, c] * (1 - dr) * (1 - dc) + values[r + 1, c] * dr * (1 - dc)
                      + values[r, c + 1] * (1 - dr) * dc + values[r + 1, c + 1] * dr * dc)


def rain_rate_r001(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Rain rate exceeded 0.01 % of an average year, mm/h (P.837-7 map)."""
    return bilinear(*_grid("837/v7_lat_r001.npz", "837/v7_lon_r001.npz", "837/v7_r001.npz"),
                    lat, lon)


def wet_refractivity(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Median (50 %) wet term of surface refractivity, N-units (P.453-14 map)."""
    return bilinear(*_grid("453/v13_lat_n.npz", "453/v13_lon_n.npz",
                           "453/v13_nwet_annual_50.npz"), lat, lon)


def refractivity_gradient_dn1(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Point refractivity gradient in the lowest 65 m not exceeded 1 % of the year, N/km
    (P.453-14 map); the dN1 of P.530's multipath model."""
    return bilinear(*_grid("453/v12_lat0d75.npz", "453/v12_lon0d75.npz",
                           "453/v12_dn65m_01d00_v1.npz"), lat, lon)
