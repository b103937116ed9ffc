"""The typed client against a live `nettwin serve`-style server on loopback: answers equal
the library's, jobs polled to completion with progress, paged results, errors as the
exception tree (403 ForbiddenError, 404 NotFoundError, 422 with the server's problems)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from nettwin import compile_network, simulate
from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.api.schemas import JobStatus, SimulationDoc, StateDiff
from nettwin.client import (
    AsyncClient,
    Client,
    ForbiddenError,
    InvalidRequestError,
    JobTimeoutError,
    NotFoundError,
    TwinUnreachableError,
    UnauthorizedError,
)
from nettwin.errors import NettwinError
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.io.metrics import apply_metrics_file
from nettwin.scenarios import parse_scenario, run_sweep, run_whatif
from tests.api.conftest import running_server
from tests.conftest import data_path, random_metrics_csv


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[Role, str]]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("client"))
    store = TokenStore(settings.tokens_file)
    tokens = {role: store.create(role.name.lower(), role) for role in Role}
    with running_server(create_app(settings)) as port:
        yield f"http://127.0.0.1:{port}", tokens


def test_networks_simulate_and_whatif_equal_the_library(twin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, tokens = twin
    net = load_network(example_path())
    compiled = compile_network(net)
    with Client(url, tokens[Role.ADMIN]) as c:
        assert {n.id for n in c.list_networks()} == {"example", "munich"}
        info = c.get_network("example")
        assert (info.nodes, info.links, info.demands) == (
            len(net.nodes), len(net.links), len(net.demands))
        doc = c.export_network("example")
        path = tmp_path / "copy.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        copy = c.upload_network(path)
        assert copy.nodes == len(net.nodes) and copy.id not in ("example", "munich")

        sim = c.simulate(copy.id)
        assert isinstance(sim, SimulationDoc)
        ref = simulate(compiled)
        np.testing.assert_allclose([a.load_bps for a in sim.arcs], ref.arc_load_bps,
                                   rtol=1e-12)
        assert sim.kpis["max_utilisation"] == pytest.approx(ref.kpis()["max_utilisation"],
                                                            abs=1e-12)
        from nettwin.engine.options import ArrivalModel, SimulationOptions
        from tests.cli.test_cli import ONOFF_NETWORK

        onoff = tmp_path / "onoff.yaml"
        onoff.write_text(ONOFF_NETWORK)
        bursty = c.upload_network(onoff)
        for model in ("bursty", "poisson"):  # an on-off demand: IPP/M/1, or the textbook's
            want = simulate(compile_network(load_network(onoff)),
                            SimulationOptions(arrival_model=ArrivalModel(model)))
            np.testing.assert_allclose(
                [a.queueing_s for a in c.simulate(bursty.id, arrival_model=model).arcs],
                want.arc_queueing_s, rtol=1e-12)
        changes = [{"fail_link": "Denver--Kansas-City"}, {"drain_node": "Chicago"}]
        what = c.whatif(copy.id, changes, basis="plan")
        lib = run_whatif(net, parse_scenario({"name": "x", "changes": changes}, "t")).diff
        assert what.max_utilisation_after == pytest.approx(lib.max_utilisation_after,
                                                           abs=1e-9)
        assert what.arcs_changed == len(lib.arcs_changed)
        assert what.demands_rerouted == len(lib.demands_rerouted)

        c.delete_network(copy.id)
        with pytest.raises(NotFoundError) as gone:
            c.get_network(copy.id)
        assert gone.value.status == 404 and copy.id in gone.value.message


def test_sweep_job_polled_to_completion_with_progress(twin) -> None:  # type: ignore[no-untyped-def]
    url, tokens = twin
    seen: list[JobStatus] = []
    with Client(url, tokens[Role.PLANNER]) as c:
        job = c.submit_sweep("example", nodes=True, basis="plan")
        assert job.state in ("queued", "running", "done") and job.basis is not None \
            and job.basis.kind == "plan"
        done = c.wait_for_job(job.id, progress=seen.append, timeout_s=120, poll_s=0.05)
        assert done.state == "done" and seen[-1] == done
        assert done.done == done.total > 0
        rows = list(c.iter_job_results(job.id, page_size=7))  # several pages
        page = c.job_results(job.id, "worst_case", offset=3, limit=5)
    ref = run_sweep(load_network(example_path()), nodes=True)
    want = ref.failure_rows()
    assert [r["failure"] for r in rows] == [r["failure"] for r in want]
    np.testing.assert_allclose([r["max_utilisation"] for r in rows],
                               [r["max_utilisation"] for r in want], atol=1e-9)
    worst = ref.worst_case_rows()
    assert page.total == len(worst) and [r["arc"] for r in page.items] == [
        r["arc"] for r in worst[3:8]]


def test_errors_are_the_exception_tree(twin) -> None:  # type: ignore[no-untyped-def]
    url, tokens = twin
    with Client(url, tokens[Role.VIEWER]) as viewer:
        with pytest.raises(ForbiddenError) as refused:
            viewer.whatif("example", [{"fail_node": "Houston"}])
        assert refused.value.status == 403 and "needs role planner" in refused.value.message
        assert isinstance(refused.value, NettwinError)
        with pytest.raises(NotFoundError):
            viewer.get_network("atlantis")
        with pytest.raises(NotFoundError):
            viewer.job("no-such-job")
    with Client(url, tokens[Role.PLANNER]) as planner, pytest.raises(
            InvalidRequestError) as bad:
        planner.whatif("example", [{"fail_link": "Nope--X"}])
    assert bad.value.status == 422 and "Nope--X" in str(bad.value)
    assert bad.value.problems and "Fix" in str(bad.value.body) + bad.value.message
    with Client(url) as anonymous, pytest.raises(UnauthorizedError):
        anonymous.list_networks()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with Client(f"http://127.0.0.1:{closed}", "t") as nowhere, pytest.raises(
            TwinUnreachableError):
        nowhere.list_networks()


def test_live_state_and_alarms(twin) -> None:  # type: ignore[no-untyped-def]
    url, tokens = twin
    with Client(url, tokens[Role.OPERATOR]) as c:
        first = c.feed_telemetry("example", 1.0)
        now = c.feed_telemetry("example", 1.8)
        state = c.state("example")
        assert state.time == now.time and state.max_utilisation == now.max_utilisation
        diff = c.history("example", first.time or 0.0, now.time)
        assert isinstance(diff, StateDiff) and diff.arcs
        tm = c.traffic_matrix("example", limit=3)
        assert len(tm.pairs) == 3 and tm.total_bps > 0
        raised = [a for a in c.alarms(state="raised", limit=10_000)
                  if a.sourceSystemId == "nettwin/example"]
        assert raised
        acked = c.acknowledge_alarm(raised[0].id)
        assert acked.ackState == "acknowledged" and acked.ackUserId == "operator"
        cleared = c.clear_alarm(raised[0].id)
        assert cleared.state == "cleared"
        assert raised[0].id in {a.id for a in c.alarms(state="cleared", limit=10_000)}


def test_async_client(twin) -> None:  # type: ignore[no-untyped-def]
    url, tokens = twin

    async def go() -> tuple[float, list[str], str]:
        async with AsyncClient(url, tokens[Role.PLANNER]) as c:
            sim = await c.simulate("example", scale=1.5)
            job = await c.submit_sweep("example", basis="plan")
            await c.wait_for_job(job.id, timeout_s=120, poll_s=0.05)
            rows = [r["failure"] async for r in c.iter_job_results(job.id, page_size=4)]
            try:
                await c.acknowledge_alarm("whatever")
            except ForbiddenError as exc:
                return sim.kpis["max_utilisation"], rows, exc.message
            raise AssertionError("a planner acknowledged an alarm")

    max_util, rows, refusal = asyncio.run(go())
    compiled = compile_network(load_network(example_path()))
    ref = simulate(compiled, demand_rate_bps=compiled.demand_rate_bps * 1.5)
    assert max_util == pytest.approx(ref.kpis()["max_utilisation"], abs=1e-12)
    assert rows == [r["failure"] for r in run_sweep(load_network(example_path()))
                    .failure_rows()]
    assert "needs role operator" in refusal


def test_wait_gives_up_after_the_timeout() -> None:
    """Against an in-memory transport whose job never finishes (the state machine only)."""
    status = {"id": "j1", "kind": "sweep", "network_id": "n", "owner": "o", "state": "running",
              "done": 3, "total": 10, "error": None, "created": "2026-01-01T00:00:00Z"}
    polls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        polls.append(request.url.path)
        return httpx.Response(200, json=status)

    with Client("http://twin", "t", transport=httpx.MockTransport(answer)) as c, \
            pytest.raises(JobTimeoutError) as late:
        c.wait_for_job("j1", timeout_s=0.05, poll_s=0.01)
    assert late.value.status.done == 3 and "still running" in str(late.value)  # type: ignore[attr-defined]
    assert polls and set(polls) == {"/api/v1/jobs/j1"}


def test_an_upload_carries_the_real_igp_metrics(twin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # oracle: the library's metrics reader applied to the same SNDlib file and metrics file
    url, tokens = twin
    abilene = data_path("sndlib", "xml", "abilene.xml")
    metrics = random_metrics_csv(load_network(abilene), tmp_path / "igp.csv", seed=3)
    want = apply_metrics_file(load_network(abilene), metrics)
    with Client(url, tokens[Role.ADMIN]) as c:
        info = c.upload_network(abilene, metrics=metrics)
        doc = tmp_path / "exported.json"
        doc.write_text(json.dumps(c.export_network(info.id)), encoding="utf-8")
        got = {k: (lk.metric_ab, lk.metric_ba) for k, lk in load_network(doc).links.items()}
        assert got == {k: (lk.metric_ab, lk.metric_ba) for k, lk in want.links.items()}
        bad = tmp_path / "bad.csv"
        bad.write_text("link,metric\nno-such-link,10\n")
        with pytest.raises(InvalidRequestError) as refused:
            c.upload_network(abilene, metrics=bad)
        assert refused.value.status == 422 and "no-such-link" in str(refused.value)

    async def go() -> tuple[int, int]:
        async with AsyncClient(url, tokens[Role.ADMIN]) as a:
            up = await a.upload_network(abilene, metrics=metrics)
            exported = await a.export_network(up.id)
            link = next(iter(want.links))
            got = next(lk for lk in exported["links"] if lk["id"] == link)
            return int(got["metric_ab"]), int(got["metric_ba"])

    first = next(iter(want.links.values()))
    assert asyncio.run(go()) == (first.metric_ab, first.metric_ba)
