"""Failure what-ifs answered by worker processes (api/processes.py).

A real server answers over HTTP, with a real spawned worker, on uvloop and on the standard
library's event loop. The oracle is the server's own answer, made in this process on a
fresh basis of the same network: the bytes must be equal, asked one at a time and many at
once (answers matched to their requests). A worker killed mid-service costs no answer: its
what-ifs are answered by the server, and a new worker takes over.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.api.basis import plan_basis
from nettwin.api.processes import WhatIfProcesses
from nettwin.api.whatif import whatif_answer
from nettwin.api.whatif_worker import read_frames
from nettwin.engine import compile_network
from nettwin.scenarios import parse_scenario
from tests.api.conftest import running_server

URL = "/api/v1/networks/example/whatif"


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[httpx.Client, Any]]:
    """The bundled example served with one what-if worker, sent even this small network."""
    data = tmp_path_factory.mktemp("processes")
    token = TokenStore(Settings(data_dir=data).tokens_file).create("p", Role.PLANNER)
    app = create_app(Settings(data_dir=data, whatif_processes=1))
    twin = app.state.twin
    twin.processes = WhatIfProcesses(1, min_demands=0)
    with running_server(app, loop=request.param) as port, httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=120,
            headers={"Authorization": f"Bearer {token}"}) as client:
        yield client, twin


def _workers(client: httpx.Client) -> list[dict[str, int]]:
    workers: list[dict[str, int]] = client.get("/api/v1/warmup").json()["whatif_workers"]
    return workers


def _held(client: httpx.Client, not_pid: int = 0) -> dict[str, int]:
    """The worker holding a basis (another than ``not_pid``), waited for."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready = [w for w in _workers(client) if w["bases"] and w["pid"] != not_pid]
        if ready:
            return ready[0]
        time.sleep(0.1)
    raise AssertionError(f"no worker took the basis in 120 s: {_workers(client)}")


def _oracle(twin: Any, changes: list[dict[str, Any]], limit: int) -> bytes:
    """The server's own answer, on a fresh plan basis of the same network."""
    network = twin.networks["example"]
    b = plan_basis(network, compile_network(network))
    return whatif_answer(b, changes, parse_scenario({"changes": changes}), limit)


def _cases(twin: Any) -> list[tuple[list[dict[str, Any]], int]]:
    network = twin.networks["example"]
    links, nodes = sorted(network.links), sorted(network.nodes)
    cases: list[tuple[list[dict[str, Any]], int]] = [
        ([{"fail_link": lid}], 50) for lid in links]
    cases += [([{"fail_node": nodes[2]}], 50), ([{"fail_node": nodes[5]}], 3),
              ([{"fail_link": links[0]}, {"fail_link": links[4]}], 50),
              ([{"fail_link": links[1]}], 1)]
    return cases


def test_worker_answers_equal_the_servers(served: tuple[httpx.Client, Any]) -> None:
    client, twin = served
    links = sorted(twin.networks["example"].links)
    first = client.post(URL, json={"changes": [{"fail_link": links[2]}], "basis": "plan"})
    assert first.status_code == 200, first.text
    worker = _held(client)  # sent after the server answered the first itself
    cases = _cases(twin)
    for changes, limit in cases:
        r = client.post(f"{URL}?limit={limit}", json={"changes": changes, "basis": "plan"})
        assert r.status_code == 200, (changes, r.text)
        assert r.content == _oracle(twin, changes, limit), changes
    answered = next(w for w in _workers(client) if w["pid"] == worker["pid"])["answered"]
    # the first case repeats the first request, whose answer the server keeps
    assert answered == len(cases) - 1
    # many at once (two in the worker's hands, the rest waiting), each its own answer
    many = [([{"fail_link": a}, {"fail_link": b}], 50)
            for a, b in zip(links, links[3:], strict=False)]

    async def at_once() -> list[bytes]:
        async with httpx.AsyncClient(base_url=client.base_url, headers=client.headers,
                                     timeout=120) as ac:
            replies = await asyncio.gather(*(ac.post(URL, json={
                "changes": changes, "basis": "plan"}) for changes, _ in many))
        return [r.content for r in replies]

    assert asyncio.run(at_once()) == [_oracle(twin, changes, 50) for changes, _ in many]
    after = next(w for w in _workers(client) if w["pid"] == worker["pid"])["answered"]
    assert after > answered  # some, not necessarily all: the server takes its share
    # an unknown id is still the server's clear refusal
    r = client.post(URL, json={"changes": [{"fail_link": "nope"}], "basis": "plan"})
    assert r.status_code == 422 and "nope" in r.text


