"""History in SQLite and in the real PostgreSQL: the past rebuilt equals a twin that only saw
the past; a restart resumes without losing or double-counting; dead letters are kept."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from nettwin import compile_network, simulate
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live import LiveTwin, Message, Store, diff_states
from nettwin.live.simulated import counter_records

NET = load_network(example_path())
T0 = 1.7e9


def _steps(rate: np.ndarray, steps: int = 6, noise: float = 0.1) -> list[list[dict]]:
    return list(counter_records(NET, rate, start=T0, interval_s=60, steps=steps, noise=noise,
                                seed=3))


def test_state_at_a_past_instant_equals_a_twin_that_stopped_there(store: Store,
                                                                  unique_name: str) -> None:
    net = dataclasses.replace(NET, name=unique_name)
    rate = simulate(compile_network(net)).arc_load_bps
    steps = _steps(rate)
    twin = LiveTwin(net, store)
    partial = LiveTwin(net)
    for k, recs in enumerate(steps):
        twin.process([Message(r) for r in recs])
        if k <= 3:
            partial.process([Message(r) for r in recs])
        if k == 4:  # a link goes down between minute 3 and 4
            twin.process([Message({"kind": "event", "time": T0 + 230,
                                   "object": "Denver--Kansas-City", "event": "link_down"})])
    past = twin.state_at(T0 + 3 * 60 + 1)
    np.testing.assert_allclose(past.arc_rate_bps, partial.state.arc_rate_bps, rtol=1e-12)
    assert past.link_up == {}  # nothing had changed yet
    later = twin.state_at(T0 + 300)
    assert later.link_up == {"Denver--Kansas-City": False}
    assert ("Denver--Kansas-City", "CommunicationsAlarm") in later.alarms
    diff = diff_states(past, later, [twin.state.compiled.arc_label(a) for a in
                                     range(twin.state.compiled.n_arcs)],
                       twin.state.compiled.arc_capacity_bps, threshold=0.0)
    assert diff["links"] == {"Denver--Kansas-City": {"before": True, "after": False}}
    assert "Denver--Kansas-City CommunicationsAlarm critical" in diff["alarms_raised"]
    assert diff["arcs"]  # noisy rates moved


def test_restart_resumes_without_loss_or_double_counting(store: Store,
                                                         unique_name: str) -> None:
    net = dataclasses.replace(NET, name=unique_name)
    rate = simulate(compile_network(net)).arc_load_bps
    steps = _steps(rate, steps=5)
    msgs = [Message(r, i) for i, r in enumerate((r for s in steps for r in s), start=1)]
    straight = LiveTwin(net)
    straight.process(msgs)
    first = LiveTwin(net, store)
    cut = len(msgs) // 2 + 7
    first.process(msgs[:cut], "bus")
    # the process dies; the bus redelivers everything it had not seen acknowledged
    second = LiveTwin(net, store)
    changes = second.process(msgs[cut - 40:], "bus")  # 40 redelivered messages
    assert changes.duplicates == 0  # skipped by the stored cursor, not even decoded
    np.testing.assert_allclose(second.state.arc_rate_bps, straight.state.arc_rate_bps,
                               rtol=1e-12)
    assert store.count(first.name) == sum(len(s) for s in steps[1:])  # one rate per sample


def test_dead_letters_are_stored_with_their_reason(store: Store, unique_name: str) -> None:
    net = dataclasses.replace(NET, name=unique_name)
    twin = LiveTwin(net, store)
    twin.process([Message(b"{broken"), Message({"kind": "counter", "time": 1.0,
                                                "device": "Denver",
                                                "interface": "Denver--Kansas-City",
                                                "out_octets": 10})], "file:x.jsonl")
    dead = store.dead_letters(twin.name)
    assert len(dead) == 1 and dead[0]["payload"] == "{broken"
    assert dead[0]["reason"].startswith("not JSON") and dead[0]["source"] == "file:x.jsonl"
    assert store.counters(twin.name)[0][2] == 10.0


def test_topology_updates_change_routing_and_replay_in_history(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nettwin.engine.nexthops import ecmp_next_hops

    net = dataclasses.replace(NET, name="topo")
    twin = LiveTwin(net, Store(f"sqlite:///{tmp_path / 'twin.db'}"))
    rate = simulate(compile_network(net)).arc_load_bps
    steps = _steps(rate, steps=2, noise=0.0)
    twin.process([Message(r) for r in steps[0] + steps[1]])
    before = twin.state.arc_rate_bps.copy()
    changes = twin.process([
        Message({"kind": "topology", "time": T0 + 90,
                 "change": {"set_metric": {"link": "Denver--Kansas-City", "metric": 5000}}}),
        Message({"kind": "topology", "time": T0 + 91,
                 "change": {"add_link": {"id": "Denver--Chicago", "a": "Denver",
                                         "b": "Chicago", "capacity_ab_bps": 1e10,
                                         "capacity_ba_bps": 1e10, "metric_ab": 10,
                                         "metric_ba": 10}}}),
        Message({"kind": "topology", "time": T0 + 92,
                 "change": {"set_metric": {"link": "Nowhere", "metric": 1}}})])
    assert [e[2] for e in changes.events] == ["topology", "topology"]
    assert twin.dead == 1  # the update naming no link, with its reason in the store
    assert "no such link" in twin.store.dead_letters(twin.name)[0]["reason"]
    assert twin.network.links["Denver--Kansas-City"].metric_ab == 5000
    np.testing.assert_array_equal(twin.state.arc_rate_bps[:before.size], before)  # carried
    # the model routes as the new topology says: networkx-free check with the next-hop oracle
    c = twin.state.compiled
    hops = ecmp_next_hops(c)
    denver, kc = c.node_ids.index("Denver"), c.node_ids.index("Kansas-City")
    assert all(c.link_ids[a // 2] != "Denver--Kansas-City" for a in hops[(denver, kc)])
    # counters of the new link are accepted from now on
    twin.process([Message({"kind": "counter", "time": T0 + 200, "device": "Denver",
                           "interface": "Denver--Chicago", "out_octets": 1.0})])
    assert twin.dead == 1
    # history: before the update the network had no Denver--Chicago, after it has
    assert "Denver--Chicago" not in twin.network_at(T0 + 60).links
    later = twin.network_at(T0 + 120)
    assert "Denver--Chicago" in later.links
    assert later.links["Denver--Kansas-City"].metric_ab == 5000


def test_the_default_store_is_private_to_its_user(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # `nettwin ingest` without --store: the same 0700 folder / 0600 file as `nettwin serve`
    import os
    import stat

    from typer.testing import CliRunner

    from nettwin.cli import app

    monkeypatch.setenv("NETTWIN_DATA_DIR", str(tmp_path / "data"))
    old = os.umask(0o022)
    try:
        obs = tmp_path / "obs.jsonl"
        obs.write_text('{"kind":"counter","time":1764576000.0,"device":"New-York",'
                       '"interface":"New-York--Chicago","out_octets":0.0}\n')
        res = CliRunner().invoke(app, ["ingest", str(obs)])
        assert res.exit_code == 0, res.output
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    for f in (tmp_path / "data").iterdir():  # twin.db and SQLite's -wal/-shm
        assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f


def test_history_of_link_status_does_not_depend_on_batching(tmp_path,  # type: ignore[no-untyped-def]
                                                            unique_name: str) -> None:
    # the bundled replay file (a fibre cut at minute 6): the whole file in one batch, as
    # `nettwin ingest --speed 0` reads it, against one batch per record time
    import json

    path = Path(__file__).resolve().parents[2] / "examples" / "observations.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    times = sorted({r["time"] for r in records})
    net = dataclasses.replace(NET, name=unique_name)
    one = LiveTwin(net, Store(f"sqlite:///{tmp_path / 'one.db'}"))
    one.process([Message(r) for r in records])
    stepped = LiveTwin(net, Store(f"sqlite:///{tmp_path / 'stepped.db'}"))
    for t in times:
        stepped.process([Message(r) for r in records if r["time"] == t])
    cut = next(r["time"] for r in records if r["kind"] == "event")
    for t in times:
        assert one.state_at(t).link_up == stepped.state_at(t).link_up, t
        assert (one.state_at(t).link_up.get("Denver--Kansas-City", True)) == (t < cut), t


def test_histories_elsewhere_are_those_of_the_same_network_name_only(store: Store,
                                                                   unique_name: str) -> None:
    """Oracle: ``history_key`` itself. A name that holds '#' (``lab#1``) is one network; the
    histories of ``lab`` or ``lab#2`` are not earlier versions of it."""
    from nettwin.estimate import TmHistory
    from nettwin.live.store import history_key

    hist = TmHistory(np.ones((2, 3)), np.full(2, np.nan), ("a", "b"))
    mine = dataclasses.replace(NET, name=f"{unique_name}#1")
    older = dataclasses.replace(mine, links=dict(list(NET.links.items())[:-1]))
    others = [dataclasses.replace(NET, name=n) for n in (unique_name, f"{unique_name}#2")]
    for net in (older, *others):
        store.save_tm_history(history_key(net), hist)
    assert store.tm_history_elsewhere(history_key(mine)) == [(history_key(older), 2)]
