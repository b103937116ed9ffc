"""The service's simulated telemetry (``serve``'s embedded default) keeps ticking through a
store failure: the failed tick is logged and counted in the metrics, and the ticks after it
are committed (oracle: the rows the store's SQLite file holds, read with sqlite3)."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.live import Store


def _committed_times(db: Path, network: str) -> list[float]:
    """The instants of the rates the store holds for the network (one per committed tick)."""
    with sqlite3.connect(db) as conn:
        return [t for (t,) in conn.execute("SELECT DISTINCT time FROM rates WHERE network = ? "
                                           "ORDER BY time", (network,))]


def test_a_store_failure_is_logged_counted_and_the_feed_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path, simulate_telemetry_s=0.05)
    token = TokenStore(settings.tokens_file).create("v", Role.VIEWER)
    viewer = {"Authorization": f"Bearer {token}"}
    real_commit = Store.commit
    failed: list[str] = []

    def locked_once(self: Store, network: str, *args: Any, **kwargs: Any) -> None:
        if not failed:  # the first batch meets a locked database (SQLite's transient error)
            failed.append(network)
            raise OperationalError("INSERT INTO rates ...", {},
                                   sqlite3.OperationalError("database is locked"))
        real_commit(self, network, *args, **kwargs)

    monkeypatch.setattr(Store, "commit", locked_once)
    with caplog.at_level(logging.WARNING, logger="nettwin.api.app"), \
            TestClient(create_app(settings)) as client:
        twin = client.app.state.twin  # type: ignore[attr-defined]
        deadline = time.monotonic() + 120  # a cold numba cache compiles the kernels once
        committed: list[float] = []
        while time.monotonic() < deadline:
            lt = twin.live.twins.get("example")
            if failed and lt is not None:
                committed = _committed_times(settings.data_dir / "twin.db", failed[0])
                if len(committed) >= 3:
                    break
            time.sleep(0.1)
        metrics = client.get("/metrics", headers=viewer).text
    assert len(committed) >= 3, "the simulated feed stopped at the store failure"
    assert "database is locked" in caplog.text and "example" in caplog.text
    assert 'nettwin_simulated_telemetry_errors_total{network="example"} 1.0' in metrics
    assert "ticking again after 1 failed tick(s)" in caplog.text


def test_a_persistent_failure_is_logged_in_full_once_then_as_a_counted_reminder(
        caplog: pytest.LogCaptureFixture) -> None:
    from nettwin.api.app import _log_tick_failure

    failing: dict[str, tuple[str, int, float]] = {}
    with caplog.at_level(logging.ERROR, logger="nettwin.api.app"):
        for _ in range(50):  # a store down for 50 ticks
            _log_tick_failure(failing, "core", OSError("disk full"))
        assert len(caplog.records) == 1 and caplog.records[0].exc_info is not None
        _log_tick_failure(failing, "core", OSError("disk full"), every_s=0.0)
        assert "still failing, 51 ticks so far: OSError: disk full" in caplog.records[-1].message
        assert caplog.records[-1].exc_info is None
        _log_tick_failure(failing, "core", ValueError("bad record"))  # a new failure: in full
    assert len(caplog.records) == 3 and caplog.records[-1].exc_info is not None
