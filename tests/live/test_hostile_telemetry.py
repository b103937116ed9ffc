"""Poisoned telemetry: malformed records of any source are dead letters with their reason,
absurd times never move a port's clock, counters wrap instead of exploding, replay files
are known by content, history by network id. Every test checks the good records around the
bad one were applied."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nettwin import compile_network, simulate
from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.cli.app import app as cli_app
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live import Decoder, FileReplaySource, InterfaceMap, LiveTwin, Message, Store
from nettwin.live.counters import Step, counter_steps
from nettwin.live.observations import TimeWindow
from nettwin.live.simulated import counter_records
from nettwin.live.store import counters as counters_table
from nettwin.live.store import history_key

NET = load_network(example_path())
RATE = simulate(compile_network(NET)).arc_load_bps
T0 = 1.7e9
PORT = {"kind": "counter", "device": "Denver", "interface": "Denver--Kansas-City"}
ARC = 2 * list(NET.links).index("Denver--Kansas-City")  # Denver -> Kansas-City
DECODER = Decoder(InterfaceMap(NET))


def _gnmi(port: str, octets: Any, t: Any = 1_700_000_000_000_000_000, **extra: Any) -> dict:
    return {"update": {"timestamp": t, "prefix": {"target": "Denver"}, "update": [
        {"path": {"elem": [{"name": "interfaces"}, {"name": "interface", "key": {"name": port}},
                           {"name": "state"}, {"name": "counters"}, {"name": "out-octets"}]},
         "val": {"uintVal": octets}}]} | extra}


MALFORMED_GNMI: list[tuple[Any, str]] = [
    ({"update": "not a notification"}, "without an 'update' notification"),
    ({"update": {"timestamp": 1, "prefix": {"target": "Denver"}, "update": "x"}},
     "update list is a str"),
    ({"update": {"timestamp": 1, "prefix": {"target": "Denver"}, "update": [7]}},
     "update[0] is a int"),
    ({"update": {"timestamp": 1, "prefix": {"target": "Denver"},
                 "update": [{"path": {"elem": [1, 2]}, "val": 1}]}},
     "path elem '[1, 2]' is not a list of objects"),
    ({"update": {"timestamp": 1, "prefix": ["Denver"], "update": []}},
     "without prefix.target"),
    ({"update": {"timestamp": None, "prefix": {"target": "Denver"}}}, "time None"),
    (_gnmi("Denver--Kansas-City", {"nested": 1}), "out-octets: \"{'nested': 1}\" is not a"),
    (_gnmi("Denver--Kansas-City", "abc"), "out-octets: 'abc' is not a number"),
    (_gnmi("Denver--Kansas-City", 10**30), "outside a counter64's range"),
    (_gnmi("Denver--Kansas-City", 5, t=1e300), "in the future"),
]


@pytest.mark.parametrize(("message", "reason"), MALFORMED_GNMI)
def test_malformed_gnmi_is_a_dead_letter_and_its_batch_survives(message: Any,
                                                                reason: str) -> None:
    good_before = PORT | {"time": T0, "out_octets": 1000}
    good_after = _gnmi("Denver--Kansas-City", 2000, t=int((T0 + 10) * 1e9))
    batch = DECODER.decode([json.dumps(good_before), json.dumps(message),
                            json.dumps(good_after)], "gnmi")
    assert batch.n_counters == 2  # the records either side were applied
    np.testing.assert_array_equal(batch.out_octets, [1000.0, 2000.0])
    assert len(batch.dead) == 1, [d.reason for d in batch.dead]
    assert reason in batch.dead[0].reason and batch.dead[0].source == "gnmi"


def test_one_bad_port_in_a_notification_spoils_only_that_port() -> None:
    msg = _gnmi("Denver--Kansas-City", 5000)
    msg["update"]["update"].append({"path": "/interfaces/interface[name=Denver--Seattle]"
                                            "/state/counters/out-octets",
                                    "val": {"uintVal": "NaN?"}})
    batch = DECODER.decode([msg])
    assert batch.n_counters == 1 and batch.out_octets.tolist() == [5000.0]
    assert len(batch.dead) == 1 and "update[1] out-octets: 'NaN?'" in batch.dead[0].reason


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda kids: st.lists(kids, max_size=4)
                     | st.dictionaries(st.sampled_from(
                         ["kind", "time", "update", "prefix", "path", "val", "elem", "name",
                          "key", "target", "timestamp", "device", "interface", "out_octets",
                          "counter_bits", "event", "object", "link", "change"]), kids,
                         max_size=5), max_leaves=20)
_kinds = st.fixed_dictionaries({"kind": st.sampled_from(["counter", "event", "radio",
                                                         "topology"]), "time": _json})


@settings(max_examples=300, derandomize=True, deadline=None)
@given(record=_json | _kinds | st.builds(lambda r: {"update": r}, _json))
def test_any_record_is_decoded_or_a_dead_letter(record: Any) -> None:
    """Property: whatever a record holds, the decoder neither raises nor loses the good
    records around it."""
    before = PORT | {"time": T0, "out_octets": 1000}
    after = PORT | {"time": T0 + 10, "out_octets": 2000}
    try:
        payload = json.dumps(record)
    except ValueError:
        payload = repr(record)
    batch = DECODER.decode([json.dumps(before), payload, json.dumps([after])])
    assert batch.out_octets[0] == 1000.0 and batch.out_octets[-1] == 2000.0
    assert all(d.reason for d in batch.dead)


# --------------------------------------------------------------------------- the API
def test_api_takes_a_batch_with_poisoned_gnmi(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    op = {"Authorization": f"Bearer {TokenStore(settings.tokens_file).create('op', Role.OPERATOR)}"}
    items = [PORT | {"time": T0, "out_octets": 0}] + [m for m, _r in MALFORMED_GNMI] + \
        [PORT | {"time": T0 + 10, "out_octets": 12_500_000}]
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/v1/networks/example/observations", json={"items": items},
                        headers=op)
        assert r.status_code == 200, r.text
        assert r.json()["dead_letters"] == len(MALFORMED_GNMI)
        assert r.json()["rates"] == 1
        live = client.get("/api/v1/networks/example/live", headers=op).json()
    arc = next(a for a in live["arcs"]
               if a["arc"] == "Denver--Kansas-City (Denver->Kansas-City)")
    assert arc["rate_bps"] == pytest.approx(8 * 12_500_000 / 10)


def test_ingest_survives_a_poisoned_file_and_its_rerun(tmp_path: Path) -> None:
    path = tmp_path / "obs.jsonl"
    lines = [json.dumps(PORT | {"time": T0, "out_octets": 0})]
    lines += [json.dumps(m) for m, _r in MALFORMED_GNMI] + ["\x00\xff{", "[[[[" * 300]
    lines += [json.dumps(PORT | {"time": T0 + 10, "out_octets": 1_000_000})]
    path.write_text("\n".join(lines) + "\n")
    env = {"NETTWIN_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    for attempt in range(2):
        result = runner.invoke(cli_app, ["ingest", str(path)], env=env)
        assert result.exit_code == 0, result.output
        if attempt == 0:
            assert f"{len(MALFORMED_GNMI) + 2} dead letters" in result.output
            assert "replayed from line 1" in result.output
        else:
            assert f"lines 1..{len(lines)} of this content" in result.output


# --------------------------------------------------------------------------- time
def test_absurd_times_are_refused_and_never_block_a_port(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twin.db'}"
    twin = LiveTwin(NET, Store(url))
    twin.process([Message(PORT | {"time": T0, "out_octets": 0})])
    ch = twin.process([Message(PORT | {"time": 1e300, "out_octets": 50}),
                       Message(PORT | {"time": "9999-12-31T23:59:59Z", "out_octets": 60}),
                       Message(PORT | {"time": -5, "out_octets": 60}),
                       Message(PORT | {"time": T0 + 10, "out_octets": 1_000_000})])
    assert [r for _t, a, r in ch.rates if a == ARC] == [8e5]  # the good one applied
    reasons = [d["reason"] for d in twin.store.dead_letters(twin.name)]
    assert sum("in the future" in r for r in reasons) == 2
    assert any("not a valid epoch time" in r for r in reasons)
    # after a restart, the next good sample still applies
    again = LiveTwin(NET, Store(url))
    ch = again.process([Message(PORT | {"time": T0 + 20, "out_octets": 2_000_000})])
    assert [r for _t, a, r in ch.rates if a == ARC] == [8e5]


def test_a_clock_stored_before_the_check_does_not_survive_a_restart(tmp_path: Path) -> None:
    """A counters row at 1e300 written by an older nettwin: the port restarts its baseline."""
    store = Store(f"sqlite:///{tmp_path / 'twin.db'}")
    twin = LiveTwin(NET, store)
    twin.process([Message(PORT | {"time": T0, "out_octets": 0})])
    port = twin.state.ports.ports[("Denver", "Denver--Kansas-City")]
    with store.engine.begin() as conn:
        conn.execute(counters_table.update().where(counters_table.c.port == port)
                     .values(time=1e300))
    again = LiveTwin(NET, store)
    again.process([Message(PORT | {"time": T0 + 10, "out_octets": 1000})])
    ch = again.process([Message(PORT | {"time": T0 + 20, "out_octets": 2000})])
    assert [r for _t, a, r in ch.rates if a == ARC] == [800.0]


def test_time_window_is_configurable() -> None:
    window = TimeWindow(max_future_s=10, max_age_s=60, clock=lambda: 1000.0)
    assert window.check(1010.0) == 1010.0 and window.check(940.0) == 940.0
    with pytest.raises(ValueError, match="11 s in the future"):
        window.check(1011.0)
    with pytest.raises(ValueError, match="61 s old"):
        window.check(939.0)
    os.environ["NETTWIN_MAX_CLOCK_SKEW_S"] = "5"
    try:
        assert TimeWindow.from_env().max_future_s == 5.0
    finally:
        del os.environ["NETTWIN_MAX_CLOCK_SKEW_S"]


# --------------------------------------------------------------------------- counters
def test_counter_steps_against_hand_computed_cases() -> None:
    cap = np.full(6, 10e9)
    prev = np.array([2.0**32 - 1e8, 2.0**64 - 1e9, 5e9, 1e12, 2e9, 2.0**32 - 10])
    cur = np.array([5e7, 1e9, 5e6, 2.0**64 - 1000, 1e3, 10])
    dt = np.full(6, 10.0)
    bits = np.array([0, 0, 0, 0, 0, 32], np.int8)
    steps = counter_steps(prev, cur, dt, cap, 1.5, bits)
    assert steps.step.tolist() == [Step.WRAP32, Step.WRAP64, Step.RESET, Step.IMPLAUSIBLE,
                                   Step.RESET, Step.WRAP32]
    # float64 holds a counter near 2^64 to 4096 bytes: 3.3 kbit/s over 10 s
    np.testing.assert_allclose(steps.rate_bps[[0, 1, 5]], [8 * 1.5e8 / 10, 8 * 2e9 / 10,
                                                          8 * 20 / 10], rtol=0, atol=8 * 4096 / 10)
    assert np.isnan(steps.rate_bps[[2, 3, 4]]).all()
    assert steps.raw_bps[3] == pytest.approx(8 * (2.0**64 - 1000 - 1e12) / 10)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(start=st.integers(0, 2**64 - 1), width=st.sampled_from([32, 64]),
       rates=st.lists(st.floats(0, 1.4e10), min_size=1, max_size=30),
       declared=st.booleans())
def test_wrapped_counters_give_back_the_true_rates(start: int, width: int,
                                                   rates: list[float],
                                                   declared: bool) -> None:
    """Oracle: a counter of the given width driven by known rates (within capacity x 1.5)
    and sampled every 10 s; every step's rate is the true one, wrapped or not."""
    top = 2**width
    # a counter that turns over completely within one interval cannot be told (aliasing)
    rates = [min(r, 0.99 * top * 8 / 10) for r in rates]
    value = start % top
    octets = [value]
    for r in rates:
        value = (value + round(r * 10 / 8)) % top
        octets.append(value)
    o = np.array(octets, dtype=np.float64)
    bits = np.full(len(rates), width if declared else 0, np.int8)
    steps = counter_steps(o[:-1], o[1:], np.full(len(rates), 10.0), np.full(len(rates), 1e10),
                          1.5, bits)
    wrapped = o[1:] < o[:-1]
    true = np.array([round(r * 10 / 8) * 8 / 10 for r in rates])
    if declared or width == 64:
        # a declared width, or 64 bits (no 1.4e10 bit/s sample wraps from the lower half)
        ok = steps.valid
        assert ok.all(), (steps.step, o)
        # float64 resolution of a counter near 2^64: 4096 bytes
        np.testing.assert_allclose(steps.rate_bps, true, rtol=1e-9, atol=8 * 2 * 4096 / 10)
    else:  # undeclared 32-bit: a wrap from the lower half is taken for a reset, never a rate
        np.testing.assert_allclose(steps.rate_bps[steps.valid], true[steps.valid], rtol=1e-9,
                                   atol=1e-3)
        assert (steps.step[~wrapped] == Step.RATE).all()


