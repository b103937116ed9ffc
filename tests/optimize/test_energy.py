"""Energy saving: the schedule checked against independent oracles (the network rebuilt
without the sleeping links and simulated from scratch, networkx connectivity, a brute force
over every sleep set, the MILP bound) on small networks and on measured Abilene traffic."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import numba
import numpy as np
import pytest

from nettwin.engine import compile_network, simulate
from nettwin.errors import ValidationError
from nettwin.model import Network, build_network
from nettwin.optimize.energy import optimize_energy
from nettwin.optimize.power import RADIO_CARRIER_W, build_power_model

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def mesh(seed: int = 0, *, max_delay_s: float | None = None) -> Network:
    """Six nodes, a ring plus chords (some sleepable), unequal capacities and metrics."""
    pairs = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (0, 3), (1, 4), (2, 5), (0, 2)]
    rng = np.random.default_rng(seed)
    links = [{"id": f"l{a}{b}", "a": f"n{a}", "b": f"n{b}",
              "capacity_bps": float(rng.choice([10e9, 40e9])),
              "metric": int(rng.integers(1, 4)), "length_km": float(rng.uniform(5, 500))}
             for a, b in pairs]
    demands = [{"src": f"n{s}", "dst": f"n{d}", "rate_bps": float(rng.uniform(2e8, 2e9))}
               for s in range(6) for d in range(6) if s != d]
    voice = ["n0->n3", "n3->n0", "n1->n4", "n4->n1", "n2->n5", "n5->n2", "n0->n2", "n2->n0"]
    svc = ([{"id": "voice", "demands": voice, "max_delay_s": max_delay_s}]
           if max_delay_s is not None else [])
    return build_network(f"mesh-{seed}", [{"id": f"n{i}", "latitude": 48.0 + i * 0.5,
                                           "longitude": 11.0 + i * 0.7} for i in range(6)],
                         links, demands, svc)


def day(net: Network, steps: int = 24, peak: float = 0.5, seed: int = 1) -> np.ndarray:
    """A diurnal day over the network's matrix: the busy hour loads the all-awake network
    to about ``peak`` (maximum utilisation), the night to 0.15 of that."""
    rng = np.random.default_rng(seed)
    compiled = compile_network(net)
    base = compiled.demand_rate_bps / simulate(compiled).arc_utilisation.max()
    level = peak * (0.15 + 0.85 * 0.5 * (1 - np.cos(2 * np.pi * np.arange(steps) / steps)))
    return base[None, :] * level[:, None] * rng.uniform(0.95, 1.05, (steps, base.size))


def without(net: Network, asleep: list[str]) -> Network:
    """The network rebuilt from its records without the sleeping links (no masks)."""
    return build_network(net.name, list(net.nodes.values()),
                         [lk for lk in net.links.values() if lk.id not in asleep],
                         net.demands, list(net.services.values()))


def graph(net: Network, asleep: list[str]) -> nx.MultiGraph:
    g = nx.MultiGraph()
    g.add_nodes_from(net.nodes)
    g.add_edges_from((lk.a, lk.b, lk.id) for lk in net.links.values() if lk.id not in asleep)
    return g


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Hundreds of tiny oracle runs: a parallel region each would cost more than the run."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


@pytest.fixture(scope="module")
def planned() -> tuple[Network, np.ndarray, dict]:
    net = mesh()
    rates = day(net)
    doc = optimize_energy(net, rates, interval_s=3600, max_utilisation=0.6,
                          min_dwell=3).to_document()
    return net, rates, doc


def test_replay_equals_the_network_rebuilt_without_the_sleeping_links(planned) -> None:
    net, rates, doc = planned
    assert any(row["asleep"] for row in doc["intervals"]), "nothing slept: a vacuous test"
    for row, rate in zip(doc["intervals"], rates, strict=True):
        rebuilt = without(net, row["asleep"])
        res = simulate(compile_network(rebuilt), demand_rate_bps=rate)
        assert row["mlu"] == pytest.approx(float(res.arc_utilisation.max()), rel=1e-9)
        assert res.demand_routed.all()
        assert row["mlu"] <= 0.6 + 1e-9
        assert row["sla_violations"] == 0 and row["over_limit_arcs"] == 0


def test_no_sleep_set_disconnects_a_demand(planned) -> None:
    net, rates, doc = planned
    for row, rate in zip(doc["intervals"], rates, strict=True):
        g = graph(net, row["asleep"])
        for d, r in zip(net.iter_demands(), rate, strict=True):
            if r > 0:
                assert nx.has_path(g, d.src, d.dst), (row["t"], d.id)


def test_links_keep_their_state_for_the_minimum_dwell(planned) -> None:
    _, _, doc = planned
    states = {lk["link"]: [lk["link"] in row["asleep"] for row in doc["intervals"]]
              for lk in doc["links"]}
    changes = 0
    for seq in states.values():
        flips = [t for t in range(1, len(seq)) if seq[t] != seq[t - 1]]
        if seq[0]:
            flips = [0, *flips]
        changes += len(flips)
        assert all(b - a >= 3 for a, b in itertools.pairwise(flips)), flips
    assert changes > 0


def test_energy_is_the_schedule_times_the_link_watts(planned) -> None:
    _, _, doc = planned
    watts = {lk["link"]: lk["awake_w"] for lk in doc["links"]}
    total = sum(watts.values())
    spent = 0.0
    previous: list[str] = []
    for row in doc["intervals"]:
        spent += total - sum(watts[x] for x in row["asleep"])
        woke = set(previous) - set(row["asleep"])
        spent += min(1.0, 60.0 / 3600) * sum(watts[x] for x in woke)
        previous = row["asleep"]
    steps = len(doc["intervals"])
    assert doc["energy_saved_fraction"] == pytest.approx(1 - spent / (total * steps))
    assert doc["kwh_saved"] == pytest.approx((total * steps - spent) * 3600 / 3.6e6)


def test_the_schedule_is_no_better_than_a_brute_force_nor_the_milp_bound() -> None:
    net = mesh(3)
    rates = day(net, steps=3, peak=0.6, seed=2)
    result = optimize_energy(net, rates, interval_s=900, max_utilisation=0.7, min_dwell=1,
                             bound=True)
    doc = result.to_document()
    watts = dict(zip(result.link_ids, result.power.awake_w, strict=True))
    total = sum(watts.values())
    compiled = compile_network(net)
    ids = list(net.links)
    connected = [s for k in range(1, len(ids)) for s in itertools.combinations(ids, k)
                 if nx.is_connected(graph(net, list(s)))]
    best = []
    for rate in rates:  # every connected sleep set, simulated: the best IGP schedule
        top = 0.0
        for asleep in connected:
            up = np.repeat([x not in asleep for x in ids], 2)
            res = simulate(compiled, arc_up=up, demand_rate_bps=rate)
            if np.where(up, res.arc_utilisation, 0.0).max() <= 0.7:
                top = max(top, sum(watts[x] for x in asleep) / total)
        best.append(top)
    greedy = [sum(watts[x] for x in row["asleep"]) / total for row in doc["intervals"]]
    assert all(g <= b + 1e-9 for g, b in zip(greedy, best, strict=True))
    assert np.mean(best) <= doc["bound"]["saving_upper_bound"] + 1e-6
    assert sum(greedy) > 0


def test_n1_every_failure_stays_connected_and_within_capacity_before_the_wake() -> None:
    net = mesh(5)
    rates = day(net, steps=8, peak=0.4)
    doc = optimize_energy(net, rates, interval_s=3600, max_utilisation=0.6, survive="n-1",
                          min_dwell=2).to_document()
    assert any(row["asleep"] for row in doc["intervals"])
    for row, rate in zip(doc["intervals"], rates, strict=True):
        worst = worst_woken = 0.0
        for lk in net.links:
            if lk in row["asleep"]:
                continue
            g = graph(net, [*row["asleep"], lk])
            assert nx.is_connected(g), (row["t"], lk)
            res = simulate(compile_network(without(net, [*row["asleep"], lk])),
                           demand_rate_bps=rate)
            assert res.demand_routed.all()
            worst = max(worst, float(res.arc_utilisation.max()))
            assert res.arc_utilisation.max() <= 1.0 + 1e-9
        for lk in net.links:  # every link awake again, any one failed
            woken = simulate(compile_network(without(net, [lk])), demand_rate_bps=rate)
            worst_woken = max(worst_woken, float(woken.arc_utilisation.max()))
        assert row["worst_failure_mlu"] == pytest.approx(worst, rel=1e-9)
        assert row["worst_failure_mlu_woken"] == pytest.approx(worst_woken, rel=1e-9)
        assert row["cut_failures"] == 0


def test_sla_keeps_every_service_within_its_delay() -> None:
    probe = mesh(0, max_delay_s=1.0)
    rates = day(probe, steps=6, peak=0.3)
    awake = simulate(compile_network(probe), demand_rate_bps=rates[0])
    net = mesh(0, max_delay_s=1.02 * float(awake.services.worst_delay_s[0]))

    def broken(doc: dict) -> int:  # intervals whose schedule, rebuilt, breaks the SLA
        return sum(bool(simulate(compile_network(without(net, row["asleep"])),
                                 demand_rate_bps=rate).services.violated.any())
                   for row, rate in zip(doc["intervals"], rates, strict=True))

    free = optimize_energy(net, rates, interval_s=3600, min_dwell=1).to_document()
    kept = optimize_energy(net, rates, interval_s=3600, min_dwell=1, sla=True).to_document()
    assert broken(free) > 0, "the SLA never binds: a vacuous test"
    assert broken(kept) == 0 and kept["sla_violations"] == 0
    assert 0 < kept["energy_saved_fraction"] <= free["energy_saved_fraction"]


def test_measured_abilene_morning_saves_and_holds() -> None:
    from nettwin.io import load_network
    from nettwin.io.traffic_series import read_traffic_series, traffic_files

    folder = DATA / "traffic" / "abilene-zhang-5min"
    base = load_network(DATA / "sndlib" / "xml" / "abilene.xml")
    net, series = read_traffic_series(base, traffic_files(folder)[:24])
    doc = optimize_energy(net, series.rate_bps, interval_s=series.interval_s,
                          survive="n-1").to_document()
    assert doc["sla_violations"] == 0 and doc["cut_failures"] == 0
    assert doc["energy_saved_fraction"] > 0.1
    for row, rate in zip(doc["intervals"][::8], series.rate_bps[::8], strict=True):
        res = simulate(compile_network(without(net, row["asleep"])), demand_rate_bps=rate)
        assert row["mlu"] == pytest.approx(float(res.arc_utilisation.max()), rel=1e-9)


def test_given_watts_and_radio_carriers_shape_the_power_model() -> None:
    net = build_network("p", [{"id": "a"}, {"id": "b"}, {"id": "c"}], [
        {"id": "f", "a": "a", "b": "b", "capacity_bps": 10e9, "power_ab_w": 30.0},
        {"id": "m", "a": "b", "b": "c", "capacity_bps": 1e9, "kind": "microwave",
         "radio": {"frequency_ghz": 23, "profile": "MINI-LINK_6600/23GHz/56MHz",
                   "carriers": 2}}])
    power = build_power_model(net)
    assert power.awake_w[0] == 60.0  # power_ba_w defaults to power_ab_w
    assert power.awake_w[1] == 2 * 2 * RADIO_CARRIER_W
    caps = power.level_capacity[1, :power.n_levels[1]]
    watts = power.level_power[1, :power.n_levels[1]]
    assert caps[0] == 1.0 and caps[-1] == 0.0 and power.n_levels[1] > 3
    assert (np.diff(watts) < 0).all() and (np.diff(caps) < 0).all()
    assert 0.5 in caps.tolist()  # one of two carriers asleep


def test_a_radio_carrier_sleeps_when_half_the_capacity_is_enough() -> None:
    net = build_network("r", [{"id": "a"}, {"id": "b"}], [
        {"id": "m", "a": "a", "b": "b", "capacity_bps": 1e9, "kind": "microwave",
         "radio": {"frequency_ghz": 23, "profile": "MINI-LINK_6600/23GHz/56MHz",
                   "carriers": 2}}], [{"src": "a", "dst": "b", "rate_bps": 2e8}])
    doc = optimize_energy(net, np.full((3, 1), 2e8), interval_s=300,
                          min_dwell=1).to_document()
    row = doc["intervals"][0]
    assert row["asleep"] == [] and "m" in row["reduced"]  # the only link never sleeps
    assert row["mlu"] <= 0.8 and doc["energy_saved_fraction"] > 0.25


def test_bad_series_is_refused_with_the_fix() -> None:
    net = mesh()
    with pytest.raises(ValidationError, match="one column per demand"):
        optimize_energy(net, np.ones((3, 2)))
    with pytest.raises(ValidationError, match="finite"):
        optimize_energy(net, -np.ones((3, len(net.demand_ids))))
    with pytest.raises(ValidationError, match="min_dwell"):
        optimize_energy(net, np.ones((3, len(net.demand_ids))), min_dwell=0)


def test_intervals_the_network_itself_cannot_hold_keep_every_link_awake() -> None:
    net = mesh(2)
    rates = day(net, steps=8, peak=0.9)
    doc = optimize_energy(net, rates, interval_s=3600, max_utilisation=0.6,
                          min_dwell=1).to_document()
    compiled = compile_network(net)
    broken = set(doc["intervals_broken_all_awake"])
    assert broken, "the busy hours fit the limit: a vacuous test"
    for row, rate in zip(doc["intervals"], rates, strict=True):
        awake = float(simulate(compiled, demand_rate_bps=rate).arc_utilisation.max())
        if row["t"] in broken:
            assert row["asleep"] == [] and awake > 0.6 and row["broken_all_awake"]
        else:
            assert row["over_limit_arcs"] == 0 and row["mlu"] <= 0.6 + 1e-9
    assert doc["sla_violations"] == 0 and doc["energy_saved_fraction"] > 0


def test_sla_check_queues_bursty_demands_at_the_intervals_rates() -> None:
    """A quiet interval (a quarter of the plan) on a ring whose service rides an on-off
    demand: the planner's SLA check must queue the bursts at the interval's rates, as the
    replay's ``simulate`` does (queued at the plan's rates it found every interval broken
    with everything awake, ~46 ms against the engine's 0.4 ms, and put nothing to sleep)."""
    from tests.conftest import onoff_ring

    net = onoff_ring()
    c = compile_network(net)
    rates = np.tile(c.demand_rate_bps * 0.25, (3, 1))
    assert not simulate(c, demand_rate_bps=rates[0]).services.violated.any()
    doc = optimize_energy(net, rates, interval_s=300, sla=True, max_utilisation=0.95,
                          min_dwell=1, compiled=c).to_document()
    assert not any(i["broken_all_awake"] for i in doc["intervals"])
    assert doc["energy_saved_fraction"] > 0
