"""Failure what-ifs computed by threads of their own, cheapest first.

With many what-ifs at once (a dashboard firing 50) the engine's cores are the bottleneck: if
every request in flight computed at once they would share the cores, each finishing only
when all do (50 at once: p50 = p99 = all of them). So failure what-ifs wait in one queue
served by one thread per engine thread (``engine_threads``): each answer runs on one thread
and releases the GIL in its kernels, so the ones served use a core each, and half finish in
half the time. A request waits as a queued future, not as a blocked thread: the API's
what-if route queues from the event loop and awaits it (no hop through the general thread
pool, whose 40 threads would otherwise each wake, take the GIL and park until their turn).
Full-engine what-ifs (hundreds of ms each) do not come here: failure what-ifs never queue
behind them.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from nettwin.engine.threads import engine_threads


class EngineQueue:
    """Work run by at most ``slots`` threads of its own (started on the first submit); the
    waiting work is served by ``arrival + weight * expected cost`` (shortest first among
    what came at about the same time). Single failures differ a hundredfold in cost (a link
    in few shortest-path DAGs or in most), so shortest first roughly halves the median
    wait, while the last answer comes when all the work is done, in any order. A costly one
    is overtaken only by what arrives within ``weight`` times its expected cost after it,
    so none waits for ever. Equal costs are served in arrival order.

    ``weight``: the server reads a burst's requests one after the other (about half a
    millisecond each), so they arrive spread over tens of milliseconds, longer than most of
    them cost; with weight 1 the order stayed close to arrival order. Simulated with the
    single-failure costs of the 1,000-node benchmark network (1.5 ms + 15 us per
    destination repaired; 50 at once, 2 slots, 0.6 ms between arrivals), the median wait
    falls from 53 ms (weight 1) to 30 ms (weight 10; 28 ms shortest first regardless of
    arrival), the 99th percentile rises from 120 to 131 ms."""

    def __init__(self, slots: int, weight: float = 10.0) -> None:
        self._slots = slots
        self._weight = weight
        self._waiting: list[tuple[float, int, Callable[[], Any], Future[Any]]] = []
        self._seq = itertools.count()
        self._ready = threading.Condition(threading.Lock())
        self._threads: list[threading.Thread] = []
        self._idle = 0

    def submit(self, work: Callable[[], Any], cost_s: float = 0.0) -> Future[Any]:
        """Queue ``work`` (``cost_s``: its expected seconds); its future has the result. A
        future cancelled before its turn is skipped."""
        done: Future[Any] = Future()
        with self._ready:
            heapq.heappush(self._waiting, (time.monotonic() + self._weight * cost_s,
                                           next(self._seq), work, done))
            if self._idle:
                self._ready.notify()
            elif len(self._threads) < self._slots:
                thread = threading.Thread(target=self._serve, daemon=True,
                                          name=f"nettwin-whatif-{len(self._threads)}")
                self._threads.append(thread)
                thread.start()
        return done

    def run(self, work: Callable[[], Any], cost_s: float = 0.0) -> Any:
        """``work``'s result, computed in its turn (the calling thread waits)."""
        return self.submit(work, cost_s).result()

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._waiting:
                    self._idle += 1
                    self._ready.wait()
                    self._idle -= 1
                _, _, work, done = heapq.heappop(self._waiting)
            if not done.set_running_or_notify_cancel():
                continue  # its asker went away before its turn
            try:
                done.set_result(work())
            except BaseException as exc:  # handed to the asker, raised there
                done.set_exception(exc)


class CostModel:
    """Expected seconds of a failure what-if from its work (the DAG entries of its failed
    arcs, plus one): seconds per unit of work learnt from the ones answered, as a ratio of
    decaying sums. (A running mean of each one's seconds / work was pulled far up by the
    what-ifs that repair nothing, whose fixed cost divided by a work of 1 is large.)"""

    def __init__(self, per_work_s: float = 10e-6, decay: float = 0.9) -> None:
        self._lock = threading.Lock()
        self._decay = decay
        self._seconds = per_work_s * 1000.0
        self._work = 1000.0

    def expected_s(self, work: float) -> float:
        return work * self._seconds / self._work

    def learn(self, work: float, seconds: float) -> None:
        with self._lock:
            self._seconds = self._decay * self._seconds + seconds
            self._work = self._decay * self._work + work


_queue: dict[str, EngineQueue] = {}
_queue_lock = threading.Lock()
COSTS = CostModel()


def failure_queue() -> EngineQueue:
    """The process's queue of failure what-ifs (one slot per engine thread)."""
    with _queue_lock:
        if "queue" not in _queue:
            _queue["queue"] = EngineQueue(engine_threads())
        return _queue["queue"]


def timed(work: float, compute: Callable[[], Any]) -> Callable[[], Any]:
    """``compute``, teaching ``COSTS`` its seconds for ``work`` when it runs."""
    def run() -> Any:
        t = time.perf_counter()
        result = compute()
        COSTS.learn(work, time.perf_counter() - t)
        return result
    return run
