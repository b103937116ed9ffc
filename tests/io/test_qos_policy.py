"""QoS policy files: per-port schedulers from defaults, nodes and ports; every problem named."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nettwin import compile_network
from nettwin.cli import app
from nettwin.cli.common import EXIT_BAD_INPUT
from nettwin.engine.classes import simulate_classes, uniform_policy
from nettwin.engine.qos import Scheduler
from nettwin.errors import ValidationError
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.io.explicit_paths import build_paths
from nettwin.io.qos_policy import build_policy, load_policy

POLICY = {
    "classes": ["voice", "best-effort"],
    "default": {"scheduler": "wfq", "weights": [3, 1], "buffer_packets": 500},
    "packets": {"mean_bytes": [200, 1000], "size_scv": [0.0, 1.0]},
    "nodes": {"Chicago": {"scheduler": "sp", "buffer_packets": [50, 2000]}},
    "ports": {"Atlanta->Houston": {"scheduler": "drr", "weights": [1, 1]}},
}


def test_ports_take_the_default_then_the_node_then_their_own() -> None:
    net = load_network(example_path())
    c = compile_network(net)
    pol = build_policy(POLICY, c)
    src = np.array(c.node_ids)[c.arc_src]
    dst = np.array(c.node_ids)[c.arc_dst]
    for arc in range(c.n_arcs):
        if (src[arc], dst[arc]) == ("Atlanta", "Houston"):
            assert pol.scheduler[arc] == Scheduler.DRR
            np.testing.assert_allclose(pol.weights[arc], [0.5, 0.5])
            np.testing.assert_allclose(pol.buffer_packets[arc], [500, 500])
        elif src[arc] == "Chicago":
            assert pol.scheduler[arc] == Scheduler.SP
            np.testing.assert_allclose(pol.buffer_packets[arc], [50, 2000])
            np.testing.assert_allclose(pol.weights[arc], [0.75, 0.25])
        else:
            assert pol.scheduler[arc] == Scheduler.WFQ
            np.testing.assert_allclose(pol.weights[arc], [0.75, 0.25])
    assert (src == "Chicago").sum() >= 2 and ((src == "Atlanta") & (dst == "Houston")).sum() == 1
    np.testing.assert_allclose(pol.mean_packet_bits, [1600, 8000])
    # a port named by its link and end: link i's end a is arc 2i (a -> b)
    link = c.link_ids[3]
    by_link = build_policy({"classes": ["best-effort"], "ports": {f"{link}:b": {
        "scheduler": "drr"}}}, c)
    assert np.nonzero(by_link.scheduler == Scheduler.DRR)[0].tolist() == [2 * 3 + 1]
    np.testing.assert_allclose(pol.packet_second_moment_bits2, [1600**2, 2 * 8000**2])


def test_every_problem_is_reported_at_once() -> None:
    c = compile_network(load_network(example_path()))
    bad = {"classes": ["voice"],  # the traffic's best-effort is missing
           "default": {"weights": [1, 2]},  # two weights for one class
           "nodes": {"NOWHERE": {"scheduler": "sp"}},
           "ports": {"Atlanta->Seattle": {"buffer_packets": 10}}}  # not adjacent
    with pytest.raises(ValidationError) as err:
        build_policy(bad, c, "q.yaml")
    text = str(err.value)
    for expected in ("best-effort", "needs one weights per class (1)", "nodes.NOWHERE",
                     "ports.Atlanta->Seattle", "LINK:a"):
        assert expected in text
    assert len(err.value.problems) == 4
    with pytest.raises(ValidationError) as err:
        build_policy({"classes": ["best-effort"], "default": {"scheduler": "lifo"}}, c)
    assert "default.scheduler" in str(err.value) and "lifo" in str(err.value)


def test_qos_simulate_reads_the_policy(tmp_path: Path) -> None:
    policy = tmp_path / "qos.yaml"
    policy.write_text(yaml.safe_dump(POLICY))
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["qos-simulate", "--policy", str(policy), "--scale", "40",
                                   "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "per port" in res.output
    c = compile_network(load_network(example_path()))
    ref = simulate_classes(c, load_policy(policy, c), demand_rate_bps=c.demand_rate_bps * 40)
    doc = json.loads(out.read_text())
    mine = ref.demand_class == 1
    assert doc["classes"][0]["class"] == "best-effort"
    assert doc["classes"][0]["mean_delay_s"] == pytest.approx(
        ref.demand_delay_mean_s[mine].mean(), rel=1e-9)
    policy.write_text(yaml.safe_dump({"classes": ["best-effort"], "nodes": {"X": {}}}))
    bad = CliRunner().invoke(app, ["qos-simulate", "--policy", str(policy)])
    assert bad.exit_code == EXIT_BAD_INPUT and "nodes.X" in bad.output


def test_explicit_paths_pin_demands(tmp_path: Path) -> None:
    net = load_network(example_path())
    c = compile_network(net)
    via = ["New-York", "Washington-DC", "Atlanta", "Indianapolis", "Chicago"]
    doc = {"paths": [{"demand": "New-York->Chicago", "via": via}]}
    pinned = build_paths(doc, net, c)
    d = list(net.demand_ids).index("New-York->Chicago")
    assert pinned.demand.tolist() == [d]
    names = [(c.node_ids[c.arc_src[a]], c.node_ids[c.arc_dst[a]]) for a in pinned.arc]
    assert names == list(itertools.pairwise(via))
    # through the command: the pinned demand's delay is its path's, longer than ECMP's
    paths = tmp_path / "sr.yaml"
    paths.write_text(yaml.safe_dump(doc))
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["qos-simulate", "--scheduler", "fifo", "--paths",
                                   str(paths), "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 on explicit paths" in res.output
    fifo = uniform_policy(c, Scheduler.FIFO, mean_packet_bytes=340.0, packet_size_scv=1.59)
    ref = simulate_classes(c, fifo, pinned=pinned)  # the command's packet defaults
    plain = simulate_classes(c, fifo)
    assert ref.demand_delay_mean_s[d] > plain.demand_delay_mean_s[d]
    assert json.loads(out.read_text())["classes"][0]["mean_delay_s"] == pytest.approx(
        ref.demand_delay_mean_s.mean(), rel=1e-9)


def test_bad_explicit_paths_are_all_reported() -> None:
    net = load_network(example_path())
    c = compile_network(net)
    bad = {"paths": [
        {"demand": "Nowhere->Chicago", "via": ["Nowhere", "Chicago"]},
        {"demand": "New-York->Chicago", "via": ["New-York", "Seattle", "Chicago"]},
        {"demand": "Chicago->New-York", "via": ["Chicago", "Indianapolis", "Chicago",
                                                 "New-York"]},
        {"demand": "Seattle->Denver", "via": ["Sunnyvale", "Denver"]},
        {"demand": "New-York->Chicago", "via": ["New-York", "Chicago"]},
    ]}
    with pytest.raises(ValidationError) as err:
        build_paths(bad, net, c, "sr.yaml")
    text = str(err.value)
    for expected in ("paths[0] (Nowhere->Chicago), field 'demand': no such demand",
                     "no link from New-York to Seattle", "visits a node twice",
                     "must run from Seattle to Denver"):
        assert expected in text
    assert len(err.value.problems) == 5  # the second New-York->Chicago too: no link
    with pytest.raises(ValidationError, match="via"):
        build_paths({"paths": [{"demand": "x", "via": ["a"]}]}, net, c)


_positive = st.floats(min_value=1e-12, max_value=1e12)


@settings(max_examples=60, deadline=None)
@given(sched=st.sampled_from(["fifo", "sp", "wfq", "drr"]), extra=st.integers(0, 3),
       weights=st.lists(_positive, min_size=4, max_size=4), buffer=st.integers(1, 10**9),
       scale=st.floats(0.0, 1e4), mean=st.lists(_positive, min_size=4, max_size=4),
       scv=st.lists(st.floats(0.0, 100.0), min_size=4, max_size=4),
       node_sched=st.sampled_from(["fifo", "sp", "wfq", "drr"]))
def test_any_valid_policy_gives_finite_delays_and_losses(
        sched: str, extra: int, weights: list[float], buffer: int, scale: float,
        mean: list[float], scv: list[float], node_sched: str) -> None:
    # found a NaN at subnormal traffic (the service SCV of a port underflowed) before
    c = compile_network(load_network(example_path()))
    classes = ["best-effort"] + [f"c{i}" for i in range(extra)]
    k = len(classes)
    pol = build_policy({"classes": classes,
                        "default": {"scheduler": sched, "weights": weights[:k],
                                    "buffer_packets": buffer},
                        "packets": {"mean_bytes": mean[:k], "size_scv": scv[:k]},
                        "nodes": {"Chicago": {"scheduler": node_sched}}}, c)
    res = simulate_classes(c, pol, demand_rate_bps=c.demand_rate_bps * scale)
    assert not np.isnan(res.demand_delay_mean_s).any()
    assert (res.demand_delay_mean_s[res.demand_routed] > 0).all()
    assert ((res.demand_loss >= 0.0) & (res.demand_loss <= 1.0 + 1e-12)).all()
    assert not np.isnan(res.arc_class_waiting_s).any()
