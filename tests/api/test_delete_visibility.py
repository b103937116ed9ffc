"""A network delete seen from outside, against a real server and the real SQLite store: from
the moment the delete begins every read answers 404 (GET, the list, ingestion alike), and a
store that fails the delete at any step (its live rows, its shadow proposals, the network)
leaves everything as it was, answered with a clear 503 (oracles: the store's file read with
sqlite3 before and after, another process's write lock, a trigger)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nettwin import compile_network, simulate
from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live.simulated import counter_records
from tests.api.conftest import running_server

NET = load_network(example_path())
STEPS = list(counter_records(NET, simulate(compile_network(NET)).arc_load_bps,
                             start=1.7e9, interval_s=60, steps=3))
METRIC = [{"set_metric": {"link": "Denver--Kansas-City", "metric": 3000}}]


def _rows(db: Path, nid: str) -> dict[str, int]:
    """Rows kept under ``nid`` in every table that has a network column, by table."""
    with sqlite3.connect(db) as conn:
        out = {}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cols = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]
            col = next((c for c in ("network", "network_id", "id") if c in cols), None)
            if col is None or (col == "id" and not table.startswith("api_network")):
                continue
            out[table] = conn.execute(f"SELECT count(*) FROM {table} WHERE {col} = ? OR "
                                      f"{col} LIKE ?", (nid, f"{nid}#%")).fetchone()[0]
        return out


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = Settings(data_dir=tmp_path)
    tokens = TokenStore(settings.tokens_file)
    admin = tokens.create("admin", Role.ADMIN)
    with running_server(create_app(settings)) as port, \
            httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60,
                         headers={"Authorization": f"Bearer {admin}"}) as client:
        nid = client.post("/networks", files={
            "file": ("mine.yaml", example_path().read_bytes())}).json()["id"]
        base = f"/networks/{nid}"
        client.post(f"{base}/observations", json={"items": STEPS[0]}).raise_for_status()
        client.post(f"{base}/observations", json={"items": STEPS[1]}).raise_for_status()
        client.post(f"{base}/proposals", json={"agent": "te", "changes": METRIC}
                    ).raise_for_status()
        yield {"client": client, "nid": nid, "base": base, "db": tmp_path / "twin.db",
               "settings": settings}


def _seen(client: httpx.Client, nid: str, base: str) -> dict[str, int]:
    """What a client sees of the network: GET, its presence in the list, ingestion, a new
    proposal (201 when kept)."""
    listed = nid in [n["id"] for n in client.get("/networks").json()]
    return {"get": client.get(base).status_code, "listed": 200 if listed else 404,
            "ingest": client.post(f"{base}/observations",
                                  json={"items": STEPS[2]}).status_code,
            "propose": client.post(f"{base}/proposals", json={"agent": "late",
                                                              "changes": METRIC}).status_code}


def _delete_behind_a_lock(db: Path, client: httpx.Client, base: str,
                          then: str) -> tuple[dict[str, int], httpx.Response]:
    """Start the delete while another connection holds the store's write lock, look at the
    network while the delete waits, then run ``then`` (SQL) in that connection and commit."""
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the delete now waits for this writer
    answer: list[httpx.Response] = []
    deleting = threading.Thread(target=lambda: answer.append(client.delete(base)))
    deleting.start()
    time.sleep(0.5)  # the delete has begun and waits on the store
    assert deleting.is_alive(), "the delete did not wait for the store"
    seen = _seen(client, base.rsplit("/", 1)[1], base)
    holder.execute(then)
    holder.execute("COMMIT")
    holder.close()
    deleting.join(30)
    return seen, answer[0]


def test_a_network_being_deleted_is_gone_to_every_read_at_once(
        service: dict[str, Any]) -> None:
    client, nid, base, db = service["client"], service["nid"], service["base"], service["db"]
    assert _seen(client, nid, base) == {"get": 200, "listed": 200, "ingest": 200,
                                        "propose": 201}
    seen, answer = _delete_behind_a_lock(db, client, base, "SELECT 1")
    assert seen == {"get": 404, "listed": 404, "ingest": 404, "propose": 404}
    assert answer.status_code == 204
    assert set(_rows(db, nid).values()) == {0}, _rows(db, nid)
    assert client.get(base).status_code == 404


@pytest.mark.parametrize("table", ["api_proposals", "api_networks", "rates"])
def test_a_delete_the_store_fails_at_any_step_leaves_the_network_whole(
        service: dict[str, Any], table: str) -> None:
    client, nid, base, db = service["client"], service["nid"], service["base"], service["db"]
    doc = client.get(base).json()
    proposals = client.get(f"{base}/proposals").json()["proposals"]
    before = _rows(db, nid)
    assert before["api_networks"] == before["api_proposals"] == 1 and before["rates"] > 0
    seen, answer = _delete_behind_a_lock(
        db, client, base, f"CREATE TRIGGER refuse BEFORE DELETE ON {table} "
                          "BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    assert seen == {"get": 404, "listed": 404, "ingest": 404, "propose": 404}
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["error"] == "StoreError" and "nothing was deleted" in body["message"]
    assert "Traceback" not in answer.text
    assert "disk says no" not in answer.text  # the driver's own text stays in the server log
    assert _rows(db, nid) == before  # every row as it was, the proposals included
    assert client.get(base).json() == doc
    assert client.get(f"{base}/proposals").json()["proposals"] == proposals
    assert client.post(f"{base}/observations", json={"items": STEPS[2]}).status_code == 200
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER refuse")
    assert client.delete(base).status_code == 204
    assert set(_rows(db, nid).values()) == {0}, _rows(db, nid)