def test_implausible_jump_is_a_dead_letter_and_the_port_recovers(tmp_path: Path) -> None:
    twin = LiveTwin(NET, Store(f"sqlite:///{tmp_path / 'twin.db'}"))
    twin.process([Message(PORT | {"time": T0, "out_octets": 1e12})])
    ch = twin.process([Message(PORT | {"time": T0 + 10, "out_octets": 2**64 - 1000})])
    assert not [r for _t, a, r in ch.rates if a == ARC]
    (letter,) = twin.store.dead_letters(twin.name)  # type: ignore[union-attr]
    assert letter["reason"].startswith("implausible counter step: 1.476e+19 bit/s")
    ch2 = twin.process([Message(PORT | {"time": T0 + 20, "out_octets": 1e12 + 1e9})])
    assert ch2.resets == 1 and not ch2.rates  # back from the glitch: a new baseline
    ch3 = twin.process([Message(PORT | {"time": T0 + 30, "out_octets": 1e12 + 2e9})])
    assert [r for _t, a, r in ch3.rates if a == ARC] == [8e8]
    ch4 = twin.process([Message(PORT | {"time": T0 + 40, "out_octets": 2**64 - 5e8,
                                        "counter_bits": 64}),
                        Message(PORT | {"time": T0 + 50, "out_octets": 5e8})])
    # 2^64 - 5e8 after 1e12 + 2e9 is another glitch; then a wrap
    # (float64 holds a counter near 2^64 to 4096 bytes)
    assert ch4.wraps == 1 and [r for _t, a, r in ch4.rates if a == ARC] == [
        pytest.approx(8e8, abs=8 * 4096 / 10)]


