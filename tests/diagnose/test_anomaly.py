"""Anomaly detection against the twin: the labels of ``nettwin synth`` are the oracle (the
class each injected fault must show up as, on its element, from its onset on), flow
conservation is the oracle of the per-node balance (routing cannot move it), and the API
and CLI give what the library gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.cli.app import app
from nettwin.cli.synth import radio_arrays
from nettwin.diagnose import observe
from nettwin.diagnose.anomaly import EXPECTED_CLASS, AnomalyDetector, AnomalyError
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.synth import Noise, SynthConfig, Synthesizer


def _trained(name: str, seed: int, steps: int = 30) -> tuple[Any, Synthesizer, Any]:
    path = example_path(name)
    net = load_network(path)
    synth = Synthesizer(net, SynthConfig(steps=steps), radio_arrays(net, path, None), seed)
    det = AnomalyDetector(net, synth.compiled)
    det.fit([observe(net, synth.episode("none").records) for _ in range(3)])
    return net, synth, det


@pytest.mark.slow
@pytest.mark.parametrize(("name", "scenarios"), [
    ("abilene", ("fibre_cut_peak", "lag_member_lost", "metric_misconfig", "traffic_surge",
                 "node_loss", "none")),
    ("munich-backhaul", ("misalignment", "rain_storm", "none")),
])
def test_injected_faults_alarm_with_their_class_on_their_element(
        name: str, scenarios: tuple[str, ...]) -> None:
    net, synth, det = _trained(name, 21)
    for scenario in scenarios:
        ep = synth.episode(scenario)
        lab = ep.label
        alarms = det.detect(observe(net, ep.records))
        if scenario == "none":
            assert alarms == [], alarms
            continue
        want = EXPECTED_CLASS[lab.kind]
        hits = [a for a in alarms if a.cls is want and a.start >= lab.start - 60.0]
        assert hits, (scenario, alarms)
        assert {a.element for a in hits} & {lab.element, *lab.elements}, (scenario, hits)
        assert min(a.start for a in hits) <= lab.start + 3 * synth.config.interval_s
        # nothing before the onset (the bands hold in normal operation)
        assert all(a.start >= lab.start - 60.0 for a in alarms), alarms


def test_node_balance_is_routing_invariant_and_arcs_are_not() -> None:
    """Flow conservation: with exact counters a metric change moves arc rates but leaves
    every node's terminated-minus-originated traffic where the twin has it."""
    path = example_path("abilene")
    net = load_network(path)
    synth = Synthesizer(net, SynthConfig(steps=12, noise=Noise.off()), seed=4)
    ep = synth.episode("metric_misconfig")
    det = AnomalyDetector(net, synth.compiled)
    r = det.residuals(observe(net, ep.records))
    post = r.times >= ep.label.start  # a rate at t is the interval ending at t
    assert np.nanmax(np.abs(r.node[1:])) < 1e-6
    assert np.nanmax(np.abs(r.arc[post])) > 0.05
    assert np.nanmax(np.abs(r.arc[1:][~post[1:]])) < 1e-6
    with pytest.raises(AnomalyError):
        AnomalyDetector(net).detect(observe(net, ep.records))


def test_api_and_cli_give_the_library_alarms(tmp_path: Path) -> None:
    path = example_path("abilene")
    net = load_network(path)
    synth = Synthesizer(net, SynthConfig(steps=20), seed=9)
    train = synth.episode("none").records
    ep = synth.episode("traffic_surge")
    det = AnomalyDetector(net)
    det.fit([observe(net, train)])
    want = [a.to_json() for a in det.detect(observe(net, ep.records))]
    assert any(a["class"] == "traffic" and a["element"] == ep.label.element for a in want)
    settings = Settings(data_dir=tmp_path, load_example=True)
    token = TokenStore(settings.tokens_file).create("p", Role.PLANNER)
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/v1/networks/example/anomalies",
                        headers={"Authorization": f"Bearer {token}"},
                        json={"observations": ep.records, "training": train})
        assert r.status_code == 200, r.text
        assert r.json()["alarms"] == want
        r = client.post("/api/v1/networks/example/anomalies",
                        headers={"Authorization": f"Bearer {token}"},
                        json={"observations": ep.records[:3], "training": train[:3]})
        assert r.status_code == 422
    for name, records in (("obs.jsonl", ep.records), ("train.jsonl", train)):
        (tmp_path / name).write_text("".join(json.dumps(x) + "\n" for x in records))
    out = tmp_path / "out.json"
    res = CliRunner().invoke(app, ["anomalies", "-o", str(tmp_path / "obs.jsonl"), "--train",
                                   str(tmp_path / "train.jsonl"), "--json", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["alarms"] == want
