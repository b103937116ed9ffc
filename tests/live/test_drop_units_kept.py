"""Interface drops were kept in bytes by stores written before drops became packets (synth
and the lab counted ``out_drops`` in bytes): a restart must not difference such a stored
drop counter against a packet count (oracle: the drop rate the packet counters give)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from nettwin import compile_network, simulate
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live import LiveTwin, Message, Store
from nettwin.live.simulated import counter_records

NET = load_network(example_path())
T0 = 1.7e9
FRAME = 1500.0  # bytes per dropped frame, as the old counters multiplied


def _with_drops(step: list[dict[str, object]], drops: float) -> list[Message]:
    return [Message(r | {"out_drops": drops} if r.get("kind") == "counter" else r)
            for r in step]


def test_drop_counters_kept_in_bytes_are_not_differenced_against_packets(
        tmp_path: Path) -> None:
    steps = list(counter_records(NET, simulate(compile_network(NET)).arc_load_bps,
                                 start=T0, interval_s=60, steps=3))
    db = tmp_path / "twin.db"
    lt = LiveTwin(NET, Store(f"sqlite:///{db}"), drift_every_s=None)
    lt.process(_with_drops(steps[0], 1.0))
    with sqlite3.connect(db) as conn:  # as an older release kept it: bytes, no unit
        conn.execute("UPDATE counters SET drops = drops * ?, drop_unit = NULL", (FRAME,))
    again = LiveTwin(NET, Store(f"sqlite:///{db}"), drift_every_s=None)
    again.process(_with_drops(steps[1], 1.0 + 60 * 100.0))  # 100 packets/s since
    measured = np.isfinite(again.state.arc_rate_bps)
    assert measured.any()
    # (6001 - 1500) / 60 = 75 would be a rate of packets less bytes: unknown instead
    assert np.isnan(again.state.arc_drop_pps[measured]).all()
    again.process(_with_drops(steps[2], 1.0 + 120 * 100.0))
    np.testing.assert_allclose(again.state.arc_drop_pps[measured], 100.0, rtol=1e-9)
    # and packets kept by this release are differenced across a restart as before
    third = LiveTwin(NET, Store(f"sqlite:///{db}"), drift_every_s=None)
    step3 = [dict(r, time=float(r["time"]) + 60) if "time" in r else r for r in steps[2]]
    third.process(_with_drops(step3, 1.0 + 180 * 100.0))
    np.testing.assert_allclose(third.state.arc_drop_pps[measured], 100.0, rtol=1e-9)
