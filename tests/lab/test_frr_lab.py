"""The twin against real routers: FRR (OSPF) in network namespaces built from the bundled
Abilene topology, with traffic generators. Needs root and Debian's frr (make test installs
it); every namespace and process the lab made is removed at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import numpy as np
import pytest

from nettwin import compile_network, simulate
from nettwin.engine.nexthops import ecmp_next_hops
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.lab.frr import FRR_DIR, Lab, plan_lab
from nettwin.live import LiveTwin, Message

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not (FRR_DIR / "ospfd").exists() or shutil.which("vtysh") is None,
    reason="the FRR lab needs root and Debian's frr package")

NET = load_network(example_path())
PREFIX = f"ntt{os.getpid() % 1000}x"


def _namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab(plan_lab(NET, prefix=PREFIX, scale=1e-4), tmp_path_factory.mktemp("lab"))
    try:
        lab.up()
        deadline = time.monotonic() + 40
        while not lab.ospf_converged():
            assert time.monotonic() < deadline, "OSPF adjacencies never came up"
            time.sleep(0.5)
        yield lab
    finally:
        lab.down()
        assert not {n for n in _namespaces() if n.startswith(PREFIX)}


def _predicted(network_up: np.ndarray) -> dict[tuple[str, str], set[str]]:
    c = compile_network(NET)
    links = list(NET.links)
    return {(c.node_ids[s], c.node_ids[t]): {links[a // 2] for a in arcs}
            for (s, t), arcs in ecmp_next_hops(c, network_up).items()}


def _await_routes(lab: Lab, expected: dict[tuple[str, str], set[str]],
                  timeout: float = 20.0) -> dict[tuple[str, str], set[str]]:
    deadline = time.monotonic() + timeout
    while True:
        kernel = lab.kernel_next_hops()
        if kernel == expected or time.monotonic() > deadline:
            return kernel
        time.sleep(0.3)


def test_the_twin_learns_the_topology_from_ospf(lab: Lab) -> None:
    deadline = time.monotonic() + 20
    while True:
        learned = lab.learn_network()
        if len(learned.links) == len(NET.links) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert set(learned.nodes) == set(NET.nodes)

    def shape(net):  # type: ignore[no-untyped-def]
        return sorted(tuple(sorted([(lk.a, lk.metric_ab), (lk.b, lk.metric_ba)]))
                      for lk in net.links.values())

    assert shape(learned) == shape(NET)


def test_predicted_next_hops_equal_the_kernel_tables(lab: Lab) -> None:
    expected = _predicted(compile_network(NET).arc_up)
    assert any(len(v) > 1 for v in expected.values())  # Abilene has equal-cost splits
    assert _await_routes(lab, expected) == expected
    assert len(expected) == len(NET.nodes) * (len(NET.nodes) - 1)


def test_interface_counters_give_the_modelled_rates(lab: Lab) -> None:
    twin = LiveTwin(NET)
    twin.process([Message(r) for r in lab.counters()])
    time.sleep(4.0)
    twin.process([Message(r) for r in lab.counters()])
    expected = simulate(compile_network(NET)).arc_load_bps
    big = expected > 0.2 * expected.max()
    rel = np.abs(twin.state.arc_rate_bps[big] - expected[big]) / expected[big]
    assert np.median(rel) < 0.1 and rel.max() < 0.35, rel


def test_a_link_failure_reaches_the_twin_within_5_s_and_routes_follow(lab: Lab) -> None:
    link = "Denver--Kansas-City"
    i = list(NET.links).index(link)
    twin = LiveTwin(NET)
    twin.process([Message(r) for r in lab.counters()])
    failed_at = time.monotonic()
    lab.fail(link)
    try:
        while twin.state.link_up[i]:
            assert time.monotonic() - failed_at < 5.0, "the twin did not see the failure"
            time.sleep(0.2)
            twin.process([Message(r) for r in lab.counters()])
        seen_after = time.monotonic() - failed_at
        assert seen_after < 5.0
        expected = _predicted(twin.state.arc_up())
        assert _await_routes(lab, expected) == expected
    finally:
        lab.restore(link)
    twin_ok = _predicted(compile_network(NET).arc_up)
    assert _await_routes(lab, twin_ok, timeout=30) == twin_ok


def test_ospf_packets_bypass_the_data_shaper(lab: Lab) -> None:
    """OSPF (IP protocol 89) is classified into the control class: what that class sent
    are small packets (hellos, updates), never the generators' 1,042-byte frames."""
    import re

    link = lab.plan.links[0]
    ns = lab.plan.node(link.a).ns
    text = subprocess.run(  # this tc prints classes as text only
        ["ip", "netns", "exec", ns, "tc", "-s", "class", "show", "dev", link.ifname],
        capture_output=True, text=True, check=True).stdout
    sent = {m[1]: (int(m[3]), int(m[2])) for m in re.finditer(
        r"class htb (\S+) .*?\n Sent (\d+) bytes (\d+) pkt", text)}
    control, data = sent["1:10"], sent["1:20"]
    assert control[0] > 0 and control[1] / control[0] < 200
    assert data[0] > 0 and data[1] / data[0] > 900


