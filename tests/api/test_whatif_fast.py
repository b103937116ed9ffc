"""Failure what-ifs through the API are answered incrementally (api/whatif.py): every answer
must equal the full engine's (``run_whatif`` on the same basis), for random link, node,
SRLG and multi-link failures, on the plan and on the live state, and a basis must follow
the live state as new telemetry arrives."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nettwin.api import Role
from nettwin.api.basis import live_basis, plan_basis, resolve_basis
from nettwin.api.whatif import failure_diff, failure_state
from nettwin.engine import compile_network, simulate
from nettwin.io import load_network, load_traffic
from nettwin.model import Network, build_network
from nettwin.model.gravity import gravity_demands
from nettwin.report import json_safe
from nettwin.scenarios import parse_scenario, run_whatif
from nettwin.scenarios.apply import apply_scenario
from nettwin.scenarios.whatif import diff_document

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
GEANT = DATA / "sndlib" / "xml" / "geant.xml"
GEANT_TM = (DATA / "traffic" / "geant-uhlig-15min"
            / "demandMatrix-geant-uhlig-15min-20050505-1400.xml")


def _full(network: Network, changes: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """The oracle: the full engine's what-if on the same network."""
    diff = run_whatif(network, parse_scenario({"changes": changes})).diff
    doc: dict[str, Any] = json_safe(diff_document(diff, limit))
    return doc


def _close(got: dict[str, Any], want: dict[str, Any]) -> bool:
    return got.keys() == want.keys() and all(
        got[k] == (pytest.approx(v, rel=1e-9, abs=1e-12) if isinstance(v, float) else v)
        for k, v in want.items())


