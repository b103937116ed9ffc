"""How many threads the engine's kernels use, and when a job is too small to share out.

Every kernel that loops over destinations or failure sets has a serial and a parallel
(numba ``prange``) twin. A parallel region costs a thread wake-up and a join: tens of
microseconds on an idle machine, but tens of milliseconds when the cores are shared and the
second thread waits for a time slice. Jobs below ``PARALLEL_ABOVE_WORK`` run serially in the
caller's thread; larger ones are spread over ``engine_threads()`` threads.

The thread count is a setting: the environment variable ``NETTWIN_THREADS`` (read on first
use) or :func:`set_engine_threads`; by default numba's own count (the machine's cores).
``1`` makes every kernel serial (the thread pool is never started).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import numba
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from nettwin.errors import SimulationError

# numba's OpenMP threads (GNU libgomp) by default spin for a while, burning a core, at the
# end of each parallel region and between regions before they sleep. On a shared machine
# that spinning takes time slices from the thread still working and from everyone else.
# PASSIVE makes a waiting thread sleep at once (a futex wake-up, microseconds, per region).
# Measured with ``bench_regress.py --scenario`` on the 2-core machine at load ~7.5, three
# alternations, the 1,000-node scenario on 2 threads: wall median 416-456 ms instead of
# 556-747, CPU 146-149 ms instead of 209-243 (one thread: ~135). OpenMP reads it when numba
# starts its threads (the first parallel kernel, after this import); a user's own
# OMP_WAIT_POLICY wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Work is counted in arc visits (destinations x arcs for a routing pass; an incremental
# repair counts WORK_PER_AFFECTED_DESTINATION per destination it touches). Measured with
# ``benchmarks/bench_regress.py --crossover`` (synthetic backbones with 4 links per node and
# a full gravity matrix; one scenario, wall p50/p90, serial vs 2 threads) on the 2-core
# build machine with ~8 agents on it (load average ~15): serial won at every size,
# 0.08/0.13 vs 0.13/3.0 ms at 20 nodes (3.2e3), 3.5/18 vs 72/370 ms at 100 nodes (8e4),
# 26/34 vs 228/404 ms at 200 nodes (3.2e5), 835/903 vs 986/1236 ms at 1,000 nodes (8e6);
# a double failure at 1,000 nodes (542 destinations, 1.1e5) 18/44 vs 100/136 ms. Idle
# (load 0.4), the 1,000-node scenario took 110 ms wall on 2 threads against 200 ms CPU on
# one. The crossover sits where a parallel region (tens of microseconds idle; not measured
# on its own here) is a few per cent of the job on an idle machine: every real network up
# to ~150 nodes and a single what-if stay serial, a 1,000-node scenario or sweep goes
# parallel. On a shared machine set NETTWIN_THREADS=1. Re-measured with waiting threads
# asleep (OMP_WAIT_POLICY=PASSIVE, above) at load ~6.5: the parallel kernels no longer cost
# tens of milliseconds on small jobs (100 nodes 0.83/4.4 ms against serial 0.70/4.8; 20
# nodes 0.18/0.27 against 0.09/0.11), parity at 300-500 nodes, and at 1,000 nodes serial
# still won on that loaded machine (181 against 246 ms): the crossover stands.
PARALLEL_ABOVE_WORK = 200_000

_setting: dict[str, int | None] = {"threads": None}  # None: not read from the environment yet


def _pool_size() -> int:
    """numba's thread pool size (NUMBA_NUM_THREADS, the cores by default)."""
    return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


def _from_env() -> int:
    raw = os.environ.get("NETTWIN_THREADS", "").strip()
    if not raw:
        return _pool_size()
    try:
        value = int(raw)
    except ValueError:
        raise SimulationError(f"NETTWIN_THREADS must be a whole number >= 1 (got {raw!r}); "
                              "unset it to use every core") from None
    if value < 1:
        raise SimulationError(f"NETTWIN_THREADS must be >= 1 (got {value}); unset it to use "
                              "every core")
    return value


def engine_threads() -> int:
    """Threads a large kernel may use: the setting, at most numba's pool size."""
    threads = _setting["threads"]
    if threads is None:
        threads = _setting["threads"] = _from_env()
    return max(1, min(threads, _pool_size()))


def set_engine_threads(threads: int | None) -> None:
    """Set the engine's thread count for this process (``None``: back to NETTWIN_THREADS or
    the number of cores)."""
    if threads is not None and threads < 1:
        raise SimulationError(f"threads must be >= 1 (got {threads})")
    _setting["threads"] = threads


def threads_for(work: float) -> int:
    """Threads to use for a job of ``work`` arc visits: 1 below the crossover, else the
    setting (never more than the calling thread's numba limit, which callers may lower)."""
    if work < PARALLEL_ABOVE_WORK:
        return 1
    return max(1, min(engine_threads(), numba.get_num_threads()))


@contextlib.contextmanager
def parallel_region(threads: int) -> Iterator[None]:
    """Run a parallel kernel on exactly ``threads`` numba threads (thread-local in numba)."""
    before = numba.get_num_threads()
    if before == threads:
        yield
        return
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(before)


@intrinsic
def claim_next(typingctx: Any, counter: Any) -> Any:
    """In a numba kernel: ``counter[0] += 1`` atomically, returning the value before.

    How a parallel kernel deals out work dynamically: each of its threads claims the next
    unit until they run out, so a thread the OS leaves waiting (a loaded machine) holds up
    one unit, not a fixed share of the job (numba's prange splits statically)."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None
    signature = types.int64(counter)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        array_type = sig.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        slot = cgutils.get_item_pointer(  # type: ignore[no-untyped-call]
            context, builder, array_type, array, [zero])
        one = context.get_constant(types.int64, 1)
        return builder.atomic_rmw("add", slot, one, "monotonic")

    return signature, codegen
