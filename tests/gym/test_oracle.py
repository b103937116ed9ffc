"""A step of the environment equals a full simulation of the same state, and the
networkx reference; the scalar queueing kernel equals the engine's vectorised one."""

from __future__ import annotations

import dataclasses

import gymnasium
import numpy as np
import pytest

import nettwin.gym
from nettwin.engine import (
    QueueModel,
    SimulationOptions,
    compile_network,
    evaluate_queues,
    simulate,
)
from nettwin.gym.kernels import queue_arc
from nettwin.gym.stepper import _MODEL_CODE
from nettwin.model import Network, build_network
from nettwin.reference import reference_ecmp
from nettwin.scenarios.apply import OSPF_MAX_METRIC
from tests.conftest import random_network

TOL = 1e-9


def expected_metric(env: nettwin.gym.TwinEnv) -> np.ndarray:
    """Metrics recomputed from the public state: base x 1.5^level, drains at max."""
    base = env.compiled.arc_metric.astype(float)
    level = env.level.repeat(2)
    metric = np.where(level == 0, base, np.clip(np.rint(base * 1.5 ** level), 1,
                                                OSPF_MAX_METRIC))
    metric[env.drained[env.compiled.arc_src]] = OSPF_MAX_METRIC
    return metric.astype(np.int64)


def assert_step_equals_simulation(env: gymnasium.Env, options: SimulationOptions) -> None:  # type: ignore[type-arg]
    u = env.unwrapped
    obs = u._observation()
    lay = u.observation_layout
    net = dataclasses.replace(u.compiled, arc_metric=expected_metric(u))
    rate = u.series.rate_bps[u.series_step]
    up = u.compiled.arc_up & u.link_up.repeat(2)
    full = simulate(net, options, arc_up=up, demand_rate_bps=rate)
    np.testing.assert_allclose(obs[lay["utilisation"]], full.arc_utilisation, rtol=TOL,
                               atol=TOL)
    np.testing.assert_allclose(obs[lay["delay"]], full.arc_delay_s, rtol=TOL, atol=0)
    if not u.sla.per_demand:
        np.testing.assert_array_equal(obs[lay["sla"]] > 0, full.services.violated)
    k = full.kpis()
    s = u.stepper.summary[0]
    assert s[0] == pytest.approx(k["max_utilisation"], rel=TOL)
    assert s[1] == pytest.approx(k["unroutable_bps"], rel=TOL, abs=1e-6)
    assert s[2] == pytest.approx(k["queue_lost_bps"], rel=1e-7, abs=1e-3)


@pytest.mark.parametrize("model", list(QueueModel))
def test_every_step_equals_a_full_simulation(abilene: Network, model: QueueModel) -> None:
    options = SimulationOptions(queue_model=model)
    env = gymnasium.make("nettwin/TrafficEngineering-v0", network=abilene, options=options,
                         traffic_scale=2.5, observe=("utilisation", "delay", "sla"), seed=7)
    env.reset()
    assert_step_equals_simulation(env, options)
    rng = np.random.default_rng(1)
    for _ in range(120):
        env.step(int(rng.integers(env.action_space.n)))
        assert_step_equals_simulation(env, options)


def test_failure_recovery_steps_equal_a_full_simulation(abilene: Network) -> None:
    """Drains, cuts and detours included: the twin's state is that of a fresh simulate."""
    options = SimulationOptions()
    env = gymnasium.make("nettwin/FailureRecovery-v0", network=abilene, options=options,
                         events=["node_loss", "fibre_cut"], traffic_scale=2.0,
                         observe=("utilisation", "delay", "sla"), episode_steps=20)
    u = env.unwrapped
    rng = np.random.default_rng(2)
    exercised = False
    for seed in range(4):
        env.reset(seed=seed)
        for _ in range(20):
            env.step(int(rng.integers(env.action_space.n)))
            net = dataclasses.replace(u.compiled, arc_metric=expected_metric(u))
            up = u.base_up & u.link_up.repeat(2)
            up[u.event.failed_arcs] = ~u._event_active() & up[u.event.failed_arcs]
            rate = u.series.rate_bps[u.series_step].copy()
            pinned = []  # detours: off the IGP, onto their explicit path (if it is intact)
            for d, arcs in zip(u.pin_demand.tolist(), u.pin_arc, strict=True):
                if d >= 0:
                    path = arcs[arcs >= 0]
                    pinned.append((path, rate[d] if up[path].all() else 0.0))
                    rate[d] = 0.0
            full = simulate(net, options, arc_up=up, demand_rate_bps=rate)
            load = full.arc_load_bps.copy()
            for path, bps in pinned:
                load[path] += bps
            np.testing.assert_allclose(u.stepper.load_bps[0], load, rtol=TOL, atol=TOL * 1e9)
            if not pinned:
                np.testing.assert_allclose(u.stepper.utilisation[0], full.arc_utilisation,
                                           rtol=TOL, atol=TOL)
            exercised = exercised or bool(pinned)
    assert exercised  # detours happened


