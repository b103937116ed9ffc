"""Apply a validated change to the FRR lab, verify it against the twin, roll back on mismatch.

Only a SAFE verdict is applied (``force`` overrides, and is audited as an override). The
change becomes vtysh commands per router (OSPF costs, interface shutdown, max-metric, static
routes through staticd, started where needed); each command has its inverse for the
rollback. After the push, the kernel forwarding tables of every router toward every other
router's loopback must equal the twin's prediction (two polls in a row) before ``timeout_s``,
and where the lab runs traffic the measured link rates must match the predicted loads
(median and worst relative error over the busy arcs); otherwise the inverse commands are
pushed and the difference is reported. Every step is
appended to ``apply-audit.jsonl`` in the lab folder.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nettwin.lab.forwarding import (
    Mismatch,
    NextHops,
    await_tables,
    diff_next_hops,
    network_of,
)
from nettwin.lab.frr import FRR_DIR, RUN_DIR, Lab, LabError, LabPlan, _run
from nettwin.model import Network
from nettwin.scenarios.changes import Direction, DrainNode, SetMetric
from nettwin.validate import ChangeSet, Grade, Prefix, Verdict
from nettwin.validate.addressing import AddressPlan, format_address
from nettwin.validate.changeset import AddStaticRoute, RemoveStaticRoute, SetLinkAdmin, StaticRoute
from nettwin.validate.forwarding import ForwardingState
from nettwin.validate.verdict import predict_forwarding

__all__ = ["ApplyRefusedError", "ApplyReport", "Mismatch", "NextHops", "RateCheck",
           "addresses_of", "apply_change", "await_tables", "network_of", "plan_commands",
           "predicted_next_hops"]


class ApplyRefusedError(LabError):
    """The change did not pass validation (or cannot be expressed as router configuration)."""


def addresses_of(plan: LabPlan) -> AddressPlan:
    """The lab's loopbacks and interface addresses, as the twin's address plan."""
    return AddressPlan(
        tuple((i, Prefix.parse(f"{n.loopback}/32")) for i, n in enumerate(plan.nodes)),
        {lk.id: (Prefix.parse(f"{lk.addr_a}/32").network, Prefix.parse(f"{lk.addr_b}/32").network)
         for lk in plan.links})


@dataclass(frozen=True)
class RouterCommands:
    router: str
    apply: tuple[str, ...]  # configuration lines, in order
    rollback: tuple[str, ...]


def _route_line(plan: LabPlan, route: StaticRoute) -> str:
    via = ("blackhole" if route.discard else plan.link(route.via_link).ifname
           if route.via_link is not None else format_address(route.via_address or 0))
    tail = f" {route.distance}" if route.distance != 1 else ""
    return f"ip route {route.prefix} {via}{tail}"


def plan_commands(plan: LabPlan, change: ChangeSet) -> list[RouterCommands]:
    """vtysh configuration (and its inverse) per router; refuses what is not configuration."""
    out: list[RouterCommands] = []
    for c in change.scenario.changes:
        if isinstance(c, SetMetric):
            lk = plan.link(c.link)
            ends = {Direction.AB: [(lk.a, lk.cost_ab)], Direction.BA: [(lk.b, lk.cost_ba)],
                    Direction.BOTH: [(lk.a, lk.cost_ab), (lk.b, lk.cost_ba)]}[c.direction]
            out += [RouterCommands(r, (f"interface {lk.ifname}", f"ip ospf cost {c.metric}",
                                       "exit"),
                                   (f"interface {lk.ifname}", f"ip ospf cost {old}", "exit"))
                    for r, old in ends]
        elif isinstance(c, DrainNode):
            out.append(RouterCommands(
                c.node, ("router ospf", "max-metric router-lsa administrative", "exit"),
                ("router ospf", "no max-metric router-lsa administrative", "exit")))
        else:
            raise ApplyRefusedError(f"the lab cannot apply {type(c).__name__} ({c}): it is not "
                               "router configuration (only costs, drains, shutdown and static "
                               "routes are)")
    for cc in change.config:
        if isinstance(cc, SetLinkAdmin):
            lk = plan.link(cc.link)
            on, off = "no shutdown", "shutdown"
            out.append(RouterCommands(cc.router, (f"interface {lk.ifname}", on if cc.up else off,
                                                  "exit"),
                                      (f"interface {lk.ifname}", off if cc.up else on, "exit")))
        elif isinstance(cc, AddStaticRoute):
            line = _route_line(plan, cc.route)
            out.append(RouterCommands(cc.route.router, (line,), (f"no {line}",)))
        elif isinstance(cc, RemoveStaticRoute):
            line = _route_line(plan, cc.route)
            out.append(RouterCommands(cc.route.router, (f"no {line}",), (line,)))
    return out


def predicted_next_hops(state: ForwardingState) -> NextHops:
    """(router, destination router) -> links the twin forwards on toward its loopback; a
    discard route is an empty set, no route no entry (as ``Lab.kernel_next_hops`` reads)."""
    c = state.compiled
    out: NextHops = {}
    for p, probe in enumerate(state.probes):
        if p != probe.owner:  # the first probes are the loopbacks, in node order
            continue
        for r in range(c.n_nodes):
            if r == probe.owner or (state.drop[p, r] and not state.static[p, r]):
                continue
            arcs = c.out_arc[c.out_ptr[r]:c.out_ptr[r + 1]]
            out[(c.node_ids[r], c.node_ids[probe.owner])] = {
                c.link_ids[a // 2] for a in arcs.tolist() if state.next_hop[p, a]}
    return out


def _ensure_staticd(lab: Lab, router: str) -> None:
    """FRR handles 'ip route' in staticd, which the lab does not start by default."""
    ns = lab.plan.node(router).ns
    d = RUN_DIR / ns
    pid = d / "staticd.pid"
    if pid.exists():
        try:
            os.kill(int(pid.read_text().strip()), 0)
            return
        except (ValueError, ProcessLookupError):
            pass
    conf = d / "staticd.conf"
    conf.write_text(f"hostname {router.replace(' ', '_')}\n", encoding="utf-8")
    shutil.chown(conf, "frr", "frr")
    _run("ip", "netns", "exec", ns, str(FRR_DIR / "staticd"), "-d", "-N", ns, "-f", str(conf),
         "-i", str(pid), "-z", str(d / "zserv.api"), "--vty_socket", str(d), "-u", "frr",
         "-g", "frr")
    lab.plan.pids.append(str(pid))
    lab.save()
    time.sleep(0.5)


def _push(lab: Lab, router: str, lines: tuple[str, ...]) -> None:
    ns = lab.plan.node(router).ns
    args = ["vtysh", "-N", ns, "-c", "configure terminal"]
    for line in lines:
        args += ["-c", line]
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    # vtysh warns about its own missing vtysh.conf in every namespace: not an error
    said = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines()
                     if line.strip() and "vtysh.conf" not in line)
    if proc.returncode != 0 or "%" in said:
        raise LabError(f"{router}: vtysh refused {list(lines)}: {said or proc.returncode}")


@dataclass(frozen=True)
class RateCheck:
    """Measured link rates (counters, scaled to nominal) against the twin's loads, on the
    arcs carrying at least ``min_share`` of the busiest predicted load."""

    arcs: int
    median_error: float  # relative
    max_error: float
    worst_arc: str
    passed: bool


@dataclass(frozen=True)
class ApplyReport:
    change: str
    verdict: str
    applied: bool
    verified: bool
    rolled_back: bool
    commands: tuple[RouterCommands, ...]
    mismatches: tuple[Mismatch, ...]
    converged_s: float | None  # push to kernel = prediction
    audit: str
    notes: tuple[str, ...] = field(default=())
    rates: RateCheck | None = None  # None: no traffic running in the lab


def traffic_running(lab: Lab) -> bool:
    return any(Path(p).name == "traffic.pid" and Path(p).exists() for p in lab.plan.pids)


def measure_rates_bps(lab: Lab, window_s: float) -> dict[tuple[str, str], float]:
    """(router, link) -> transmitted bit/s at nominal scale over ``window_s``."""
    first = {(r["device"], r["interface"]): (r["time"], r["out_octets"])
             for r in lab.counters()}
    time.sleep(window_s)
    out = {}
    for r in lab.counters():
        key = (r["device"], r["interface"])
        if key in first:
            t0, o0 = first[key]
            out[key] = 8 * (r["out_octets"] - o0) / max(r["time"] - t0, 1e-9)
    return out


def check_rates(lab: Lab, twin: Network, change: ChangeSet, *, window_s: float = 4.0,
                min_share: float = 0.2, median_tolerance: float = 0.1,
                max_tolerance: float = 0.35) -> RateCheck:
    """Measured rates against the twin's predicted loads after ``change``."""
    from nettwin.engine import simulate
    from nettwin.validate.verdict import applied_state

    applied = applied_state(twin, change)
    c = applied.compiled
    load = simulate(c, arc_up=applied.arc_up, demand_rate_bps=applied.demand_rate_bps
                    ).arc_load_bps
    measured = measure_rates_bps(lab, window_s)
    big = [a for a in range(c.n_arcs) if applied.arc_up[a] and load[a] >= min_share * load.max()]
    errors = []
    for a in big:
        key = (c.node_ids[c.arc_src[a]], c.link_ids[a // 2])
        errors.append(abs(measured.get(key, 0.0) - load[a]) / load[a])
    if not errors:
        return RateCheck(0, 0.0, 0.0, "-", True)
    worst = int(max(range(len(errors)), key=errors.__getitem__))
    median = float(sorted(errors)[len(errors) // 2])
    return RateCheck(len(errors), median, float(errors[worst]), c.arc_label(big[worst]),
                     median <= median_tolerance and errors[worst] <= max_tolerance)


class _Audit:
    def __init__(self, path: Path, change: str) -> None:
        self.path, self.change = path, change

    def __call__(self, step: str, **detail: Any) -> None:
        record = {"time": time.time(), "user": getpass.getuser(), "change": self.change,
                  "step": step} | detail
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str) + "\n")


def apply_change(lab: Lab, change: ChangeSet, verdict: Verdict, *, force: bool = False,
                 timeout_s: float = 30.0, twin: Network | None = None,
                 running_routes: tuple[StaticRoute, ...] = (),
                 check_traffic: bool = True) -> ApplyReport:
    """Push ``change`` (validated as ``verdict``) to the lab, verify, roll back on mismatch.

    Verified means: every kernel table equals the twin's prediction and, where the lab runs
    traffic (and ``check_traffic``), measured link rates match the predicted loads.
    ``twin`` is the network the prediction is made on (default: the lab's own); a twin that
    is wrong about the network shows up as a mismatch and a rollback."""
    audit = _Audit(lab.folder / "apply-audit.jsonl", change.name)
    if verdict.grade is not Grade.SAFE and not force:
        audit("refused", verdict=verdict.grade.value, reasons=list(verdict.reasons))
        raise ApplyRefusedError(f"{verdict.summary} — not applied (a SAFE verdict is needed; "
                           "--force overrides, and is audited)")
    if verdict.grade is not Grade.SAFE:
        audit("override", verdict=verdict.grade.value, reasons=list(verdict.reasons))
    commands = plan_commands(lab.plan, change)
    twin = twin or network_of(lab.plan)
    addresses = addresses_of(lab.plan)
    before, after = predict_forwarding(twin, change, running_routes=running_routes,
                                       addresses=addresses)
    expected_before, expected_after = predicted_next_hops(before), predicted_next_hops(after)
    audit("validated", verdict=verdict.grade.value, commands=[vars(c) for c in commands])
    for c in commands:
        if any(line.startswith(("ip route", "no ip route")) for line in c.apply):
            _ensure_staticd(lab, c.router)
    done: list[RouterCommands] = []
    try:
        for c in commands:
            _push(lab, c.router, c.apply)
            done.append(c)
            audit("pushed", router=c.router, lines=list(c.apply))
    except LabError as exc:
        audit("push failed", error=str(exc))
        _roll_back(lab, done, audit)
        raise
    kernel, took = await_tables(lab, expected_after, timeout_s)
    rates = None
    if took is not None:
        audit("tables verified", converged_s=took)
        if not (check_traffic and traffic_running(lab)):
            _record(lab, change)
            return ApplyReport(change.name, verdict.grade.value, True, True, False,
                               tuple(commands), (), took, str(audit.path))
        rates = check_rates(lab, twin, change)
        audit("rates checked", **vars(rates))
        if rates.passed:
            _record(lab, change)
            return ApplyReport(change.name, verdict.grade.value, True, True, False,
                               tuple(commands), (), took, str(audit.path), rates=rates)
        mismatches: tuple[Mismatch, ...] = ()
    else:
        mismatches = diff_next_hops(expected_after, kernel)
        audit("mismatch", count=len(mismatches), examples=[vars(m) for m in mismatches[:20]])
    _roll_back(lab, done, audit)
    restored, back = await_tables(lab, expected_before, timeout_s)
    audit("rolled back", restored=back is not None,
          still_different=len(diff_next_hops(expected_before, restored)))
    notes: tuple[str, ...] = () if back is not None else (
        f"after the rollback {len(diff_next_hops(expected_before, restored))} entries still "
        "differ "
        "from the twin's tables before the change",)
    if rates is not None:
        notes += (f"measured rates off the prediction: median {100 * rates.median_error:.0f} %"
                  f", worst {100 * rates.max_error:.0f} % on {rates.worst_arc}",)
    return ApplyReport(change.name, verdict.grade.value, True, False, True, tuple(commands),
                       mismatches, took, str(audit.path), notes, rates)


def _record(lab: Lab, change: ChangeSet) -> None:
    """A verified change is what the routers run now: the lab state's costs follow it (so
    ``nettwin lab nexthops`` and later changes compare against them)."""
    for c in change.scenario.changes:
        if isinstance(c, SetMetric):
            lk = lab.plan.link(c.link)
            if c.direction in (Direction.AB, Direction.BOTH):
                lk.cost_ab = c.metric
            if c.direction in (Direction.BA, Direction.BOTH):
                lk.cost_ba = c.metric
    lab.save()


def _roll_back(lab: Lab, done: list[RouterCommands], audit: _Audit) -> None:
    for c in reversed(done):
        _push(lab, c.router, c.rollback)
        audit("rollback pushed", router=c.router, lines=list(c.rollback))
