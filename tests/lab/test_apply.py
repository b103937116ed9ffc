"""Apply and verify against real FRR routers in namespaces: a safe cost change applied and
verified against the twin's tables; a static-route loop found by validation and refused
before anything is pushed; a twin told a wrong cost detected and rolled back; a static route
pushed through staticd. Needs root and Debian's frr; the lab is removed at the end."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from nettwin.io.frr_config import parse_frr_config
from nettwin.lab.apply import (
    ApplyRefusedError,
    addresses_of,
    apply_change,
    await_tables,
    network_of,
    predicted_next_hops,
)
from nettwin.lab.frr import FRR_DIR, Lab, LabError, plan_lab
from nettwin.model import Network, build_network
from nettwin.scenarios.changes import Scenario
from nettwin.validate import ChangeSet, Grade, Survive, validate_change
from nettwin.validate.verdict import predict_forwarding

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not (FRR_DIR / "ospfd").exists() or shutil.which("vtysh") is None,
    reason="the FRR lab needs root and Debian's frr package")

PREFIX = f"nva{os.getpid() % 1000}x"


def _ring() -> Network:
    """Five routers in a ring with a chord: every single failure leaves it connected."""
    names = ["A", "B", "C", "D", "E"]
    links = [{"id": f"{a}--{b}", "a": a, "b": b, "capacity_bps": 1e9, "metric": 10}
             for a, b in [("A", "B"), ("B", "C"), ("C", "D"), ("D", "E"), ("E", "A")]]
    links.append({"id": "A--C", "a": "A", "b": "C", "capacity_bps": 1e9, "metric": 25})
    demands = [{"src": s, "dst": d, "rate_bps": 2e7} for s in names for d in names if s != d]
    return build_network("ring", [{"id": n} for n in names], links, demands)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab(plan_lab(_ring(), prefix=PREFIX, scale=1e-2), tmp_path_factory.mktemp("lab"))
    try:
        lab.up(traffic=False)
        yield lab
    finally:
        lab.down()


def _current(lab: Lab) -> dict[tuple[str, str], set[str]]:
    twin = network_of(lab.plan)
    none = ChangeSet("none", Scenario("none"))
    before, _ = predict_forwarding(twin, none, addresses=addresses_of(lab.plan))
    return predicted_next_hops(before)


@pytest.fixture
def converged(lab: Lab) -> Lab:
    expected = _current(lab)
    kernel, took = await_tables(lab, expected, 40)
    assert took is not None, f"the lab never matched the twin: {kernel} vs {expected}"
    return lab


def _validate(lab: Lab, change: ChangeSet, twin: Network | None = None):  # type: ignore[no-untyped-def]
    return validate_change(twin or network_of(lab.plan), change, survive=Survive.N1,
                           addresses=addresses_of(lab.plan))


def test_a_second_lab_up_into_the_same_folder_is_refused(converged: Lab) -> None:
    other = Lab(plan_lab(_ring(), prefix=PREFIX + "b", scale=1e-2), converged.folder)
    with pytest.raises(LabError, match="records a lab already"):
        other.up(traffic=False)
    assert json.loads(converged.state_file.read_text())["prefix"] == PREFIX


def _reset_costs(lab: Lab, before: list[tuple[int, int]]) -> None:
    """Costs back as they were, on the routers and in the lab state (a verified change
    records its costs there)."""
    from nettwin.lab.faults import set_costs

    for lk, (ab, ba) in zip(lab.plan.links, before, strict=True):
        if (lk.cost_ab, lk.cost_ba) != (ab, ba):
            set_costs(lab, lk.id, ab, ba)
            lk.cost_ab, lk.cost_ba = ab, ba
    lab.save()


def test_a_safe_cost_change_is_applied_and_verified(converged: Lab) -> None:
    lab = converged
    twin = network_of(lab.plan)
    costs = [(lk.cost_ab, lk.cost_ba) for lk in lab.plan.links]
    tables_before = _current(lab)
    text = "".join(f"! router {r}\ninterface A--B\n ip ospf cost 40\n" for r in ("A", "B"))
    change = parse_frr_config(text, twin, "cost.conf")
    verdict = _validate(lab, change)
    assert verdict.grade is Grade.SAFE, verdict.reasons
    report = apply_change(lab, change, verdict, timeout_s=30)
    try:
        assert report.verified and not report.rolled_back
        _, after = predict_forwarding(twin, change, addresses=addresses_of(lab.plan))
        assert lab.kernel_next_hops() == predicted_next_hops(after)
        assert predicted_next_hops(after) != tables_before  # the change moved traffic
        # the lab state records what the routers run now
        assert (lab.plan.link("A--B").cost_ab, lab.plan.link("A--B").cost_ba) == (40, 40)
        assert Lab.load(lab.folder).plan.link("A--B").cost_ab == 40
        assert _current(lab) == predicted_next_hops(after)
        steps = [json.loads(x)["step"] for x in Path(report.audit).read_text().splitlines()]
        assert steps[-4:] == ["validated", "pushed", "pushed", "tables verified"]
    finally:
        _reset_costs(lab, costs)
        assert await_tables(lab, _current(lab), 30)[1] is not None


def test_a_static_route_loop_is_found_before_apply_and_refused(converged: Lab) -> None:
    lab = converged
    twin = network_of(lab.plan)
    c_loop = lab.plan.node("C").loopback
    a_end = lab.plan.link("A--B").addr_a
    text = (f"! router A\nip route {c_loop}/32 A--B\n"
            f"! router B\nip route {c_loop}/32 {a_end}\n")
    change = parse_frr_config(text, twin, "loop.conf")
    verdict = _validate(lab, change)
    assert verdict.grade is Grade.UNSAFE
    assert {tuple(x.cycle) for x in verdict.forwarding.new_loops} & {
        ("A", "B", "A"), ("B", "A", "B")}
    before = lab.kernel_next_hops()
    with pytest.raises(ApplyRefusedError, match="UNSAFE"):
        apply_change(lab, change, verdict)
    assert lab.kernel_next_hops() == before
    last = json.loads((lab.folder / "apply-audit.jsonl").read_text().splitlines()[-1])
    assert last["step"] == "refused" and last["verdict"] == "UNSAFE"


def test_a_wrong_prediction_is_detected_and_rolled_back(converged: Lab) -> None:
    lab = converged
    truth = _current(lab)
    wrong = network_of(lab.plan)  # the twin believes C--D costs 100, the routers have 10
    links = [{"id": lk.id, "a": lk.a, "b": lk.b, "capacity_bps": lk.capacity_ab_bps,
              "metric": 100 if lk.id == "C--D" else lk.metric_ab}
             for lk in wrong.links.values()]
    wrong = build_network("wrong", [{"id": n} for n in wrong.nodes], links)
    text = "".join(f"! router {r}\ninterface E--A\n ip ospf cost 12\n" for r in ("E", "A"))
    change = parse_frr_config(text, wrong, "e.conf")
    verdict = _validate(lab, change, wrong)
    assert verdict.grade is Grade.SAFE, verdict.reasons
    report = apply_change(lab, change, verdict, timeout_s=8, twin=wrong)
    assert not report.verified and report.rolled_back and report.mismatches
    m = report.mismatches[0]
    assert m.predicted != m.kernel
    assert await_tables(lab, truth, 30)[1] is not None  # the routers are back as they were


def test_a_static_route_is_pushed_through_staticd_and_verified(converged: Lab) -> None:
    lab = converged
    twin = network_of(lab.plan)
    e_loop = lab.plan.node("E").loopback
    # A reaches E over A--E by OSPF already: the static pins it (same table, static proto)
    change = parse_frr_config(f"! router A\nip route {e_loop}/32 E--A\n", twin, "pin.conf")
    verdict = _validate(lab, change)
    assert verdict.grade is Grade.SAFE, verdict.reasons
    report = apply_change(lab, change, verdict, timeout_s=20)
    assert report.verified
    routes = lab.vtysh("A", f"show ip route {e_loop}/32 json")
    assert any(r.get("protocol") == "static" and r.get("selected")
               for r in routes.get(f"{e_loop}/32", []))


def test_the_apply_command(converged: Lab, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nettwin.cli.app import app

    lab = converged
    runner = CliRunner()
    loop = tmp_path / "loop.conf"
    c_loop = lab.plan.node("C").loopback
    loop.write_text(f"! router A\nip route {c_loop}/32 A--B\n"
                    f"! router B\nip route {c_loop}/32 {lab.plan.link('A--B').addr_a}\n")
    r = runner.invoke(app, ["apply", str(loop), "--lab", str(lab.folder)])
    assert r.exit_code == 1 and "refused" in r.output
    cost = tmp_path / "cost.conf"
    ifname = lab.plan.link("D--E").ifname  # the lab's interface name works too
    cost.write_text(f"! router D\ninterface {ifname}\n ip ospf cost 30\n"
                    f"! router E\ninterface D--E\n ip ospf cost 30\n")
    out = tmp_path / "report.json"
    r = runner.invoke(app, ["apply", str(cost), "--lab", str(lab.folder), "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["verified"]
    from nettwin.lab.apply import _push, plan_commands

    for c in plan_commands(lab.plan, parse_frr_config(cost.read_text(), network_of(lab.plan),
                                                      "cost.conf", lab_prefix=PREFIX)):
        _push(lab, c.router, c.rollback)
    assert Lab.load(lab.folder).plan.link("D--E").cost_ab == 30  # recorded by the command
    lab.save()  # the state as the routers are again
    assert await_tables(lab, _current(lab), 30)[1] is not None


def test_measured_rates_verify_a_change_and_a_wrong_traffic_twin_is_rolled_back(
        converged: Lab) -> None:
    """Runs last: starts the lab's traffic generators and stops them (by their pid files)."""
    import dataclasses
    import signal
    import time

    lab = converged
    twin = network_of(lab.plan)
    lab.start_traffic()
    try:
        time.sleep(2.0)
        text = "".join(f"! router {r}\ninterface B--C\n ip ospf cost 40\n" for r in ("B", "C"))
        change = parse_frr_config(text, twin, "bc.conf")
        verdict = _validate(lab, change)
        assert verdict.grade is Grade.SAFE, verdict.reasons
        costs = [(lk.cost_ab, lk.cost_ba) for lk in lab.plan.links]
        report = apply_change(lab, change, verdict, timeout_s=30)
        assert report.verified, report
        assert report.rates is not None and report.rates.passed and report.rates.arcs >= 3
        _reset_costs(lab, costs)
        assert await_tables(lab, _current(lab), 30)[1] is not None
        # a twin that believes every demand is three times larger: same tables, other rates
        heavy = twin.with_demands(dataclasses.replace(
            twin.demands, rate_bps=twin.demands.rate_bps * 3))
        verdict = _validate(lab, change, heavy)
        assert verdict.grade is Grade.SAFE, verdict.reasons
        report = apply_change(lab, change, verdict, timeout_s=30, twin=heavy)
        assert report.converged_s is not None  # the tables matched ...
        assert report.rolled_back and not report.verified  # ... the rates did not
        assert report.rates is not None and report.rates.median_error > 0.5
        assert await_tables(lab, _current(lab), 30)[1] is not None
    finally:
        for pid in [p for p in lab.plan.pids if Path(p).name == "traffic.pid"]:
            path = Path(pid)
            if path.exists():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(int(path.read_text()), signal.SIGTERM)
                path.unlink()