def test_a_router_and_several_links_fail_and_come_back(lab: Lab) -> None:
    from nettwin.lab.forwarding import await_forwarding, expected_next_hops

    lab.fail_node("Kansas-City")
    try:
        check = await_forwarding(lab, 10)
        assert check.matched, check.mismatches[:5]
        assert not [k for k in lab.kernel_next_hops() if "Kansas-City" in k]
        lab.fail("Seattle--Sunnyvale", "Houston--Atlanta")
        check = await_forwarding(lab, 10)
        assert check.matched, check.mismatches[:5]
        assert _await_routes(lab, expected_next_hops(lab.plan)) == \
            _predicted(_up_without(["Seattle--Sunnyvale", "Houston--Atlanta"],
                                   node="Kansas-City"))
    finally:
        lab.restore("Seattle--Sunnyvale", "Houston--Atlanta")
        lab.restore_node("Kansas-City")
    assert await_forwarding(lab, 20).matched
    assert lab.kernel_next_hops() == _predicted(compile_network(NET).arc_up)


def _up_without(links: list[str], node: str) -> np.ndarray:
    up = compile_network(NET).arc_up.copy()
    for i, (lid, lk) in enumerate(NET.links.items()):
        if lid in links or node in (lk.a, lk.b):
            up[2 * i] = up[2 * i + 1] = False
    return up


def test_the_nexthops_command_compares_twin_and_kernel(lab: Lab) -> None:
    from typer.testing import CliRunner

    from nettwin.cli.app import app

    r = CliRunner().invoke(app, ["lab", "nexthops", "--dir", str(lab.folder), "--json", "-"])
    assert r.exit_code == 0, r.output
    import json

    doc = json.loads(r.stdout)
    assert doc["pairs"] == 110 and doc["differ"] == 0
    # the twin told a link is down that the routers still use: every pair over it differs
    lab.plan.down_links.append("Denver--Kansas-City")
    lab.save()
    try:
        r = CliRunner().invoke(app, ["lab", "nexthops", "--dir", str(lab.folder)])
        assert r.exit_code == 1 and "differs" in r.output
    finally:
        lab.plan.down_links.remove("Denver--Kansas-City")
        lab.save()


def test_lab_up_without_traffic_waits_for_forwarding_and_refuses_a_second_lab(
        tmp_path: pytest.TempPathFactory) -> None:
    from typer.testing import CliRunner

    from nettwin.cli.app import app
    from nettwin.io import save_network
    from nettwin.model import build_network

    net = build_network("tri", [{"id": n} for n in "XYZ"],
                        [{"id": f"{a}--{b}", "a": a, "b": b, "capacity_bps": 1e9, "metric": 10}
                         for a, b in ("XY", "YZ", "ZX")],
                        [{"src": "X", "dst": "Z", "rate_bps": 1e8}])
    path = tmp_path / "tri.json"  # type: ignore[operator]
    save_network(net, path)
    folder = tmp_path / "lab"  # type: ignore[operator]
    prefix = f"ntu{os.getpid() % 1000}x"
    runner = CliRunner()
    r = runner.invoke(app, ["lab", "up", str(path), "--dir", str(folder), "--prefix", prefix,
                            "--no-traffic", "--wait", "30"])
    try:
        assert r.exit_code == 0, r.output
        assert "no traffic" in r.output and "demand" not in r.output
        assert "forwarding matches the twin on all 6 router/destination pairs" in r.output
        again = runner.invoke(app, ["lab", "up", str(path), "--dir", str(folder), "--prefix",
                                    prefix + "b", "--no-traffic"])
        assert again.exit_code == 3 and "records a lab already" in again.output
        assert not {n for n in _namespaces() if n.startswith(prefix + "b")}
    finally:
        runner.invoke(app, ["lab", "down", "--dir", str(folder)])
    assert not {n for n in _namespaces() if n.startswith(prefix)}


def test_a_link_shaped_down_carries_no_more_than_its_new_rate(lab: Lab) -> None:
    """The silent fault: the busiest arc's data rate cut to a third of its load; the counters
    then show at most that (and the shaper's drops), and the full rate once restored."""
    expected = simulate(compile_network(NET)).arc_load_bps
    a = int(np.argmax(expected))
    link = list(NET.links)[a // 2]
    capacity = compile_network(NET).arc_capacity_bps[a]
    factor = float(expected[a] / capacity) / 3
    lab.shape(link, factor)
    try:
        time.sleep(1.0)
        twin = LiveTwin(NET)
        twin.process([Message(r) for r in lab.counters()])
        time.sleep(3.0)
        twin.process([Message(r) for r in lab.counters()])
        assert twin.state.arc_rate_bps[a] <= 1.1 * factor * capacity
        assert twin.state.arc_drop_pps[a] > 0
    finally:
        lab.shape(link, 1.0)
    assert link not in lab.plan.rate_factor
