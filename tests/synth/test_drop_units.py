"""One drop convention from the generator to the diagnosis: ``out_drops`` counts packets
(SNMP ifOutDiscards, gNMI out-discards), beside ``out_packets`` (packets sent), so the live
state's drops_pps and the diagnosis's dropped bit/s are the same drop rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nettwin import compile_network
from nettwin.diagnose.observed import observe
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live import LiveTwin, Message
from nettwin.synth import Noise, SynthConfig, Synthesizer
from nettwin.synth.telemetry import PortCounters

NET = load_network(example_path())
PACKET_BYTES = 1000.0  # a packet size unlike the default, so a unit slip cannot hide
INTERVAL_S = 30.0


def _records() -> tuple[list[list[dict]], np.ndarray, np.ndarray]:
    """Per step the counter records of arcs carrying and dropping known rates."""
    c = compile_network(NET)
    counters = PortCounters(c, packet_bytes=PACKET_BYTES)
    carried = np.linspace(1e8, 3e8, c.n_arcs)
    dropped = np.linspace(0.0, 4e7, c.n_arcs)
    rng = np.random.default_rng(0)
    steps = []
    for k in range(6):
        if k:
            counters.advance(INTERVAL_S, carried, dropped)
        steps.append(counters.records(1.7e9 + k * INTERVAL_S, c.arc_up,
                                      np.ones(c.n_arcs, bool), rng, 0.0))
    return steps, carried, dropped


def test_out_drops_count_packets_like_out_packets() -> None:
    steps, carried, dropped = _records()
    c = compile_network(NET)
    first = {(r["device"], r["interface"]): r for r in steps[0]}
    last = {(r["device"], r["interface"]): r for r in steps[-1]}
    for a in range(c.n_arcs):
        key = (c.node_ids[c.arc_src[a]], c.link_ids[a // 2])
        d_pkts = last[key]["out_drops"] - first[key]["out_drops"]
        sent = last[key]["out_packets"] - first[key]["out_packets"]
        octets = last[key]["out_octets"] - first[key]["out_octets"]
        # unit-free oracle: dropped / sent packets is the dropped / carried rate
        assert d_pkts / sent == pytest.approx(dropped[a] / carried[a], rel=1e-4, abs=1e-6)
        assert octets / sent == pytest.approx(PACKET_BYTES, rel=1e-4)
        assert d_pkts == pytest.approx(dropped[a] * 5 * INTERVAL_S / 8 / PACKET_BYTES,
                                       rel=1e-4, abs=1.0)


def test_live_state_and_diagnosis_see_the_same_drop_rate() -> None:
    steps, _, dropped = _records()
    twin = LiveTwin(NET)
    for recs in steps:
        twin.process([Message(r) for r in recs])
    c = compile_network(NET)
    pps = {row["arc"]: row["drops_pps"] for row in twin.state.snapshot()["arcs"]}
    window = observe(NET, [r for recs in steps for r in recs])
    for a in range(c.n_arcs):
        want_pps = dropped[a] / 8 / PACKET_BYTES
        assert pps[c.arc_label(a)] == pytest.approx(want_pps, rel=1e-3, abs=0.1)
        got_bps = window.dropped_bps[-1, a]
        assert math.isfinite(got_bps)
        assert got_bps == pytest.approx(dropped[a], rel=1e-3, abs=8 * PACKET_BYTES)


def test_synthetic_episode_drops_are_packets_end_to_end() -> None:
    synth = Synthesizer(NET, SynthConfig(steps=12, noise=Noise.off()), seed=4)
    ep = synth.episode("lag_member_lost")
    counters = [r for r in ep.records if r["kind"] == "counter"]
    assert all("out_packets" in r for r in counters)
    window = observe(NET, ep.records)
    twin = LiveTwin(NET)
    for t in sorted({r["time"] for r in counters}):
        twin.process([Message(r) for r in counters if r["time"] == t])
    pps = np.array([np.nan if row["drops_pps"] is None else row["drops_pps"]
                    for row in twin.state.snapshot()["arcs"]])
    # the live state's packets per second, at the synthesizer's packet size, are the bit/s
    # the diagnosis reads from the same counters
    from nettwin.engine.simulate import SimulationOptions

    size = SimulationOptions().mean_packet_bytes
    assert (window.dropped_bps[-1] > 0).any()  # the lost LAG member overloads its link
    np.testing.assert_allclose(pps * 8 * size, window.dropped_bps[-1], rtol=1e-3, atol=8 * size)