def test_a_killed_worker_costs_no_answer(served: tuple[httpx.Client, Any]) -> None:
    client, twin = served
    links = sorted(twin.networks["example"].links)
    client.post(URL, json={"changes": [{"fail_link": links[3]}], "basis": "plan"})
    worker = _held(client)
    os.kill(worker["pid"], signal.SIGKILL)
    changes = [{"fail_link": links[5]}, {"fail_link": links[6]}]
    r = client.post(URL, json={"changes": changes, "basis": "plan"})
    assert r.status_code == 200, r.text
    assert r.content == _oracle(twin, changes, 50)
    # a new worker takes the basis when the server has answered one more itself
    for lid in links[7:]:
        client.post(URL, json={"changes": [{"fail_link": lid}], "basis": "plan"})
        if any(w["pid"] != worker["pid"] and w["bases"] for w in _workers(client)):
            break
    again = _held(client, not_pid=worker["pid"])
    changes = [{"fail_link": links[0]}, {"fail_link": links[7]}]
    r = client.post(URL, json={"changes": changes, "basis": "plan"})
    assert r.content == _oracle(twin, changes, 50)
    assert next(w for w in _workers(client) if w["pid"] == again["pid"])["answered"] >= 1


def test_answers_are_read_whole_as_their_bytes_come() -> None:
    """The answer pipe is non-blocking: a message larger than the pipe's buffer arrives
    in pieces, and only whole ones are read (pickled as ``Connection.send`` frames them)."""
    import multiprocessing

    reader, writer = multiprocessing.Pipe(duplex=False)
    os.set_blocking(reader.fileno(), False)
    unread = bytearray()
    big = ("answer", 2, os.urandom(3_000_000))
    sent = threading.Thread(target=lambda: [writer.send(m) for m in
                                            (("held", 7), big, ("answer", 3, b"{}"))])
    sent.start()
    got: list[Any] = []
    deadline = time.monotonic() + 30
    while len(got) < 3 and time.monotonic() < deadline:
        got += read_frames(reader.fileno(), unread)  # takes what is there, never waits
    sent.join()
    assert got == [("held", 7), big, ("answer", 3, b"{}")]
    assert not unread
    writer.close()
    with pytest.raises(EOFError):
        read_frames(reader.fileno(), unread)


class _Silent:
    """A worker process that never answers (the pool's view of one: pid, alive, kill)."""

    pid = 0

    def __init__(self) -> None:
        self.alive = True

    def is_alive(self) -> bool:
        return self.alive

    def kill(self) -> None:
        self.alive = False

    def join(self, timeout: float | None = None) -> None:
        pass


