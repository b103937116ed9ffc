"""Simulated live weather (the embedded default's storm replayed over the Munich radio links):
tick by tick it must be the storm as ``run_storm`` steps it, looping, and the service's live
state must carry its modes."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import yaml
from fastapi.testclient import TestClient

from nettwin import compile_network
from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live.weather import LiveWeather
from nettwin.radio.acm import bundled_profiles, load_acm_profiles
from nettwin.radio.budget import compile_radio, link_budget
from nettwin.radio.storm import parse_storm, run_storm
from tests.radio.test_storm import acm_walk

MUNICH = example_path("munich-backhaul")


def test_weather_ticks_are_the_storm_steps_looping() -> None:
    net = load_network(MUNICH)
    extra = load_acm_profiles(MUNICH.with_name("munich-acm-38ghz.txt"))
    radio = compile_radio(net, extra)
    storm = parse_storm(yaml.safe_load(example_path("munich-storm").read_text()), "storm")
    compiled = compile_network(net)
    steps = run_storm(net, radio, storm, compiled=compiled)
    n = steps.times_min.size
    assert (steps.mode < radio.top_mode).any()  # the storm bites
    # past the end the storm starts again, the radios keep their modes (hysteresis): the
    # modes are the ACM walk over the looping fades (the first loop is run_storm's)
    ticks = 2 * n + 3
    fades = steps.attenuation_db[np.arange(ticks) % n]
    profiles = bundled_profiles() | extra
    rsl = link_budget(radio).rsl_dbm
    modes = np.empty((ticks, radio.n), np.int64)
    for i, lid in enumerate(radio.link_ids):
        cfg = net.links[lid].radio
        assert cfg is not None
        ladder = profiles[cfg.profile].modes
        modes[:, i] = acm_walk(rsl[i, :len(ladder)].tolist(),
                               [m.threshold_dbm for m in ladder], cfg.hysteresis_db,
                               fades[:, i].tolist())
    np.testing.assert_array_equal(modes[:n], steps.mode)
    weather = LiveWeather(radio, storm)
    for tick in range(ticks):
        got = weather.at_tick(tick, compiled)
        mode = modes[tick]
        for i, lid in enumerate(radio.link_ids):
            ladder = profiles[net.links[lid].radio.profile].modes  # type: ignore[union-attr]
            want = "down" if mode[i] < 0 else ladder[mode[i]].name
            assert got.link_modes[lid] == want, (tick, lid)
            arcs = [2 * radio.link_index[i], 2 * radio.link_index[i] + 1]
            assert (got.arc_up[arcs] == (mode[i] >= 0)).all()
            if mode[i] >= 0:
                assert (got.arc_capacity_bps[arcs] == ladder[mode[i]].capacity_bps).all()
        others = np.setdiff1d(np.arange(compiled.n_arcs),
                              np.concatenate([2 * radio.link_index, 2 * radio.link_index + 1]))
        np.testing.assert_array_equal(got.arc_capacity_bps[others],
                                      compiled.arc_capacity_bps[others])


def test_embedded_service_publishes_the_weather(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, load_example=True, simulate_telemetry_s=0.05)
    token = TokenStore(settings.tokens_file).create("viewer", Role.VIEWER)
    h = {"Authorization": f"Bearer {token}"}
    net = load_network(MUNICH)
    extra = load_acm_profiles(MUNICH.with_name("munich-acm-38ghz.txt"))
    radio = compile_radio(net, extra)
    profiles = bundled_profiles() | extra
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 60
        state = client.get("/api/v1/networks/munich/state", headers=h)
        while state.status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.05)
            state = client.get("/api/v1/networks/munich/state", headers=h)
        assert state.status_code == 200, state.text
        doc = state.json()
    assert set(doc["link_modes"]) == set(radio.link_ids)
    up = {a["arc"]: a["up"] for a in doc["arcs"]}
    compiled = compile_network(net)
    for i, lid in enumerate(radio.link_ids):
        names = [m.name for m in profiles[net.links[lid].radio.profile].modes]  # type: ignore[union-attr]
        assert doc["link_modes"][lid] in [*names, "down"]
        a = int(radio.link_index[i])
        arc_up = up[compiled.arc_label(2 * a)] and up[compiled.arc_label(2 * a + 1)]
        assert arc_up == (doc["link_modes"][lid] != "down"), lid
