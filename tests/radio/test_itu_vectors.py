"""ITU-R formulas against the ITU-R Study Group 3 validation examples."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from nettwin.radio import climate
from nettwin.radio.p676 import gaseous_specific_attenuation
from nettwin.radio.p838 import rain_coefficients, rain_specific_attenuation
from tests.conftest import data_path


def _table(name: str, columns: int) -> np.ndarray:
    path = data_path("radio", "itu_validation", name)
    rows = list(csv.reader(path.open(encoding="latin-1")))[2:]
    return np.array([[float(x) for x in r[:columns]] for r in rows if r and r[0]])


def test_p676_13_line_by_line_gaseous_attenuation() -> None:
    f, p, t, rho, g_oxygen, g_water, g_total = _table("ITURP676-13_gamma.csv", 7).T
    oxygen, water = gaseous_specific_attenuation(f, p, t, rho)
    assert len(f) > 300
    np.testing.assert_allclose(oxygen, g_oxygen, rtol=1e-9)
    np.testing.assert_allclose(water, g_water, rtol=1e-9)
    np.testing.assert_allclose(oxygen + water, g_total, rtol=1e-9)


def test_p838_3_rain_specific_attenuation() -> None:
    el, f, rate, tau, k, alpha, gamma = _table("ITURP838-3_rain_specific_attenuation.csv", 7).T
    ours_k, ours_alpha = rain_coefficients(f, el, tau)
    np.testing.assert_allclose(ours_k, k, rtol=1e-6)
    np.testing.assert_allclose(ours_alpha, alpha, rtol=1e-6)
    np.testing.assert_allclose(rain_specific_attenuation(rate, f, el, tau), gamma, rtol=1e-6)


def test_p837_7_r001_and_p453_14_nwet_maps() -> None:
    if climate.maps_folder() is None:
        pytest.skip("ITU-R maps not installed (pip install nettwin[climate])")
    lat, lon, _, r001 = _table("ITURP837-7_rainfall_rate_R001.csv", 4).T
    np.testing.assert_allclose(climate.rain_rate_r001(lat, lon), r001, rtol=1e-6, atol=1e-9)
    lat, lon, _, nwet = _table("ITURP453-14_Nwet.csv", 4).T
    np.testing.assert_allclose(climate.wet_refractivity(lat, lon), nwet, rtol=1e-8)
