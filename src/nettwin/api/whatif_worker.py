"""The what-if worker process (``api.processes`` starts and drives it) and what crosses its
pipes: the message kinds, and the reading of framed messages from a non-blocking pipe.

A worker takes bases and failure what-ifs on its request pipe, one at a time, and writes
each answer, tagged with its request's id, on its answer pipe. Tagging is what makes a late
answer harmless: a server that gave up a request drops its answer instead of handing it to
the next request."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import struct
from enum import StrEnum
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nettwin.api.basis import Basis


class Kind(StrEnum):
    """What a message is (its first element)."""

    ASK = "ask"  # to the worker: (id, basis serial, changes, limit)
    BASIS = "basis"  # to it: (serial, serial to drop or 0, pickle head, buffer sizes)
    STOP = "stop"  # to it
    ANSWER = "answer"  # from it: (id, JSON bytes)
    ERROR = "error"  # from it: (id, what went wrong)
    HELD = "held"  # from it: (serial)
    UNHELD = "unheld"  # from it: (serial, what went wrong)


def read_frames(fd: int, unread: bytearray) -> list[Any]:
    """The messages whole in the non-blocking pipe ``fd`` so far, after the bytes
    ``unread`` left by the last call (kept there for the next one).

    The framing is ``Connection.send``'s: a signed 4-byte big-endian size (or -1 and an
    8-byte size), then the pickle. Reading never waits for the rest of a message: an event
    loop calls this when the pipe is readable. Raises EOFError once the writer has closed
    its end."""
    while True:
        try:
            chunk = os.read(fd, 1 << 20)
        except BlockingIOError:
            break
        if not chunk:
            raise EOFError("the worker closed its answer pipe")
        unread += chunk
    out, at = [], 0
    while len(unread) - at >= 4:
        size, head = struct.unpack_from("!i", unread, at)[0], 4
        if size == -1:
            if len(unread) - at < 12:
                break
            size, head = struct.unpack_from("!Q", unread, at + 4)[0], 12
        if len(unread) - at < head + size:
            break
        out.append(pickle.loads(unread[at + head:at + head + size]))
        at += head + size
    del unread[:at]
    return out


def basis_parts(b: Basis) -> dict[str, Any]:
    """What a worker needs to make ``b`` again (its caches left behind)."""
    return {"kind": b.kind, "network": b.network, "compiled": b.compiled,
            "baseline": b.baseline, "measured_at": b.measured_at, "level": b.level,
            "links_down": b.links_down, "note": b.note}


def pickled_basis(b: Basis) -> tuple[bytes, list[memoryview]]:
    """``basis_parts(b)`` pickled with its arrays out of band: the pickle's head and the
    arrays' bytes, written one after the other (``write_basis``) without a copy."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(basis_parts(b), protocol=5, buffer_callback=buffers.append)
    return head, [buf.raw() for buf in buffers]


def write_basis(conn: Connection, message: tuple[Any, ...], views: list[memoryview]) -> None:
    """A BASIS message, then its arrays' bytes (in a thread: ~95 MB at 1,000 nodes)."""
    conn.send(message)
    for v in views:
        conn.send_bytes(v)


def spawn_worker() -> tuple[BaseProcess, Connection, Connection]:
    """A new worker, its request pipe's writing end and its answer pipe's reading end (made
    non-blocking: the event loop reads it as its bytes come, ``read_frames``)."""
    ctx = multiprocessing.get_context("spawn")
    requests, to_worker = ctx.Pipe(duplex=False)
    from_worker, answers = ctx.Pipe(duplex=False)
    process = ctx.Process(target=serve, args=(requests, answers), daemon=True,
                          name="nettwin-whatif")
    process.start()
    requests.close()
    answers.close()
    os.set_blocking(from_worker.fileno(), False)
    return process, to_worker, from_worker


def serve(conn: Connection, out: Connection) -> None:
    """A worker's loop: bases and what-ifs from ``conn``, answers on ``out``, until told to
    stop or the server's end of ``conn`` closes."""
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
        kind = message[0]
        if kind == Kind.STOP:
            return
        if kind == Kind.BASIS:
            _, serial, drop, head, sizes = message
            bases.pop(drop, None)
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
                out.send((Kind.UNHELD, serial, f"{type(exc).__name__}: {exc}"))
                continue
            bases[serial] = b
            out.send((Kind.HELD, serial))
            continue
        _, ask_id, serial, changes, limit = message
        try:
            scenario = parse_scenario({"changes": changes}, "body")
            answer = whatif.whatif_answer(bases[serial], changes, scenario, limit)
        except Exception as exc:  # the server answers it itself
            out.send((Kind.ERROR, ask_id, f"{type(exc).__name__}: {exc}"))
            continue
        out.send((Kind.ANSWER, ask_id, answer))
