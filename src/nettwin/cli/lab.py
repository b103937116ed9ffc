"""``nettwin lab ...``: a real network to mirror, FRR routers running OSPF in Linux network
namespaces (root)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from nettwin.cli.common import (
    CapacityOpt,
    FileArg,
    FormatOpt,
    JsonOpt,
    MetricOpt,
    MetricsFileOpt,
    alert,
    emit_json,
    err,
    fail,
    json_to_stdout,
    load,
    out,
    step,
)
from nettwin.errors import NettwinError
from nettwin.io import MetricPolicy
from nettwin.paths import data_dir

lab_app = typer.Typer(help="A real network to mirror: FRR routers running OSPF in Linux "
                           "network namespaces (root).", no_args_is_help=True)

LabDirOpt = Annotated[Path | None, typer.Option(
    "--dir", help="Lab state folder (default: NETTWIN_DATA_DIR/lab).")]


def _lab_dir(folder: Path | None) -> Path:
    return folder or data_dir() / "lab"


WaitOpt = Annotated[float, typer.Option(
    "--wait", min=0.0, help="Seconds to wait for every kernel to forward as the twin "
                            "predicts (0: do not wait).")]


@lab_app.command("up")
def lab_up(
    file: FileArg = None,
    fmt: FormatOpt = None,
    folder: LabDirOpt = None,
    prefix: Annotated[str, typer.Option("--prefix", help="Namespace name prefix.")] = "ntl",
    scale: Annotated[float, typer.Option(
        "--scale", min=1e-9, max=1.0, help="Lab rates = nominal x scale.")] = 1e-4,
    export: Annotated[str | None, typer.Option(
        "--export", help="Also export counters every second to file:PATH, "
                         "nats://HOST:PORT/SUBJECT or mqtt://HOST:PORT/TOPIC.")] = None,
    traffic: Annotated[bool, typer.Option("--traffic/--no-traffic")] = True,
    wait: WaitOpt = 60.0,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
) -> None:
    """Build the topology as FRR routers (OSPF, costs = IGP metrics) with traffic
    generators following its demands; wait until every kernel forwards as the twin
    predicts (else say what differs)."""
    from nettwin.lab.forwarding import await_forwarding
    from nettwin.lab.frr import Lab, plan_lab

    try:
        network = load(file, fmt, None, default_capacity, metric_policy, metrics=metrics_file)
        lab = Lab(plan_lab(network, prefix, scale), _lab_dir(folder))
        started = time.monotonic()
        lab.up(traffic=traffic)
        check = None
        if wait > 0:
            with step(f"waiting for the kernels to forward as the twin predicts (at most "
                      f"{wait:g} s)"):
                check = await_forwarding(lab, wait)
        if export:
            pidfile = lab.folder / "exporter.pid"
            proc = subprocess.Popen([sys.executable, "-m", "nettwin.lab.exporter", "--lab",
                                     str(lab.folder), "--to", export],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            pidfile.write_text(str(proc.pid))
            lab.plan.pids.append(str(pidfile))
            lab.save()
    except NettwinError as exc:
        raise fail(exc) from None
    load_text = (f"{len(lab.plan.demands)} demands at x{scale:g}" if traffic
                 else "no traffic")
    out.print(f"lab up in {time.monotonic() - started:.1f} s: {len(lab.plan.nodes)} routers, "
              f"{len(lab.plan.links)} links (shaping: {lab.plan.shaping}), {load_text}; "
              f"state in {lab.folder}")
    if check is not None:
        _print_check(check, wait)


def _print_check(check: Any, wait: float) -> None:
    if check.matched:
        out.print(f"forwarding matches the twin on all {check.entries} router/destination "
                  f"pairs ({check.matched_s:.1f} s)")
        return
    alert.print(f"[yellow]after {wait:g} s, {len(check.mismatches)} of {check.entries} "
                "router/destination pairs still differ from the twin:[/]")
    for m in check.mismatches[:15]:
        alert.print(f"  {m.router} -> {m.destination}: twin {_hops(m.predicted)}, kernel "
                    f"{_hops(m.kernel)}")
    if len(check.mismatches) > 15:
        alert.print(f"  ... {len(check.mismatches) - 15} more (nettwin lab nexthops)")


def _hops(hops: tuple[str, ...] | None) -> str:
    return "no route" if hops is None else ", ".join(hops) or "discard"


def _lab(folder: Path | None) -> Any:
    from nettwin.lab.frr import Lab

    try:
        return Lab.load(_lab_dir(folder))
    except NettwinError as exc:
        raise fail(exc) from None


LinksArg = Annotated[list[str] | None, typer.Argument(help="Link ids (several: at once).")]
NodesOpt = Annotated[list[str] | None, typer.Option(
    "--node", "-n", help="A router (repeatable): all its interfaces at once.")]


def _set_state(links: list[str] | None, nodes: list[str] | None, folder: Path | None,
               up: bool, wait: float) -> None:
    if not links and not nodes:
        raise typer.BadParameter("name at least one link (or --node ROUTER)",
                                 param_hint="LINKS")
    for kind, names, hint in (("link", links, "LINKS"), ("router", nodes, "--node")):
        repeated = sorted({n for n in names or [] if (names or []).count(n) > 1})
        if repeated:  # as every failure list the twin takes (scenarios.repeated_failures)
            raise typer.BadParameter(
                f"{kind} {', '.join(repeated)} named twice: name each {kind} once",
                param_hint=hint)
    lab = _lab(folder)
    try:
        for n in nodes or []:
            lab.plan.node(n)  # every name checked before anything changes
        started = time.monotonic()
        if links:
            (lab.restore if up else lab.fail)(*links)
        for n in nodes or []:
            (lab.restore_node if up else lab.fail_node)(n)
        what = [*(links or []), *(f"router {n}" for n in nodes or [])]
        out.print(f"{', '.join(what)} {'up' if up else 'down'}")
        if wait > 0:
            from nettwin.lab.forwarding import await_forwarding

            waited_from = time.monotonic()
            check = await_forwarding(lab, wait)
            if check.matched:
                took = waited_from - started + (check.matched_s or 0.0)
                out.print(f"forwarding matches the twin on all {check.entries} router/"
                          f"destination pairs, {took:.1f} s after the change began")
            else:
                _print_check(check, wait)
    except NettwinError as exc:
        raise fail(exc) from None


FaultWaitOpt = Annotated[float, typer.Option(
    "--wait", min=0.0, help="Seconds to wait for the kernels to forward as the twin "
                            "predicts after the change (0: return at once).")]


@lab_app.command("fail")
def lab_fail(links: LinksArg = None, node: NodesOpt = None, folder: LabDirOpt = None,
             wait: FaultWaitOpt = 0.0) -> None:
    """Cut links (both ends down) or fail routers (every interface down), all at once."""
    _set_state(links, node, folder, up=False, wait=wait)


@lab_app.command("restore")
def lab_restore(links: LinksArg = None, node: NodesOpt = None, folder: LabDirOpt = None,
                wait: FaultWaitOpt = 0.0) -> None:
    """Bring cut links or failed routers back."""
    _set_state(links, node, folder, up=True, wait=wait)


@lab_app.command("shape")
def lab_shape(
    link: Annotated[str, typer.Argument(help="Link id.")],
    factor: Annotated[float, typer.Option(
        "--factor", min=0.0, max=1.0, help="Share of the capacity left (1 restores it).")],
    folder: LabDirOpt = None,
) -> None:
    """Shape a link's data rate down to a share of its capacity: the silent fault (a lost
    LAG member), no event, only the counters show it."""
    lab = _lab(folder)
    try:
        lab.shape(link, factor)
    except NettwinError as exc:
        raise fail(exc) from None
    out.print(f"{link}: data rate at {100 * factor:g} % of its capacity")


@lab_app.command("nexthops")
def lab_nexthops(
    folder: LabDirOpt = None,
    router: Annotated[str | None, typer.Option("--router", help="Only this router.")] = None,
    show_all: Annotated[bool, typer.Option(
        "--all", help="List the matching pairs too, not only the differences.")] = False,
    json_out: JsonOpt = None,
) -> None:
    """Next hops per router and destination: the twin's (OSPF on the lab's costs, failed
    links and routers out) beside the kernel's, compared; exit 1 when any differs."""
    from rich.table import Table

    from nettwin.lab.forwarding import diff_next_hops, expected_next_hops

    json_to_stdout(json_out)
    lab = _lab(folder)
    try:
        if router is not None:
            lab.plan.node(router)
        twin = expected_next_hops(lab.plan)
        kernel = lab.kernel_next_hops()
    except NettwinError as exc:
        raise fail(exc) from None
    if router is not None:
        twin = {k: v for k, v in twin.items() if k[0] == router}
        kernel = {k: v for k, v in kernel.items() if k[0] == router}
    differ = {(m.router, m.destination) for m in diff_next_hops(twin, kernel)}
    rows: list[dict[str, Any]] = [
        {"router": r, "destination": t,
         "twin": sorted(twin[(r, t)]) if (r, t) in twin else None,
         "kernel": sorted(kernel[(r, t)]) if (r, t) in kernel else None,
         "match": (r, t) not in differ}
        for r, t in sorted(set(twin) | set(kernel))]
    table = Table(title=f"Next hops: twin vs kernel ({len(rows) - len(differ)} of "
                        f"{len(rows)} pairs match)")
    for col in ("router", "destination", "twin", "kernel", ""):
        table.add_column(col)
    for row in rows:
        if show_all or not row["match"]:
            table.add_row(row["router"], row["destination"],
                          _hops(None if row["twin"] is None else tuple(row["twin"])),
                          _hops(None if row["kernel"] is None else tuple(row["kernel"])),
                          "ok" if row["match"] else "[red]differs[/]")
    out.print(table)
    emit_json(json_out, {"pairs": len(rows), "differ": len(differ), "next_hops": rows})
    if differ:
        raise typer.Exit(1)


@lab_app.command("learn")
def lab_learn(folder: LabDirOpt = None,
              output: Annotated[Path | None, typer.Option(
                  "--out", help="Write the learned topology (native YAML/JSON).")] = None
              ) -> None:
    """The topology as the routers advertise it (OSPF link-state database)."""
    from nettwin.io import save_network

    net = _lab(folder).learn_network()
    out.print(f"learned {len(net.nodes)} routers, {len(net.links)} links from OSPF")
    for lk in net.links.values():
        out.print(f"  {lk.id}: cost {lk.metric_ab}/{lk.metric_ba}")
    if output:
        save_network(net, output)
        err.print(f"wrote {output}")


@lab_app.command("down")
def lab_down(folder: LabDirOpt = None) -> None:
    """Stop everything the lab started and delete its namespaces."""
    removed = _lab(folder).down()
    out.print(f"removed {len(removed)} things" + "".join(f"\n  {r}" for r in removed[:40]))
