"""An uploaded SNDlib network keeps its capacity modules and their costs: a capacity job
that gives no catalogue plans with them, as ``nettwin optimize capacity FILE`` does (the
oracle: the command line on the same file), also after a restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.cli import app
from nettwin.examples import example_path
from tests.conftest import data_path, wait_job

ABILENE = data_path("sndlib", "xml", "abilene.xml")
PLAN = {"survive": "none", "threshold": 0.5, "growth": 20}


def _plan(client: Any, nid: str, h: dict, body: dict) -> Any:
    r = client.post(f"/api/v1/networks/{nid}/optimize/capacity", headers=h[Role.PLANNER],
                    json=body)
    if r.status_code != 202:
        return r
    status = wait_job(client, r.json()["id"], h[Role.VIEWER], timeout_s=300)
    assert status["state"] == "done", status
    return client.get(f"/api/v1/jobs/{status['id']}/capacity-plan",
                      headers=h[Role.VIEWER]).json()


def test_an_uploaded_sndlib_network_plans_with_its_own_modules(tmp_path: Path) -> None:
    out = tmp_path / "cli.json"
    res = CliRunner().invoke(app, ["optimize", "capacity", str(ABILENE), "--survive", "none",
                                   "--threshold", "0.5", "--growth", "20", "--json", str(out)])
    assert res.exit_code == 0, res.output
    cli = json.loads(out.read_text())
    settings = Settings(data_dir=tmp_path / "service")
    store = TokenStore(settings.tokens_file)
    h = {r: {"Authorization": f"Bearer {store.create(r.name.lower(), r)}"} for r in Role}
    with TestClient(create_app(settings)) as client:
        up = client.post("/api/v1/networks", headers=h[Role.ADMIN],
                         files={"file": ("abilene.xml", ABILENE.read_bytes())})
        assert up.status_code == 201, up.text
        nid = up.json()["id"]
        assert any("modules" in n for n in up.json()["notes"])
        plan = _plan(client, nid, h, PLAN)
        assert plan["feasible"] and plan["cost"] == cli["cost"]
        assert plan["upgrades"] == cli["upgrades"]
        # a network uploaded without modules says what to give
        yaml_up = client.post("/api/v1/networks", headers=h[Role.ADMIN],
                              files={"file": ("mine.yaml", example_path().read_bytes())})
        r = _plan(client, yaml_up.json()["id"], h, PLAN)
        assert r.status_code == 422 and "modules" in r.json()["detail"]
    with TestClient(create_app(settings)) as client:  # a restart keeps them
        again = _plan(client, nid, h, PLAN)
        assert again["cost"] == cli["cost"]


def test_changing_an_uploaded_network_keeps_its_modules_over_a_restart(tmp_path: Path) -> None:
    # PUT .../slices stores the network again; the file's modules must stay stored with it
    settings = Settings(data_dir=tmp_path / "service")
    store = TokenStore(settings.tokens_file)
    h = {r: {"Authorization": f"Bearer {store.create(r.name.lower(), r)}"} for r in Role}
    with TestClient(create_app(settings)) as client:
        up = client.post("/api/v1/networks", headers=h[Role.ADMIN],
                         files={"file": ("abilene.xml", ABILENE.read_bytes())})
        nid = up.json()["id"]
        r = client.put(f"/api/v1/networks/{nid}/slices", headers=h[Role.PLANNER],
                       json={"slices": []})
        assert r.status_code == 200, r.text
    with TestClient(create_app(settings)) as client:
        r = client.post(f"/api/v1/networks/{nid}/optimize/capacity",
                        headers=h[Role.PLANNER], json=PLAN)
        assert r.status_code == 202, r.text  # not 422 "uploaded without capacity modules"
        wait_job(client, r.json()["id"], h[Role.VIEWER], timeout_s=300)
