"""POST .../validate and shadow mode (POST/GET .../proposals, scorecard): the verdict through
the API against ``validate_change`` from the library on the same inputs, the live basis
against the live twin's own network, the hindsight against a what-if on the network at the
later instant, the scorecard against the records it sums."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.examples import abilene
from nettwin.io.frr_config import parse_frr_config
from nettwin.live import Message
from nettwin.report import json_safe
from nettwin.scenarios import parse_scenario, run_whatif
from nettwin.scenarios.whatif import diff_document
from nettwin.validate import ChangeSet, merge_change_sets, validate_change

URL = "/api/v1/networks/example"
LOOP = ("! router New-York\nip route 10.255.0.2/32 New-York--Chicago\n"
        "! router Chicago\nip route 10.255.0.2/32 10.1.0.1\n")
METRIC = [{"set_metric": {"link": "Denver--Kansas-City", "metric": 3000}}]


def _without_timings(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as JSON carries it, less what differs between two runs."""
    plain = json.loads(json.dumps(json_safe(doc)))
    return {k: v for k, v in plain.items() if k not in ("timings_s", "basis")}


def _library(network: Any, changes: list[dict[str, Any]], snippet: str | None,
             name: str = "api change", **kw: Any) -> dict[str, Any]:
    parts = []
    if changes:
        parts.append(ChangeSet(name, parse_scenario({"name": name, "changes": changes},
                                                    "changes"), (), (f"changes: {name}",)))
    if snippet:
        parts.append(parse_frr_config(snippet, network, "snippets[0]"))
    merged = merge_change_sets(parts)
    change = ChangeSet(name, merged.scenario, merged.config, merged.origins)
    return _without_timings(validate_change(network, change, **kw).document())


def test_validate_through_the_api_equals_the_library(role_api: Any) -> None:
    client, tok = role_api
    snippet = "! router Denver\ninterface Seattle--Denver\n ip ospf cost 5000\n"
    body = {"changes": METRIC, "snippets": [{"text": snippet}], "basis": "plan",
            "red_team": 30, "seed": 4,
            "guardrails": [{"max_utilisation": {"limit": 0.9, "under": "any-failure"}}]}
    r = client.post(f"{URL}/validate", json=body, headers=tok[Role.PLANNER])
    assert r.status_code == 200, r.text
    doc = r.json()
    from nettwin.validate import parse_guardrails
    from nettwin.validate.redteam import Budget
    expected = _library(abilene(), METRIC, snippet, red_team=30, seed=4, budget=Budget(),
                        rules=parse_guardrails(body["guardrails"]))
    assert _without_timings(doc) == expected
    assert doc["basis"]["kind"] == "plan"
    # the loop, through the API: UNSAFE with the cycle the library finds
    r = client.post(f"{URL}/validate", json={"snippets": [{"text": LOOP}], "basis": "plan"},
                    headers=tok[Role.PLANNER])
    assert r.json()["verdict"] == "UNSAFE" and r.json()["loops"]
    assert _without_timings(r.json()) == _library(abilene(), [], LOOP)


def test_bad_input_is_422_naming_the_element(role_api: Any) -> None:
    client, tok = role_api
    h = tok[Role.PLANNER]
    r = client.post(f"{URL}/validate", json={"changes": [{"fail_link": "Nowhere--Else"}]},
                    headers=h)
    assert r.status_code == 422 and "Nowhere--Else" in r.text
    r = client.post(f"{URL}/validate", json={"snippets": [{"router": "Gotham",
                                                             "text": "interface x\n"}]},
                    headers=h)
    assert r.status_code == 422 and "Gotham" in r.text and "snippets[0]" in r.text
    r = client.post(f"{URL}/validate", json={"snippets": [
        {"router": "Denver", "text": "interface Seattle--Denver\n ip ospf hello 3\n"}]},
        headers=h)
    assert r.status_code == 422 and "ip ospf hello 3" in r.text  # unknown line, not ignored
    r = client.post(f"{URL}/validate", json={}, headers=h)
    assert r.status_code == 422 and "nothing to validate" in r.text
    r = client.post(f"{URL}/validate", json={"changes": [
        {"set_metric": {"link": "Denver--Kansas-City", "metric": 70000}}]}, headers=h)
    assert r.status_code == 422 and "65535" in r.text.replace(",", "")


