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
    MetricOpt,
    err,
    fail,
    load,
    out,
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
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
) -> None:
    """Build the topology as FRR routers (OSPF, costs = IGP metrics) with traffic
    generators following its demands; wait until every adjacency is up."""
    from nettwin.lab.frr import Lab, plan_lab

    try:
        network = load(file, fmt, None, default_capacity, metric_policy)
        lab = Lab(plan_lab(network, prefix, scale), _lab_dir(folder))
        started = time.monotonic()
        lab.up(traffic=traffic)
        with err.status("waiting for OSPF adjacencies"):
            deadline = time.monotonic() + 60
            while not lab.ospf_converged():
                if time.monotonic() > deadline:
                    err.print("[yellow]OSPF not fully converged after 60 s[/]")
                    break
                time.sleep(0.5)
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
    out.print(f"lab up in {time.monotonic() - started:.1f} s: {len(lab.plan.nodes)} routers, "
              f"{len(lab.plan.links)} links (shaping: {lab.plan.shaping}), "
              f"{len(lab.plan.demands)} demands at x{scale:g}; state in {lab.folder}")


def _lab(folder: Path | None) -> Any:
    from nettwin.lab.frr import Lab

    try:
        return Lab.load(_lab_dir(folder))
    except NettwinError as exc:
        raise fail(exc) from None


LinkArg = Annotated[str, typer.Argument(help="Link id.")]


def _set_link(link: str, folder: Path | None, up: bool) -> None:
    try:
        lab = _lab(folder)
        if up:
            lab.restore(link)
        else:
            lab.fail(link)
    except NettwinError as exc:
        raise fail(exc) from None
    out.print(f"{link} {'up' if up else 'down'}")


@lab_app.command("fail")
def lab_fail(link: LinkArg, folder: LabDirOpt = None) -> None:
    """Cut a link (both ends down)."""
    _set_link(link, folder, up=False)


@lab_app.command("restore")
def lab_restore(link: LinkArg, folder: LabDirOpt = None) -> None:
    """Bring a cut link back."""
    _set_link(link, folder, up=True)


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
