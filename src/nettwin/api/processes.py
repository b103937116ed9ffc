"""Failure what-ifs answered by worker processes beside the server's own.

A failure what-if at 1,000 nodes / 1M demands costs about 1.3 ms of CPU alone, about 0.5 ms
of it Python holding the GIL. The server's event loop spends about 0.5 ms more on the
request. In one process these take turns on one GIL with every other request and thread.
A burst of 50 on 2 cores cost 3.0-4.2 ms of server CPU a request, and the median answer
took 58-70 ms (``benchmarks/bench_api.py --parts whatif``; target 50).

Here ``count`` spawned worker processes, each with its own GIL, answer them.

- **The event loop drives them itself.** It writes a request to a worker's pipe and reads
  the answer when the pipe is readable. No thread is woken and no lock is taken in the
  server: a thread handing each what-if to a worker cost the server 1.2 ms of CPU a
  request.
- **Order.** Requests wait in one queue, cheapest first among those that came at about
  the same time (as ``api.turns.Turns`` serves the server's own). Each worker has at most
  ``DEPTH`` in hand, so it never waits for the loop between two.
- **What a worker holds.** Copies of the last ``HELD`` bases it was sent: the network, its
  compiled form and the no-change run.
  - A basis is sent when a failure what-if on it comes after the server has answered one
    itself.
  - It is pickled with its arrays out of band, and written by a thread. At 1,000 nodes
    that is about 95 MB and a few tenths of a second.
- **What it answers.** The whole answer as JSON bytes, made by the same ``whatif_answer``
  the server runs: the bytes are equal to the server's own
  (``tests/api/test_whatif_processes.py``).
- **When the server answers itself** (``ask`` gives None):
  - what-ifs on a basis no worker holds yet, or one with fewer than ``MIN_DEMANDS``
    demands (a round trip through a pipe costs as much as the what-if), or one larger
    than ``max_bytes`` (each worker would hold a copy);
  - what-ifs asked from a thread, or from another event loop than the first one (a
    second server on the same twin);
  - the what-ifs of a worker that dies, errs or stays silent for ``ANSWER_TIMEOUT_S``.
    The worker is stopped, and a new one is started when the next basis is sent.

The live basis changes with every batch of telemetry. At a fast tick rate most live
what-ifs are therefore answered by the server. The plan basis is sent once.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import multiprocessing
import os
import pickle
import struct
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nettwin.api.basis import Basis

log = logging.getLogger(__name__)

HELD = 2  # bases a worker keeps (the plan and the live one, say)
DEPTH = 2  # requests in a worker's hands at once: the next one is there when it is done
# Below this many demands the server answers: a what-if on GEANT (22 nodes, 462 demands)
# costs ~0.1 ms, less than a round trip through the pipe.
MIN_DEMANDS = 20_000
ANSWER_TIMEOUT_S = 120.0  # a worker silent this long with a request in hand is stopped
MAX_STARTS = 16  # workers started in all: past this the server answers every what-if
WEIGHT = 10.0  # as api.turns.Turns: cheapest first among those arriving within 10x its cost


@dataclass(eq=False)
class _Ask:
    serial: int
    message: tuple[Any, ...]
    future: asyncio.Future[bytes | None]


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection  # requests and bases to it (blocking writes)
    answers: Connection  # its answers, read by the event loop (non-blocking)
    held: list[int] = field(default_factory=list)  # basis serials, oldest first
    busy: deque[_Ask] = field(default_factory=deque)  # sent; answered in this order
    loading: bool = False  # a basis being written to it: nothing else is sent meanwhile
    unread: bytearray = field(default_factory=bytearray)  # the answers' bytes not yet read
    answered: int = 0  # what-ifs it answered

    def messages(self) -> list[Any]:
        """The messages read whole from its answer pipe so far (``Connection.send``'s
        framing: a signed 4-byte big-endian size, or -1 and an 8-byte one, then the
        pickle). The loop made the pipe non-blocking: a message is read as its bytes come,
        never waited for. Raises EOFError once the worker has closed it."""
        fd = self.answers.fileno()
        while True:
            try:
                chunk = os.read(fd, 1 << 20)
            except BlockingIOError:
                break
            if not chunk:
                raise EOFError("the worker closed its answer pipe")
            self.unread += chunk
        out, at, data = [], 0, self.unread
        while len(data) - at >= 4:
            size, head = struct.unpack_from("!i", data, at)[0], 4
            if size == -1:
                if len(data) - at < 12:
                    break
                size, head = struct.unpack_from("!Q", data, at + 4)[0], 12
            if len(data) - at < head + size:
                break
            out.append(pickle.loads(data[at + head:at + head + size]))
            at += head + size
        del self.unread[:at]
        return out


class WhatIfProcesses:
    """``count`` worker processes answering failure what-ifs (0: none, the server answers
    them all), driven by the event loop that first asks. Started when the first basis is
    sent; stopped by ``close`` or when the server's process ends."""

    def __init__(self, count: int, max_bytes: int = 2**30,
                 min_demands: int = MIN_DEMANDS) -> None:
        self.count = count
        self.max_bytes = max_bytes
        self.min_demands = min_demands
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: list[_Worker] = []
        self._waiting: list[tuple[float, int, _Ask]] = []
        self._seq = itertools.count()
        self._sending: set[int] = set()
        self._refused: set[int] = set()  # serials never sent (too small or too large)
        self._tasks: set[asyncio.Task[None]] = set()
        self._starts = 0
        self._closed = False

    def holds(self, serial: int) -> bool:
        """Whether a worker holds the basis numbered ``serial``."""
        return any(serial in w.held for w in self._workers)

    def holding(self) -> dict[int, tuple[list[int], int]]:
        """Each running worker's pid: the serials of the bases it holds, and how many
        what-ifs it answered."""
        return {w.process.pid or 0: (list(w.held), w.answered) for w in self._workers}

    async def ask(self, serial: int, changes: list[dict[str, Any]], limit: int,
                  cost_s: float) -> bytes | None:
        """The answer to a failure what-if on the basis ``serial`` (``cost_s``: its
        expected seconds, for the order), from a worker holding it; None where the server
        must answer it."""
        if not self._bound() or not self.holds(serial):
            return None
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        ask = _Ask(serial, ("ask", serial, changes, limit), future)
        heapq.heappush(self._waiting, (time.monotonic() + WEIGHT * cost_s, next(self._seq),
                                       ask))
        self._dispatch()
        return await future

    def send_later(self, b: Basis) -> None:
        """On the event loop: send ``b`` to the workers (once; never when too small or too
        large)."""
        if self.count <= 0 or self._closed or not self._bound():
            return
        if b.serial in self._sending or b.serial in self._refused:
            return
        if b.compiled.n_demands < self.min_demands:
            self._refused.add(b.serial)
            return
        self._sending.add(b.serial)
        task = asyncio.get_running_loop().create_task(self._send(b))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Stop the workers."""
        self._closed = True
        workers, self._workers = self._workers, []
        for w in workers:
            self._unwatch(w)
            with contextlib.suppress(OSError):
                w.conn.send(("stop",))
        for w in workers:
            w.process.join(5)
            if w.process.is_alive():
                w.process.kill()
            w.conn.close()
            w.answers.close()
            _settle(w.busy)
        _settle(ask for _, _, ask in self._waiting)
        self._waiting.clear()

    # -- on the event loop

    def _bound(self) -> bool:
        """Whether the running loop drives the workers (the first to ask does; a later one
        takes over once that one is closed)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return True
        if self._loop is not None and not self._loop.is_closed():
            return False
        self._loop = loop
        self._waiting.clear()  # their loop is gone, and its requests with it
        self._sending.clear()
        for w in list(self._workers):
            w.busy.clear()
            if w.loading:  # its writer may still be writing: start afresh
                self._lose(w)
            else:
                loop.add_reader(w.answers.fileno(), self._readable, w)
        return True

    def _dispatch(self) -> None:
        """Hand the cheapest waiting requests to the workers holding their basis, while
        one has fewer than ``DEPTH`` in hand."""
        while self._waiting:
            ask = self._waiting[0][2]
            if ask.future.done():  # its request was given up
                heapq.heappop(self._waiting)
                continue
            ready = [w for w in self._workers if ask.serial in w.held and not w.loading]
            if not ready:  # none holds it any more, or the ones holding it are taking one
                heapq.heappop(self._waiting)
                ask.future.set_result(None)
                continue
            w = min(ready, key=lambda w: len(w.busy))
            if len(w.busy) >= DEPTH:
                return
            heapq.heappop(self._waiting)
            try:
                w.conn.send(ask.message)
            except (OSError, ValueError):
                ask.future.set_result(None)
                self._lose(w)
                continue
            w.busy.append(ask)
            asyncio.get_running_loop().call_later(ANSWER_TIMEOUT_S, self._overdue, w, ask)

    def _readable(self, w: _Worker) -> None:
        try:
            for message in w.messages():
                if message[0] == "held":
                    w.held = [*[s for s in w.held if s != message[1]], message[1]][-HELD:]
                    w.loading = False
                elif message[0] == "unheld":
                    log.warning("what-if worker %s could not take a basis: %s",
                                w.process.pid, message[2])
                    w.loading = False
                else:
                    ask = w.busy.popleft()
                    if message[0] != "answer":
                        log.warning("what-if worker %s failed: %s; answered in the server",
                                    w.process.pid, message[1])
                    else:
                        w.answered += 1
                    if not ask.future.done():
                        ask.future.set_result(message[1] if message[0] == "answer" else None)
        except Exception as exc:  # a closed pipe, a message that does not unpickle
            log.warning("what-if worker %s lost (%s); its what-ifs answered in the server",
                        w.process.pid, exc)
            self._lose(w)
        self._dispatch()

    def _overdue(self, w: _Worker, ask: _Ask) -> None:
        if ask in w.busy and w in self._workers:
            log.warning("what-if worker %s silent for %.0f s: stopped", w.process.pid,
                        ANSWER_TIMEOUT_S)
            self._lose(w)
            self._dispatch()

    def _lose(self, w: _Worker) -> None:
        if w in self._workers:
            self._workers.remove(w)
        self._unwatch(w)
        w.process.kill()
        w.conn.close()
        w.answers.close()
        _settle(w.busy)

    def _unwatch(self, w: _Worker) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(OSError, ValueError):  # closed already
                self._loop.remove_reader(w.answers.fileno())

    async def _send(self, b: Basis) -> None:
        loop = asyncio.get_running_loop()
        try:
            head, views = await loop.run_in_executor(None, _pickled, b)
            size = len(head) + sum(v.nbytes for v in views)
            if size > self.max_bytes:
                log.info("a basis of %d bytes is not sent to the what-if workers (at most "
                         "%d): the server answers its what-ifs", size, self.max_bytes)
                self._refused.add(b.serial)
                return
            while len(self._workers) < self.count and not self._closed:
                if self._starts >= MAX_STARTS:
                    log.error("%d what-if workers started and lost: no more are started; "
                              "the server answers every what-if", self._starts)
                    self._refused.add(b.serial)
                    return
                self._starts += 1
                w = _Worker(*await loop.run_in_executor(None, _spawn))
                self._workers.append(w)
                loop.add_reader(w.answers.fileno(), self._readable, w)
            for w in list(self._workers):
                if b.serial in w.held or w.loading:
                    continue
                w.loading = True  # nothing more is handed to it; it finishes what it has
                while w.busy and w in self._workers:
                    await asyncio.sleep(0.005)
                if w not in self._workers:
                    continue
                message = ("basis", b.serial, head, [v.nbytes for v in views])
                try:  # the answer, "held", comes to _readable
                    await loop.run_in_executor(None, _write, w.conn, message, views)
                except (OSError, ValueError) as exc:
                    log.warning("what-if worker %s lost while taking a basis (%s); the "
                                "server answers what-ifs on it", w.process.pid, exc)
                    self._refused.add(b.serial)
                    self._lose(w)
        except Exception:  # never a request's problem: the server answers it
            log.exception("sending a basis to the what-if workers failed")
        finally:
            self._sending.discard(b.serial)


