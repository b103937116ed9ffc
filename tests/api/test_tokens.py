"""The token file under concurrent writers (threads and processes), and `token list` /
`token revoke` from the CLI against a running service."""

from __future__ import annotations

import json
import multiprocessing
import stat
import threading
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.cli import app as cli

runner = CliRunner()


def _create_many(path: str, prefix: str, count: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = TokenStore(Path(path))
    out.put([(f"{prefix}-{i}", store.create(f"{prefix}-{i}", Role.VIEWER)) for i in range(count)])


def test_concurrent_creates_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "data" / "tokens.json"
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_create_many, args=(str(path), f"p{i}", 15, results))
             for i in range(4)]
    for p in procs:
        p.start()
    threaded: list[tuple[str, str]] = []
    shared = TokenStore(path)  # one store object used by several threads at once

    def create(i: int) -> None:
        threaded.extend((f"t{i}-{j}", shared.create(f"t{i}-{j}", Role.PLANNER))
                        for j in range(10))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    made = [pair for _ in procs for pair in results.get(timeout=120)]
    for t in threads:
        t.join()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    made += threaded
    rows = json.loads(path.read_text())  # the file is valid JSON, with every token
    assert len(rows) == len(made) == 4 * 15 + 4 * 10
    assert len({r["id"] for r in rows}) == len(rows)
    fresh = TokenStore(path)
    for name, token in made:
        who = fresh.verify(token)
        assert who is not None and who.name == name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".tokens-")] == []


def test_list_and_revoke_from_the_cli(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, load_example=False)
    created = runner.invoke(cli, ["token", "create", "--name", "ops", "--role", "operator",
                                  "--data-dir", str(tmp_path)])
    assert created.exit_code == 0
    token = created.stdout.strip().splitlines()[-1]
    other = TokenStore(settings.tokens_file).create("ops", Role.VIEWER)
    keep = TokenStore(settings.tokens_file).create("dash", Role.VIEWER)
    listed = runner.invoke(cli, ["token", "list", "--json", "-", "--data-dir", str(tmp_path)])
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["role"]) for r in rows] == [
        ("ops", "operator"), ("ops", "viewer"), ("dash", "viewer")]
    assert all("sha256" not in r and token not in json.dumps(r) for r in rows)
    with TestClient(create_app(settings)) as client:
        def status(tok: str) -> int:
            return client.get("/api/v1/networks",
                              headers={"Authorization": f"Bearer {tok}"}).status_code

        assert status(token) == status(other) == status(keep) == 200
        # revoke by id: that token only
        by_id = runner.invoke(cli, ["token", "revoke", rows[1]["id"], "--data-dir",
                                    str(tmp_path)])
        assert by_id.exit_code == 0
        assert (status(token), status(other), status(keep)) == (200, 401, 200)
        # revoke by name: every live token of that name
        assert runner.invoke(cli, ["token", "revoke", "ops", "--data-dir",
                                   str(tmp_path)]).exit_code == 0
        assert (status(token), status(other), status(keep)) == (401, 401, 200)
    again = runner.invoke(cli, ["token", "revoke", "ops", "--data-dir", str(tmp_path)])
    assert again.exit_code == 3 and "no live token" in again.stderr
    revoked = json.loads(runner.invoke(
        cli, ["token", "list", "--json", "-", "--data-dir", str(tmp_path)]).stdout)
    assert ["revoked" in r for r in revoked] == [True, True, False]
    bad = runner.invoke(cli, ["token", "create", "--name", "x" * 101, "--data-dir",
                              str(tmp_path)])
    assert bad.exit_code == 3


def test_data_folder_and_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "nettwin"
    settings = Settings(data_dir=data, load_example=True)
    token = TokenStore(settings.tokens_file).create("admin", Role.ADMIN)
    data.chmod(0o755)  # as an older version left it: tightened on start
    with TestClient(create_app(settings)) as client:
        h = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/v1/networks/example/observations", headers=h, json={
            "items": [{"kind": "event", "time": 1.7e9, "object": "x", "event": "note"}]
        }).status_code < 500
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("tokens.json", "audit.jsonl", "twin.db"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    for extra in data.glob("twin.db-*"):  # SQLite's WAL and shared-memory files
        assert stat.S_IMODE(extra.stat().st_mode) == 0o600, extra.name