def test_an_unsafe_proposal_is_recorded_and_never_applied(role_api: Any) -> None:
    client, tok = role_api
    twin = client.app.state.twin
    network_before = twin.networks["example"]
    doc_before = client.get(URL, headers=tok[Role.VIEWER]).json()
    body = {"agent": "rl-agent", "snippets": [{"text": LOOP}]}
    for role in (Role.VIEWER, Role.PLANNER):
        assert client.post(f"{URL}/proposals", json=body,
                           headers=tok[role]).status_code == 403
    r = client.post(f"{URL}/proposals", json=body, headers=tok[Role.OPERATOR])
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["verdict"] == "UNSAFE" and rec["applied"] is False
    assert rec["basis"] == "plan" and "no live data" in rec["basis_note"]
    assert _without_timings(rec["verdict_document"]) == _library(abilene(), [], LOOP)
    listed = client.get(f"{URL}/proposals", headers=tok[Role.VIEWER]).json()["proposals"]
    assert [p["id"] for p in listed] == [rec["id"]] and listed[0]["verdict"] == "UNSAFE"
    # nothing of it applied: the same network object, the same document, the same run
    assert twin.networks["example"] is network_before
    assert client.get(URL, headers=tok[Role.VIEWER]).json() == doc_before
    assert not twin.live.has_state("example")


def _feed(client: Any, tok: Any, scale: float) -> float:
    client.post(f"{URL}/telemetry", json={"scale": scale},
                headers=tok[Role.OPERATOR]).raise_for_status()
    return float(client.app.state.twin.live.twins["example"].state.time)


def test_a_proposal_is_judged_on_the_live_state(role_api: Any) -> None:
    client, tok = role_api
    t = _feed(client, tok, 0.6)
    lt = client.app.state.twin.live.twins["example"]
    # Seattle has two links: one down in the live state, the proposal shuts the other
    lt.process([Message({"kind": "counter", "time": t + 0.5, "device": "Seattle",
                         "interface": "Seattle--Denver", "oper_status": "down"})])
    change = [{"fail_link": "Seattle--Sunnyvale"}]
    r = client.post(f"{URL}/proposals", json={"agent": "a", "changes": change},
                    headers=tok[Role.OPERATOR])
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["basis"] == "live"
    live_net = lt.network_now()
    assert not live_net.links["Seattle--Denver"].oper_up
    assert _without_timings(rec["verdict_document"]) == _library(live_net, change, None)
    assert rec["verdict"] == "UNSAFE"  # Seattle cut off, as it is now
    assert rec["verdict_document"]["reachability_lost_count"] > 0
    plan = client.post(f"{URL}/validate", json={"changes": change, "basis": "plan"},
                       headers=tok[Role.PLANNER]).json()
    assert plan["reachability_lost_count"] == 0  # on the plan it would have looked fine


def test_hindsight_equals_a_whatif_at_the_later_instant(role_api: Any) -> None:
    client, tok = role_api
    t0 = _feed(client, tok, 0.5)
    r = client.post(f"{URL}/proposals", json={"agent": "te", "changes": METRIC},
                    headers=tok[Role.OPERATOR])
    rec = r.json()
    assert rec["time"] == pytest.approx(t0) and rec["hindsight"] is None
    pending = client.get(f"{URL}/proposals", headers=tok[Role.VIEWER]).json()["proposals"][0]
    assert pending["hindsight"] is None  # no state after it yet
    t1 = _feed(client, tok, 0.9)
    assert t1 > t0
    got = client.get(f"{URL}/proposals", headers=tok[Role.VIEWER]).json()["proposals"][0]
    h = got["hindsight"]
    assert h is not None and h["time"] == pytest.approx(t1)
    lt = client.app.state.twin.live.twins["example"]
    later = lt.network_at(t1)
    diff = diff_document(run_whatif(later, parse_scenario(METRIC, "oracle")).diff, 5)
    assert h["predicted"]["max_utilisation_before"] == pytest.approx(
        diff["max_utilisation_before"], rel=1e-9)
    assert h["predicted"]["max_utilisation_after"] == pytest.approx(
        diff["max_utilisation_after"], rel=1e-9)
    c = lt.state.compiled
    measured = lt.state.arc_rate_bps / c.arc_capacity_bps
    assert h["measured_max_utilisation"] == pytest.approx(float(np.nanmax(measured)))
    # busier traffic came: the re-prediction differs from what was predicted at t0
    assert h["predicted"]["max_utilisation_after"] > rec["predicted"]["max_utilisation_after"]
    # a horizon past the latest state is not judged yet
    far = client.get(f"{URL}/proposals?horizon_s=3600", headers=tok[Role.VIEWER]).json()
    assert far["proposals"][0]["hindsight"] is None


