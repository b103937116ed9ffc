"""API errors beyond authentication: each refusal has its code and a body that says why and
what to do (400 bad export format, 404 unknown network/job/element, 409 results or matrix
asked for too early), and jobs can be cancelled whether queued or running."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.io import save_network
from tests.conftest import random_network

NETS = "/api/v1/networks"


@pytest.fixture
def api(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, job_workers=1)
    store = TokenStore(settings.tokens_file)
    tokens = {role: {"Authorization": f"Bearer {store.create(role.name.lower(), role)}"}
              for role in Role}
    with TestClient(create_app(settings)) as client:
        yield client, tokens


def test_export_format_unknown_network_and_element(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    v = h[Role.VIEWER]
    r = client.get(f"{NETS}/example/export", params={"format": "graphml"}, headers=v)
    assert r.status_code == 400 and r.json()["detail"] == "export formats: native, rfc8345"
    r = client.get(f"{NETS}/example/export", params={"format": "pdf"}, headers=v)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "format"]
    for fmt in ("native", "rfc8345"):  # the two it names do work
        assert client.get(f"{NETS}/example/export", params={"format": fmt},
                          headers=v).status_code == 200
    r = client.get(f"{NETS}/atlantis", headers=v)
    assert r.status_code == 404 and r.json()["detail"] == "no network 'atlantis'"
    r = client.get(f"{NETS}/example/elements/link/Gotham--Metropolis", headers=v)
    assert r.status_code == 404
    assert r.json()["detail"] == "no link 'Gotham--Metropolis' in network 'example'"
    r = client.get(f"{NETS}/example/elements/router/Denver", headers=v)
    assert r.status_code == 404
    assert r.json()["detail"] == "unknown element kind 'router': use node or link"


def test_an_unrecognised_upload_names_the_apis_own_fix(api) -> None:  # type: ignore[no-untyped-def]
    """A file whose format the name and content do not tell is refused with the fix the
    API takes (the ?format= query, not only the command line's --format); following it
    loads the same network as the file under its proper name (oracle: load_network)."""
    from nettwin.io import load_network
    from tests.conftest import data_path

    client, h = api
    graph = data_path("repetita", "2016TopologyZooUCL_inverseCapacity", "Abilene.graph")
    r = client.post(NETS, files={"file": ("abilene.dat", graph.read_bytes())},
                    headers=h[Role.ADMIN])
    assert r.status_code in (400, 422), r.text
    assert "?format=" in r.json()["message"]
    r = client.post(NETS, params={"format": "repetita"}, headers=h[Role.ADMIN],
                    files={"file": ("abilene.dat", graph.read_bytes())})
    assert r.status_code == 201, r.text
    got = client.get(f"{NETS}/{r.json()['id']}", headers=h[Role.VIEWER]).json()
    want = load_network(graph)
    assert (got["nodes"], got["links"]) == (len(want.nodes), len(want.links))


def test_live_views_before_any_data(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    r = client.get(f"{NETS}/example/state", headers=h[Role.VIEWER])
    assert r.status_code == 404
    assert r.json()["detail"] == "no live state yet: POST telemetry or observations first"
    r = client.get(f"{NETS}/example/traffic-matrix", headers=h[Role.VIEWER])
    assert r.status_code == 409
    assert r.json()["detail"] == "no measured rates yet: POST observations first"
    # once telemetry is posted, the state is there
    assert client.post(f"{NETS}/example/telemetry", json={"scale": 1.0},
                       headers=h[Role.OPERATOR]).status_code == 200
    assert client.get(f"{NETS}/example/state", headers=h[Role.VIEWER]).status_code == 200
    r = client.get("/tmf-api/alarmManagement/v4/alarm/none", headers=h[Role.VIEWER])
    assert r.status_code == 404 and r.json()["detail"] == "no alarm 'none'"


def _wait(client: TestClient, job: str, headers: dict[str, str]) -> dict[str, object]:
    deadline = time.monotonic() + 300  # a cold numba cache compiles the kernels first
    while True:
        status: dict[str, object] = client.get(f"/api/v1/jobs/{job}", headers=headers).json()
        if status["state"] in ("done", "failed", "cancelled") or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_jobs_unknown_early_and_cancelled(api, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    p, v = h[Role.PLANNER], h[Role.VIEWER]
    for method, url in (("GET", "/api/v1/jobs/nope"), ("GET", "/api/v1/jobs/nope/results"),
                        ("DELETE", "/api/v1/jobs/nope")):
        r = client.request(method, url, headers=p)
        assert r.status_code == 404 and r.json()["detail"] == "no job 'nope'", url
    # a long sweep (about 100 batches of link pairs) holds the one worker ...
    big = tmp_path / "big.json"
    save_network(random_network(7, 200, 700), big)
    r = client.post(NETS, files={"file": ("big.json", big.read_bytes())},
                    headers=h[Role.ADMIN])
    assert r.status_code == 201, r.text
    nid = r.json()["id"]
    long = client.post(f"{NETS}/{nid}/sweeps", headers=p,
                       json={"links": False, "link_pairs": True, "max_pairs": 200_000})
    assert long.status_code == 202 and long.json()["state"] in ("queued", "running")
    # ... so a second job waits in the queue: no results yet, and it can be cancelled there
    queued = client.post(f"{NETS}/example/sweeps", headers=p, json={"nodes": True}).json()
    r = client.get(f"/api/v1/jobs/{queued['id']}/results", headers=v)
    assert r.status_code == 409 and r.json()["detail"] == "job is queued, no results yet"
    r = client.delete(f"/api/v1/jobs/{queued['id']}", headers=v)
    assert r.status_code == 403  # a viewer cannot cancel
    r = client.delete(f"/api/v1/jobs/{queued['id']}", headers=p)
    assert r.status_code == 202 and r.json()["id"] == queued["id"]
    # the running one stops at its next batch
    r = client.delete(f"/api/v1/jobs/{long.json()['id']}", headers=p)
    assert r.status_code == 202
    stopped = _wait(client, long.json()["id"], v)
    assert stopped["state"] == "cancelled", stopped
    assert stopped["total"] == 0 or stopped["done"] < stopped["total"]  # not finished
    assert _wait(client, queued["id"], v)["state"] == "cancelled"  # never started
    for job in (long.json()["id"], queued["id"]):
        r = client.get(f"/api/v1/jobs/{job}/results", headers=v)
        assert r.status_code == 409 and r.json()["detail"] == "job is cancelled, no results yet"
    # the worker is free again: a new job runs to the end
    done = client.post(f"{NETS}/example/sweeps", headers=p, json={"nodes": True}).json()
    assert _wait(client, done["id"], v)["state"] == "done"
    r = client.get(f"/api/v1/jobs/{done['id']}/results", params={"table": "bogus"}, headers=v)
    assert r.status_code == 422


def test_every_refusal_carries_detail_and_body_refusals_a_one_line_message(api) -> None:  # type: ignore[no-untyped-def]
    """A malformed body (FastAPI's validation), a body the model refuses (a link the
    network lacks, a factor that is no number) and a route's refusal (404, 401) answer in
    one shape: ``detail``, ``error`` and ``message`` naming the place and the value (one
    line per problem of a malformed body, joined); the Python client shows the message."""
    from nettwin.client._calls import error_of

    client, h = api
    p = h[Role.PLANNER]
    bad = client.post(f"{NETS}/example/whatif", headers=p,
                      json={"changes": "lots", "basis": 5})
    body = bad.json()
    assert bad.status_code == 422 and body["error"] == "RequestValidationError"
    assert isinstance(body["detail"], list) and body["detail"][0]["input"] == "lots"
    assert "body > changes: " in body["message"] and "(got 'lots')" in body["message"]
    assert "body > basis: " in body["message"] and "\n" not in body["message"]
    assert str(error_of(422, bad.content)) .endswith(body["message"])
    for change in ({"fail_link": "Gotham--Metropolis"},  # the model's refusals
                   {"scale_traffic": {"factor": "lots"}}):
        refused = client.post(f"{NETS}/example/whatif", headers=p, json={"changes": [change]})
        body = refused.json()
        assert refused.status_code == 422 and body["detail"] == body["message"]
        assert body["error"] and str(error_of(422, refused.content)).endswith(body["message"])
    assert "'lots'" in body["message"] and body["problems"][0]["field"] == "factor"
    gone = client.get(f"{NETS}/atlantis", headers=p)  # a route's own refusal
    assert gone.status_code == 404 and gone.json() == {
        "error": "NotFound", "message": "no network 'atlantis'",
        "detail": "no network 'atlantis'"}
    assert str(error_of(404, gone.content)).endswith("no network 'atlantis'")
    unauthorised = client.get(f"{NETS}/example")  # no token: the challenge header kept
    assert unauthorised.status_code == 401 and unauthorised.json()["error"] == "Unauthorized"
    assert "bearer" in unauthorised.headers.get("www-authenticate", "").lower()


def test_a_failure_listed_twice_is_refused_in_the_one_shape(api) -> None:  # type: ignore[no-untyped-def]
    """A what-if body that fails the same node twice is the model's refusal (422, error,
    message, detail, problems) naming the change, the id and the fix, not a silent merge."""
    client, h = api
    body = {"changes": [{"fail_node": "Denver"}, {"fail_node": "Denver"}]}
    refused = client.post(f"{NETS}/example/whatif", headers=h[Role.PLANNER], json=body)
    doc = refused.json()
    assert refused.status_code == 422 and doc["error"] == "ValidationError"
    assert doc["detail"] == doc["message"]
    (problem,) = doc["problems"]
    assert problem["element"] == "body change #2" and problem["value"] == "'Denver'"
    assert "node failed twice, first by body change #1" in problem["message"]
    assert problem["fix"].startswith("fail each node once")
