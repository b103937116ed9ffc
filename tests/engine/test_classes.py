"""Per-class QoS on ECMP routing against closed forms and the single-class engine."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from nettwin import compile_network, simulate
from nettwin.engine import QueueModel, SimulationOptions
from nettwin.engine.classes import PinnedPaths, simulate_classes, uniform_policy
from nettwin.engine.qos import PathDemands, Scheduler, simulate_paths
from nettwin.engine.simulate import route
from nettwin.engine.thinned import push_thinned_all, turn_index
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.model import build_network
from nettwin.reference import reference_ecmp
from nettwin.reference.networkx_ecmp import enumerate_ecmp_paths
from nettwin.reference.port_sim import simulate_port


def _with_classes(network, names=("voice", "video", "best-effort"), seed=3):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    t = network.demands
    table = dataclasses.replace(t, class_index=rng.integers(0, len(names), len(t)).astype(
        np.int16), class_names=tuple(names), ids=None)
    return network.with_demands(table)  # ids now carry the class: services dropped


def test_one_fifo_class_is_the_mg1_engine() -> None:
    net = load_network(example_path())
    c = compile_network(net)
    policy = uniform_policy(c, Scheduler.FIFO)
    res = simulate_classes(c, policy, smooth_arrivals=False)  # the engine takes Poisson
    ref = simulate(c, SimulationOptions(queue_model=QueueModel.MG1))
    np.testing.assert_allclose(res.arc_class_load_bps[:, 0], ref.arc_load_bps, rtol=1e-12)
    np.testing.assert_allclose(res.demand_delay_mean_s, ref.demand_delay_mean_s, rtol=1e-9)
    np.testing.assert_allclose(res.demand_delay_worst_s, ref.demand_delay_worst_s, rtol=1e-9)


def test_class_loads_equal_the_reference_per_class() -> None:
    net = _with_classes(load_network(example_path()))
    c = compile_network(net)
    res = simulate_classes(c, uniform_policy(c, Scheduler.WFQ, weights=(0.5, 0.3, 0.2)))
    for k, name in enumerate(res.priority):
        rate = np.where(np.array(net.demands.class_names)[net.demands.class_index] == name,
                        net.demands.rate_bps, 0.0)
        np.testing.assert_allclose(res.arc_class_load_bps[:, k],
                                   reference_ecmp(net, demand_rate_bps=rate).arc_load_bps,
                                   rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("scheduler", [Scheduler.SP, Scheduler.FIFO])
def test_two_classes_on_one_link_follow_cobham(scheduler: Scheduler) -> None:
    # a-b, one link, voice and data: the textbook non-preemptive priority queue
    cap = 1e9
    net = build_network("pair", [{"id": "a"}, {"id": "b"}],
                        [{"id": "ab", "a": "a", "b": "b", "capacity_ab_bps": cap,
                          "capacity_ba_bps": cap}],
                        [{"src": "a", "dst": "b", "rate_bps": 3e8, "traffic_class": "voice"},
                         {"src": "a", "dst": "b", "rate_bps": 4e8, "traffic_class": "data"}])
    c = compile_network(net)
    policy = uniform_policy(c, scheduler, priority=("voice", "data"), mean_packet_bytes=500,
                            packet_size_scv=0.5)
    res = simulate_classes(c, policy)
    bits = 4000.0
    x, x2 = bits / cap, (bits / cap) ** 2 * 1.5
    lam = np.array([3e8, 4e8]) / bits
    rho = lam * x
    r = (lam * x2).sum() / 2
    if scheduler is Scheduler.SP:
        wait = np.array([r / (1 - rho[0]), r / ((1 - rho[0]) * (1 - rho.sum()))])
    else:
        wait = np.full(2, r / (1 - rho.sum()))
    voice = res.demand_class == 0
    assert voice.sum() == 1
    expected = c.arc_propagation_s[0] + x + wait
    np.testing.assert_allclose(res.demand_delay_mean_s[voice], expected[0], rtol=1e-9)
    np.testing.assert_allclose(res.demand_delay_mean_s[~voice], expected[1], rtol=1e-9)
    assert (res.demand_jitter_s > 0).all()


def test_priority_decides_which_service_meets_its_sla() -> None:
    cap = 1e9
    net = build_network(
        "pair", [{"id": "a"}, {"id": "b"}],
        [{"id": "ab", "a": "a", "b": "b", "capacity_ab_bps": cap, "capacity_ba_bps": cap}],
        [{"id": "v", "src": "a", "dst": "b", "rate_bps": 1e8, "traffic_class": "voice"},
         {"id": "d", "src": "a", "dst": "b", "rate_bps": 8.8e8, "traffic_class": "data"}],
        [{"id": "voip", "demands": ["v"], "max_delay_s": 2e-4}])
    c = compile_network(net)
    voice_first = simulate_classes(c, uniform_policy(c, Scheduler.SP,
                                                     priority=("voice", "data")))
    data_first = simulate_classes(c, uniform_policy(c, Scheduler.SP,
                                                    priority=("data", "voice")))
    assert not voice_first.services.violated[0]
    assert data_first.services.violated[0]
    with pytest.raises(Exception, match="no place"):
        uniform_policy(c, Scheduler.SP, priority=("voice",))


def test_losses_upstream_thin_the_ecmp_load_downstream() -> None:
    # Abilene with three classes under strict priority at 3x its traffic: best effort loses
    # packets on the busiest ports, and the ports after them see only what got through.
    # Oracle: every ECMP path enumerated by networkx, each demand's share on an arc thinned
    # by the losses of the arcs before it on that path.
    net = _with_classes(load_network(example_path()))
    c = compile_network(net)
    scale = 3.0
    policy = uniform_policy(c, Scheduler.SP, buffer_packets=64)
    res = simulate_classes(c, policy, demand_rate_bps=c.demand_rate_bps * scale, rounds=40)
    lossy = res.arc_class_loss.max(axis=1) > 1e-3
    assert lossy.any()  # the scenario does drop
    names = np.array(net.demands.class_names)[net.demands.class_index]
    node_ids = list(net.nodes)
    expected = np.zeros_like(res.arc_class_load_bps)
    for d in range(len(net.demands)):
        k = res.priority.index(names[d])
        src, dst = node_ids[net.demands.src[d]], node_ids[net.demands.dst[d]]
        rate = net.demands.rate_bps[d] * scale
        for p, arcs in enumerate_ecmp_paths(net, src, dst):
            reach = rate * p
            for arc in arcs:
                expected[arc, k] += reach
                reach *= 1.0 - res.arc_class_loss[arc, k]
    np.testing.assert_allclose(res.arc_class_load_bps, expected, rtol=1e-6, atol=1e-3)
    # the losses themselves, port by port, against the packet simulator: Poisson arrivals
    # at the per-class rates reaching the port, simple IMIX sizes, strict priority, 64
    # packets of buffer. Measured: within 0.042 (absolute) on every class of the 9 lossy
    # ports; the network's arrivals are smoother than Poisson after the first hop
    imix_bits = [8.0 * b for b in [40] * 7 + [576] * 4 + [1500]]
    lossy_ports = np.flatnonzero(lossy)
    assert lossy_ports.size >= 5
    for arc in lossy_ports:
        run = simulate_port((res.arc_class_load_bps[arc] / policy.mean_packet_bits).tolist(),
                            [imix_bits] * 3, float(c.arc_capacity_bps[arc]), Scheduler.SP,
                            buffer_packets=64, packets=100_000, seed=1)
        np.testing.assert_allclose(res.arc_class_loss[arc], run.loss, atol=0.05,
                                   err_msg=c.arc_label(int(arc)))
    # and the thinning is real: some arc sees less than its offered ECMP load
    unthinned = simulate_classes(c, uniform_policy(c, Scheduler.SP, buffer_packets=64),
                                 demand_rate_bps=c.demand_rate_bps * scale, rounds=1)
    assert (res.arc_class_load_bps < unthinned.arc_class_load_bps - 1.0).any()


def test_ecmp_classes_equal_the_explicit_paths_of_their_split() -> None:
    # the per-class ECMP engine against the explicit-path model fed with every ECMP path
    # (networkx) as a demand of its own: same loads, same smoothing of the arrivals (QNA
    # turns), so the same waiting on every port; traffic scaled to load the busiest port
    # to 85 % (no losses: those are checked above)
    net = _with_classes(load_network(example_path()))
    c = compile_network(net)
    scale = 0.85 / (simulate(c).arc_load_bps / c.arc_capacity_bps).max()
    policy = uniform_policy(c, Scheduler.WFQ, weights=(0.5, 0.3, 0.2), buffer_packets=10**6)
    res = simulate_classes(c, policy, demand_rate_bps=c.demand_rate_bps * scale)
    names = np.array(net.demands.class_names)[net.demands.class_index]
    node_ids = list(net.nodes)
    ptr, arcs, cls, pps = [0], [], [], []
    for d in range(len(net.demands)):
        k = res.priority.index(names[d])
        for p, path in enumerate_ecmp_paths(net, node_ids[net.demands.src[d]],
                                             node_ids[net.demands.dst[d]]):
            arcs += path
            ptr.append(len(arcs))
            cls.append(k)
            pps.append(net.demands.rate_bps[d] * scale * p / policy.mean_packet_bits[k])
    cls_a = np.array(cls)
    paths = PathDemands(np.array(ptr), np.array(arcs), cls_a, np.array(pps),
                        policy.mean_packet_bits[cls_a],
                        policy.packet_second_moment_bits2[cls_a])
    ref = simulate_paths(paths, c.arc_capacity_bps, policy.scheduler, policy.weights,
                         policy.buffer_packets)
    assert res.arc_class_loss.max() < 1e-9
    np.testing.assert_allclose(res.arc_class_waiting_s, ref.queues.waiting_s, rtol=1e-6)


def test_turn_loads_equal_the_networkx_paths() -> None:
    # traffic from each arc onto the next, summed over every ECMP path networkx enumerates
    net = load_network(example_path())
    c = compile_network(net)
    state = route(c, c.arc_up, c.demand_rate_bps)
    turns = turn_index(c.in_ptr, c.in_arc, c.out_ptr, c.out_arc)
    loads, got = push_thinned_all(
        c.n_nodes, c.destinations, c.dest_ptr, c.dest_demand, c.demand_src, c.demand_rate_bps,
        c.in_ptr, c.in_arc, c.out_ptr, c.out_arc, c.arc_dst, c.arc_metric, c.arc_up,
        np.ones(c.n_arcs), state.dist, state.order, state.count, state.n_chunks, turns.pair_ptr,
        turns.in_pos)
    expected = dict.fromkeys(zip(turns.arc_in.tolist(), turns.arc_out.tolist(), strict=True),
                             0.0)
    node_ids = list(net.nodes)
    for d in range(len(net.demands)):
        for p, arcs in enumerate_ecmp_paths(net, node_ids[net.demands.src[d]],
                                             node_ids[net.demands.dst[d]]):
            for a, b in itertools.pairwise(arcs):
                expected[(a, b)] += net.demands.rate_bps[d] * p
    np.testing.assert_allclose(got, list(expected.values()), rtol=1e-9, atol=1e-6)
    assert (got > 0).sum() > 20
    np.testing.assert_allclose(loads, state.load_bps, rtol=1e-12)  # nothing lost: pass 1


def test_pinned_demands_follow_their_paths_the_rest_ecmp() -> None:
    # every demand pinned to its first ECMP path: the per-class engine must give what the
    # explicit-path model gives; then one demand pinned to a detour among ECMP traffic: the
    # loads are networkx's ECMP loads of the others plus the detour's rate on its arcs
    net = _with_classes(load_network(example_path()))
    c = compile_network(net)
    node_ids = list(net.nodes)
    policy = uniform_policy(c, Scheduler.SP, buffer_packets=100)
    scale = 30.0  # busy enough to lose packets
    paths = [next(iter(enumerate_ecmp_paths(net, node_ids[s], node_ids[d])))[1]
             for s, d in zip(net.demands.src, net.demands.dst, strict=True)]
    ptr = np.cumsum([0] + [len(p) for p in paths])
    arcs = np.concatenate(paths)
    pinned = PinnedPaths(np.arange(len(paths)), ptr, arcs)
    res = simulate_classes(c, policy, demand_rate_bps=c.demand_rate_bps * scale,
                           pinned=pinned, rounds=60)
    cls = res.demand_class
    ref = simulate_paths(PathDemands(ptr, arcs, cls, c.demand_rate_bps * scale
                                     / policy.mean_packet_bits[cls],
                                     policy.mean_packet_bits[cls],
                                     policy.packet_second_moment_bits2[cls]),
                         c.arc_capacity_bps, policy.scheduler, policy.weights,
                         policy.buffer_packets, rounds=60)
    assert ref.loss.max() > 1e-3
    prop = np.bincount(np.repeat(np.arange(len(paths)), np.diff(ptr)),
                       weights=c.arc_propagation_s[arcs])
    np.testing.assert_allclose(res.demand_delay_mean_s, ref.delay_s + prop, rtol=1e-6)
    np.testing.assert_allclose(res.demand_loss, ref.loss, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(res.demand_jitter_s ** 2, ref.delay_var_s2, rtol=1e-6)

    # one demand on a detour: New-York -> Chicago via Washington-DC, Atlanta, Indianapolis
    d = next(i for i in range(len(net.demands))
             if (node_ids[net.demands.src[i]], node_ids[net.demands.dst[i]])
             == ("New-York", "Chicago"))
    hop = {(node_ids[c.arc_src[a]], node_ids[c.arc_dst[a]]): a for a in range(c.n_arcs)}
    via = ["New-York", "Washington-DC", "Atlanta", "Indianapolis", "Chicago"]
    detour = np.array([hop[(u, v)] for u, v in itertools.pairwise(via)])
    one = PinnedPaths(np.array([d]), np.array([0, detour.size]), detour)
    res = simulate_classes(c, policy, pinned=one)
    others = np.where(np.arange(len(net.demands)) == d, 0.0, net.demands.rate_bps)
    expected = reference_ecmp(net, demand_rate_bps=others).arc_load_bps
    expected[detour] += net.demands.rate_bps[d]
    np.testing.assert_allclose(res.arc_class_load_bps.sum(axis=1), expected, rtol=1e-9,
                               atol=1e-6)
    assert res.demand_routed[d]
    down = c.arc_up.copy()
    down[detour[1]] = False  # the pinned path breaks: reported, not silently rerouted
    res = simulate_classes(c, policy, pinned=one, arc_up=down)
    assert not res.demand_routed[d] and res.demand_loss[d] == 1.0