def _settle(asks: Any) -> None:
    """Let the requests ``asks`` be answered by the server."""
    for ask in list(asks):
        if not ask.future.done() and not ask.future.get_loop().is_closed():
            ask.future.set_result(None)
    if isinstance(asks, deque):
        asks.clear()


def _pickled(b: Basis) -> tuple[bytes, list[memoryview]]:
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(basis_parts(b), protocol=5, buffer_callback=buffers.append)
    return head, [buf.raw() for buf in buffers]


def _write(conn: Connection, message: tuple[Any, ...], views: list[memoryview]) -> None:
    conn.send(message)
    for v in views:
        conn.send_bytes(v)


def _spawn() -> tuple[BaseProcess, Connection, Connection]:
    """A new worker, its request pipe's writing end and its answer pipe's reading end."""
    ctx = multiprocessing.get_context("spawn")
    requests, to_worker = ctx.Pipe(duplex=False)
    from_worker, answers = ctx.Pipe(duplex=False)
    process = ctx.Process(target=serve, args=(requests, answers), daemon=True,
                          name="nettwin-whatif")
    process.start()
    requests.close()
    answers.close()
    return process, to_worker, from_worker


def basis_parts(b: Basis) -> dict[str, Any]:
    """What a worker needs to make ``b`` again (its caches left behind)."""
    return {"kind": b.kind, "network": b.network, "compiled": b.compiled,
            "baseline": b.baseline, "measured_at": b.measured_at, "level": b.level,
            "links_down": b.links_down, "note": b.note}


