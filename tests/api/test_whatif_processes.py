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