def test_scorecard_counts_match_the_records(role_api: Any) -> None:
    client, tok = role_api
    h = tok[Role.OPERATOR]
    same = abilene().links["Denver--Kansas-City"].metric_ab
    bodies: list[tuple[str, dict[str, Any]]] = [("a", {"snippets": [{"text": LOOP}]}),
              ("a", {"changes": [{"set_metric": {"link": "Denver--Kansas-City",
                                                 "metric": same}}]}),
              ("a", {"changes": METRIC}),
              ("b", {"changes": [{"fail_link": "Denver--Kansas-City"}], "survive": "none"})]
    for agent, body in bodies:
        assert client.post(f"{URL}/proposals", json=body | {"agent": agent},
                           headers=h).status_code == 201
    records = client.get(f"{URL}/proposals", headers=tok[Role.VIEWER]).json()["proposals"]
    cards = {c["agent"]: c for c in client.get(
        f"{URL}/proposals/scorecard", headers=tok[Role.VIEWER]).json()["agents"]}
    assert set(cards) == {"a", "b"}
    for agent, card in cards.items():
        mine = [r for r in records if r["agent"] == agent]
        assert card["proposals"] == len(mine)
        for grade in ("SAFE", "RISKY", "UNSAFE"):
            assert card[grade.lower()] == sum(r["verdict"] == grade for r in mine)
        assert card["unsafe_caught"] == card["unsafe"]
        gains = [-r["predicted"]["delta_max_utilisation"] for r in mine
                 if r["verdict"] == "SAFE"]
        assert card["predicted_gain"] == (pytest.approx(sum(gains) / len(gains))
                                          if gains else None)
    assert cards["a"]["unsafe"] >= 1
    only = client.get(f"{URL}/proposals/scorecard?agent=b", headers=tok[Role.VIEWER]).json()
    assert [c["agent"] for c in only["agents"]] == ["b"]



