"""The verdict against full recomputation: every failure of the N-1 sweep simulated from
scratch on both networks, the red team against brute force over every attack, guardrails
against the figures they quote, and the command line's exit codes."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nettwin import compile_network, simulate
from nettwin.cli.app import app
from nettwin.engine import CompiledNetwork
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.io.frr_config import parse_frr_config
from nettwin.model import Network
from nettwin.scenarios.changes import Direction, Scenario, SetMetric
from nettwin.validate import ChangeSet, Grade, Survive, validate_change
from nettwin.validate.guardrails import MaxUtilisation, NeverIsolate, Under
from nettwin.validate.redteam import LOSS_WEIGHT, Budget, search_worst
from tests.conftest import random_network

NET = load_network(example_path())
EXAMPLE = str(example_path())


def _metric_change(link: str, metric: int, direction: Direction = Direction.BOTH
                   ) -> ChangeSet:
    return ChangeSet("t", Scenario("t", (SetMetric(link, metric, direction),)))


def _full(c: CompiledNetwork, links: tuple[str, ...], metric: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    up = c.arc_up.copy()
    for lid in links:
        i = c.link_ids.index(lid)
        up[2 * i] = up[2 * i + 1] = False
    if metric is not None:
        import dataclasses

        c = dataclasses.replace(c, arc_metric=metric)
    return simulate(c, arc_up=up)


def _loaded(seed: int, factor: float) -> Network:
    """A random network whose traffic is scaled up until failures overload links."""
    import dataclasses

    net = random_network(seed, 7, 12)
    return net.with_demands(dataclasses.replace(net.demands,
                                                rate_bps=net.demands.rate_bps * factor))


@pytest.mark.parametrize("case", range(4))
def test_failures_made_worse_equal_full_recomputation(case: int) -> None:
    network: Network = NET if case == 0 else _loaded(case, 12.0)
    link = list(network.links)[case % len(network.links)]
    change = _metric_change(link, 200 if case == 0 else 9, Direction.AB)
    v = validate_change(network, change, survive=Survive.N1)
    c = compile_network(network)
    metric = c.arc_metric.copy()
    metric[2 * list(network.links).index(link)] = change.scenario.changes[0].metric  # type: ignore[union-attr]
    base_b, base_a = _full(c, ()), _full(c, (), metric)
    offered = float(c.demand_rate_bps.sum())
    expected = set()
    for lid in network.links:
        fb, fa = _full(c, (lid,)), _full(c, (lid,), metric)
        lost_b = fb.unroutable_bps - base_b.unroutable_bps
        lost_a = fa.unroutable_bps - base_a.unroutable_bps
        util_b = np.where(fb.arc_up, fb.arc_utilisation, 0).max()
        util_a = np.where(fa.arc_up, fa.arc_utilisation, 0).max()
        new_broken = fa.services.violated & ~fb.services.violated
        if (lost_a > lost_b + 1e-9 * offered + 1e-3 or (util_a > 1.0 >= util_b)
                or new_broken.any()):
            expected.add(f"link {lid}")
    assert {x.failure for x in v.survival.made_worse} == expected
    for x in v.survival.made_worse:
        lid = x.failure.removeprefix("link ")
        fa = _full(c, (lid,), metric)
        assert x.max_utilisation_after == pytest.approx(
            np.where(fa.arc_up, fa.arc_utilisation, 0).max(), rel=1e-9)
    worst_util = max(np.where(r.arc_up, r.arc_utilisation, 0).max() for r in
                     (_full(c, (lid,), metric) for lid in network.links))
    assert v.survival.max_utilisation_after == pytest.approx(worst_util, rel=1e-9)


def _harm(c: CompiledNetwork, links: tuple[int, ...], source: int, surge: float) -> float:
    up = c.arc_up.copy()
    for i in links:
        up[2 * i] = up[2 * i + 1] = False
    rate = c.demand_rate_bps.copy()
    if source >= 0:
        rate[c.demand_src == source] *= surge
    r = simulate(c, arc_up=up, demand_rate_bps=rate)
    util = np.where(up, r.arc_load_bps / c.arc_capacity_bps, 0.0).max()
    return float(util + LOSS_WEIGHT * r.unroutable_bps / rate.sum())


@pytest.mark.parametrize("seed", [3, 8])
def test_red_team_finds_the_brute_force_worst(seed: int) -> None:
    network = random_network(seed, 5, 7)
    c = compile_network(network)
    budget = Budget(2, 2.0)
    links = [i for i in range(len(c.link_ids)) if c.arc_up[2 * i]]
    sources = sorted(set(c.demand_src[c.demand_rate_bps > 0].tolist()))
    brute = max(_harm(c, combo, s, 2.0) for j in range(3)
                for combo in itertools.combinations(links, j) for s in [-1, *sources])
    exact = search_worst(c, c.arc_up, c.demand_rate_bps, 10_000, seed, budget)
    assert exact.exhaustive
    assert exact.worst.harm == pytest.approx(brute, rel=1e-9)
    space = sum(len(list(itertools.combinations(links, j))) for j in range(3)) * (
        len(sources) + 1)
    searched = search_worst(c, c.arc_up, c.demand_rate_bps, space // 2, seed, budget)
    assert not searched.exhaustive and searched.evaluations <= space // 2
    w = searched.worst
    pos = [c.link_ids.index(x) for x in w.failed_links]
    src = c.node_ids.index(w.surge_source) if w.surge_source else -1
    assert w.harm == pytest.approx(_harm(c, tuple(pos), src, 2.0), rel=1e-9)
    assert w.harm <= brute + 1e-12
    assert w.harm == pytest.approx(brute, rel=1e-9)  # half the space suffices here


def test_static_loop_is_unsafe_and_a_no_op_is_safe() -> None:
    loop = parse_frr_config("! router New-York\nip route 10.255.0.2/32 New-York--Chicago\n"
                            "! router Chicago\nip route 10.255.0.2/32 10.1.0.1\n", NET)
    v = validate_change(NET, loop)
    assert v.grade is Grade.UNSAFE
    assert v.forwarding.new_loops[0].cycle in (("New-York", "Chicago", "New-York"),
                                                ("Chicago", "New-York", "Chicago"))
    same = NET.links["New-York--Chicago"].metric_ab
    v = validate_change(NET, _metric_change("New-York--Chicago", same, Direction.AB),
                        rules=(MaxUtilisation(0.95, Under.ANY_FAILURE),
                               NeverIsolate("Denver")), red_team=50, seed=2)
    assert v.grade is Grade.SAFE, v.reasons
    assert all(g.passed for g in v.guardrails)
    assert v.red_team is not None and v.red_team.changed.worst.harm == pytest.approx(
        v.red_team.unchanged.worst.harm)


def test_guardrail_verdicts_follow_the_figures() -> None:
    change = _metric_change("New-York--Chicago", 500, Direction.AB)
    v = validate_change(NET, change, rules=(MaxUtilisation(0.85, Under.NOW),
                                            MaxUtilisation(0.85, Under.ANY_FAILURE)))
    peak_now = v.after.max_utilisation
    peak_any = max(peak_now, v.survival.max_utilisation_after)
    assert [g.passed for g in v.guardrails] == [peak_now <= 0.85, peak_any <= 0.85]
    assert peak_now <= 0.85 < peak_any  # the rule under failures is the one that bites


def test_shutdown_isolating_a_node_loses_reachability() -> None:
    text = "! router Seattle\ninterface Seattle--Sunnyvale\n shutdown\n" \
           "interface Seattle--Denver\n shutdown\n"
    v = validate_change(NET, parse_frr_config(text, NET), rules=(NeverIsolate("Seattle"),))
    lost = {(x.source, x.destination) for x in v.forwarding.reachability_lost}
    others = set(NET.node_ids) - {"Seattle"}
    assert lost == {(s, "Seattle") for s in others} | {("Seattle", o) for o in others}
    assert v.grade is Grade.UNSAFE and not v.guardrails[0].passed


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    runner = CliRunner()
    safe = tmp_path / "safe.yaml"
    safe.write_text("changes:\n  - set_metric: {link: New-York--Chicago, metric: 10}\n")
    out = tmp_path / "out.json"
    r = runner.invoke(app, ["validate", EXAMPLE, str(safe), "--json", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    for key in ("verdict", "reasons", "reachability_lost", "loops", "blackholes",
                "guardrails", "worst_failure", "red_team"):
        assert key in doc
    assert doc["verdict"] == "SAFE"
    bad = tmp_path / "Chicago.conf"
    bad.write_text("ip route 10.255.0.0/32 New-York--Chicago\nrouter ospf\n log-adjacency\n")
    r = runner.invoke(app, ["validate", EXAMPLE, str(bad)])
    assert r.exit_code == 3 and "Chicago.conf:3" in r.output
    bad.write_text("ip route 10.255.0.2/32 New-York--Chicago\n")  # NY sends it back: loop?
    ny = tmp_path / "New-York.conf"
    ny.write_text("ip route 10.255.0.2/32 10.1.0.2\n")
    html = tmp_path / "r.html"
    r = runner.invoke(app, ["validate", EXAMPLE, str(bad), str(ny), "--json", "-",
                            "--html", str(html)])
    assert r.exit_code == 1
    doc = json.loads(r.stdout.splitlines()[0])
    assert doc["verdict"] == "UNSAFE" and doc["loops"]
    assert "Forwarding loops" in html.read_text()


def test_pairs_made_worse_equal_full_recomputation() -> None:
    network = _loaded(1, 6.0)
    link = list(network.links)[9]
    change = _metric_change(link, 9, Direction.BA)
    v = validate_change(network, change, survive=Survive.N2)
    c = compile_network(network)
    metric = c.arc_metric.copy()
    metric[2 * 9 + 1] = 9
    base_b, base_a = _full(c, ()), _full(c, (), metric)
    offered = float(c.demand_rate_bps.sum())
    ids = list(network.links)
    failures = [(x,) for x in ids] + list(itertools.combinations(ids, 2))
    expected = set()
    for f in failures:
        fb, fa = _full(c, f), _full(c, f, metric)
        lost_b = fb.unroutable_bps - base_b.unroutable_bps
        lost_a = fa.unroutable_bps - base_a.unroutable_bps
        util_b = np.where(fb.arc_up, fb.arc_utilisation, 0).max()
        util_a = np.where(fa.arc_up, fa.arc_utilisation, 0).max()
        if lost_a > lost_b + 1e-9 * offered + 1e-3 or util_a > 1.0 >= util_b:
            expected.add(("link " if len(f) == 1 else "link-pair ") + " + ".join(f))
    assert v.survival.failures == len(failures)
    assert {x.failure for x in v.survival.made_worse} == expected
    assert any(x.startswith("link-pair") for x in expected)  # pairs are exercised


def test_a_snippet_may_name_a_link_an_earlier_change_file_adds(tmp_path: Path) -> None:
    add = tmp_path / "add.yaml"
    add.write_text("changes:\n  - add_link: {id: Seattle--Chicago, a: Seattle, b: Chicago, "
                   "capacity_bps: 10e9, metric: 15}\n")
    pin = tmp_path / "Seattle.conf"
    pin.write_text("interface Seattle--Chicago\n ip ospf cost 40\n")
    out = tmp_path / "out.json"
    r = CliRunner().invoke(app, ["validate", EXAMPLE, str(add), str(pin), "--json", str(out)])
    assert r.exit_code in (0, 1), r.output
    doc = json.loads(out.read_text())
    assert doc["origins"][-1].endswith("Seattle: ip ospf cost 40")
    from nettwin.cli.validate import load_change_sets

    change = load_change_sets([add, pin], NET, "ntl")
    assert change.scenario.changes[-1] == SetMetric("Seattle--Chicago", 40, Direction.AB)


def test_sweeping_only_the_failures_that_could_be_worse_changes_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import nettwin.validate.performance as perf

    network = _loaded(1, 10.0)
    change = _metric_change(list(network.links)[9], 9, Direction.BA)
    full = validate_change(network, change, survive=Survive.N2)
    monkeypatch.setattr(perf, "FULL_BEFORE_WORK", 0)
    part = validate_change(network, change, survive=Survive.N2)
    assert part.survival.made_worse == full.survival.made_worse
    assert part.survival.worst_failure == full.survival.worst_failure
    assert part.survival.max_utilisation_before is None
    assert "could be worse" in part.survival.note


def test_removing_a_running_discard_route_restores_reachability(tmp_path: Path) -> None:
    wa = NET.node_ids.index("Washington-DC")
    running = tmp_path / "New-York.conf"
    running.write_text(f"ip route 10.255.0.{wa}/32 Null0\n")
    fix = tmp_path / "fix.conf"
    fix.write_text(f"! router New-York\nno ip route 10.255.0.{wa}/32 Null0\n")
    out = tmp_path / "out.json"
    r = CliRunner().invoke(app, ["validate", EXAMPLE, str(fix), "--running", str(running),
                                 "--json", str(out)])
    doc = json.loads(out.read_text())
    gained = {(x["source"], x["destination"]) for x in doc["reachability_gained"]}
    # New York dropped Washington's traffic before; whoever forwarded through it did too
    assert ("New-York", "Washington-DC") in gained
    assert doc["reachability_lost_count"] == 0 and not doc["loops"]
    before = doc["performance"]["before"]["unroutable_bps"]
    assert before > 0 and doc["performance"]["after"]["unroutable_bps"] == 0
    assert r.exit_code == 0, r.output


def test_an_element_failed_by_two_change_files_is_refused(tmp_path: Path) -> None:
    """Each file is checked alone on loading; a link two of them fail is the repeat every
    other failure list refuses, named by both files."""
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text("name: first\nchanges:\n  - fail_link: New-York--Chicago\n")
    two.write_text("name: second\nchanges:\n  - set_metric: {link: New-York--Chicago, "
                   "metric: 10}\n  - fail_link: New-York--Chicago\n")
    r = CliRunner().invoke(app, ["validate", EXAMPLE, str(one), str(two)])
    assert r.exit_code == 3, r.output
    assert "two.yaml: second, changes[1]" in r.output and "one.yaml: first, changes[0]" in \
        r.output and "failed twice" in r.output, r.output
    r = CliRunner().invoke(app, ["validate", EXAMPLE, str(one)])
    assert r.exit_code in (0, 1), r.output