def test_implausible_dead_letter_names_port_value_and_capacity() -> None:
    decoded = DECODER.decode([PORT | {"time": T0, "out_octets": 0}])
    assert decoded.n_counters == 1
    twin = LiveTwin(NET)
    twin.process([Message(PORT | {"time": T0, "out_octets": 0})])
    batch = twin.decoder.decode([PORT | {"time": T0 + 1, "out_octets": 1e10}])
    twin.state.apply(batch)
    (letter,) = batch.dead
    payload = json.loads(letter.payload)
    assert payload["device"] == "Denver" and payload["out_octets"] == 1e10
    assert "8e+10 bit/s exceeds the port's capacity 9.953e+09 bit/s x 1.5" in letter.reason


# --------------------------------------------------------------------------- replay files
def _write(path: Path, t0: float, steps: int = 3) -> int:
    recs = [r for s in counter_records(NET, RATE, start=t0, interval_s=60, steps=steps)
            for r in s]
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return len(recs)


def test_a_rotated_file_with_the_same_name_is_replayed(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'twin.db'}")
    path = tmp_path / "obs.jsonl"
    n1 = _write(path, T0)
    first = FileReplaySource(path)
    twin = LiveTwin(NET, store)
    asyncio.run(twin.run(first))
    assert twin.state.samples == n1
    again = FileReplaySource(path)  # the same content: skipped, and says so
    assert again.name == first.name
    assert f"lines 1..{n1} of this content" in again.resume_note(
        store.cursor(twin.name, again.name))
    path.rename(tmp_path / "obs.jsonl.1")  # rotation: a new file under the old name
    n2 = _write(path, T0 + 3600)
    rotated = FileReplaySource(path)
    assert rotated.name != first.name
    assert "replayed from line 1" in rotated.resume_note(store.cursor(twin.name, rotated.name))
    twin2 = LiveTwin(NET, store)
    asyncio.run(twin2.run(rotated))
    assert twin2.state.samples == n2  # all of it, not 0
    np.testing.assert_allclose(twin2.state.arc_rate_bps, RATE, rtol=1e-9)


