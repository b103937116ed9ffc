"""The live twin keeps the measured matrices its prior is learned from: a restart (a new
LiveTwin on the same store) estimates exactly as before, forgetting is kept too, and a
stored history that no longer reads leaves the twin on tomogravity instead of failing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import update

from nettwin.estimate import estimate_tm, routing_matrix
from nettwin.io import load_network
from nettwin.io.tm_history import load_tm_history
from nettwin.live import LiveTwin, Message, Store
from nettwin.live.simulated import CounterFeed
from nettwin.live.store import traffic_history
from tests.conftest import data_path


def _feed_once(lt: LiveTwin, rates: np.ndarray, t: float) -> None:
    feed = CounterFeed(lt.network)
    for when in (t - 300, t):
        lt.process([Message({k: v for k, v in r.items() if k != "oper_status"})
                    for r in feed.step(when, rates)])


def test_restart_learns_the_same_prior_from_the_store(tmp_path: Path) -> None:
    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    files = sorted(data_path("traffic", "abilene-zhang-5min").glob("*.xml"))
    lt = LiveTwin(net, Store(f"sqlite:///{tmp_path / 'twin.db'}"), drift_every_s=None)
    rm = lt.routing()
    train = load_tm_history(files[:288:6], list(net.node_ids), rm)
    truth = load_tm_history(files[-1:], list(net.node_ids), rm).rate_bps[0]
    lt.use_history(train)
    t = 86_400.0 * 11_574 + 3_600
    _feed_once(lt, rm.a @ truth, t)
    rates = lt.state.arc_rate_bps.copy()
    before = lt.estimate_tm(at=t)

    again = LiveTwin(net, Store(f"sqlite:///{tmp_path / 'twin.db'}"), drift_every_s=None)
    assert again.prior is not None and again.prior_matrices == train.n
    assert again.prior_choice == lt.prior_choice
    after = again.estimate_tm(arc_rate_bps=rates, at=t)
    np.testing.assert_allclose(after.rate_bps, before.rate_bps, rtol=1e-12)
    # and it is the prior's estimate, not tomogravity's
    tomo = estimate_tm(rm, rates, again.state.compiled.arc_src,
                       again.state.compiled.arc_dst, again.state.compiled.n_nodes)
    assert not np.allclose(after.rate_bps, tomo.rate_bps, rtol=1e-3)

    again.forget_history()
    third = LiveTwin(net, Store(f"sqlite:///{tmp_path / 'twin.db'}"), drift_every_s=None)
    assert third.prior is None


def test_unreadable_stored_history_leaves_tomogravity(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    files = sorted(data_path("traffic", "abilene-zhang-5min").glob("*.xml"))
    store = Store(f"sqlite:///{tmp_path / 'twin.db'}")
    lt = LiveTwin(net, store, drift_every_s=None)
    lt.use_history(load_tm_history(files[:40:4], list(net.node_ids),
                                   routing_matrix(lt.state.compiled)))
    with store.engine.begin() as conn:
        conn.execute(update(traffic_history).values(payload=b"not an npz"))
    again = LiveTwin(net, Store(f"sqlite:///{tmp_path / 'twin.db'}"), drift_every_s=None)
    assert again.prior is None
    assert "traffic history" in caplog.text and "PUT it again" in caplog.text


def test_reordered_nodes_do_not_misread_the_kept_history(tmp_path: Path) -> None:
    # the same links with the nodes listed in another order keep the history key, but the
    # kept matrices are per node pair: they must be read onto the new order's pairs, as a
    # twin given the same files on the reordered network reads them (oracle)
    import dataclasses

    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    files = sorted(data_path("traffic", "abilene-zhang-5min").glob("*.xml"))[:288:8]
    lt = LiveTwin(net, Store(f"sqlite:///{tmp_path / 'twin.db'}"), drift_every_s=None)
    train = load_tm_history(files, list(net.node_ids), lt.routing())
    lt.use_history(train)
    assert lt.prior_source == "given" and lt.prior_labels == train.labels

    rev = dataclasses.replace(net, nodes=dict(reversed(list(net.nodes.items()))))
    again = LiveTwin(rev, Store(f"sqlite:///{tmp_path / 'twin.db'}"), drift_every_s=None)
    assert again.name == lt.name  # same links: same key
    assert again.prior_source == "store" and again.prior_labels == train.labels
    oracle = LiveTwin(rev, None, drift_every_s=None)
    oracle.use_history(load_tm_history(files, list(rev.node_ids), oracle.routing()))
    truth = load_tm_history(files[-1:], list(rev.node_ids), oracle.routing()).rate_bps[0]
    rates = oracle.routing().a @ truth
    t = 86_400.0 * 11_574 + 3_600
    np.testing.assert_allclose(again.estimate_tm(arc_rate_bps=rates, at=t).rate_bps,
                               oracle.estimate_tm(arc_rate_bps=rates, at=t).rate_bps,
                               rtol=1e-9, atol=1e-6)



def test_a_restart_learns_the_kept_prior_only_when_an_estimate_needs_it(
        tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # learning the prior again costs ~1 s of CPU on Abilene and ~20 s on GEANT: a twin
    # opened to read the state (nettwin state, the API's first GET) must not pay it; the
    # first estimate learns it and equals the eager twin's (oracle)
    import nettwin.live.twin_prior as twin_mod

    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    files = sorted(data_path("traffic", "abilene-zhang-5min").glob("*.xml"))[:288:8]
    lt = LiveTwin(net, Store(f"sqlite:///{tmp_path / 'twin.db'}"), drift_every_s=None)
    lt.use_history(load_tm_history(files, list(net.node_ids), lt.routing()))
    calls = []
    real = twin_mod.prior_from_history

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(twin_mod, "prior_from_history", counted)
    again = LiveTwin(net, Store(f"sqlite:///{tmp_path / 'twin.db'}"), drift_every_s=None)
    assert calls == [] and again.prior_source == "store" and again.prior_matrices == len(files)
    truth = load_tm_history(files[-1:], list(net.node_ids), lt.routing()).rate_bps[0]
    rates, t = lt.routing().a @ truth, 86_400.0 * 11_574 + 3_600
    np.testing.assert_allclose(again.estimate_tm(arc_rate_bps=rates, at=t).rate_bps,
                               lt.estimate_tm(arc_rate_bps=rates, at=t).rate_bps, rtol=1e-12)
    assert calls == [1] and again.prior_choice == lt.prior_choice


def test_a_changed_topology_does_not_reuse_the_kept_prior(tmp_path: Path) -> None:
    # a link removed (same network name): another history key, so gravity until told
    import dataclasses

    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    files = sorted(data_path("traffic", "abilene-zhang-5min").glob("*.xml"))[:40:4]
    lt = LiveTwin(net, Store(f"sqlite:///{tmp_path / 'twin.db'}"), drift_every_s=None)
    lt.use_history(load_tm_history(files, list(net.node_ids), lt.routing()))
    cut = dataclasses.replace(net, links=dict(list(net.links.items())[1:]))
    other = LiveTwin(cut, Store(f"sqlite:///{tmp_path / 'twin.db'}"), drift_every_s=None)
    assert other.name != lt.name and other.prior is None and other.prior_source is None
    same = LiveTwin(net, Store(f"sqlite:///{tmp_path / 'twin.db'}"), drift_every_s=None)
    assert same.prior is not None  # the original topology still has it


def test_a_twin_without_kept_history_builds_no_routing_matrix(tmp_path: Path,
                                                              caplog) -> None:  # type: ignore[no-untyped-def]
    # opening a twin on a store that keeps no history for it costs no routing matrix (on a
    # network too large to estimate that would even warn about a history that is not there)
    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    lt = LiveTwin(net, Store(f"sqlite:///{tmp_path / 'twin.db'}"), drift_every_s=None)
    assert lt._rm is None and lt.prior is None
    assert "traffic history" not in caplog.text


def test_a_carried_history_is_reported_as_the_store_s_like_after_a_restart(
        tmp_path: Path) -> None:
    # oracle: a restart of the changed network's twin on the same store, which reads the
    # carried matrices back from it (what estimate-tm --json's prior_source documents)
    import dataclasses

    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    files = sorted(data_path("traffic", "abilene-zhang-5min").glob("*.xml"))[:40:4]
    url = f"sqlite:///{tmp_path / 'twin.db'}"
    lt = LiveTwin(net, Store(url), drift_every_s=None)
    lt.use_history(load_tm_history(files, list(net.node_ids), lt.routing()))
    cut = dataclasses.replace(net, links=dict(list(net.links.items())[1:]))
    other = LiveTwin(cut, Store(url), drift_every_s=None)
    other.carry_history()
    again = LiveTwin(cut, Store(url), drift_every_s=None)
    assert again.prior_source == "store" and again.prior_matrices == len(files)
    assert (other.prior_source, other.prior_matrices) == (again.prior_source,
                                                          again.prior_matrices)


def test_carry_takes_the_most_recently_written_earlier_history(tmp_path: Path) -> None:
    # oracle: the order the histories were written in. Two earlier versions of the network
    # keep histories of different lengths; the one written last is carried, whichever way
    # their keys (hashes) sort
    import dataclasses

    from nettwin.live.store import history_key

    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    files = sorted(data_path("traffic", "abilene-zhang-5min").glob("*.xml"))[:40:4]
    url = f"sqlite:///{tmp_path / 'twin.db'}"
    links = list(net.links.items())
    older = [dataclasses.replace(net, links=dict(links[:-1])),
             dataclasses.replace(net, links=dict(links[:-2]))]
    older.sort(key=history_key)  # the later key in key order is written last
    for version, n in zip(older, (4, 7), strict=True):
        lt = LiveTwin(version, Store(url), drift_every_s=None)
        lt.use_history(load_tm_history(files[:n], list(net.node_ids), lt.routing()))
    newest = history_key(older[-1])
    assert newest == max(history_key(v) for v in older)
    now = LiveTwin(dataclasses.replace(net, links=dict(links[1:])), Store(url),
                   drift_every_s=None)
    assert now.history_elsewhere[0][0] == newest
    now.carry_history()
    assert now.prior_matrices == 7
    assert now.carried_from is not None and newest in now.carried_from


def test_a_store_kept_before_write_times_still_reads_and_carries(tmp_path: Path) -> None:
    # oracle: a traffic_history table in the shape older releases created (no write time),
    # with a row in it; the store opens, lists it, and a history written since is newer
    import dataclasses
    import sqlite3

    from nettwin.live.store import history_key

    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    files = sorted(data_path("traffic", "abilene-zhang-5min").glob("*.xml"))[:40:4]
    db = tmp_path / "twin.db"
    links = list(net.links.items())
    old, newer = (dataclasses.replace(net, links=dict(links[:-1])),
                  dataclasses.replace(net, links=dict(links[:-2])))
    lt = LiveTwin(old, Store(f"sqlite:///{db}"), drift_every_s=None)
    lt.use_history(load_tm_history(files[:3], list(net.node_ids), lt.routing()))
    with sqlite3.connect(db) as conn:  # back to the old table: no write time
        conn.execute("CREATE TABLE th_old AS SELECT network, matrices, pairs, payload "
                     "FROM traffic_history")
        conn.execute("DROP TABLE traffic_history")
        conn.execute("CREATE TABLE traffic_history (network VARCHAR(200) PRIMARY KEY, "
                     "matrices INTEGER NOT NULL, pairs INTEGER NOT NULL, payload BLOB NOT "
                     "NULL)")
        conn.execute("INSERT INTO traffic_history SELECT * FROM th_old")
        conn.execute("DROP TABLE th_old")
    now_net = dataclasses.replace(net, links=dict(links[1:]))
    now = LiveTwin(now_net, Store(f"sqlite:///{db}"), drift_every_s=None)
    assert now.history_elsewhere == [(history_key(old), 3)]
    lt = LiveTwin(newer, Store(f"sqlite:///{db}"), drift_every_s=None)
    lt.use_history(load_tm_history(files[:5], list(net.node_ids), lt.routing()))
    now = LiveTwin(now_net, Store(f"sqlite:///{db}"), drift_every_s=None)
    assert [k for k, _n in now.history_elsewhere] == [history_key(newer), history_key(old)]
    now.carry_history()
    assert now.prior_matrices == 5
