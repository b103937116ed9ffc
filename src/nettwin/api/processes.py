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
- **What a worker holds.** Copies of at most ``HELD`` bases: the network, its compiled
  form and the no-change run, plus the incremental engine's state it makes from them.
  - A basis is sent when a failure what-if on it comes after the server has answered one
    itself. It goes to every worker, one after the other, one basis at a time: a basis
    asked for meanwhile waits, the latest only, and a newer basis of the same kind for
    the same network stops the sending of an older one.
  - It is pickled with its arrays out of band, and written by a thread that owns the
    worker's request pipe meanwhile. At 1,000 nodes that is about 95 MB and a few tenths
    of a second.
  - A worker holding ``HELD`` drops a basis the server no longer keeps, else the one asked
    least recently: the plan and the live state now stay, the live states before go.
- **Answers are matched by request id.** An answer whose request was given up (its loop
  closed, its worker replaced) is dropped, never handed to another request.
- **What it answers.** The whole answer as JSON bytes, made by the same ``whatif_answer``
  the server runs, on one thread as the server's (``failure_diff`` runs its kernels in
  ``parallel_region(1)``): the bytes are equal to the server's own
  (``tests/api/test_whatif_processes.py``).
- **When the server answers itself** (``ask`` gives None):
  - what-ifs on a basis no worker holds yet, or one with fewer than ``MIN_DEMANDS``
    demands (a round trip through a pipe costs as much as the what-if), or one larger
    than ``max_bytes`` (each worker would hold a copy);
  - what-ifs asked from a thread, or from another event loop than the first one (a
    second server on the same twin);
  - the what-ifs of a worker that dies, errs or stays silent for ``ANSWER_TIMEOUT_S``
    (``SEND_TIMEOUT_S`` to take a basis). The worker is stopped, and a new one is
    started when the next basis is sent (``MAX_STARTS`` in all).

The live basis changes with every batch of telemetry. At a fast tick rate most live
what-ifs are therefore answered by the server. The plan basis is sent once.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from nettwin.api.whatif_worker import (
    Kind,
    pickled_basis,
    read_frames,
    spawn_worker,
    write_basis,
)

if TYPE_CHECKING:
    from nettwin.api.basis import Basis

log = logging.getLogger(__name__)

HELD = 2  # bases a worker keeps (the plan and the live one, say)
DEPTH = 2  # requests in a worker's hands at once: the next one is there when it is done
# Below this many demands the server answers: a what-if on GEANT (22 nodes, 462 demands)
# costs ~0.1 ms and a round trip through the pipes ~0.05 ms (two processes, quiet machine),
# too little gained for the copy of the basis each worker keeps (~0.4 GB resident at 1,000
# nodes).
MIN_DEMANDS = 20_000
ANSWER_TIMEOUT_S = 120.0  # a worker silent this long with a request in hand is stopped
SEND_TIMEOUT_S = 600.0  # to take a basis: read it, make its failure state, load the kernels
REFUSED_KEPT = 256
MAX_STARTS = 16  # workers started in all: past this the server answers every what-if
WEIGHT = 10.0  # as api.turns.Turns: cheapest first among those arriving within 10x its cost


@dataclass(eq=False)
class _Ask:
    """A request waiting for a worker, or in one's hands."""

    id: int
    serial: int
    message: tuple[Any, ...]
    future: asyncio.Future[bytes | None]
    timer: asyncio.TimerHandle | None = None


@dataclass(eq=False)
class _Worker:
    """A worker process and the server's view of it."""

    process: BaseProcess
    conn: Connection  # requests and bases to it (blocking writes)
    answers: Connection  # its answers, read by the event loop (non-blocking)
    held: list[int] = field(default_factory=list)  # basis serials
    busy: dict[int, _Ask] = field(default_factory=dict)  # in its hands, by request id
    loading: int = 0  # the serial of a basis sent it and not yet taken: nothing else is sent
    writing: bool = False  # a thread writes to ``conn``: it closes the pipes if lost
    # ``writing`` and ``lost`` change together under it: whoever comes second (the
    # writer done, or the loop losing the worker) closes the pipes, even where the loop
    # that sent the basis is closed meanwhile and its task never resumes
    guard: threading.Lock = field(default_factory=threading.Lock)
    taking: bool = False  # the basis ``loading`` is written to it (or being written)
    load_timer: asyncio.TimerHandle | None = None
    lost: bool = False
    unread: bytearray = field(default_factory=bytearray)  # the answers' bytes not yet read
    answered: int = 0  # what-ifs it answered


