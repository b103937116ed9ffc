"""Counters to rates, duplicates, resets, link status and alarms — against a sample-by-sample
reference and against the engine's own loads."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nettwin import compile_network, simulate
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live import LiveTwin, Message
from nettwin.live.simulated import counter_records
from nettwin.live.state import TwinState

NET = load_network(example_path())


def _feed(twin: LiveTwin, records: list[dict]) -> None:
    twin.process([Message(r) for r in records])


def test_rates_equal_the_engine_loads() -> None:
    sim = simulate(compile_network(NET))
    twin = LiveTwin(NET)
    for recs in counter_records(NET, sim.arc_load_bps, start=1.7e9, interval_s=30, steps=3):
        _feed(twin, recs)
    np.testing.assert_allclose(twin.state.arc_rate_bps, sim.arc_load_bps, rtol=1e-9)
    assert twin.state.samples == 4 * 2 * len(NET.links)


def _reference(batches: list[list[tuple[int, float, float]]], n_ports: int,
               port_arc: np.ndarray, n_arcs: int) -> np.ndarray:
    """Sample by sample, in each batch's (port, time) order: the semantics in words."""
    last: dict[int, tuple[float, float]] = {}
    rate = np.full(n_arcs, np.nan)
    rate_t = np.full(n_arcs, -np.inf)
    for batch in batches:
        for port, t, octets in sorted(batch, key=lambda s: (s[0], s[1])):
            if port in last and t <= last[port][0]:
                continue  # duplicate or stale
            if port in last and octets >= last[port][1]:
                arc = port_arc[port]
                if t >= rate_t[arc]:
                    rate[arc] = 8 * (octets - last[port][1]) / (t - last[port][0])
                    rate_t[arc] = t
            last[port] = (t, octets)
    return rate


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 30),
                                   st.integers(0, 10_000)), max_size=25), min_size=1,
                max_size=6))
def test_batches_match_the_sample_by_sample_reference(raw: list) -> None:
    state = TwinState(NET)
    ports = {}
    for (device, interface), p in state.ports.ports.items():
        if interface in state.ports.link_ids:
            ports[p] = (device, interface)
    chosen = sorted(ports)[:6]
    batches = [[(chosen[p], float(t), float(o)) for p, t, o in b] for b in raw]
    twin = LiveTwin(NET)
    for b in batches:
        _feed(twin, [{"kind": "counter", "time": t, "device": ports[p][0],
                      "interface": ports[p][1], "out_octets": o} for p, t, o in b])
    expected = _reference(batches, len(state.ports), state.ports.port_arc,
                          twin.state.compiled.n_arcs)
    np.testing.assert_allclose(twin.state.arc_rate_bps, expected, rtol=1e-12, equal_nan=True)


def test_replaying_a_batch_changes_nothing() -> None:
    sim = simulate(compile_network(NET))
    twin = LiveTwin(NET)
    steps = list(counter_records(NET, sim.arc_load_bps, start=1e9, interval_s=10, steps=2))
    for recs in steps:
        _feed(twin, recs)
    before = twin.state.arc_rate_bps.copy()
    changes = twin.process([Message(r) for r in steps[1]])
    assert changes.duplicates == len(steps[1]) and not changes.rates
    np.testing.assert_array_equal(twin.state.arc_rate_bps, before)


def test_counter_reset_restarts_the_baseline() -> None:
    twin = LiveTwin(NET)
    rec = {"kind": "counter", "device": "Denver", "interface": "Denver--Kansas-City"}
    _feed(twin, [rec | {"time": 100.0, "out_octets": 1e9}])
    _feed(twin, [rec | {"time": 110.0, "out_octets": 2e9}])
    changes = twin.process([Message(rec | {"time": 120.0, "out_octets": 5e6})])  # rebooted
    assert changes.resets == 1 and not changes.rates
    _feed(twin, [rec | {"time": 130.0, "out_octets": 5e6 + 1.25e9}])
    arc = next(a for a in range(twin.state.compiled.n_arcs)
           if twin.state.compiled.arc_label(a) == "Denver--Kansas-City (Denver->Kansas-City)")
    assert twin.state.arc_rate_bps[arc] == 1e9  # 1.25 GB in 10 s


def test_link_status_and_alarms_follow_counters_and_events() -> None:
    twin = LiveTwin(NET)
    down = twin.process([Message({"kind": "counter", "time": 5.0, "device": "Denver",
                                  "interface": "Denver--Kansas-City", "oper_status": "down"})])
    assert down.link_status == [(5.0, "Denver--Kansas-City", False)]
    assert ("Denver--Kansas-City", "CommunicationsAlarm", "critical") in down.alarms_raised
    up = twin.process([Message({"kind": "counter", "time": 6.0, "device": "Denver",
                                "interface": "Denver--Kansas-City", "oper_status": "up"})])
    assert up.link_status == [(6.0, "Denver--Kansas-City", True)]
    assert ("Denver--Kansas-City", "CommunicationsAlarm") in up.alarms_cleared
    ev = twin.process([Message({"kind": "event", "time": 7.0, "object": "New-York--Chicago",
                                "event": "link_down", "message": "LOS"})])
    assert ev.link_status == [(7.0, "New-York--Chicago", False)]
    assert not twin.state.arc_up()[2 * list(NET.links).index("New-York--Chicago")]
