"""Rain storms: path integration against quadrature, cell motion, ACM, and the IP layer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from nettwin import build_network, compile_network, simulate
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.radio.acm import load_acm_profiles
from nettwin.radio.budget import compile_radio
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


def test_bad_storm_file_reports_every_problem() -> None:
    from nettwin import ValidationError

    with pytest.raises(ValidationError) as info:
        parse_storm({"duration_min": -5, "cells": [{"latitude": 48}, {"speed": 3}, 7]}, "s.yaml")
    text = str(info.value)
    assert "duration_min must be a number > 0" in text
    assert "s.yaml cell #2, field 'speed': unknown field" in text
    assert "s.yaml cell #3: expected a mapping" in text
