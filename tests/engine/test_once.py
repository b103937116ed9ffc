"""``cached_once``: computed once per instance under racing threads, instances independent;
``Baseline.memory_bytes`` counts the copies it has made."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from nettwin.engine import compile_network
from nettwin.engine.incremental import prepare_baseline
from nettwin.engine.once import cached_once
from tests.conftest import random_network


@dataclass(frozen=True, eq=False)
class Slow:
    name: str
    calls: list[str]
    gate: threading.Event

    @cached_once
    def value(self) -> str:
        self.calls.append(self.name)
        self.gate.wait(5)
        time.sleep(0.01)
        return f"{self.name}-{self.calls.count(self.name)}"


def test_racing_readers_compute_once_and_share_the_value() -> None:
    calls: list[str] = []
    gate = threading.Event()
    slow = Slow("a", calls, gate)
    seen: list[str] = []
    threads = [threading.Thread(target=lambda: seen.append(slow.value)) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    gate.set()
    for t in threads:
        t.join(10)
    assert calls == ["a"]
    assert seen == ["a-1"] * 8


def test_an_instance_computing_does_not_hold_up_another() -> None:
    calls: list[str] = []
    blocked, free = threading.Event(), threading.Event()
    free.set()
    a, b = Slow("a", calls, blocked), Slow("b", calls, free)
    t = threading.Thread(target=lambda: a.value)
    t.start()
    time.sleep(0.05)  # a is computing, waiting on its gate
    start = time.monotonic()
    assert b.value == "b-1"
    assert time.monotonic() - start < 2  # not the 5 s a's gate would hold it
    blocked.set()
    t.join(10)
    assert a.value == "a-1" and calls == ["a", "b"]


def test_memory_bytes_counts_the_copies_made_on_demand() -> None:
    c = compile_network(random_network(3, 40, 120))
    base = prepare_baseline(c)
    before = base.memory_bytes
    s = base.state
    grown = s.dist.nbytes + s.order.nbytes + s.flow.nbytes + s.dag_bits.nbytes
    assert base.memory_bytes == before + grown
    bits, pos = base.dag_bits(), base.out_pos
    csr = base.csr
    assert base.memory_bytes == (before + grown + bits.nbytes + pos.nbytes
                                 + sum(np.asarray(a).nbytes for a in csr))


@dataclass(frozen=True, eq=False)
class Counted:
    calls: list[int]

    @cached_once
    def value(self) -> int:
        self.calls.append(1)
        return len(self.calls)


def test_an_instance_read_once_still_pickles_with_its_value() -> None:
    import pickle

    counted = Counted([])
    assert counted.value == 1
    copy = pickle.loads(pickle.dumps(counted))
    assert copy.value == 1 and copy.calls == [1]  # the value travelled, not recomputed


@dataclass(frozen=True)
class Unhashable:  # eq=True, frozen, an array field: hashing it raises
    values: np.ndarray

    @cached_once
    def total(self) -> float:
        return float(self.values.sum())


def test_an_unhashable_instance_works_and_its_locks_go_with_it() -> None:
    import gc

    from nettwin.engine import once

    u = Unhashable(np.arange(4.0))
    assert u.total == 6.0
    key = id(u)
    assert key in once._LOCKS
    del u
    gc.collect()
    assert key not in once._LOCKS
