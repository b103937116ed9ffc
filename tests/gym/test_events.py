"""Events in FailureRecovery-v0 produce the state of the corresponding what-if: the same
scenario run by ``scenarios.whatif``, the same storm run by ``radio.storm``, the same cascade
run by ``scenarios.cascade``."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import nettwin.gym  # noqa: F401
from nettwin.gym import Event, EventKind
from nettwin.model import Network
from nettwin.radio.budget import compile_radio
from nettwin.radio.storm import run_storm
from nettwin.scenarios.cascade import run_cascade
from nettwin.scenarios.changes import FailLink, Scenario
from nettwin.scenarios.whatif import run_whatif
from tests.gym.conftest import constant_series, scaled_network

TOL = 1e-9


def step_to_event(env: gymnasium.Env, at_step: int) -> None:  # type: ignore[type-arg]
    env.reset(seed=0)
    for _ in range(at_step):
        env.step(0)


@pytest.mark.parametrize("event", [
    Event(EventKind.FIBRE_CUT, "Denver--Kansas-City", at_step=2),
    Event(EventKind.FIBRE_CUT, at_step=1),  # target drawn
    Event(EventKind.NODE_LOSS, "Chicago", at_step=2),
    Event(EventKind.SRLG_CUT, at_step=1),
    Event(EventKind.SURGE, "Atlanta", at_step=3, surge_factor=6.0),
])
def test_event_state_equals_the_whatif(abilene: Network, event: Event) -> None:
    env = gymnasium.make("nettwin/FailureRecovery-v0", network=abilene, events=[event],
                         traffic=constant_series(abilene))
    u = env.unwrapped
    step_to_event(env, event.at_step - 1)
    before = u.stepper.utilisation[0].copy()
    env.step(0)
    whatif = run_whatif(abilene, u.event.scenario())
    np.testing.assert_allclose(before, whatif.baseline.arc_utilisation, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(u.stepper.utilisation[0], whatif.result.arc_utilisation,
                               rtol=TOL, atol=TOL)
    assert u.stepper.summary[0, 3] == whatif.result.services.violated.sum()
    assert u.stepper.summary[0, 1] == pytest.approx(whatif.result.unroutable_bps, abs=1e-6)


def test_drain_action_equals_the_drain_whatif(abilene: Network) -> None:
    env = gymnasium.make("nettwin/FailureRecovery-v0", network=abilene,
                         events=[Event(EventKind.FIBRE_CUT, "Denver--Kansas-City")],
                         traffic=constant_series(abilene))
    u = env.unwrapped
    env.reset(seed=0)
    node = u.compiled.node_ids.index("Indianapolis")
    env.step(1 + 3 * u.n_links + node)
    from nettwin.scenarios.changes import DrainNode

    whatif = run_whatif(abilene, Scenario("cut and drain", (
        FailLink("Denver--Kansas-City"), DrainNode("Indianapolis"))))
    np.testing.assert_allclose(u.stepper.utilisation[0], whatif.result.arc_utilisation,
                               rtol=TOL, atol=TOL)


def test_storm_steps_equal_the_radio_storm_run(munich: tuple) -> None:  # type: ignore[type-arg]
    net, profiles, storm = munich
    series = constant_series(net, steps=len(storm.times_min) + 10)
    env = gymnasium.make("nettwin/FailureRecovery-v0", network=net, traffic=series,
                         radio_profiles=profiles, episode_steps=len(storm.times_min) + 1,
                         events=[Event(EventKind.RAIN_STORM, storm=storm, at_step=1)])
    env.reset(seed=0)
    reference = run_storm(net, compile_radio(net, profiles), storm)
    mlu = []
    for _ in storm.times_min:
        _, _, _, _, info = env.step(0)
        mlu.append(info["max_utilisation"])
    np.testing.assert_allclose(mlu, reference.max_utilisation, rtol=TOL)
    assert reference.max_utilisation.max() > reference.max_utilisation.min()


def test_cascade_trips_the_links_the_cascade_model_trips(abilene: Network) -> None:
    scale = 3.3
    network = scaled_network(abilene, scale)
    reference = run_cascade(network, Scenario("cut", (FailLink("Denver--Kansas-City"),)))
    assert reference.rounds >= 2  # a real chain, not a single trip
    env = gymnasium.make("nettwin/FailureRecovery-v0", network=abilene,
                         traffic=constant_series(abilene, scale=scale),
                         events=[Event(EventKind.CASCADE, "Denver--Kansas-City", at_step=1)])
    u = env.unwrapped
    env.reset(seed=0)
    links = list(u.compiled.link_ids)
    for rnd in range(1, reference.rounds + 1):
        env.step(0)
        expected = {t.link for t in reference.trips if t.round <= rnd}
        assert {links[i] for i in np.flatnonzero(u.tripped)} == expected


def test_detour_pins_the_largest_flow_on_a_shortest_path_around_the_hot_link(
        abilene: Network) -> None:
    """After a cut, the detour action moves the biggest demand on the busiest arc onto the
    shortest path that avoids that link; the twin's loads are those of a full simulation
    with that demand taken off the IGP and put on its path (networkx checks the path)."""
    import dataclasses

    import networkx as nx

    from nettwin.engine import simulate

    env = gymnasium.make("nettwin/FailureRecovery-v0", network=abilene,
                         traffic=constant_series(abilene, scale=2.0),
                         events=[Event(EventKind.FIBRE_CUT, "Denver--Kansas-City")])
    u = env.unwrapped
    env.reset(seed=0)
    env.step(0)
    util = np.where(u.stepper.up[0], u.stepper.utilisation[0], -1)
    detour = int(env.action_space.n) - 2
    _, _, _, _, info = env.step(detour)
    assert info["changes"] == 1
    d = int(u.pin_demand[0])
    path = u.pin_arc[0][u.pin_arc[0] >= 0]
    net = u.compiled
    # the busiest arc that some path can avoid (after this cut LA--Houston is a bridge)
    hot = next(a for a in np.argsort(-util, kind="stable").tolist()
               if a // 2 not in set((path // 2).tolist()))
    assert util[hot] >= np.sort(util)[-5]
    graph = nx.DiGraph()
    for a in np.flatnonzero(u.stepper.up[0]).tolist():
        if a // 2 != hot // 2:
            graph.add_edge(int(net.arc_src[a]), int(net.arc_dst[a]),
                           weight=int(net.arc_metric[a]))
    s, t = int(net.demand_src[d]), int(net.demand_dst[d])
    assert net.arc_src[path[0]] == s and net.arc_dst[path[-1]] == t
    assert net.arc_metric[path].sum() == nx.shortest_path_length(graph, s, t, weight="weight")
    rate = u.series.rate_bps[u.series_step].copy()
    on_path = rate[d]
    rate[d] = 0.0
    full = simulate(dataclasses.replace(net), arc_up=u.stepper.up[0], demand_rate_bps=rate)
    expected = full.arc_load_bps.copy()
    expected[path] += on_path
    np.testing.assert_allclose(u.stepper.load_bps[0], expected, rtol=TOL, atol=TOL * 1e9)
    _, _, _, _, info = env.step(detour + 1)  # release
    assert info["changes"] == 1 and (u.pin_demand < 0).all()