def test_records_survive_a_restart_and_the_call_is_audited(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = TokenStore(settings.tokens_file)
    op = {"Authorization": f"Bearer {store.create('op', Role.OPERATOR)}"}
    with TestClient(create_app(settings)) as client:
        rec = client.post(f"{URL}/proposals", json={"agent": "night-shift", "changes": METRIC,
                                                    "survive": "none"}, headers=op).json()
    with TestClient(create_app(settings)) as client:
        again = client.get(f"{URL}/proposals", headers=op).json()["proposals"]
    assert [(p["id"], p["verdict"], p["predicted"]) for p in again] == [
        (rec["id"], rec["verdict"], rec["predicted"])]
    audit = [json.loads(line) for line in settings.audit_file.read_text().splitlines()]
    assert any(a["what"] == f"POST {URL}/proposals" and a["who"] == "op"
               and a["status"] == 201 for a in audit)


def test_the_verdict_sees_the_capacities_of_the_basis() -> None:
    from nettwin.api.basis import plan_basis
    from nettwin.api.routes.shadow import network_of
    from nettwin.engine import compile_network

    net = abilene()
    c = compile_network(net)
    assert network_of(plan_basis(net, c)) is net
    cap = c.arc_capacity_bps.copy()
    cap[5] *= 0.25  # a radio link at a lower modulation now
    shaped = network_of(plan_basis(net, dataclasses.replace(c, arc_capacity_bps=cap)))
    assert np.array_equal(compile_network(shaped).arc_capacity_bps, cap)


def test_a_record_that_no_longer_fits_the_network_is_listed_with_a_note(role_api: Any) -> None:
    client, tok = role_api
    _feed(client, tok, 0.5)
    rec = client.post(f"{URL}/proposals", json={"agent": "old", "changes": METRIC,
                                                "survive": "none"},
                      headers=tok[Role.OPERATOR]).json()
    twin = client.app.state.twin
    stale = rec | {"id": "stale", "body": rec["body"] | {"changes": [
        {"set_metric": {"link": "Gone--Away", "metric": 5}}]}}
    stale.pop("hindsight"), stale.pop("hindsight_note")
    twin.saved.save_proposal("example", "operator", stale)
    _feed(client, tok, 0.7)
    got = {p["id"]: p for p in client.get(f"{URL}/proposals",
                                          headers=tok[Role.VIEWER]).json()["proposals"]}
    assert got["stale"]["hindsight"] is None and "Gone--Away" in got["stale"]["hindsight_note"]
    assert got[rec["id"]]["hindsight"] is not None


def test_a_policy_in_continuous_shadow_mode_is_judged_recorded_never_applied(role_api: Any) -> None:
    # the scheduler runs the sandbox's random policy on the network by itself; each record
    # equals the library's: the policy's proposal (agent_proposal) on the same state,
    # judged by validate_change; the network is never changed
    import time as _time

    from nettwin.gym.agents import RandomPolicy
    from nettwin.gym.shadow import agent_proposal

    client, tok = role_api
    before = client.get(URL, headers=tok[Role.VIEWER]).json()
    for bad, why in (({"policy": "cheater"}, "policy"), ({"policy": "random", "every_s": 1},
                                                          "every_s")):
        r = client.post(f"{URL}/shadow-agents", json=bad, headers=tok[Role.OPERATOR])
        assert r.status_code == 422 and why in r.text
    assert client.post(f"{URL}/shadow-agents", json={"policy": "random"},
                       headers=tok[Role.PLANNER]).status_code == 403
    r = client.post(f"{URL}/shadow-agents", json={"policy": "random", "every_s": 5},
                    headers=tok[Role.OPERATOR])
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "shadow:random"
    deadline = _time.monotonic() + 90
    records: list[dict[str, Any]] = []
    while _time.monotonic() < deadline and not records:
        _time.sleep(0.5)
        records = client.get(f"{URL}/proposals", params={"agent": "shadow:random"},
                             headers=tok[Role.VIEWER]).json()["proposals"]
    assert records, client.get(f"{URL}/shadow-agents", headers=tok[Role.VIEWER]).json()
    rec = records[0]
    runs = client.get(f"{URL}/shadow-agents", headers=tok[Role.VIEWER]).json()["agents"][0]
    proposed = [agent_proposal(RandomPolicy(), abilene(), name="shadow:random", seed=k)[0]
                for k in range(runs["runs"])]  # each run is an episode seeded by its index
    scenario = next(s for s in proposed if s is not None)
    assert rec["body"]["changes"] == [
        {"set_metric": {"link": c.link, "metric": c.metric}} for c in scenario.changes]
    expected = _without_timings(validate_change(
        abilene(), ChangeSet("shadow:random", scenario)).document())
    assert _without_timings(rec["verdict_document"]) == expected
    assert rec["applied"] is False and rec["basis"] == "plan"
    listed = client.get(f"{URL}/shadow-agents", headers=tok[Role.VIEWER]).json()["agents"]
    assert listed[0]["runs"] >= 1 and listed[0]["proposals"] >= 1
    assert listed[0]["last_error"] is None
    assert client.get(URL, headers=tok[Role.VIEWER]).json() == before  # never applied
    r = client.delete(f"{URL}/shadow-agents/shadow:random", headers=tok[Role.OPERATOR])
    assert r.status_code == 200 and r.json()["agents"] == []
    assert client.delete(f"{URL}/shadow-agents/shadow:random",
                         headers=tok[Role.OPERATOR]).status_code == 404
