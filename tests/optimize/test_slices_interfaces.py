"""Slices at the boundaries: the native model (validated, round-tripped), slices files, the
``nettwin optimize slices`` command (its outputs re-checked by ``qos-simulate``'s engine
path) and the API (slices stored and validated, the admission job)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from nettwin.api import Role
from nettwin.cli import app
from nettwin.cli.common import EXIT_BAD_INPUT
from nettwin.engine import compile_network
from nettwin.engine.classes import simulate_classes
from nettwin.errors import ImportFormatError, ValidationError
from nettwin.examples import abilene, example_path
from nettwin.io import load_network
from nettwin.io.native import export_native, import_native
from nettwin.io.qos_policy import load_policy
from nettwin.io.slice_files import load_slices, parse_slices
from nettwin.optimize.slices import resolve_slices
from tests.conftest import wait_job

runner = CliRunner()
SLICES = example_path("abilene-slices")


def test_slices_round_trip_through_the_native_format(tmp_path: Path) -> None:
    network = load_slices(SLICES, abilene())
    assert list(network.slices) == ["urllc-east", "embb-west", "mmtc-central", "holo-coast"]
    export_native(network, tmp_path / "n.yaml")
    back = import_native(tmp_path / "n.yaml")
    assert back == network and back.slices == network.slices
    assert back.slices["urllc-east"].endpoints == ("New-York", "Washington-DC", "Atlanta")


@pytest.mark.parametrize(("record", "field", "value", "fix"), [
    ({"id": "s", "endpoints": ["Nowhere", "Chicago"]}, "endpoints", "Nowhere", "node id"),
    ({"id": "s", "demands": ["Chicago->Mars"]}, "demands", "Chicago->Mars", "demand id"),
    ({"id": "s", "services": ["gold"]}, "services", "gold", "service id"),
    ({"id": "s"}, "demands", None, "give demands, services, endpoints"),
    ({"id": "s", "endpoints": ["Chicago"]}, "endpoints", ["Chicago"], "two or more"),
    ({"id": "s", "endpoints": ["Chicago", "Denver"], "max_loss": 1.5}, "max_loss", 1.5,
     "<= 1"),
    ({"id": "s", "endpoints": ["Chicago", "Denver"], "guaranteed_rate_bps": -1},
     "guaranteed_rate_bps", -1, "> 0"),
    ({"id": "s", "endpoints": ["Chicago", "Denver"], "isolation": "maybe"}, "isolation",
     "maybe", "true/false"),
    ({"id": "s", "endpoints": ["Chicago", "Denver"], "latency": 1}, "latency", None,
     "use one of"),
])
def test_a_bad_slice_is_named_with_field_value_and_fix(record: dict[str, Any], field: str,
                                                      value: Any, fix: str) -> None:
    with pytest.raises(ValidationError) as info:
        abilene().with_slices([record], "slices.yaml")
    problem = next(p for p in info.value.problems if p.field == field)
    assert "slice 's'" in problem.element and problem.value == value
    assert fix in (problem.fix or "")


def test_a_network_file_with_a_bad_slice_names_the_file_and_the_slice() -> None:
    from nettwin.io.native import parse_document

    doc = {"nodes": [{"id": "a"}, {"id": "b"}],
           "links": [{"id": "l", "a": "a", "b": "b", "capacity_bps": 1e9}],
           "demands": [{"src": "a", "dst": "b", "rate_bps": 1e6}],
           "slices": [{"id": "s", "demands": ["a->b"], "max_delay_s": 0}]}
    with pytest.raises(ValidationError) as info:
        parse_document(doc, "net.yaml")
    (problem,) = info.value.problems
    assert problem.element == "net.yaml: slice 's'" and problem.field == "max_delay_s"
    assert "> 0" in (problem.fix or "")
    doc["slices"][0]["max_delay_s"] = 0.01
    assert parse_document(doc, "net.yaml").slices["s"].max_delay_s == 0.01


def test_slices_that_share_a_demand_or_select_nothing_are_refused() -> None:
    network = abilene().with_slices([
        {"id": "a", "endpoints": ["Chicago", "Denver"]},
        {"id": "b", "demands": ["Chicago->Denver"]},
        {"id": "c", "endpoints": ["Chicago", "Denver"], "traffic_classes": ["voice"]}])
    with pytest.raises(ValidationError) as info:
        resolve_slices(network)
    text = str(info.value)
    assert "slice 'b'" in text and "shares demand 'Chicago->Denver' with slice 'a'" in text
    assert "slice 'c'" in text and "selects no demand" in text


def test_a_slices_file_with_a_foreign_section_is_refused() -> None:
    with pytest.raises(ImportFormatError, match="unknown section"):
        parse_slices({"slices": [], "services": []}, abilene(), "s.yaml")
    with pytest.raises(ImportFormatError, match="expected 'slices:'"):
        parse_slices({"slices": {"id": "x"}}, abilene(), "s.yaml")


def test_cli_writes_the_plan_and_qos_simulate_reproduces_it(tmp_path: Path) -> None:
    out, pol, marked = tmp_path / "out.json", tmp_path / "policy.yaml", tmp_path / "m.yaml"
    res = runner.invoke(app, ["optimize", "slices", "--slices", str(SLICES), "--json",
                              str(out), "--qos-out", str(pol), "--network-out", str(marked)])
    assert res.exit_code == 0, res.output
    assert "urllc-east" in res.output and "never" in res.output and "max flow" in res.output
    doc = json.loads(out.read_text())
    assert doc["admitted"] == ["urllc-east", "embb-west", "mmtc-central"]
    assert doc["rejected"] == ["holo-coast"]
    network = load_network(marked)
    c = compile_network(network)
    result = simulate_classes(c, load_policy(pol, c))  # what qos-simulate runs
    ids = network.demand_ids
    for entry in doc["slices"]:
        if not entry["admitted"]:
            continue
        mine = [i for i, d in enumerate(ids)
                if c.class_names[c.demand_class[i]] == f"slice:{entry['slice']}"]
        assert len(mine) == entry["demands"]
        assert float(result.demand_delay_worst_s[mine].max()) == pytest.approx(
            entry["normal"]["worst_delay_s"], rel=1e-9)
        assert float(c.demand_rate_bps[mine].sum()) == pytest.approx(
            entry["guaranteed_rate_bps"], rel=1e-12)


def test_cli_bad_input_exits_2_or_3(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"slices": [{"id": "x", "endpoints": ["Atlantis",
                                                                        "Chicago"]}]}))
    res = runner.invoke(app, ["optimize", "slices", "--slices", str(bad)])
    assert res.exit_code == EXIT_BAD_INPUT
    assert "slice 'x'" in res.output and "Atlantis" in res.output
    res = runner.invoke(app, ["optimize", "slices", "--survive", "n-2"])
    assert res.exit_code == 2 and "n-2" in res.output
    res = runner.invoke(app, ["optimize", "slices", "--slices", str(tmp_path / "none.yaml")])
    assert res.exit_code == EXIT_BAD_INPUT and "no such file" in res.output


def test_api_stores_validated_slices_and_runs_the_admission_job(role_api: Any) -> None:
    client, h = role_api
    url = "/api/v1/networks/example/slices"
    body = yaml.safe_load(SLICES.read_text(encoding="utf-8"))
    assert client.get(url, headers=h[Role.VIEWER]).json() == {"slices": []}
    assert client.put(url, headers=h[Role.VIEWER], json=body).status_code == 403
    bad = client.put(url, headers=h[Role.PLANNER],
                     json={"slices": [{"id": "x", "endpoints": ["Atlantis", "Chicago"]}]})
    assert bad.status_code == 422
    problem = bad.json()["problems"][0]
    assert problem["field"] == "endpoints" and "Atlantis" in problem["value"]
    assert client.get(url, headers=h[Role.VIEWER]).json() == {"slices": []}  # unchanged
    put = client.put(url, headers=h[Role.PLANNER], json=body)
    assert put.status_code == 200
    got = client.get(url, headers=h[Role.VIEWER]).json()["slices"]
    assert [s["id"] for s in got] == [s["id"] for s in body["slices"]]
    assert got[0]["isolation"] is True and got[2]["guaranteed_rate_bps"] is None
    job = client.post("/api/v1/networks/example/optimize/slices", headers=h[Role.PLANNER],
                      json={"survive": "n-1"})
    assert job.status_code == 202, job.text
    status = wait_job(client, job.json()["id"], h[Role.VIEWER])
    assert status["state"] == "done" and status["done"] == status["total"] == 1000, status
    result = client.get(f"/api/v1/jobs/{status['id']}/result", headers=h[Role.VIEWER]).json()
    doc = result["document"]
    local = json.loads(json.dumps(doc))
    assert doc["admitted"] == ["urllc-east", "embb-west", "mmtc-central"]
    assert local["qos_policy"]["classes"][:3] == [f"slice:{s}" for s in doc["admitted"]]
    assert doc["survive"] == "n-1" and result["paths"] == {"paths": []}


def test_api_slice_job_cancels(role_api: Any) -> None:
    client, h = role_api
    body = yaml.safe_load(SLICES.read_text(encoding="utf-8"))
    job = client.post("/api/v1/networks/example/optimize/slices", headers=h[Role.PLANNER],
                      json={"survive": "n-1"} | body).json()
    assert client.delete(f"/api/v1/jobs/{job['id']}", headers=h[Role.PLANNER]).status_code == 202
    status = wait_job(client, job["id"], h[Role.VIEWER])
    assert status["state"] == "cancelled" and status["done"] < 1000, status
    assert client.get("/api/v1/networks/example/slices",  # inline slices are not stored
                      headers=h[Role.VIEWER]).json() == {"slices": []}


def test_api_slice_job_errors(role_api: Any) -> None:
    client, h = role_api
    url = "/api/v1/networks/example/optimize/slices"
    assert client.post(url, headers=h[Role.VIEWER], json={}).status_code == 403
    none = client.post(url, headers=h[Role.PLANNER], json={})
    assert none.status_code == 422 and "no slices" in none.text
    bad = client.post(url, headers=h[Role.PLANNER], json={"survive": "n-3"})
    assert bad.status_code == 422 and "survive" in bad.text
    empty = client.post(url, headers=h[Role.PLANNER], json={"slices": [
        {"id": "v", "endpoints": ["Chicago", "Denver"], "traffic_classes": ["voice"]}]})
    assert empty.status_code == 422 and "selects no demand" in empty.text
    assert client.post("/api/v1/networks/nope/optimize/slices", headers=h[Role.PLANNER],
                       json={}).status_code == 404
