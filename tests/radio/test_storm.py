"""Rain storms: path integration against quadrature, cell motion, ACM, and the IP layer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from nettwin import build_network, compile_network, simulate
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.model import Network
from nettwin.radio.acm import AcmProfile, bundled_profiles, load_acm_profiles
from nettwin.radio.budget import RadioArrays, compile_radio, link_budget
from nettwin.radio.storm import RainCell, Storm, StormField, parse_storm, run_storm


def _triangle():  # type: ignore[no-untyped-def]
    km = 1 / (111.2 * math.cos(math.radians(48.0)))
    nodes = [{"id": "A", "latitude": 48.0, "longitude": 11.0},
             {"id": "B", "latitude": 48.0, "longitude": 11.0 + 8 * km},
             {"id": "C", "latitude": 48.1, "longitude": 11.0 + 4 * km}]
    radio = {"frequency_ghz": 23.0, "profile": "MINI-LINK_6600/23GHz/56MHz",
             "tx_power_dbm": 18.0, "dish_diameter_m": 0.6, "rain_rate_r001_mm_h": 40.0,
             "dn1": -200.0}
    links = [{"id": "AB", "a": "A", "b": "B", "kind": "microwave", "capacity_bps": 559e6,
              "metric": 1, "radio": radio},
             {"id": "AC", "a": "A", "b": "C", "capacity_bps": 1e9, "metric": 5},
             {"id": "CB", "a": "C", "b": "B", "capacity_bps": 1e9, "metric": 5}]
    return build_network("tri", nodes, links, [{"src": "A", "dst": "B", "rate_bps": 300e6}])


def acm_walk(rsl_clear_dbm: list[float], thresholds_dbm: list[float], hysteresis_db: float,
             fades_db: list[float]) -> list[int]:
    """The mode of one link at each step, the way a radio does it: start in the top mode;
    when the current mode's threshold is no longer met, fall at once to the best mode that
    is met (-1: none, the link is down); climb only to a mode met with ``hysteresis_db`` to
    spare. ``rsl_clear_dbm``: clear-sky level per mode (Tx power differs by mode)."""
    top = len(thresholds_dbm) - 1
    mode, out = top, []
    for fade in fades_db:
        rsl = [r - fade for r in rsl_clear_dbm]
        met = [k for k in range(top + 1) if rsl[k] >= thresholds_dbm[k]]
        if mode >= 0 and rsl[mode] < thresholds_dbm[mode]:
            mode = max(met, default=-1)
        else:
            spare = [k for k in range(top + 1) if rsl[k] >= thresholds_dbm[k] + hysteresis_db]
            mode = max([mode, *spare])
        out.append(mode)
    return out


def _check_modes(net: Network, radio: RadioArrays, profiles: dict[str, AcmProfile],
                 attenuation_db: np.ndarray, mode: np.ndarray) -> None:
    """Every link's modes over the storm against ``acm_walk`` on its profile's ladder."""
    rsl = link_budget(radio).rsl_dbm  # clear sky, checked by hand in test_budget_acm
    for i, lid in enumerate(radio.link_ids):
        cfg = net.links[lid].radio
        assert cfg is not None
        ladder = profiles[cfg.profile].modes
        want = acm_walk(rsl[i, :len(ladder)].tolist(), [m.threshold_dbm for m in ladder],
                        cfg.hysteresis_db, attenuation_db[:, i].tolist())
        assert mode[:, i].tolist() == want, lid


def test_path_fade_equals_quadrature() -> None:
    net = _triangle()
    radio = compile_radio(net)
    cell = RainCell(latitude=48.0, longitude=11.03, peak_mm_h=90.0, radius_km=2.5)
    storm = Storm("one cell", (cell,), 10.0)
    fine = StormField(radio, storm, samples=20_000).attenuation(0.0)[0]
    coarse = StormField(radio, storm).attenuation(0.0)[0]
    field = StormField(radio, storm)
    cx, cy, peak, r0 = field.cells_at(0.0)
    ax, ay, bx, by = field.ax[0], field.ay[0], field.bx[0], field.by[0]
    length = math.hypot(bx - ax, by - ay)
    k, alpha = radio.k[0], radio.alpha[0]

    def integrand(s: float) -> float:
        x, y = ax + (bx - ax) * s / length, ay + (by - ay) * s / length
        rate = peak[0] * math.exp(-math.hypot(x - cx[0], y - cy[0]) / r0[0])
        return k * rate**alpha if rate >= 0.5 else 0.0

    exact, _ = quad(integrand, 0.0, length, limit=400)
    assert fine == pytest.approx(exact, rel=1e-4)
    assert coarse == pytest.approx(exact, rel=0.05)  # 16 samples: within 5 %


def test_cells_move_grow_and_expire() -> None:
    radio = compile_radio(_triangle())
    cell = RainCell(latitude=48.0, longitude=11.0, peak_mm_h=50.0, radius_km=3.0,
                    speed_kmh=60.0, heading_deg=90.0, growth_per_h=math.log(2), end_min=90)
    field = StormField(radio, Storm("s", (cell,), 120.0))
    x0, y0, p0, _ = field.cells_at(0.0)
    x1, y1, p1, _ = field.cells_at(60.0)
    assert x1[0] - x0[0] == pytest.approx(60.0, rel=1e-12) and y1[0] == pytest.approx(y0[0])
    assert p1[0] == pytest.approx(2 * p0[0])
    assert field.cells_at(100.0)[0].size == 0


def test_a_drowned_radio_link_reroutes_traffic_over_fibre() -> None:
    net = _triangle()
    radio = compile_radio(net)
    storm = Storm("deluge", (RainCell(48.0, 11.054, 150.0, 6.0, end_min=10.0),), 20.0, 5.0)
    result = run_storm(net, radio, storm)
    _check_modes(net, radio, bundled_profiles(), result.attenuation_db, result.mode)
    assert result.mode[:, 0].tolist()[:3] == [-1, -1, -1]  # 0, 5 and 10 min: down
    top = int(np.flatnonzero(np.isfinite(radio.threshold_dbm[0]))[-1])
    assert result.mode[-1, 0] == top  # the cell is gone: back to the top mode
    compiled = compile_network(net)
    up = compiled.arc_up.copy()
    up[[0, 1]] = False
    expected = simulate(compiled, arc_up=up)
    assert result.unroutable_bps[0] == 0.0
    assert result.max_utilisation[0] == pytest.approx(expected.kpis()["max_utilisation"])


def test_storm_steps_equal_runs_with_the_resulting_capacities() -> None:
    net = load_network(example_path("munich-backhaul"))
    extra = load_acm_profiles(example_path("munich-backhaul").with_name("munich-acm-38ghz.txt"))
    radio = compile_radio(net, extra)
    storm = parse_storm({"duration_min": 40, "step_min": 10, "cells": [
        {"latitude": 48.14, "longitude": 11.58, "peak_mm_h": 120, "radius_km": 4}]})
    result = run_storm(net, radio, storm)
    _check_modes(net, radio, bundled_profiles() | extra, result.attenuation_db, result.mode)
    compiled = compile_network(net)
    for k in range(result.times_min.size):
        cap = compiled.arc_capacity_bps.copy()
        up = compiled.arc_up.copy()
        for i, link in enumerate(radio.link_index):
            mode = result.mode[k, i]
            if mode < 0:
                up[[2 * link, 2 * link + 1]] = False
            else:
                cap[[2 * link, 2 * link + 1]] = radio.capacity_bps[i, mode]
        import dataclasses

        expected = simulate(dataclasses.replace(compiled, arc_capacity_bps=cap), arc_up=up)
        assert result.max_utilisation[k] == pytest.approx(expected.kpis()["max_utilisation"])
        np.testing.assert_array_equal(result.service_violated[k], expected.services.violated)
    assert (result.mode[0] < result.mode[0].max()).any()  # the cell over the core bites


def test_acm_holds_the_lower_mode_until_the_fade_falls_by_the_margin() -> None:
    """A cell over the radio hop that weakens minute by minute: on the way down the link
    changes mode as soon as a threshold is missed; on the way back up it holds each lower
    mode until the fade has fallen by the hysteresis (3 dB) below the higher mode's limit."""
    net = _triangle()
    radio = compile_radio(net)
    cell = RainCell(48.0, 11.054, 120.0, 6.0, growth_per_h=-3.0)
    storm = Storm("fading", (cell,), 90.0, 1.0)
    result = run_storm(net, radio, storm)
    _check_modes(net, radio, bundled_profiles(), result.attenuation_db, result.mode)
    fade, mode = result.attenuation_db[:, 0], result.mode[:, 0]
    assert (np.diff(fade) < 0).all() and mode[0] < mode[-1]  # a falling fade, climbing modes
    ladder = bundled_profiles()["MINI-LINK_6600/23GHz/56MHz"].modes
    rsl = link_budget(radio).rsl_dbm[0]
    held = [k for k in range(fade.size) if 0 <= mode[k] < len(ladder) - 1
            and rsl[mode[k] + 1] - fade[k] >= ladder[mode[k] + 1].threshold_dbm]
    assert held  # steps where the next mode is met but not by 3 dB: the link stays
    for k in held:
        margin = rsl[mode[k] + 1] - fade[k] - ladder[mode[k] + 1].threshold_dbm
        assert 0.0 <= margin < 3.0
    # without the margin the radio would have climbed earlier
    eager = acm_walk(rsl.tolist(), [m.threshold_dbm for m in ladder], 0.0, fade.tolist())
    assert eager != mode.tolist() and all(e >= m for e, m in zip(eager, mode, strict=True))
    # a cell crossing the hop: the fade rises then falls; down at once, up with the margin
    passing = RainCell(48.0, 10.9, 80.0, 4.0, speed_kmh=30.0, heading_deg=90.0)
    result = run_storm(net, radio, Storm("passing", (passing,), 60.0, 1.0))
    _check_modes(net, radio, bundled_profiles(), result.attenuation_db, result.mode)
    steps = np.diff(result.mode[:, 0])
    assert (steps < 0).any() and (steps > 0).any()


def test_bad_storm_file_reports_every_problem() -> None:
    from nettwin import ValidationError

    with pytest.raises(ValidationError) as info:
        parse_storm({"duration_min": -5, "cells": [{"latitude": 48}, {"speed": 3}, 7]}, "s.yaml")
    text = str(info.value)
    assert "duration_min must be a number > 0" in text
    assert "s.yaml cell #2, field 'speed': unknown field" in text
    assert "s.yaml cell #3: expected a mapping" in text
