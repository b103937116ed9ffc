"""One live model: simulated telemetry is a source like any other, and one alarm book
raises and clears by the rules, checked against hand-computed utilisation and the networkx
reference routing."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from nettwin import compile_network
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live import LiveTwin, Message
from nettwin.live.alarms import AlarmBook, derive_alarms, utilisation_severity
from nettwin.live.simulated import SimulatedTelemetry
from nettwin.model import build_network
from nettwin.reference import reference_ecmp


def _line() -> object:
    """a -- b at 10 Gbit/s, one demand a->b of 7 Gbit/s: 70 % on arc a->b by hand."""
    return build_network("line", [{"id": "a"}, {"id": "b"}],
                         [{"id": "a--b", "a": "a", "b": "b", "capacity_bps": 10e9}],
                         [{"src": "a", "dst": "b", "rate_bps": 7e9}])


def test_threshold_rule_by_hand() -> None:
    assert utilisation_severity(0.79) is None
    assert utilisation_severity(0.8) == "major"
    assert utilisation_severity(0.999) == "major"
    assert utilisation_severity(1.0) == "critical"
    assert utilisation_severity(float("nan")) is None
    want, text = derive_alarms(["l"], np.array([True]), ["x", "y"], np.array([0.85, np.nan]))
    assert want == {("x", "QualityOfServiceAlarm"): "major"}
    assert text[("x", "QualityOfServiceAlarm")] == "utilisation 85 %"


@pytest.mark.parametrize(("scale", "severity"), [(1.0, None), (8 / 7, "major"),
                                                 (10 / 7, "critical")])
def test_alarm_raised_and_cleared_at_the_thresholds(scale: float, severity: str | None
                                                    ) -> None:
    net = _line()
    lt = LiveTwin(net)  # type: ignore[arg-type]
    book = AlarmBook()
    lt.listeners.append(lambda _ch: book.reconcile("n", lt.state.alarms,
                                                   problems=lt.state.alarm_problems))
    sim = SimulatedTelemetry(net, lt.state.compiled)  # type: ignore[arg-type]
    lt.process([Message(r) for r in sim.step(scale)], sim.name)
    util = lt.state.utilisation()
    ab = lt.state.compiled.arc_label(0)
    assert util[0] == pytest.approx(0.7 * scale, rel=1e-12)  # 7 Gbit/s x scale / 10 Gbit/s
    standing = [a for a in book.alarms.values() if a.state != "cleared"]
    if severity is None:
        assert standing == []
    else:
        assert [(a.object_id, a.severity, a.probable_cause) for a in standing] == [
            (ab, severity, "thresholdCrossed")]
    lt.process([Message(r) for r in sim.step(0.5)], sim.name)  # 35 %: everything clears
    assert all(a.state == "cleared" and a.cleared for a in book.alarms.values())
    assert len(book.alarms) == (0 if severity is None else 1)


def test_cleared_by_hand_is_raised_again_while_the_condition_lasts() -> None:
    net = _line()
    lt = LiveTwin(net)  # type: ignore[arg-type]
    book = AlarmBook()
    lt.listeners.append(lambda _ch: book.reconcile("n", lt.state.alarms))
    sim = SimulatedTelemetry(net, lt.state.compiled)  # type: ignore[arg-type]
    lt.process([Message(r) for r in sim.step(1.3)], sim.name)
    (first,) = book.alarms.values()
    book.acknowledge(first.id, "op")
    assert first.ack_state == "acknowledged" and first.state == "raised"
    book.clear(first.id)
    lt.process([Message(r) for r in sim.step(1.3)], sim.name)
    again = [a for a in book.alarms.values() if a.state != "cleared"]
    assert len(again) == 1 and again[0].id != first.id


def test_simulated_source_feeds_the_twin_like_any_other() -> None:
    net = load_network(example_path())
    compiled = compile_network(net)
    lt = LiveTwin(net, assess_services=True)
    sim = SimulatedTelemetry(net, compiled, interval_s=0.01, scale=lambda _t: 1.6)

    async def run() -> None:
        stop = asyncio.Event()
        lt.listeners.append(lambda _ch: stop.set() if lt.batches >= 3 else None)
        await lt.run(sim, stop=stop)

    asyncio.run(run())
    ref = reference_ecmp(net, demand_rate_bps=net.demands.rate_bps * 1.6)
    np.testing.assert_allclose(lt.state.utilisation(), ref.arc_load_bps
                               / compiled.arc_capacity_bps, rtol=1e-9)
    snap = lt.state.snapshot()
    assert snap["max_utilisation"] == pytest.approx(
        float((ref.arc_load_bps / compiled.arc_capacity_bps).max()), rel=1e-9)
    hot = {a["object"] for a in snap["alarms"] if a["type"] == "QualityOfServiceAlarm"}
    labels = [compiled.arc_label(a) for a in range(compiled.n_arcs)]
    assert hot == {labels[a] for a in np.flatnonzero(
        ref.arc_load_bps / compiled.arc_capacity_bps >= 0.8)}