def _assert_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Equal answers: floats to 1e-9 (loads are sums taken in another order), arcs whose
    changes tie to within that may come in either order."""
    for key, value in want.items():
        if key == "verdict":  # percentages rounded from floats equal to 1e-12
            assert got[key].split(":")[0] == value.split(":")[0], (got[key], value)
        elif key == "arc_changes":
            by_arc = {c["arc"]: c for c in got[key]}
            assert len(by_arc) == len(value) and all(_close(by_arc[c["arc"]], c)
                                                     for c in value), key
            step = [abs((c["utilisation_after"] or 0) - (c["utilisation_before"] or 0))
                    for c in got[key]]
            assert all(a >= b - 1e-9 for a, b in itertools.pairwise(step)), "not sorted"
        elif key == "services":
            assert len(got[key]) == len(value) and all(
                _close(g, w) for g, w in zip(got[key], value, strict=True)), key
        elif isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key
        else:
            assert got[key] == value, key


def _random_failures(net: Network, rng: np.random.Generator, n: int) -> list[list[dict[str, Any]]]:
    links, nodes = list(net.links), list(net.nodes)
    srlgs = sorted({g for lk in net.links.values() for g in lk.srlgs})
    cases: list[list[dict[str, Any]]] = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            cases.append([{"fail_link": str(rng.choice(links))}])
        elif kind == 1:
            cases.append([{"fail_link": str(x)} for x in rng.choice(links, 3, replace=False)])
        elif kind == 2:
            cases.append([{"fail_node": str(rng.choice(nodes))}])
        else:
            cases.append([{"fail_srlg": str(rng.choice(srlgs))}] if srlgs else
                         [{"fail_link": str(rng.choice(links))},
                          {"fail_node": str(rng.choice(nodes))}])
    return cases


def test_failure_whatifs_equal_the_full_engine_on_the_plan(role_api: Any) -> None:
    client, headers = role_api
    twin = client.app.state.twin
    nets = {"example": twin.networks["example"]}
    if GEANT.exists() and GEANT_TM.exists():
        twin.networks["geant"] = nets["geant"] = load_traffic(load_network(GEANT), GEANT_TM)
    rng = np.random.default_rng(7)
    for nid, net in nets.items():
        for changes in _random_failures(net, rng, 12):
            r = client.post(f"/api/v1/networks/{nid}/whatif?limit=1000",
                            json={"changes": changes, "basis": "plan"},
                            headers=headers[Role.PLANNER])
            assert r.status_code == 200, r.text
            _assert_same(r.json(), _full(net, changes, 1000))
        # answered from the incremental state, not by the full engine
        kept = resolve_basis(twin, nid, "plan").derived
        kept.get("failures", lambda: pytest.fail("the failure what-ifs took the full path"))


def test_failure_whatifs_follow_the_live_state(role_api: Any) -> None:
    client, headers = role_api
    twin = client.app.state.twin
    url = "/api/v1/networks/example/whatif?limit=1000"
    rng = np.random.default_rng(3)
    net = twin.networks["example"]
    for scale in (0.7, 1.6):  # each telemetry batch is a new live state
        client.post("/api/v1/networks/example/telemetry", json={"scale": scale},
                    headers=headers[Role.OPERATOR]).raise_for_status()
        live = live_basis(twin.live.twins["example"])
        assert live is not None
        for changes in _random_failures(net, rng, 8):
            doc = client.post(url, json={"changes": changes, "basis": "auto"},
                              headers=headers[Role.PLANNER]).json()
            assert doc["basis"]["kind"] == "live"
            assert doc["basis"]["traffic_level"] == pytest.approx(live.level)
            _assert_same(doc, _full(live.network, changes, 1000))


def test_other_changes_and_bad_ids_take_the_full_path(role_api: Any) -> None:
    client, headers = role_api
    net = client.app.state.twin.networks["example"]
    link, node = next(iter(net.links)), next(iter(net.nodes))
    url = "/api/v1/networks/example/whatif?limit=1000"
    for changes in ([{"drain_node": node}],
                    [{"fail_link": link}, {"set_metric": {"link": link, "metric": 7}}],
                    [{"fail_node": node}, {"scale_traffic": {"factor": 1.5}}]):
        doc = client.post(url, json={"changes": changes, "basis": "plan"},
                          headers=headers[Role.PLANNER]).json()
        _assert_same(doc, _full(net, changes, 1000))
    bad = client.post(url, json={"changes": [{"fail_link": "no-such-link"}]},
                      headers=headers[Role.PLANNER])
    assert bad.status_code == 422 and "no-such-link" in bad.text


def _backbone(n: int, m: int, seed: int) -> Network:
    """A ring plus random chords, gravity traffic, some services (as bench_engine's)."""
    rng = np.random.default_rng(seed)
    pairs = {(i, (i + 1) % n) for i in range(n)}
    while len(pairs) < m:
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        if (b, a) not in pairs:
            pairs.add((a, b))
    links = [{"id": f"l{k}", "a": f"r{a}", "b": f"r{b}", "capacity_bps": 10e9,
              "metric": int(rng.integers(1, 4))} for k, (a, b) in enumerate(sorted(pairs))]
    net = build_network("bb", [{"id": f"r{i}"} for i in range(n)], links,
                        gravity_demands(rng.lognormal(0, 1, n), 2e11))
    return net


@pytest.mark.parametrize("seed", [1, 2])
def test_reachability_and_rerouting_agree(seed: int) -> None:
    """The two ways of finding moved and lost demands (reachability and upstream marks,
    reading every demand or looking up the marked sources; or routing the affected
    destinations again) give the same diff, and both the full engine's (the rerouted
    demands' ids too), for single and multiple failures that cut nodes off (small integer
    metrics: many equal-cost paths)."""
    net = _backbone(60, 90, seed)
    compiled = compile_network(net)
    b = plan_basis(net, compiled)
    st = failure_state(b)
    assert st.by_source.any()  # marked sources looked up ...
    every_demand = dataclasses.replace(st, by_source=np.zeros_like(st.by_source))  # ... or not
    rng = np.random.default_rng(seed)
    for changes in _random_failures(net, rng, 16):
        applied = apply_scenario(net, compiled, parse_scenario({"changes": changes}))
        diffs = [failure_diff(b, kept, applied.arc_up, applied.failed_arcs, by_reach=reach)
                 for reach in (True, False) for kept in (st, every_demand)]
        docs = [json_safe(diff_document(diff, 10_000)) for diff in diffs]
        want = _full(net, changes, 10_000)
        for doc in docs:
            _assert_same(doc, want)
        # the rerouted demands themselves (the answer gives only their count), in the full
        # engine's order (demand number), however they are read
        rerouted = list(run_whatif(net, parse_scenario({"changes": changes})).diff
                        .demands_rerouted)
        for diff in diffs:
            got = diff.demands_rerouted
            assert len(got) == len(rerouted)
            assert got[:] == rerouted and [got[i] for i in range(len(got))] == rerouted
        assert docs[0]["demands_rerouted"] > 0 or docs[0]["demands_lost_count"] > 0 or \
            want["demands_rerouted"] == want["demands_lost_count"] == 0


def test_the_gate_serves_the_cheapest_waiting_first_and_learns_costs() -> None:
    """``Turns``: with the slot held, waiters of about the same arrival are served cheapest
    first (equal costs in arrival order); one that came long before the others is not
    overtaken. ``CostModel``: seconds per unit of work as a ratio of decaying sums, not
    pulled up by a what-if of tiny work."""
    import threading
    import time

    from nettwin.api.turns import CostModel, Turns

    gate = Turns(1, weight=10.0)
    served: list[str] = []

    def wait(name: str, cost_s: float) -> threading.Thread:
        def run() -> None:
            with gate.turn(cost_s):
                served.append(name)
        t = threading.Thread(target=run)
        t.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # queued before the next one comes
            with gate._lock:
                if len(gate._waiting) == len(threads) + 1:
                    break
            time.sleep(0.001)
        return t

    threads: list[threading.Thread] = []
    with gate.turn(0.0):
        for name, cost in [("costly", 0.010), ("cheap", 0.001), ("medium", 0.005),
                           ("cheap2", 0.001)]:
            threads.append(wait(name, cost))
    for t in threads:
        t.join(5)
    assert served == ["cheap", "cheap2", "medium", "costly"]

    served.clear()
    threads = []
    with gate.turn(0.0):
        threads.append(wait("early", 0.001))
        time.sleep(0.05)  # the next one comes 50 ms later: more than 10 x its cost
        threads.append(wait("late", 0.0))
    for t in threads:
        t.join(5)
    assert served == ["early", "late"]

    model = CostModel(per_work_s=10e-6)
    for _ in range(50):
        model.learn(300.0, 3e-3)  # 10 us per unit
    model.learn(1.0, 1e-3)  # a what-if that repairs nothing: its fixed cost
    assert model.expected_s(300.0) == pytest.approx(3e-3, rel=0.05)



def _bursty_backbone(seed: int) -> Network:
    """A ring plus chords with gravity-like traffic (no two directions alike, so the busiest
    arc is never a tie), one demand in five an on-off source (peak
    2-4x its mean, bursts of 20-200 ms) and services on some of them, the links sized so
    the busiest runs at 70 %: bursts matter there."""
    rng = np.random.default_rng(seed)
    n = 24
    base = _backbone(n, 36, seed)
    mass = rng.lognormal(0, 1, n)
    demands: list[dict[str, Any]] = []
    for s, d in itertools.permutations(range(n), 2):
        row: dict[str, Any] = {"id": f"d{s}-{d}", "src": f"r{s}", "dst": f"r{d}",
                               "rate_bps": 1e6 * mass[s] * mass[d] * rng.uniform(0.5, 1.5)}
        if rng.random() < 0.2:
            on = float(rng.uniform(0.02, 0.2))
            row |= {"arrival": "onoff", "on_mean_s": on,
                    "off_mean_s": on * float(rng.uniform(1, 3))}
        demands.append(row)
    links = [{"id": lid, "a": lk.a, "b": lk.b, "capacity_bps": 1e9,
              "metric": lk.metric_ab} for lid, lk in base.links.items()]
    bursty = [r["id"] for r in demands if "arrival" in r]
    services = [{"id": f"s{i}", "demands": [bursty[i]], "max_delay_s": 0.002}
                for i in range(0, min(len(bursty), 40), 5)]
    net = build_network("bursty-bb", [{"id": f"r{i}"} for i in range(n)], links, demands,
                        services=services)
    peak = float(simulate(compile_network(net)).arc_utilisation.max())
    return build_network("bursty-bb", [{"id": f"r{i}"} for i in range(n)],
                         [lk | {"capacity_bps": 1e9 * peak / 0.7} for lk in links], demands,
                         services=services)


@pytest.mark.parametrize("seed", [3, 4])
def test_failure_whatifs_on_bursty_demands_equal_the_full_engine(seed: int) -> None:
    """On a network whose demands carry bursty arrival processes the incremental what-if
    queues the links as simulate does (MMPP/G/1/K from the bursts' moments routed over the
    links left): every answer equals the full engine's, services' delays included, for
    single and multiple failures. Before, it queued the failed state as Poisson against a
    bursty no-change run."""
    net = _bursty_backbone(seed)
    compiled = compile_network(net)
    assert compiled.demand_arrivals is not None and compiled.service_ids
    b = plan_basis(net, compiled)
    st = failure_state(b)
    rng = np.random.default_rng(seed)
    moved = 0
    for changes in _random_failures(net, rng, 12):
        applied = apply_scenario(net, compiled, parse_scenario({"changes": changes}))
        doc = json_safe(diff_document(failure_diff(b, st, applied.arc_up,
                                                   applied.failed_arcs), 10_000))
        want = _full(net, changes, 10_000)
        _assert_same(doc, want)
        moved += sum(s["worst_delay_after_s"] != s["worst_delay_before_s"]
                     for s in want["services"])
    assert moved  # some services' bursty delays moved with the failures