# --------------------------------------------------------------------------- network ids
def test_history_is_keyed_by_network_id_not_name(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'twin.db'}")
    other = dataclasses.replace(NET, links=dict(list(NET.links.items())[:-1]))  # same name
    assert other.name == NET.name and history_key(other) != history_key(NET)
    assert history_key(NET, "a1") != history_key(NET, "b2")
    first = LiveTwin(NET, store, network_id="a1")
    for recs in counter_records(NET, RATE, start=T0, interval_s=60, steps=2):
        first.process([Message(r) for r in recs])
    second = LiveTwin(NET, store, network_id="b2")  # a new upload of the same file
    assert np.isnan(second.state_at(T0 + 120).arc_rate_bps).all()
    assert second.state.last_time.max() == -np.inf  # no counters inherited
    np.testing.assert_allclose(first.state_at(T0 + 120).arc_rate_bps, RATE, rtol=1e-9)


def test_api_history_of_a_reuploaded_network_starts_empty(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, load_example=False)
    admin = {"Authorization": f"Bearer {TokenStore(settings.tokens_file).create('a', Role.ADMIN)}"}
    body = example_path().read_bytes()
    with TestClient(create_app(settings)) as client:
        ids = [client.post("/api/v1/networks", headers=admin,
                           files={"file": ("abilene.yaml", body)}).json()["id"]
               for _ in range(2)]
        for recs in counter_records(NET, RATE, start=T0, interval_s=60, steps=2):
            assert client.post(f"/api/v1/networks/{ids[0]}/observations", headers=admin,
                               json={"items": recs}).status_code == 200
        seen = [client.get(f"/api/v1/networks/{nid}/history", headers=admin,
                           params={"at": T0 + 120}).json()["arcs"] for nid in ids]
    assert len(seen[0]) == 2 * len(NET.links) and seen[1] == []