class WhatIfProcesses:
    """``count`` worker processes answering failure what-ifs (0: none, the server answers
    them all), driven by the event loop that first asks. Started when the first basis is
    sent; stopped by ``close`` (the lifespan's end; a later send starts them again) or
    when the server's process ends."""

    def __init__(self, count: int, max_bytes: int = 512 * 2**20,
                 min_demands: int = MIN_DEMANDS) -> None:
        self.count = count
        self.max_bytes = max_bytes
        self.min_demands = min_demands
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: list[_Worker] = []
        self._waiting: list[tuple[float, int, _Ask]] = []
        self._ids = itertools.count(1)
        self._used: dict[int, float] = {}  # basis serial -> when last asked
        self._sent: dict[int, weakref.ref[Basis]] = {}  # serials sent -> the server's basis
        self._pending: Basis | None = None  # the next basis to send
        self._current: Basis | None = None  # the one being sent
        self._sender: asyncio.Task[None] | None = None
        self._refused: set[int] = set()  # serials never sent (too large, not taken; the
        # last REFUSED_KEPT: serials grow with each basis, the old ones' bases are gone)
        self._starting = asyncio.Lock()
        self._starts = 0

    def holds(self, serial: int) -> bool:
        """Whether a worker holds the basis numbered ``serial``."""
        return any(serial in w.held for w in self._workers)

    def holding(self) -> dict[int, tuple[list[int], int]]:
        """Each running worker's pid: the serials of the bases it holds, and how many
        what-ifs it answered."""
        return {w.process.pid or 0: (list(w.held), w.answered) for w in list(self._workers)}

    async def ask(self, serial: int, changes: list[dict[str, Any]], limit: int,
                  cost_s: float) -> bytes | None:
        """The answer to a failure what-if on the basis ``serial`` (``cost_s``: its
        expected seconds, for the order), from a worker holding it; None where the server
        must answer it."""
        if not self._bound() or not self.holds(serial):
            return None
        self._used[serial] = time.monotonic()
        ask_id = next(self._ids)
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        ask = _Ask(ask_id, serial, (Kind.ASK, ask_id, serial, changes, limit), future)
        heapq.heappush(self._waiting, (time.monotonic() + WEIGHT * cost_s, ask_id, ask))
        self._dispatch()
        return await future

    def send_later(self, b: Basis) -> None:
        """On the event loop: send ``b`` to the workers that lack it (never when too small
        or too large). One basis is sent at a time; of those asked for meanwhile, the
        latest waits."""
        if self.count <= 0 or b.compiled.n_demands < self.min_demands or not self._bound():
            return
        if b.serial in self._refused or b is self._pending or b is self._current or \
                self._everywhere(b):
            return
        self._pending = b
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_pending())

    def close(self) -> None:
        """Stop the workers and the sending (the lifespan's end); what waits is answered
        by the server. A later send starts new workers."""
        if self._sender is not None:
            self._sender.cancel()
        self._sender = self._pending = self._current = None
        workers, self._workers = self._workers, []
        for w in workers:
            if not w.writing:  # a written one's pipe is its writer's: it is killed below
                with contextlib.suppress(OSError, ValueError, TypeError):
                    w.conn.send((Kind.STOP,))
        deadline = time.monotonic() + 2.0
        for w in workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            self._lose(w, stopped=True)
        _settle(ask for _, _, ask in self._waiting)
        self._waiting.clear()
        self._starts = 0

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
        self._sender = self._pending = self._current = None
        self._starting = asyncio.Lock()
        for w in list(self._workers):
            if w.loading or w.writing:  # its writer may still be writing: start afresh
                self._lose(w, stopped=True)
                continue
            w.busy.clear()  # their answers, when they come, are dropped (ids unknown)
            loop.add_reader(w.answers.fileno(), self._readable, w)
        return True

    def _everywhere(self, b: Basis) -> bool:
        """Whether every worker there is, or will be, holds ``b``."""
        full = len(self._workers) >= self.count or self._starts >= MAX_STARTS
        return full and all(b.serial in w.held for w in self._workers)

    def _dispatch(self) -> None:
        """Hand the waiting requests, cheapest first, to the workers holding their basis
        that have fewer than ``DEPTH`` in hand; a request whose basis no worker free of a
        load holds goes back to the server; the others keep their place."""
        if not any(len(w.busy) < DEPTH and not w.loading for w in self._workers):
            # nothing can be handed out: only give back those no worker can take
            # (a full pass of pops for each answer made a burst quadratic)
            for _, _, ask in self._waiting:
                if not ask.future.done() and not any(
                        ask.serial in w.held and not w.loading for w in self._workers):
                    ask.future.set_result(None)
            self._waiting = [item for item in self._waiting if not item[2].future.done()]
            heapq.heapify(self._waiting)
            return
        kept: list[tuple[float, int, _Ask]] = []
        while self._waiting:
            item = heapq.heappop(self._waiting)
            ask = item[2]
            if ask.future.done():  # its request was given up
                continue
            ready = [w for w in self._workers if ask.serial in w.held and not w.loading]
            if not ready:
                ask.future.set_result(None)
                continue
            w = min(ready, key=lambda w: len(w.busy))
            if len(w.busy) >= DEPTH:
                kept.append(item)
                continue
            try:
                w.conn.send(ask.message)
            except (OSError, ValueError):
                ask.future.set_result(None)
                self._lose(w)
                continue
            w.busy[ask.id] = ask
            ask.timer = asyncio.get_running_loop().call_later(
                ANSWER_TIMEOUT_S, self._overdue, w, ask.id)
        for item in kept:
            heapq.heappush(self._waiting, item)

    def _readable(self, w: _Worker) -> None:
        """Its answer pipe has bytes: the whole messages in it, each to its request."""
        try:
            for message in read_frames(w.answers.fileno(), w.unread):
                self._take(w, message)
        except Exception as exc:  # a closed pipe, a message that does not unpickle
            log.warning("what-if worker %s lost (%s); its what-ifs answered in the server",
                        w.process.pid, exc)
            self._lose(w)
        self._dispatch()

    def _take(self, w: _Worker, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind in (Kind.HELD, Kind.UNHELD):
            if w.load_timer is not None:
                w.load_timer.cancel()
            w.loading, w.taking = 0, False
            if kind == Kind.HELD:
                w.held.append(message[1])
            else:  # refused for every worker: the server answers what-ifs on it
                log.warning("what-if worker %s could not take a basis (%s)", w.process.pid,
                            message[2])
                self._refuse(message[1])
            return
        ask = w.busy.pop(message[1], None)
        if ask is None:  # given up (its loop closed): dropped
            return
        if ask.timer is not None:
            ask.timer.cancel()
        if kind == Kind.ANSWER:
            w.answered += 1
        else:
            log.warning("what-if worker %s failed: %s; answered in the server",
                        w.process.pid, message[2])
        if not ask.future.done():
            ask.future.set_result(message[2] if kind == Kind.ANSWER else None)

    def _overdue(self, w: _Worker, ask_id: int) -> None:
        if ask_id in w.busy and w in self._workers:
            log.warning("what-if worker %s silent for %.0f s: stopped", w.process.pid,
                        ANSWER_TIMEOUT_S)
            self._lose(w)

    def _slow_load(self, w: _Worker, serial: int) -> None:
        if w.loading == serial and not w.lost:
            log.warning("what-if worker %s took more than %.0f s to take a basis: stopped",
                        w.process.pid, SEND_TIMEOUT_S)
            self._lose(w)

    def _lose(self, w: _Worker, *, stopped: bool = False) -> None:
        """Stop a worker; its requests go back to the server, and so do the others waiting
        for a basis only it held. A basis it died taking is not sent again (unless the
        server ``stopped`` it: closing, another loop). Its pipes are closed here unless a
        thread writes to it (which closes them when done)."""
        loop = self._loop if self._loop is not None and not self._loop.is_closed() else None
        with w.guard:
            if w.lost:
                return
            if loop is not None:  # before a writer may close the pipe (and free its number)
                with contextlib.suppress(OSError, ValueError):
                    loop.remove_reader(w.answers.fileno())
            w.lost = True
            writing = w.writing
        if w in self._workers:
            self._workers.remove(w)
        if w.load_timer is not None:
            w.load_timer.cancel()
        if w.taking and w.loading and not stopped:
            self._refuse(w.loading)
        if w.process.is_alive():
            w.process.kill()
        w.process.join(1)
        if not writing:  # else the writer closes them when done (``_write``)
            _close(w)
        _settle(w.busy.values())
        w.busy.clear()
        if loop is not None:
            loop.call_soon(self._dispatch)

    async def _send_pending(self) -> None:
        """Send the pending basis, then the next one asked for meanwhile, until none."""
        while self._pending is not None:
            b, self._pending = self._pending, None
            self._current = b
            try:
                await self._send(b)
            except asyncio.CancelledError:
                raise
            except Exception:  # never a request's problem: the server answers it
                log.exception("sending a basis to the what-if workers failed")
            finally:
                self._current = None

    async def _send(self, b: Basis) -> None:
        """Send ``b`` to every worker lacking it (starting them first), one after the
        other; stop once a newer basis of its kind for its network waits."""
        loop = asyncio.get_running_loop()
        self._sent[b.serial] = weakref.ref(b)
        for serial in [s for s, ref in self._sent.items() if ref() is None]:
            if not self.holds(serial):  # gone from the server and from every worker
                del self._sent[serial]
                self._used.pop(serial, None)
        head, views = await loop.run_in_executor(None, pickled_basis, b)
        if len(head) + sum(v.nbytes for v in views) > self.max_bytes:
            log.info("a basis over %d bytes is not sent to the what-if workers: the server "
                     "answers its what-ifs", self.max_bytes)
            self._refuse(b.serial)
            return
        await self._start()
        for w in list(self._workers):
            if b.serial in self._refused:  # a worker refused it, or died taking it
                return
            if w.lost or b.serial in w.held or self._superseded(b):
                continue
            w.loading = b.serial  # nothing more is handed to it; it finishes what it has
            self._dispatch()  # requests only it could take go back to the server
            while w.busy and not w.lost:
                await asyncio.sleep(0.005)
            if not w.lost:
                await self._load(w, b, head, views)
            while w.loading == b.serial and not w.lost:  # taken: "held" (or not)
                await asyncio.sleep(0.01)

    def _superseded(self, b: Basis) -> bool:
        """Whether a newer basis of ``b``'s kind for its network waits to be sent (an
        older one asked for meanwhile, on a kept basis, waits its turn instead)."""
        new = self._pending
        return new is not None and new.serial > b.serial and new.kind == b.kind and \
            new.network.name == b.network.name

    async def _start(self) -> None:
        """Start workers up to ``count`` (one task at a time)."""
        loop = asyncio.get_running_loop()
        async with self._starting:
            while len(self._workers) < self.count:
                if self._starts >= MAX_STARTS:
                    log.error("%d what-if workers started and lost: no more are started; "
                              "the server answers every what-if", self._starts)
                    return
                self._starts += 1
                spawning = loop.run_in_executor(None, spawn_worker)
                try:
                    w = _Worker(*await asyncio.shield(spawning))
                except asyncio.CancelledError:  # closed meanwhile: the new one goes too
                    spawning.add_done_callback(_kill_spawned)
                    raise
                self._workers.append(w)
                loop.add_reader(w.answers.fileno(), self._readable, w)

    async def _load(self, w: _Worker, b: Basis, head: bytes,
                    views: list[memoryview]) -> None:
        """Write ``b`` to ``w`` in a thread, which owns its request pipe meanwhile. Where
        it holds ``HELD``, it first drops a basis the server no longer keeps, else the one
        asked least recently. Its "held" comes to ``_readable``."""
        drop = self._to_drop(w.held) if len(w.held) >= HELD else 0
        if drop:
            w.held.remove(drop)
        message = (Kind.BASIS, b.serial, drop, head, [v.nbytes for v in views])
        loop = asyncio.get_running_loop()
        w.load_timer = loop.call_later(SEND_TIMEOUT_S, self._slow_load, w, b.serial)
        w.writing = w.taking = True
        try:
            writing = loop.run_in_executor(None, _write, w, message, views)
        except BaseException:  # no thread to write (the executor shut down): start afresh
            w.writing = False
            self._lose(w, stopped=True)
            raise
        try:
            await asyncio.shield(writing)  # cancelled (closing): the writer closes the pipes
        except Exception as exc:  # a worker that died while reading it
            log.warning("what-if worker %s lost while taking a basis (%s)", w.process.pid,
                        exc)
            self._lose(w)

    def _refuse(self, serial: int) -> None:
        self._refused.add(serial)
        if len(self._refused) > REFUSED_KEPT:
            for old in sorted(self._refused)[:REFUSED_KEPT // 2]:
                self._refused.discard(old)

    def _to_drop(self, held: list[int]) -> int:
        """Of the bases ``held``, the one to drop for another: one the server no longer
        keeps, else the one asked least recently."""
        def alive(serial: int) -> bool:
            ref = self._sent.get(serial)
            return ref is not None and ref() is not None

        return min(held, key=lambda s: (alive(s), self._used.get(s, 0.0)))


def _settle(asks: Any) -> None:
    """Let the requests ``asks`` be answered by the server."""
    for ask in list(asks):
        if ask.timer is not None:
            ask.timer.cancel()
        if not ask.future.done() and not ask.future.get_loop().is_closed():
            ask.future.set_result(None)


def _write(w: _Worker, message: tuple[Any, ...], views: list[memoryview]) -> None:
    """In a thread: write a basis to ``w``; then, where ``w`` was lost meanwhile, close its
    pipes (the loop left them to this writer)."""
    try:
        write_basis(w.conn, message, views)
    finally:
        with w.guard:
            w.writing = False
            lost = w.lost
        if lost:
            _close(w)


def _close(w: _Worker) -> None:
    w.writing = False
    with contextlib.suppress(OSError):
        w.conn.close()
        w.answers.close()


def _kill_spawned(spawning: asyncio.Future[tuple[BaseProcess, Connection, Connection]]
                  ) -> None:
    if not spawning.cancelled() and spawning.exception() is None:
        process, conn, answers = spawning.result()
        process.kill()
        conn.close()
        answers.close()
