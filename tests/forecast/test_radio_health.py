"""Radio predictive maintenance: the rain rate a fade implies inverts ITU-R P.838-3 (the ITU
validation vectors are the oracle), and on synthetic RSL histories the labels are the
oracle: a labelled degradation is found on its link, of its kind, after it starts and (a
slow decline) before the fade margin is gone; rain fades are never taken for one."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from tests.conftest import data_path

from nettwin.cli.synth import radio_arrays
from nettwin.examples import example_path
from nettwin.forecast.radio_health import HealthKind, RadioHealth, implied_rain_rate
from nettwin.io import load_network
from nettwin.synth.radio_history import Degradation, synth_radio_history


def test_implied_rain_rate_inverts_the_p838_validation_vectors() -> None:
    path = data_path("radio", "itu_validation", "ITURP838-3_rain_specific_attenuation.csv")
    rows = list(csv.reader(path.open(encoding="latin-1")))[2:]
    _el, _f, rate, _tau, k, alpha, gamma = np.array(
        [[float(x) for x in r[:7]] for r in rows if r and r[0]]).T
    for d_km in (1.0, 7.5):
        np.testing.assert_allclose(implied_rain_rate(gamma * d_km, k, alpha, d_km), rate,
                                   rtol=1e-6)


@pytest.fixture(scope="module")
def munich():  # type: ignore[no-untyped-def]
    path = example_path("munich-backhaul")
    net = load_network(path)
    return radio_arrays(net, path, None)


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "degradation"), [(0, None), (1, Degradation.SLOW_DECLINE),
                                                   (2, Degradation.MISALIGNMENT)])
def test_labelled_degradation_found_and_rain_not_mistaken(munich, seed: int,  # type: ignore[no-untyped-def]
                                                          degradation: Degradation | None
                                                          ) -> None:
    h = synth_radio_history(munich, seed=seed, degradation=degradation)
    alarms = RadioHealth(munich).assess(h.times, h.rsl_dbm, h.clear_sky_dbm, h.margin_db)
    found = [a for a in alarms if a.kind is not HealthKind.RAIN_FADE]
    lab = h.degradation
    if lab is None:
        assert found == []
    else:
        assert [(a.link, a.kind.value) for a in found] == [(lab.link, lab.kind.value)]
        a = found[0]
        assert a.detected_at >= lab.start
        if lab.kind is Degradation.SLOW_DECLINE:
            assert a.detected_at < lab.exhausted_at  # warned before the margin is gone
            assert a.rate_db_per_day == pytest.approx(lab.rate_db_per_day, rel=0.5)
            assert math.isfinite(a.eta_exhausted)
        else:
            assert a.detected_at - lab.start <= 6 * 3600
            assert a.step_db == pytest.approx(lab.step_db, abs=1.0)
    # rain: most labelled fades of 3 dB or more are reported as rain on their links
    rain = {(a.link, a.start) for a in alarms if a.kind is HealthKind.RAIN_FADE}
    seen = hit = 0
    for r in h.rain:
        for lid in r.links:
            seen += 1
            hit += any(link == lid and r.start - 3600 <= t <= r.end + 3600 for link, t in rain)
    assert seen >= 5 and hit >= 0.8 * seen


def test_cli_synth_radio_days_then_radio_health_finds_the_label(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from nettwin.cli.app import app

    net = str(example_path("munich-backhaul"))
    runner = CliRunner()
    res = runner.invoke(app, ["synth", net, "--radio-days", "6", "--radio-degradation",
                              "misalignment", "--seed", "2", "-o", str(tmp_path), "-q"])
    assert res.exit_code == 0, res.output
    label = json.loads((tmp_path / "radio_labels.json").read_text())["degradation"]
    out = tmp_path / "health.json"
    res = runner.invoke(app, ["radio-health", net, "-o", str(tmp_path / "radio.jsonl"),
                              "--json", str(out), "-q"])
    assert res.exit_code == 0, res.output
    found = [a for a in json.loads(out.read_text())["alarms"] if a["kind"] != "rain_fade"]
    assert [(a["link"], a["kind"]) for a in found] == [(label["link"], "misalignment")]
    res = runner.invoke(app, ["radio-health", "-o", str(tmp_path / "radio.jsonl")])
    assert res.exit_code == 3 and "microwave" in res.output  # Abilene has no radio links
