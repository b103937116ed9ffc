"""Synthetic telemetry against the engine: counters are loads integrated over time, labels
reproduce the observed rates through a what-if, and the records decode as live input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from nettwin.cli.app import app
from nettwin.engine import simulate
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live.observations import Decoder, InterfaceMap, TimeWindow
from nettwin.scenarios import parse_scenario
from nettwin.scenarios.apply import apply_scenario
from nettwin.synth import Noise, SynthConfig, Synthesizer
from nettwin.synth.generate import diurnal_scale


@pytest.fixture(scope="module")
def abilene():  # type: ignore[no-untyped-def]
    return load_network(example_path())


def _rates(records, link_ids):  # type: ignore[no-untyped-def]
    """Per (device, link): the out_octets rate (bit/s) of each interval."""
    series: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in records:
        if r["kind"] == "counter":
            series.setdefault((r["device"], r["interface"]), []).append(
                (r["time"], r["out_octets"]))
    return {k: np.diff([o for _, o in v]) * 8 / np.diff([t for t, _ in v])
            for k, v in series.items()}


def test_counters_are_engine_loads_integrated_when_noise_off(abilene) -> None:  # type: ignore[no-untyped-def]
    cfg = SynthConfig(steps=12, noise=Noise.off())
    synth = Synthesizer(abilene, cfg, seed=3)
    ep = synth.episode("none")
    rates = _rates(ep.records, synth.compiled.link_ids)
    c = synth.compiled
    # oracle: the engine at the scale of each interval's end (traffic held over the interval)
    base = simulate(c).arc_load_bps
    for arc in range(c.n_arcs):
        key = (c.node_ids[c.arc_src[arc]], c.link_ids[arc // 2])
        got = rates[key]
        # rate / base load is the same diurnal scale on every arc (linear routing)
        if base[arc] > 0:
            ratio = got / base[arc]
            ref = rates[(c.node_ids[c.arc_src[0]], c.link_ids[0])] / base[0]
            np.testing.assert_allclose(ratio, ref, rtol=1e-6)
    # and the scale is the diurnal profile at some hour: within its range
    assert ref.min() > 0.19 and ref.max() < 1.01
    assert all(0.2 - 1e-9 <= diurnal_scale(h) <= 1.0 for h in np.linspace(0, 24, 49))


def test_label_whatif_reproduces_observed_rates(abilene) -> None:  # type: ignore[no-untyped-def]
    cfg = SynthConfig(steps=12, noise=Noise.off())
    synth = Synthesizer(abilene, cfg, seed=5)
    ep = synth.episode("fibre_cut_offpeak")
    lab = ep.label
    rates = _rates(ep.records, synth.compiled.link_ids)
    c = synth.compiled
    # the last interval's rates against the whatif of the labelled failure
    applied = apply_scenario(abilene, c, parse_scenario([{"fail_link": lab.element}]))
    after = simulate(applied.compiled, arc_up=applied.arc_up).arc_load_bps
    before = simulate(c).arc_load_bps
    got = np.array([rates[(c.node_ids[c.arc_src[a]], c.link_ids[a // 2])][-1]
                    for a in range(c.n_arcs)])
    k = got[after > 0] / after[after > 0]
    np.testing.assert_allclose(k, k[0], rtol=1e-6)  # one traffic level explains every arc
    first = np.array([rates[(c.node_ids[c.arc_src[a]], c.link_ids[a // 2])][0]
                      for a in range(c.n_arcs)])
    k0 = first[before > 0] / before[before > 0]
    np.testing.assert_allclose(k0, k0[0], rtol=1e-6)  # before the cut: the baseline
    down = [r for r in ep.records if r["kind"] == "event" and r["event"] == "link_down"]
    assert {r["object"] for r in down} == {lab.element}
    assert lab.window_start < lab.start < lab.end
    assert math.isclose(min(r["time"] for r in down), lab.start)  # no delay with noise off


def test_records_decode_as_live_observations() -> None:
    path = example_path("munich-backhaul")
    net = load_network(path)
    from nettwin.cli.synth import radio_arrays

    synth = Synthesizer(net, SynthConfig(steps=8), radio_arrays(net, path, None), seed=1)
    recs = [r for s in ("rain_storm", "node_loss", "misalignment")
            for r in synth.episode(s).records]
    batch = Decoder(InterfaceMap(net), TimeWindow(max_future_s=math.inf)).decode(recs)
    assert batch.dead == []
    assert batch.n_good == len(recs)
    assert batch.radio and batch.n_counters


def test_cli_writes_labels_and_rejects_bad_scenario(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    res = runner.invoke(app, ["synth", "-n", "3", "--steps", "8", "-o", str(tmp_path), "-q"])
    assert res.exit_code == 0, res.output
    assert len((tmp_path / "labels.jsonl").read_text().splitlines()) == 3
    res = runner.invoke(app, ["synth", "-n", "1", "--scenarios", "rain_storm", "-o",
                              str(tmp_path)])
    assert res.exit_code == 3
    assert "rain_storm" in res.output


def test_measured_matrices_replayed_through_the_engine(abilene) -> None:  # type: ignore[no-untyped-def]
    """Counters equal the engine's loads of the given matrices (linear in between)."""
    from nettwin.engine.simulate import route

    k = len(abilene.demands)
    rng = np.random.default_rng(0)
    traffic = rng.uniform(0.5, 1.5, (20, k)) * 1e7
    synth = Synthesizer(abilene, SynthConfig(steps=6, interval_s=150.0, noise=Noise.off()),
                        seed=2, traffic_bps=traffic, traffic_interval_s=300.0)
    ep = synth.episode("none")
    rates = _rates(ep.records, synth.compiled.link_ids)
    c = synth.compiled
    got = np.array([rates[(c.node_ids[c.arc_src[a]], c.link_ids[a // 2])]
                    for a in range(c.n_arcs)]).T  # [steps, arcs]
    scaled = synth.traffic
    assert scaled is not None
    # oracle: the engine on each step's matrix, some start row, linear between rows
    matches = 0
    for start in range(scaled.shape[0]):
        pos = start + np.arange(1, 7) * 0.5
        lo = np.floor(pos).astype(int)
        w = (pos - lo)[:, None]
        mats = (1 - w) * scaled[lo % 20] + w * scaled[(lo + 1) % 20]
        want = np.array([route(c, c.arc_up, m).load_bps for m in mats])
        matches += bool(np.allclose(got, want, rtol=1e-6, atol=1.0))
    assert matches == 1
    with pytest.raises(ValueError, match="demands"):
        Synthesizer(abilene, traffic_bps=traffic[:, :3])


@pytest.mark.parametrize("scenario", ["node_loss", "srlg_cut", "metric_misconfig"])
def test_whatif_of_each_label_reproduces_the_rates(abilene, scenario: str) -> None:  # type: ignore[no-untyped-def]
    """The label, written as a what-if scenario, routes to the rates the counters show
    after the onset (one traffic level for every reporting arc)."""
    synth = Synthesizer(abilene, SynthConfig(steps=12, noise=Noise.off()), seed=8)
    ep = synth.episode(scenario)
    lab = ep.label
    change = {"node_loss": {"fail_node": lab.element},
              "srlg_cut": {"fail_srlg": lab.element},
              "metric_misconfig": {"set_metric": {"link": lab.element,
                                                  "metric": int(lab.params.get("new_metric", 0))}},
              }[scenario]
    c = synth.compiled
    applied = apply_scenario(abilene, c, parse_scenario([change]))
    after = simulate(applied.compiled, arc_up=applied.arc_up).arc_load_bps
    rates = _rates(ep.records, c.link_ids)
    at_end = {(r["device"], r["interface"]) for r in ep.records
              if r["kind"] == "counter" and r["time"] == lab.window_end}
    last = {}
    for a in range(c.n_arcs):
        key = (c.node_ids[c.arc_src[a]], c.link_ids[a // 2])
        if key in at_end:  # a dead router's ports report nothing after the onset
            last[a] = rates[key][-1]
    arcs = [a for a in last if after[a] > 0]
    k = np.array([last[a] / after[a] for a in arcs])
    np.testing.assert_allclose(k, k[0], rtol=1e-6)
    assert all(last[a] == 0 for a in last if after[a] == 0)