def serve(conn: Connection, out: Connection) -> None:
    """A worker's loop: take bases and what-ifs from ``conn``, answer on ``out``, until
    told to stop or the server's end of ``conn`` closes."""
    os.environ["NETTWIN_THREADS"] = "1"  # one what-if at a time, each on one thread
    from nettwin.api import whatif
    from nettwin.api.basis import Basis
    from nettwin.scenarios import parse_scenario

    bases: dict[int, Basis] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        if message[0] == "basis":
            _, serial, head, sizes = message
            buffers = []
            for n in sizes:
                buf = bytearray(n)  # writable, as the arrays were
                try:
                    conn.recv_bytes_into(buf)
                except (EOFError, OSError):
                    return
                buffers.append(buf)
            try:
                b = Basis(**pickle.loads(head, buffers=buffers), serial=serial)
                whatif.prepare_answers(b)
            except Exception as exc:
                out.send(("unheld", serial, f"{type(exc).__name__}: {exc}"))
                continue
            bases[serial] = b
            for old in list(bases)[:-HELD]:
                del bases[old]
            out.send(("held", serial))
            continue
        _, serial, changes, limit = message
        try:
            scenario = parse_scenario({"changes": changes}, "body")
            answer = whatif.whatif_answer(bases[serial], changes, scenario, limit)
        except Exception as exc:  # the server answers it itself
            out.send(("error", f"{type(exc).__name__}: {exc}"))
            continue
        out.send(("answer", answer))