# --------------------------------------------------------------------------- Prometheus
def test_prometheus_malformed_answers_are_dead_letters_not_a_crash() -> None:
    """A failed query and a malformed series become dead letters; the good series of the
    same poll are applied (Prometheus HTTP API answers served by an in-process transport)."""
    import httpx

    from nettwin.live import PrometheusSource

    def answer(request: httpx.Request) -> httpx.Response:
        query = request.url.params["query"]
        if query.startswith("ifHCOutOctets"):
            return httpx.Response(200, json={"status": "success", "data": {
                "resultType": "matrix", "result": [
                    {"metric": {"device": "Denver", "interface": "Denver--Kansas-City"},
                     "values": [[T0, "0"], [T0 + 10, "1250000"]]},
                    {"metric": {"device": "Denver", "interface": "Denver--Kansas-City"},
                     "values": [[T0 + 20, "not-a-number"]]},
                    {"values": [[T0, "1"]]}]}})
        if query.startswith("ifOperStatus"):
            return httpx.Response(500, text="overloaded")
        return httpx.Response(200, text="{not json")

    source = PrometheusSource("http://prometheus.test", {
        "out_octets": "ifHCOutOctets", "oper_status": "ifOperStatus",
        "out_drops": "ifOutDiscards"})

    async def poll() -> list[Message]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            return await source.poll(client)

    messages = asyncio.run(poll())
    twin = LiveTwin(NET)
    ch = twin.process(messages, source.name)
    assert [r for _t, a, r in ch.rates if a == ARC] == [1e6]
    assert twin.dead == 4
    batch = twin.decoder.decode([m.payload for m in messages])
    reasons = sorted(d.reason for d in batch.dead)
    assert any("query 'ifOperStatus' failed: HTTPStatusError" in r for r in reasons)
    assert any("query 'ifOutDiscards' failed: JSONDecodeError" in r for r in reasons)
    assert any("could not convert string to float: 'not-a-number'" in r for r in reasons)
    assert any("out_octets series {'values'" in r and "'metric'" in r for r in reasons)


def test_rate_margin_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    """2x capacity: a dead letter at the default margin 1.5, a rate at NETTWIN_RATE_MARGIN=3."""
    cap = NET.links["Denver--Kansas-City"].capacity_ab_bps
    octets = 2 * cap * 10 / 8
    results = []
    for margin in (None, "3"):
        if margin:
            monkeypatch.setenv("NETTWIN_RATE_MARGIN", margin)
        twin = LiveTwin(NET)
        twin.process([Message(PORT | {"time": T0, "out_octets": 0})])
        ch = twin.process([Message(PORT | {"time": T0 + 10, "out_octets": octets})])
        results.append(([r for _t, a, r in ch.rates if a == ARC], twin.dead))
    assert results == [([], 1), ([pytest.approx(2 * cap)], 0)]
    monkeypatch.setenv("NETTWIN_RATE_MARGIN", "0.5")
    with pytest.raises(ValueError, match="give a number >= 1"):
        LiveTwin(NET)


def test_a_64_bit_counter_just_below_the_top_wraps_not_resets() -> None:
    # found by the property test above: 2^64 - 1024 is 2^64 in float64, and the wrap from
    # it to a small value was taken for a reset; the true rate is 1024 bytes in 10 s
    top = 2.0**64
    steps = counter_steps(np.array([float(2**64 - 1024)]), np.array([0.0]), np.array([10.0]),
                          np.array([1e10]), 1.5, np.zeros(1, np.int8))
    assert steps.valid.all()
    assert steps.rate_bps[0] == pytest.approx(8 * (top - float(2**64 - 1024)) / 10, abs=2e3)