def with_metrics(network: Network, metric: np.ndarray, rate: np.ndarray) -> Network:
    links = [dataclasses.replace(lk, metric_ab=int(metric[2 * i]),
                                 metric_ba=int(metric[2 * i + 1]))
             for i, lk in enumerate(network.links.values())]
    table = dataclasses.replace(network.demands, rate_bps=rate)
    return build_network(network.name, list(network.nodes.values()), links, table)


@pytest.mark.parametrize("seed", [3, 8])
def test_steps_equal_the_networkx_reference(seed: int) -> None:
    """Random multigraph, random metric moves and sleeping links: loads as networkx's."""
    network = random_network(seed, 9, 20, max_metric=3)
    env = gymnasium.make("nettwin/Energy-v0", network=network, seed=seed)
    u = env.unwrapped
    env.reset()
    rng = np.random.default_rng(seed)
    for _ in range(15):
        env.step(int(rng.integers(env.action_space.n)))
        u.level[:] = rng.integers(-2, 3, u.n_links)  # metric moves the energy env lacks
        u._evaluate()
        up = u.compiled.arc_up & u.link_up.repeat(2)
        ref = reference_ecmp(with_metrics(network, expected_metric(u),
                                          u.series.rate_bps[u.series_step]), up)
        scale = max(1.0, float(u.series.rate_bps[u.series_step].sum()))
        np.testing.assert_allclose(u.stepper.load_bps[0], ref.arc_load_bps, rtol=TOL,
                                   atol=TOL * scale)


@pytest.mark.parametrize("model", list(QueueModel))
def test_scalar_queue_kernel_equals_the_engine(model: QueueModel) -> None:
    rng = np.random.default_rng(0)
    cap = rng.choice([1e9, 1e10, 2.5e9], 400)
    rho = np.r_[0.0, 1.0, 1.0 - 1e-12, 1 + 1e-12, rng.uniform(0, 2.5, 396)]
    load = rho * cap
    buffers = rng.integers(1, 5000, 400).astype(float)
    opts = SimulationOptions()
    q = evaluate_queues(load, cap, model, opts.mean_packet_bytes, opts.packet_size_scv,
                        buffers)
    got = np.array([queue_arc(load[i], cap[i], _MODEL_CODE[model], opts.mean_packet_bytes,
                              opts.packet_size_scv, buffers[i]) for i in range(400)])
    np.testing.assert_allclose(got[:, 0], q.utilisation, rtol=1e-12)
    np.testing.assert_allclose(got[:, 1], q.transmission_s, rtol=1e-12)
    np.testing.assert_allclose(got[:, 2], q.queueing_s, rtol=1e-9, atol=1e-18)
    np.testing.assert_allclose(got[:, 3], q.loss, rtol=1e-9, atol=1e-15)


def test_sla_units_default_to_demands_without_services() -> None:
    network = random_network(5, 6, 10)
    net = compile_network(network)
    env = gymnasium.make("nettwin/TrafficEngineering-v0", network=network,
                         traffic_scale=40.0, observe=("sla",), seed=0)
    obs, _ = env.reset()
    u = env.unwrapped
    full = simulate(net, arc_up=net.arc_up, demand_rate_bps=u.series.rate_bps[u.series_step])
    bad = ~full.demand_routed | (full.demand_loss > 1e-3)
    np.testing.assert_array_equal(obs > 0, bad)


def test_a_network_with_bursty_demands_is_refused_unless_told_textbook() -> None:
    """The sandbox's kernels queue every link as Poisson. On a network whose demands carry
    bursty arrival processes simulate queues them as MMPP/G/1/K: an environment there would
    reward an agent for delays 20x too short. It is refused with the fix named; told to use
    the textbook queues, each step equals simulate under them."""
    from nettwin.engine.options import ArrivalModel
    from nettwin.errors import SimulationError
    from tests.conftest import onoff_ring

    ring = onoff_ring()
    with pytest.raises(SimulationError, match=r"arrival_model=ArrivalModel\.POISSON"):
        gymnasium.make("nettwin/TrafficEngineering-v0", network=ring)
    options = SimulationOptions(arrival_model=ArrivalModel.POISSON)
    env = gymnasium.make("nettwin/TrafficEngineering-v0", network=ring, options=options,
                         observe=("utilisation", "delay", "sla"), seed=7)
    env.reset()
    assert_step_equals_simulation(env, options)
    for action in range(4):
        env.step(action)
        assert_step_equals_simulation(env, options)
