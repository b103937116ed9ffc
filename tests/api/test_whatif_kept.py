"""Kept what-if answers: each is checked against ``WhatIfDoc`` once, when made, and kept as
the bytes served; an equal request (or one arriving while the answer is being made) gets
those bytes from the event loop, and a new live state or a bad request never does."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

import nettwin.api.whatif as whatif_module
from nettwin.api import Role
from nettwin.api.basis import kept_basis, resolve_basis
from nettwin.api.payloads import RecentResults
from nettwin.api.routes.networks import ScenarioRequest
from nettwin.api.schemas import WhatIfDoc
from nettwin.api.whatif import answer_key
from tests.api.conftest import running_server

URL = "/api/v1/networks/example/whatif"


def kept_whatif(twin: Any, nid: str, request: ScenarioRequest, limit: int) -> Any:
    """What the route would answer from the event loop (None: it takes a thread)."""
    b = kept_basis(twin, nid, request.basis)
    return None if b is None else b.answers.peek(answer_key(request.changes, limit))


def test_a_kept_answer_is_the_checked_answer_served_again(role_api: Any) -> None:
    client, headers = role_api
    twin = client.app.state.twin
    link = sorted(twin.networks["example"].links)[3]
    body = {"changes": [{"fail_link": link}], "basis": "plan"}
    request = ScenarioRequest.model_validate(body)
    first = client.post(f"{URL}?limit=7", json=body, headers=headers[Role.PLANNER])
    assert first.status_code == 200, first.text
    # the bytes are those of a fresh check of the answer against the published model
    assert first.content == WhatIfDoc.model_validate(first.json()).model_dump_json().encode()
    kept = kept_whatif(twin, "example", request, 7)
    assert kept is not None and kept.done() and kept.result() == first.content
    assert client.post(f"{URL}?limit=7", json=body,
                       headers=headers[Role.PLANNER]).content == first.content
    # another limit is another answer
    assert kept_whatif(twin, "example", request, 8) is None
    assert len(client.post(f"{URL}?limit=1", json=body, headers=headers[Role.PLANNER]).json()[
        "arc_changes"]) <= 1
    # a refused request is not kept: it is refused again, through the thread pool
    bad = ScenarioRequest.model_validate({"changes": [{"fail_link": "nope"}], "basis": "plan"})
    for _ in range(2):
        r = client.post(URL, json=bad.model_dump(), headers=headers[Role.PLANNER])
        assert r.status_code == 422 and "nope" in r.text
        assert kept_whatif(twin, "example", bad, 50) is None


def test_a_new_live_state_is_not_answered_from_the_last_one(role_api: Any) -> None:
    client, headers = role_api
    twin = client.app.state.twin
    link = sorted(twin.networks["example"].links)[1]
    body = {"changes": [{"fail_link": link}], "basis": "auto"}
    request = ScenarioRequest.model_validate(body)
    levels = []
    for scale in (0.6, 1.7):
        client.post("/api/v1/networks/example/telemetry", json={"scale": scale},
                    headers=headers[Role.OPERATOR]).raise_for_status()
        assert kept_basis(twin, "example", "auto") is None  # this state's basis: not made yet
        assert kept_whatif(twin, "example", request, 50) is None
        doc = client.post(URL, json=body, headers=headers[Role.PLANNER]).json()
        assert kept_basis(twin, "example", "auto") is resolve_basis(twin, "example", "auto")
        kept = kept_whatif(twin, "example", request, 50)
        assert kept is not None and kept.done()
        assert WhatIfDoc.model_validate_json(kept.result()).model_dump() == \
            WhatIfDoc.model_validate(doc).model_dump()
        levels.append(doc["basis"]["traffic_level"])
    assert levels[1] == pytest.approx(levels[0] * 1.7 / 0.6, rel=0.2)


def test_peek_sees_kept_and_pending_results_without_making_them() -> None:
    recent = RecentResults(4)
    assert recent.peek("a") is None
    go, started = threading.Event(), threading.Event()
    answers: list[Any] = []

    def make() -> str:
        started.set()
        go.wait(10)
        return "made"

    maker = threading.Thread(target=lambda: answers.append(recent.get("a", make)))
    maker.start()
    assert started.wait(10)
    pending = recent.peek("a")
    assert pending is not None and not pending.done()
    assert not pending.cancel()  # an awaiting request dropped cannot cancel it for others
    go.set()
    maker.join(10)
    assert pending.result(10) == "made" and answers == ["made"]
    kept = recent.peek("a")
    assert kept is not None and kept.done() and kept.result() == "made"

    def fail() -> str:
        raise ValueError("bad scenario")

    with pytest.raises(ValueError, match="bad scenario"):
        recent.get("b", fail)
    assert recent.peek("b") is None  # a failure is not kept


def test_equal_what_ifs_at_once_are_made_once_and_answered_alike(
        role_api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client, headers = role_api
    twin = client.app.state.twin
    links = sorted(twin.networks["example"].links)
    resolve_basis(twin, "example", "plan")  # kept: the equal requests meet on the loop
    made = []
    diff = whatif_module.whatif_diff

    def counted(*args: Any) -> Any:
        made.append(1)
        time.sleep(0.3)  # the other requests arrive while it is being made
        return diff(*args)

    monkeypatch.setattr(whatif_module, "whatif_diff", counted)
    body = {"changes": [{"fail_link": links[0]}, {"fail_link": links[2]}], "basis": "plan"}

    async def ask_all(port: int) -> list[bytes]:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
            answers = await asyncio.gather(*(c.post(URL, json=body,
                                                    headers=headers[Role.PLANNER])
                                             for _ in range(20)))
        assert all(a.status_code == 200 for a in answers)
        return [a.content for a in answers]

    with running_server(client.app) as port:
        answers = asyncio.run(ask_all(port))
    assert len(made) == 1 and len(set(answers)) == 1
    want = client.post(URL, json=body | {"changes": body["changes"][::-1]},
                       headers=headers[Role.PLANNER])  # another key: made again
    assert len(made) == 2 and want.json() == WhatIfDoc.model_validate_json(answers[0]).model_dump(
        mode="json")


def test_a_burst_of_failure_what_ifs_reaches_the_gate_whole(
        role_api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """50 failure what-ifs at once all wait for their turn together (the gate orders them
    by cost), none held back in arrival order by the 40 threads of FastAPI's own pool."""
    client, headers = role_api
    twin = client.app.state.twin
    link = sorted(twin.networks["example"].links)[2]
    resolve_basis(twin, "example", "plan")
    together = threading.Barrier(50, timeout=30)
    failed_arcs = whatif_module._failed_arcs

    def meet(*args: Any) -> Any:
        together.wait()  # broken (500s) unless all 50 are in a thread at once
        return failed_arcs(*args)

    monkeypatch.setattr(whatif_module, "_failed_arcs", meet)
    body = {"changes": [{"fail_link": link}], "basis": "plan"}

    async def burst(port: int) -> list[int]:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
            answers = await asyncio.gather(*(  # another limit each: 50 distinct answers
                c.post(f"{URL}?limit={k}", json=body, headers=headers[Role.PLANNER])
                for k in range(1, 51)))
        return [a.status_code for a in answers]

    with running_server(client.app) as port:
        assert asyncio.run(burst(port)) == [200] * 50



