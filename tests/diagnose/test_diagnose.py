"""Counterfactual diagnosis on injected faults: the labelled element comes first for every
fault kind (noise on), the symptom-driven candidates rank as the brute force over every
single element does, and bad input is refused with exit 3."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from nettwin.cli.app import app
from nettwin.cli.synth import radio_arrays
from nettwin.diagnose import Diagnoser, observe
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.synth import SynthConfig, Synthesizer
from nettwin.synth.faults import FaultKind


def _setup(name: str, seed: int):  # type: ignore[no-untyped-def]
    path = example_path(name)
    net = load_network(path)
    synth = Synthesizer(net, SynthConfig(steps=24), radio_arrays(net, path, None), seed)
    return net, synth, Diagnoser(net)


ABILENE = ("fibre_cut_peak", "fibre_cut_offpeak", "srlg_cut", "node_loss", "lag_member_lost",
           "metric_misconfig", "traffic_surge", "cascading_overload", "none")


@pytest.mark.parametrize("seed", [11, 12])
def test_injected_element_ranked_first_abilene(seed: int) -> None:
    net, synth, diag = _setup("abilene", seed)
    for scenario in ABILENE:
        ep = synth.episode(scenario)
        best = diag.diagnose(observe(net, ep.records)).causes[0]
        assert best.kind is ep.label.kind, (scenario, best, ep.label)
        if ep.label.kind is not FaultKind.NONE:
            assert best.element == ep.label.element, (scenario, best, ep.label)


def test_radio_faults_told_apart() -> None:
    net, synth, diag = _setup("munich-backhaul", 21)
    for scenario in ("misalignment", "rain_storm", "misalignment", "rain_storm"):
        ep = synth.episode(scenario)
        best = diag.diagnose(observe(net, ep.records)).causes[0]
        assert best.kind is ep.label.kind, (scenario, best, ep.label)
        assert best.element in ep.label.elements


def test_silent_capacity_loss_found_from_counters_alone() -> None:
    net, synth, diag = _setup("abilene", 31)
    ep = synth.episode("lag_member_lost")
    assert not [r for r in ep.records if r["kind"] == "event"
                and r["event"] in ("link_down", "node_down")]
    best = diag.diagnose(observe(net, ep.records)).causes[0]
    assert (best.kind, best.element) == (FaultKind.CAPACITY_DEGRADED, ep.label.element)
    lost = ep.label.params["members_lost"] / ep.label.params["members"]
    assert best.params["capacity_factor"] == pytest.approx(1 - lost, abs=0.05)


def test_symptom_candidates_rank_as_brute_force() -> None:
    """Oracle: every single-element candidate (all links, nodes, SRLGs, metrics, surges)."""
    net, synth, diag = _setup("abilene", 41)
    for scenario in ("fibre_cut_peak", "node_loss", "metric_misconfig", "traffic_surge",
                     "lag_member_lost"):
        obs = observe(net, synth.episode(scenario).records)
        fast = diag.diagnose(obs, top=3)
        brute = diag.diagnose(obs, top=50, exhaustive=True)
        assert brute.candidates > fast.candidates
        full = [(c.kind, c.element) for c in brute.causes]
        mine = [(c.kind, c.element) for c in fast.causes]
        assert mine[0] == full[0]
        assert [full.index(x) for x in mine] == sorted(full.index(x) for x in mine)


def test_bad_observations_exit_3(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    missing = runner.invoke(app, ["diagnose", "--observations", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 3 and "does not exist" in missing.output
    junk = tmp_path / "junk.jsonl"
    junk.write_text('{"kind": "counter", "device": "Mars", "interface": "x", "time": 1}\n'
                    "not json\n")
    res = runner.invoke(app, ["diagnose", "--observations", str(junk)])
    assert res.exit_code == 3
    assert "unknown port device='Mars'" in res.output


def test_cli_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    assert runner.invoke(app, ["synth", "-n", "1", "--steps", "12", "--scenarios",
                               "fibre_cut_peak", "-o", str(tmp_path), "-q"]).exit_code == 0
    res = runner.invoke(app, ["diagnose", "--observations",
                              str(tmp_path / "observations.jsonl"), "--json", "-"])
    assert res.exit_code == 0, res.output
    import json

    doc = json.loads(res.stdout)
    label = json.loads((tmp_path / "labels.jsonl").read_text())
    assert doc["causes"][0]["kind"] == "link_down"
    assert doc["causes"][0]["element"] == label["element"]
    assert doc["causes"][0]["chain"][0].startswith("link_down")


def test_a_window_given_backwards_is_a_usage_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """--since after --until is the command line's fault (exit 2, saying so), not the
    data's; the same window the right way round finds the injected fault (the label)."""
    import json

    runner = CliRunner()
    assert runner.invoke(app, ["synth", "-n", "1", "--steps", "12", "--scenarios",
                               "fibre_cut_peak", "-o", str(tmp_path), "-q"]).exit_code == 0
    label = json.loads((tmp_path / "labels.jsonl").read_text())
    obs = str(tmp_path / "observations.jsonl")
    start, end = str(label["window_start"]), str(label["window_end"])
    res = runner.invoke(app, ["diagnose", "-o", obs, "--since", end, "--until", start])
    assert res.exit_code == 2, res.output
    assert "not before --until" in " ".join(res.output.split())
    res = runner.invoke(app, ["diagnose", "-o", obs, "--since", start, "--until", end,
                              "--json", "-"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["causes"][0]["element"] == label["element"]


def test_calibrated_matrix_reproduces_the_true_one() -> None:
    """Tomogravity with the twin's matrix as prior, fed exact counters of a drifted matrix:
    the re-estimate routes to the observed loads (oracle: the engine)."""
    import numpy as np

    from nettwin.engine.simulate import route
    from nettwin.synth import Noise

    net = load_network(example_path())
    synth = Synthesizer(net, SynthConfig(steps=24, noise=Noise.off()), None, 3)
    diag = Diagnoser(net)
    ep = synth.episode("fibre_cut_offpeak")
    obs = observe(net, ep.records)
    rates = diag.calibrated_rates(obs)
    assert rates is not None
    c = diag.c
    load = route(c, c.arc_up, rates).load_bps
    onset = int(diag.context(obs).post[0]) - 1
    seen = obs.carried_bps[1:onset - 1]
    level = np.nanmean(seen / load[None, :])
    np.testing.assert_allclose(level * load, np.nanmean(seen, axis=0), rtol=0.02)


def test_diagnosis_from_the_live_history_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Observations ingested by the live twin, read back from its store (no drops there)."""
    from nettwin.diagnose import history_window
    from nettwin.live import LiveTwin, Store
    from nettwin.live.sources import Message

    net, synth, diag = _setup("abilene", 51)
    ep = synth.episode("node_loss")
    url = f"sqlite:///{tmp_path / 'twin.db'}"
    twin = LiveTwin(net, Store(url))
    twin.process([Message(r) for r in ep.records], source="test")
    obs = history_window(net, url, ep.label.window_start)
    best = diag.diagnose(obs).causes[0]
    assert (best.kind, best.element) == (FaultKind.NODE_DOWN, ep.label.element)
    runner = CliRunner()
    res = runner.invoke(app, ["diagnose", "--store", url, "--since", "0", "--json", "-"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["diagnose", "--store", f"sqlite:///{tmp_path / 'empty.db'}",
                              "--since", "0"])
    assert res.exit_code == 3 and "holds no rates" in res.output
