"""Result-heavy answers come in pages: walking the cursor gives every row once, in order,
equal to the networkx reference; pages never exceed the configured maximum."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.io import load_network
from nettwin.model.gravity import gravity_demands
from nettwin.reference import reference_ecmp
from tests.conftest import data_path


def test_simulate_pages_walk_every_arc_once(tmp_path: Path) -> None:
    net = load_network(data_path("rocketfuel", "1755", "weights.intra"))
    net = net.with_demands(gravity_demands(np.linspace(1, 4, len(net.nodes)), 1e11))
    settings = Settings(data_dir=tmp_path, load_example=False, page_max=100)
    token = TokenStore(settings.tokens_file).create("p", Role.PLANNER)
    h = {"Authorization": f"Bearer {token}"}
    app = create_app(settings)
    with TestClient(app) as client:
        nid = app.state.twin.add(net)
        url = f"/api/v1/networks/{nid}/simulate"
        assert client.post(f"{url}?limit=101", json={}, headers=h).status_code == 422
        assert client.post(f"{url}?cursor=99999", json={}, headers=h).status_code == 400
        assert client.post(f"{url}?cursor=-1", json={}, headers=h).status_code == 400
        arcs, cursor, pages = [], None, 0
        while True:
            query = "?limit=37" + (f"&cursor={cursor}" if cursor else "")
            doc = client.post(url + query, json={"scale": 1.0}, headers=h).json()
            assert len(doc["arcs"]) <= 37 and doc["page"]["arcs_total"] == 2 * len(net.links)
            arcs += doc["arcs"]
            pages += 1
            cursor = doc["page"]["next_cursor"]
            if cursor is None:
                break
    assert pages == -(-2 * len(net.links) // 37)
    ref = reference_ecmp(net)
    assert [(a["src"], a["dst"]) for a in arcs] == [
        (net.links[lk].a, net.links[lk].b)[:: 1 if d == 0 else -1]
        for lk in net.links for d in (0, 1)]
    np.testing.assert_allclose([a["load_bps"] for a in arcs], ref.arc_load_bps, rtol=1e-9,
                               atol=1e-3)


def test_live_state_is_the_same_gzipped_or_not(tmp_path: Path) -> None:
    import gzip
    import json

    from nettwin.api.payloads import accepts_gzip

    settings = Settings(data_dir=tmp_path)
    token = TokenStore(settings.tokens_file).create("o", Role.OPERATOR)
    h = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as client:
        client.post("/api/v1/networks/example/telemetry", json={"scale": 1.2}, headers=h)
        url = "/api/v1/networks/example/state"
        plain = client.get(url, headers=h | {"Accept-Encoding": "identity"})
        packed = client.get(url, headers=h | {"Accept-Encoding": "br, gzip;q=0.5"})
        refused = client.get(url, headers=h | {"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in refused.headers
    assert json.loads(gzip.decompress(packed.read()) if packed.content[:2] == b"\x1f\x8b"
                      else packed.content) == plain.json() == refused.json()
    assert plain.json()["scale"] == 1.2 and len(plain.json()["arcs"]) == 28
    assert [accepts_gzip(v) for v in (None, "", "gzip", "deflate, GZIP;q=1.0", "*",
                                      "gzip;q=0", "gzip;q=0.0", "br")] == [
        False, False, True, True, True, False, False, False]
