"""When failure what-ifs are computed: a few at once, cheapest first among those that came
at about the same time (``Turns``, ``CostModel``), and the threads they wait in
(``failure_threads``).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from nettwin.engine.threads import engine_threads


class Turns:
    """At most ``slots`` holders at once; the others wait and are served by ``arrival +
    weight * expected cost`` (shortest first among those that came at about the same
    time). With many what-ifs at once (a dashboard firing 50) the cheap ones stop queueing
    behind the few that repair most of the network: single failures differ a hundredfold in
    cost (a link in few shortest-path DAGs or in most), so shortest first roughly halves the
    median wait, while the last answer comes when all the work is done, in any order. A
    costly one is overtaken only by those arriving within ``weight`` times its expected cost
    after it, so none waits for ever. Equal costs are served in arrival order.

    ``weight``: the server reads a burst's requests one after the other (about half a
    millisecond each), so they reach the gate spread over tens of milliseconds, longer than
    most of them cost; with weight 1 the order stayed close to arrival order. Simulated
    with the single-failure costs of the 1,000-node benchmark network (1.5 ms + 15 us per
    destination repaired; 50 at once, 2 slots, 0.6 ms between arrivals), the median wait
    falls from 53 ms (weight 1) to 30 ms (weight 10; 28 ms shortest first regardless of
    arrival), the 99th percentile rises from 120 to 131 ms; measured through the API, the
    median answer came at 31-38% of the burst's drain time (was 35-40%)."""

    def __init__(self, slots: int, weight: float = 10.0) -> None:
        self._weight = weight
        self._free = slots
        self._waiting: list[tuple[float, int, threading.Event]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def turn(self, cost_s: float = 0.0) -> Iterator[None]:
        """Hold a slot for the block (``cost_s``: the expected seconds of the work)."""
        with self._lock:
            turn: threading.Event | None = None
            if self._free and not self._waiting:
                self._free -= 1
            else:
                turn = threading.Event()
                heapq.heappush(self._waiting, (time.monotonic() + self._weight * cost_s,
                                               next(self._seq),
                                               turn))
        if turn is not None:
            turn.wait()  # the slot is handed over by a holder leaving
        try:
            yield
        finally:
            with self._lock:
                if self._waiting:
                    heapq.heappop(self._waiting)[2].set()
                else:
                    self._free += 1


_gate: dict[str, Turns] = {}
_gate_lock = threading.Lock()


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


costs = CostModel()


def computing() -> Turns:
    """Failure what-ifs computed at once: one per engine thread (``engine_threads``), the
    others wait their turn. The server's threads would otherwise share the cores among
    every request in flight, each finishing only when all do (50 at once: p50 = p99 = all
    of them); in turn, half finish in half the time, and cheapest first (``Turns``) most
    finish sooner still. Each runs on one thread and releases the GIL in its kernels, so
    the ones admitted use a core each. Full-engine what-ifs (hundreds of ms each) are not
    gated: failure what-ifs never queue behind them."""
    with _gate_lock:
        if "gate" not in _gate:
            _gate["gate"] = Turns(engine_threads())
        return _gate["gate"]


# A failure what-if waits for its turn (``Turns``) in a thread of its own; FastAPI's pool
# has 40 for every synchronous route, so of a burst of 50 the last 10 reached the gate only
# after 10 others had finished, in arrival order, whatever they cost (seen in a burst's
# timeline), and the burst held every thread other routes use. Failure what-ifs take
# threads of their own (``failure_threads``): each holds no more than its request.
FAILURE_THREADS = 256
# started with the app, before any burst: a thread started on the event loop blocks it until
# the thread runs
STARTED_THREADS = 64
_threads: dict[str, ThreadPoolExecutor] = {}


def failure_threads() -> ThreadPoolExecutor:
    """The process's threads for failure what-ifs: up to ``FAILURE_THREADS``, the first
    ``STARTED_THREADS`` started on first use (by the app's start-up), all kept for good.

    They were anyio's worker threads (``to_thread.run_sync`` with a limiter of their own):
    anyio starts those on demand, on the event loop, and stops the ones idle for 10 s, so
    every burst after a pause started ~50 threads on the loop, each ``Thread.start``
    waiting until its thread ran: the loop stood still 0.16 s in the first burst of
    ``bench_api.py --parts whatif`` (profiled at load ~3), whose median answer took 2-3 x
    the later bursts'."""
    with _gate_lock:
        pool = _threads.get("pool")
        if pool is None:
            pool = _threads["pool"] = ThreadPoolExecutor(FAILURE_THREADS,
                                                         thread_name_prefix="nettwin-failure")
            # each started thread waits here until all are: none is reused for the next
            started = threading.Barrier(STARTED_THREADS + 1)
            for _ in range(STARTED_THREADS):
                pool.submit(started.wait)
            started.wait()
        return pool
