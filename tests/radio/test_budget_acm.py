"""Link budgets worked by hand, P.530 inverses, ACM ladders and hysteresis."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nettwin import ValidationError, build_network
from nettwin.radio.acm import bundled_profiles, parse_acm_table, select_modes
from nettwin.radio.budget import compile_radio, dish_gain_dbi, free_space_loss_db, link_budget
from nettwin.radio.p530 import (
    multipath_worst_month,
    rain_attenuation_001,
    rain_attenuation_exceeded,
    rain_time_exceeded,
    worst_month_to_year,
)
from nettwin.radio.p676 import gaseous_specific_attenuation
from nettwin.radio.p838 import rain_coefficients
from tests.conftest import data_path


def _one_hop(**radio: object):  # type: ignore[no-untyped-def]
    nodes = [{"id": "A", "latitude": 48.0, "longitude": 11.0},
             {"id": "B", "latitude": 48.0, "longitude": 11.0 + 10 / (111.2 * math.cos(
                 math.radians(48.0)))}]
    r = {"frequency_ghz": 23.0, "profile": "MINI-LINK_6600/23GHz/56MHz", "tx_power_dbm": 18.0,
         "antenna_gain_a_dbi": 40.0, "antenna_gain_b_dbi": 40.0, "losses_db": 2.0,
         "rain_rate_r001_mm_h": 42.0, "dn1": -200.0, "altitude_a_m": 530.0,
         "altitude_b_m": 500.0} | radio
    links = [{"id": "AB", "a": "A", "b": "B", "kind": "microwave", "capacity_bps": 5e8,
              "length_km": 10.0, "radio": r}]
    return build_network("hop", nodes, links)


def test_link_budget_by_hand() -> None:
    budget = link_budget(compile_radio(_one_hop()))
    fsl = 92.45 + 20 * math.log10(23.0) + 20 * math.log10(10.0)  # P.525, = 139.69 dB
    assert float(free_space_loss_db(23.0, 10.0)) == pytest.approx(fsl)
    gas = float(budget.radio.gas_db[0])
    # P.676 (validated line by line against ITU-R's vectors in test_itu_vectors) in the
    # standard atmosphere: 1013.25 hPa in all, of which e = rho T / 216.7 (eq. 4) is water
    # vapour, 288.15 K, 7.5 g/m3; times the 10 km path
    e = 7.5 * 288.15 / 216.7
    oxygen, water = gaseous_specific_attenuation(23.0, 1013.25 - e, 288.15, 7.5)
    assert gas == pytest.approx(10.0 * float(oxygen + water), rel=1e-12)
    # near ITU-R's own 23 GHz row (0.19429 dB/km at 1013.25 hPa dry air)
    assert gas == pytest.approx(10.0 * 0.194288975955127, rel=0.01)
    profile = bundled_profiles()["MINI-LINK_6600/23GHz/56MHz"]
    top = profile.modes[-1]
    expected_rsl = min(18.0, top.max_tx_dbm) + 80.0 - fsl - gas - 2.0
    assert budget.rsl_dbm[0, len(profile.modes) - 1] == pytest.approx(expected_rsl)
    assert budget.margin_db[0, -1] == pytest.approx(expected_rsl - top.threshold_dbm)
    k, alpha = rain_coefficients(23.0, 0.0, 90.0)
    gamma = k * 42.0**alpha
    r = 1 / (0.477 * 10**0.633 * 42.0 ** (0.073 * alpha) * 23**0.123
             - 10.579 * (1 - math.exp(-0.024 * 10)))
    assert budget.a001_db[0] == pytest.approx(gamma * 10 * r)
    margin = budget.margin_db[0, 0]
    p_rain = float(rain_time_exceeded(budget.a001_db[0], 23.0, margin))
    k_mp = 10 ** (-4.6 - 0.0027 * -200.0)
    eps = 30.0 / 10.0  # |h_a - h_b| / d in mrad
    lower_antenna_m = 500.0
    pw = (k_mp * 10**3.1 * (1 + eps) ** -1.29 * 23**0.8
          * 10 ** (-0.00089 * lower_antenna_m - margin / 10))
    # latitude 48 deg > 45 deg: the minus sign of P.530 eq. (23)
    dg = 10.5 - 5.6 * math.log10(1.1 - abs(math.cos(2 * math.radians(48.0))) ** 0.7) \
        - 2.7 * math.log10(10.0) + 1.7 * math.log10(1 + eps)
    p_mp = 10 ** (-dg / 10) * pw
    assert budget.rain_percent[0, 0] == pytest.approx(p_rain)
    assert budget.multipath_percent[0, 0] == pytest.approx(p_mp)
    assert budget.availability[0, 0] == pytest.approx(1 - (p_rain + p_mp) / 100)


def test_rain_inverse_round_trip_and_bounds() -> None:
    a001 = np.array([20.0, 35.0])
    for p in (0.001, 0.003, 0.01, 0.1, 0.5, 1.0):
        a = rain_attenuation_exceeded(a001, 23.0, p)
        np.testing.assert_allclose(rain_time_exceeded(a001, 23.0, a), p, rtol=1e-9)
    # beyond 0.001 %: the extrapolated tail, small but never 0 (was 0, a cliff)
    assert 0.0 < rain_time_exceeded(20.0, 23.0, 500.0) < 1e-6
    assert rain_time_exceeded(20.0, 23.0, 0.01) == 1.0
    assert rain_attenuation_001(1.0, 10.0, 42.0, 23.0, 1.0) > 0
    assert multipath_worst_month(30.0, 10.0, 23.0, -200.0, 500.0, 3.0) < \
        multipath_worst_month(20.0, 10.0, 23.0, -200.0, 500.0, 3.0)
    assert worst_month_to_year(1.0, 10.0, 3.0, 48.0) < 1.0


def test_dish_gain() -> None:
    # 0.6 m at 23 GHz, 60 % efficiency: 10 log10(0.6 (pi 0.6 / 0.013034)^2) = 40.99 dBi
    assert float(dish_gain_dbi(0.6, 23.0, 0.6)) == pytest.approx(40.99, abs=0.01)


def test_radio_validation_reports_everything() -> None:
    with pytest.raises(ValidationError) as info:
        build_network("x", [{"id": "A"}, {"id": "B"}], [
            {"id": "f", "a": "A", "b": "B", "capacity_bps": 1e9,
             "radio": {"frequency_ghz": 23, "profile": "p"}},
            {"id": "m", "a": "A", "b": "B", "capacity_bps": 1e9, "kind": "microwave",
             "radio": {"frequency_ghz": 400, "profile": "p", "polarization": "circular"}}])
    text = str(info.value)
    assert "link 'f', field 'kind': radio parameters on a link that is not microwave" in text
    assert "link 'm' radio, field 'frequency_ghz': must be at most 100" in text
    assert "field 'polarization': expected one of horizontal, vertical" in text
    net = _one_hop(profile="nope", antenna_gain_a_dbi=None)
    with pytest.raises(ValidationError, match="unknown ACM profile"):
        compile_radio(net)


def test_the_whole_vendor_table_parses() -> None:
    text = data_path("radio", "acm_tables.txt").read_text(encoding="utf-8")
    profiles = parse_acm_table(text)
    assert len(profiles) == text.count("\n## ") + text.startswith("## ")
    declared = [int(h.rsplit("(", 1)[1].split()[0]) for h in text.splitlines()
                if h.startswith("##")]
    assert sum(len(p.modes) for p in profiles.values()) == sum(declared)
    ladder = profiles["MINI-LINK_6600/18GHz/28MHz"]
    assert [m.capacity_bps for m in ladder.modes] == sorted(m.capacity_bps for m in ladder.modes)
    assert ladder.modes[0].threshold_dbm == -87.5 and ladder.modes[-1].capacity_bps == 276e6


def test_hysteresis_drops_at_once_and_climbs_with_margin() -> None:
    thresholds = np.array([[-80.0, -70.0, -60.0]])
    hysteresis = np.array([3.0])
    levels = [-55.0, -61.0, -65.0, -71.0, -81.0, -79.0, -68.0, -66.0, -58.0, -56.0]
    expected = [2, 1, 1, 0, -1, -1, 0, 1, 1, 2]  # back up only 3 dB above a threshold
    mode = np.array([2])
    got = []
    for level in levels:
        mode = select_modes(np.full((1, 3), level), thresholds, mode, hysteresis)
        got.append(int(mode[0]))
    assert got == expected
