"""Deleting a network while observations for it are coming in: the client sees a network
that is either there or gone, never half of each (oracle: the store's SQLite files read with
sqlite3, and a restarted service)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nettwin import compile_network, simulate
from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live import Store
from nettwin.live.simulated import counter_records

NET = load_network(example_path())
T0 = 1.7e9


def _headers(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    store = TokenStore(settings.tokens_file)
    return ({"Authorization": f"Bearer {store.create('op', Role.OPERATOR)}"},
            {"Authorization": f"Bearer {store.create('admin', Role.ADMIN)}"})


def _rows(db: Path, nid: str) -> int:
    with sqlite3.connect(db) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                             "'table'")]
        return sum(conn.execute(f"SELECT count(*) FROM {t} WHERE network = ? OR network "
                                "LIKE ?", (nid, f"{nid}#%")).fetchone()[0]
                   for t in tables if t in ("rates", "counters", "cursors", "link_status",
                                            "events", "alarms", "dead_letters",
                                            "traffic_history"))


def test_observations_racing_a_delete_leave_no_orphans_and_no_500(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path)
    op, admin = _headers(settings)
    steps = list(counter_records(NET, simulate(compile_network(NET)).arc_load_bps,
                                 start=T0, interval_s=60, steps=40))
    real_commit = Store.commit

    def slow_commit(self: Store, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.005)  # a store under load: the batch is applied, not yet written
        real_commit(self, *args, **kwargs)

    monkeypatch.setattr(Store, "commit", slow_commit)
    statuses: list[int] = []
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for _round in range(8):
            up = client.post("/api/v1/networks", headers=admin,
                             files={"file": ("mine.yaml", example_path().read_bytes())})
            nid = up.json()["id"]
            base = f"/api/v1/networks/{nid}"
            assert client.post(f"{base}/observations", json={"items": steps[0]},
                               headers=op).status_code == 200
            go = threading.Event()

            def feed(first: int, base: str = base, go: threading.Event = go) -> None:
                go.wait()
                for step in steps[first::3]:
                    statuses.append(client.post(f"{base}/observations",
                                                json={"items": step}, headers=op)
                                    .status_code)

            feeders = [threading.Thread(target=feed, args=(k,)) for k in (1, 2, 3)]
            for f in feeders:
                f.start()
            start = len(statuses)
            go.set()
            deadline = time.monotonic() + 10  # delete once observations flow (not after a
            while 200 not in statuses[start:] and time.monotonic() < deadline:  # fixed time)
                time.sleep(0.001)
            assert client.delete(base, headers=admin).status_code == 204
            for f in feeders:
                f.join()
            assert client.get(base, headers=admin).status_code == 404
            assert _rows(tmp_path / "twin.db", nid) == 0, f"orphaned rows under {nid}"
    assert set(statuses) <= {200, 404, 409}, sorted(set(statuses))
    assert 200 in statuses and (404 in statuses or 409 in statuses)


def test_a_delete_the_store_refuses_keeps_the_network(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    op, admin = _headers(settings)
    steps = list(counter_records(NET, simulate(compile_network(NET)).arc_load_bps,
                                 start=T0, interval_s=60, steps=2))
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        nid = client.post("/api/v1/networks", headers=admin, files={
            "file": ("mine.yaml", example_path().read_bytes())}).json()["id"]
        base = f"/api/v1/networks/{nid}"
        client.post(f"{base}/observations", json={"items": steps[0]},
                    headers=op).raise_for_status()

        with sqlite3.connect(tmp_path / "twin.db") as conn:  # the store refuses the delete
            conn.execute("CREATE TRIGGER refuse BEFORE DELETE ON api_networks "
                         "BEGIN SELECT RAISE(ABORT, 'database is locked'); END")
        refused = client.delete(base, headers=admin)
        assert refused.status_code == 503 and refused.json()["error"] == "StoreError"
        # still there, as a restart will find it, and still taking observations
        assert client.get(base, headers=admin).status_code == 200
        assert client.post(f"{base}/observations", json={"items": steps[1]},
                           headers=op).status_code == 200
        with sqlite3.connect(tmp_path / "twin.db") as conn:
            conn.execute("DROP TRIGGER refuse")
    with TestClient(create_app(settings)) as client:
        assert client.get(base, headers=admin).status_code == 200
        assert client.delete(base, headers=admin).status_code == 204
    assert _rows(tmp_path / "twin.db", nid) == 0
