"""Stores for the live-twin tests: an embedded SQLite file, and the real PostgreSQL on
loopback (skipped when it does not answer). Each test uses its own network name, and its
rows are deleted afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from nettwin.live import Store
from nettwin.live.store import metadata

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres() -> Store | None:
    try:
        store = Store(POSTGRES_URL)
        with store.engine.connect() as conn:
            conn.execute(text("select 1"))
        return store
    except Exception:
        return None


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'twin.db'}")
        yield s
        s.close()
        return
    s = _postgres()
    if s is None:
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    yield s
    s.close()


@pytest.fixture
def unique_name() -> Iterator[str]:
    """A network name no other test uses; its rows are removed from PostgreSQL afterwards."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    pg = _postgres()
    if pg is not None:
        with pg.engine.begin() as conn:
            for table in metadata.sorted_tables:
                conn.execute(table.delete().where(table.c.network.like(f"{name}%")))
        pg.close()
