"""A store that fails while the twin ingests, against the real databases: PostgreSQL drops
the twin's connection mid-stream (the commit is tried again on a new one: no batch lost,
none acknowledged before it is written); a SQLite store whose table is gone fails every
try (the run ends with StoreError naming the fix, the failed batch unacknowledged)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from nettwin import compile_network, simulate
from nettwin.errors import StoreError
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live import LiveTwin, Message, Store
from nettwin.live.feed import Ack
from nettwin.live.simulated import counter_records
from nettwin.model import Network

from .conftest import POSTGRES_URL, _postgres

T0 = 1.7e9


class Batches:
    """A source of fixed batches (positions 1, 2, ...; none unless ``positioned``),
    recording which it was told are committed; ``between(k)`` runs after batch k is handed
    out."""

    name = "bus"

    def __init__(self, batches: list[list[dict[str, Any]]], between: Callable[[int], None],
                 positioned: bool = True) -> None:
        self.batches_in, self.between, self.acked = batches, between, []  # type: ignore[var-annotated]
        self.positioned = positioned

    async def batches(self, max_batch: int = 10_000, max_wait_s: float = 0.05
                      ) -> AsyncIterator[tuple[list[Message], Ack | None]]:
        pos = 0
        for k, recs in enumerate(self.batches_in):
            msgs = [Message(r, pos + i + 1 if self.positioned else None)
                    for i, r in enumerate(recs)]
            pos += len(recs)

            async def ack(k: int = k) -> None:
                self.acked.append(k)

            yield msgs, ack
            await asyncio.sleep(0.05)  # the writer thread commits batch k meanwhile
            self.between(k)

    async def close(self) -> None:
        return None


def _steps(net: Network, steps: int = 5) -> list[list[dict[str, Any]]]:
    rate = simulate(compile_network(net)).arc_load_bps
    return list(counter_records(net, rate, start=T0, interval_s=60, steps=steps, noise=0.1,
                                seed=4))


def test_a_dropped_postgresql_connection_loses_no_batch(unique_name: str,
                                                         caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    if _postgres() is None:
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    app = f"nettwin-test-{uuid.uuid4().hex[:8]}"
    store = Store(f"{POSTGRES_URL}?application_name={app}")
    admin = _postgres()
    assert admin is not None
    killed: list[int] = []

    def drop_connections(k: int) -> None:
        if k in (1, 3):  # the server ends every connection the twin's store holds
            with admin.engine.begin() as conn:
                killed.extend(conn.execute(text(
                    "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where application_name = :app"), {"app": app}).scalars())

    net = _example(unique_name)
    steps = _steps(net)
    source = Batches(steps, drop_connections)
    twin = LiveTwin(net, store)
    straight = LiveTwin(net)
    for recs in steps:
        straight.process([Message(r) for r in recs])
    with caplog.at_level(logging.WARNING, logger="nettwin.live.twin"):
        asyncio.run(twin.run(source, retry_s=(0.05, 0.05, 0.05)))
    assert killed and all(killed)  # the connections were there and were ended
    assert twin.commit_failures >= 1
    assert "failed to commit the batch up to position" in caplog.text
    assert source.acked == list(range(len(steps)))  # every batch, in order
    # everything is in the store: one rate per sample after the first step, the cursor at
    # the last message; a restarted twin rebuilds the same state
    assert store.count(twin.name) == sum(len(s) for s in steps[1:])
    assert store.cursor(twin.name, "bus") == sum(len(s) for s in steps)
    again = LiveTwin(net, store)
    past = again.state_at(T0 + 10 * 60)
    np.testing.assert_allclose(past.arc_rate_bps, straight.state.arc_rate_bps, rtol=1e-12)
    store.close()
    admin.close()


def test_a_store_that_keeps_failing_ends_the_run_with_a_clear_error(tmp_path: Path,
                                                                    unique_name: str) -> None:
    db = tmp_path / "twin.db"
    store = Store(f"sqlite:///{db}")

    def drop_table(k: int) -> None:
        if k == 1:  # someone drops the history table under the running twin
            with sqlite3.connect(db) as conn:
                conn.execute("drop table rates")

    net = _example(unique_name)
    steps = _steps(net)
    source = Batches(steps, drop_table)
    twin = LiveTwin(net, store)
    with pytest.raises(StoreError) as err:
        asyncio.run(twin.run(source, retry_s=(0.01, 0.01)))
    msg = str(err.value)
    assert "3 tries" in msg and "no such table: rates" in msg and "run again" in msg
    assert "INSERT" not in msg  # the driver's message, not the statement
    assert twin.commit_failures == 3
    assert source.acked == [0, 1]  # batch 2 (the first after the drop) never acknowledged
    assert twin.summary()["commit_failures"] == 3
    # nothing after the failed batch was written either: the cursor stays at batch 1's end
    # (the batch after it was prepared and queued while batch 2 was being tried)
    assert store.cursor(twin.name, "bus") == len(steps[0]) + len(steps[1])
    store.close()


def _example(name: str) -> Network:
    return dataclasses.replace(load_network(example_path()), name=name)


def _flaky_store(tmp_path: Path, when: Callable[[int], str | None]) -> Store:
    """A SQLite store failing the commits ``when`` says (``_flaky``)."""
    store = Store(f"sqlite:///{tmp_path / 'twin.db'}")
    _flaky(store, when)
    return store


def _flaky(store: Store, when: Callable[[int], str | None]) -> None:
    """Make ``store.commit`` fail on the calls ``when`` names: "before" (nothing written),
    "after" (written, but the answer lost, as when the connection drops during COMMIT)."""
    real, calls = store.commit, [0]

    def commit(*args: Any, **kwargs: Any) -> None:
        calls[0] += 1
        how = when(calls[0])
        if how == "before":
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        real(*args, **kwargs)
        if how == "after":
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    store.commit = commit  # type: ignore[method-assign]


@pytest.mark.parametrize("positioned", [True, False], ids=["source-positions", "none"])
def test_a_commit_whose_answer_was_lost_is_not_written_twice(tmp_path: Path, unique_name: str,
                                                              positioned: bool) -> None:
    # without positions (a source without offsets): the twin numbers the batches itself
    store = _flaky_store(tmp_path, lambda n: "after" if n == 3 else None)
    net = _example(unique_name)
    steps = _steps(net)
    source = Batches(steps, lambda k: None, positioned)
    twin = LiveTwin(net, store)
    asyncio.run(twin.run(source, retry_s=(0.01, 0.01)))
    assert twin.commit_failures == 1
    assert source.acked == list(range(len(steps)))
    # one rate per sample after the first step, as many as the records say: none twice
    assert store.count(twin.name) == sum(len(s) for s in steps[1:])
    store.close()


def test_a_batch_the_store_failed_is_taken_when_sent_again(tmp_path: Path,
                                                           unique_name: str) -> None:
    # the API's path (process, no retries): the client is told 503 "try again"; the batch
    # it sends again is in the history, as if the store had never failed
    store = _flaky_store(tmp_path, lambda n: "before" if n == 3 else None)
    net = _example(unique_name)
    steps = _steps(net)
    twin, straight = LiveTwin(net, store), LiveTwin(net)
    for k, recs in enumerate(steps):
        straight.process([Message(r) for r in recs])
        if k == 2:
            with pytest.raises(StoreError, match="database is locked"):
                twin.process([Message(r) for r in recs], "api")
        twin.process([Message(r) for r in recs], "api")
    assert store.count(twin.name) == sum(len(s) for s in steps[1:])
    np.testing.assert_allclose(twin.state.arc_rate_bps, straight.state.arc_rate_bps,
                               rtol=1e-12)
    past = LiveTwin(net, store).state_at(T0 + 10 * 60)
    np.testing.assert_allclose(past.arc_rate_bps, straight.state.arc_rate_bps, rtol=1e-12)
    store.close()


def test_a_positioned_batch_the_store_failed_is_taken_when_the_source_sends_it_again(
        tmp_path: Path, unique_name: str) -> None:
    # a run that ended with StoreError, then a second run of the same twin: the durable
    # source sends from its last acknowledged position; nothing is skipped as seen
    store = _flaky_store(tmp_path, lambda n: "before" if n == 3 else None)
    net = _example(unique_name)
    steps = _steps(net)
    twin = LiveTwin(net, store)
    first = Batches(steps, lambda k: None)
    with pytest.raises(StoreError):
        asyncio.run(twin.run(first, retry_s=()))
    assert first.acked == [0, 1]
    asyncio.run(twin.run(Batches(steps, lambda k: None)))
    assert store.count(twin.name) == sum(len(s) for s in steps[1:])
    assert store.cursor(twin.name, "bus") == sum(len(s) for s in steps)
    store.close()


def test_a_topology_update_in_a_batch_the_store_failed_is_kept_when_sent_again(
        tmp_path: Path, unique_name: str) -> None:
    # the update was applied to the twin before the store failed the batch: sent again it
    # is applied again (not a dead letter "already there"), and the history has it
    store = _flaky_store(tmp_path, lambda n: "before" if n == 1 else None)
    net = _example(unique_name)
    twin = LiveTwin(net, store)
    batch = [Message({"kind": "topology", "time": T0 + 91, "change": {"add_link": {
        "id": "Denver--Chicago", "a": "Denver", "b": "Chicago", "capacity_ab_bps": 1e10,
        "capacity_ba_bps": 1e10, "metric_ab": 10, "metric_ba": 10}}})]
    with pytest.raises(StoreError):
        twin.process(batch, "api")
    twin.process(batch, "api")
    assert store.dead_letters(twin.name) == []
    assert "Denver--Chicago" in twin.network.links
    assert "Denver--Chicago" not in twin.network_at(T0 + 60).links
    assert "Denver--Chicago" in twin.network_at(T0 + 120).links
    store.close()