def test_requests_go_back_to_the_server_when_their_worker_goes() -> None:
    """The pool's bookkeeping, on real pipes to a worker that never answers: when its
    answer pipe closes, the requests in its hands and those still waiting for it all go
    back to the server (None) at once; none hangs. A request on a basis whose only holder
    is taking another basis goes back at once too."""
    import multiprocessing

    from nettwin.api.processes import DEPTH, _Worker

    async def main() -> None:
        pool = WhatIfProcesses(1, min_demands=0)
        assert pool.holds(1) is False and await pool.ask(1, [], 50, 0.0) is None
        _, requests = multiprocessing.Pipe(duplex=False)
        answers, theirs = multiprocessing.Pipe(duplex=False)
        os.set_blocking(answers.fileno(), False)
        w = _Worker(_Silent(), requests, answers, held=[1])  # type: ignore[arg-type]
        pool._workers.append(w)
        asyncio.get_running_loop().add_reader(answers.fileno(), pool._readable, w)
        asks = [asyncio.ensure_future(pool.ask(1, [{"fail_link": str(i)}], 50, 1e-3))
                for i in range(DEPTH + 2)]
        await asyncio.sleep(0.2)
        assert len(w.busy) == DEPTH and not any(a.done() for a in asks)
        theirs.close()  # the worker dies
        await asyncio.wait_for(asyncio.gather(*asks), 5)
        assert [a.result() for a in asks] == [None] * len(asks) and not pool.holds(1)

        _, requests = multiprocessing.Pipe(duplex=False)
        answers, theirs = multiprocessing.Pipe(duplex=False)
        w = _Worker(_Silent(), requests, answers, held=[1], loading=2)  # type: ignore[arg-type]
        pool._workers.append(w)
        assert await asyncio.wait_for(pool.ask(1, [], 50, 0.0), 1) is None
        theirs.close()

    asyncio.run(main())


def test_a_worker_drops_a_basis_the_server_no_longer_keeps_first() -> None:
    """Plan asked long ago, a live state since replaced (the server keeps it no more),
    the newest live state to take: the replaced one goes, not the plan."""
    import gc
    import weakref

    from nettwin.examples import example_path
    from nettwin.io import load_network

    network = load_network(example_path())
    c = compile_network(network)
    plan, old_live = plan_basis(network, c), plan_basis(network, c)
    pool = WhatIfProcesses(1, min_demands=0)
    pool._sent = {plan.serial: weakref.ref(plan), old_live.serial: weakref.ref(old_live)}
    pool._used = {plan.serial: 1.0, old_live.serial: 2.0}
    assert pool._to_drop([plan.serial, old_live.serial]) == plan.serial  # both kept
    old = old_live.serial
    del old_live
    gc.collect()
    assert pool._to_drop([plan.serial, old]) == old


def test_a_worker_lost_while_a_basis_is_written_has_its_pipes_closed_by_the_writer() -> None:
    """The loop gives a worker up (a new event loop takes over, or it stopped answering)
    while a thread still writes a basis to it: the loop leaves the pipes to the writer,
    which closes them when its write ends, whether or not the loop that sent it still
    runs. Before, only the sending task closed them: with its loop closed they leaked."""
    import multiprocessing

    from nettwin.api.processes import _Worker, _write
    from nettwin.api.whatif_worker import Kind

    theirs, requests = multiprocessing.Pipe(duplex=False)
    answers, _answer_end = multiprocessing.Pipe(duplex=False)
    w = _Worker(_Silent(), requests, answers, writing=True)  # type: ignore[arg-type]
    big = memoryview(bytes(4 * 2**20))  # more than a pipe holds: the writer blocks
    writer = threading.Thread(target=_write, args=(w, (Kind.BASIS, 1, 0, b"", [big.nbytes]),
                                                   [big]))
    writer.start()
    time.sleep(0.1)
    assert writer.is_alive()
    WhatIfProcesses(1)._lose(w, stopped=True)  # no loop: as after the sending loop closed
    assert w.lost and not requests.closed and not answers.closed  # the writer's still
    theirs.recv()
    assert len(theirs.recv_bytes()) == big.nbytes  # the worker's side reads it all
    writer.join(5)
    assert not writer.is_alive() and requests.closed and answers.closed


def test_a_request_on_an_older_basis_does_not_stop_a_newer_ones_sending() -> None:
    """While a live state is sent, a what-if on an older live state (kept for an equal
    request) asks for that one too: it waits its turn; only a newer basis of the same kind
    for the same network stops the sending of the one in hand."""
    from nettwin.examples import example_path
    from nettwin.io import load_network

    network = load_network(example_path())
    c = compile_network(network)
    older, newer = plan_basis(network, c), plan_basis(network, c)
    pool = WhatIfProcesses(1, min_demands=0)
    pool._pending = older
    assert not pool._superseded(newer)
    pool._pending = newer
    assert pool._superseded(older)