def test_a_burst_after_a_pause_starts_no_thread(role_api: Any) -> None:
    """Failure what-ifs wait in threads started with the app and kept: a burst after a
    pause (anyio stopped its workers idle for 10 s) starts none on the event loop; each
    answer is the one the same request gets alone."""
    from nettwin.api.turns import STARTED_THREADS, failure_threads

    client, headers = role_api
    twin = client.app.state.twin
    links = sorted(twin.networks["example"].links)
    pool = failure_threads()
    before = set(pool._threads)
    assert len(before) >= STARTED_THREADS
    bodies = [{"changes": [{"fail_link": link}], "basis": "plan"} for link in links]

    async def burst(port: int) -> list[bytes]:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
            answers = await asyncio.gather(*(c.post(URL, json=b, headers=headers[Role.PLANNER])
                                             for b in bodies))
        assert [a.status_code for a in answers] == [200] * len(bodies)
        return [a.content for a in answers]

    with running_server(client.app) as port:
        got = asyncio.run(burst(port))
    assert len(bodies) < STARTED_THREADS and set(pool._threads) == before
    for body, answer in zip(bodies, got, strict=True):  # another limit: made again, alone
        alone = client.post(f"{URL}?limit=49", json=body, headers=headers[Role.PLANNER])
        assert WhatIfDoc.model_validate_json(answer).model_dump(mode="json") == alone.json()
