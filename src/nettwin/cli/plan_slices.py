"""``nettwin optimize slices``: slice admission and the QoS policy that carries the admitted
slices, checked by the per-class engine (``nettwin.optimize.slices``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from nettwin.cli.common import (
    EXIT_SLA_VIOLATED,
    CapacityOpt,
    FileArg,
    FormatOpt,
    JsonOpt,
    MetricOpt,
    MetricsFileOpt,
    TrafficOpt,
    err,
    fail,
    json_to_stdout,
    load,
    out,
    print_notes,
    progress_bar,
    write_json_file,
)
from nettwin.cli.render import si
from nettwin.errors import NettwinError
from nettwin.io import MetricPolicy
from nettwin.optimize.objective import Survive

SlicesOpt = Annotated[Path | None, typer.Option(
    "--slices", help="Slices file (YAML/JSON, 'slices:' list in the native slice fields); "
                     "default: the network's own slices (the bundled Abilene: "
                     "abilene-slices.yaml).")]


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{1e3 * seconds:.2f} ms"


def slices_cmd(
    file: FileArg = None,
    fmt: FormatOpt = None,
    traffic: TrafficOpt = None,
    slices_file: SlicesOpt = None,
    survive: Annotated[Survive, typer.Option(
        "--survive", help="n-1: admitted slices keep their SLA under every single link "
                          "failure.")] = Survive.NONE,
    json_out: JsonOpt = None,
    qos_out: Annotated[Path | None, typer.Option(
        "--qos-out", help="Write the QoS policy (YAML) that 'qos-simulate --policy' reads.")]
        = None,
    paths_out: Annotated[Path | None, typer.Option(
        "--paths-out", help="Write the explicit paths of min-delay and widest-path slices "
                            "(YAML, 'qos-simulate --paths').")] = None,
    network_out: Annotated[Path | None, typer.Option(
        "--network-out", help="Write the network with the slices' demands in their classes "
                              "at the rates checked (native YAML/JSON).")] = None,
    fail_on_reject: Annotated[bool, typer.Option(
        "--fail-on-reject", help="Exit 1 when a slice is not admitted.")] = False,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
) -> None:
    """Slice admission: which slices fit with their SLA (normally and, with --survive n-1,
    under every single link failure), the per-class QoS policy that carries them, each
    verdict checked by the per-class engine, and a x3 surge isolation test."""
    json_to_stdout(json_out)
    from nettwin.examples import example_path
    from nettwin.io import NetworkFormat, save_network
    from nettwin.io.slice_files import load_slices
    from nettwin.optimize.slices import plan_slices

    how = survive
    for p in (qos_out, paths_out, network_out):
        if p is not None and not p.resolve().parent.is_dir():
            raise typer.BadParameter(f"{p}: the folder {p.resolve().parent} does not exist; "
                                     "create it or pick another path")
    if network_out is not None and network_out.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise typer.BadParameter(f"{network_out}: use a .yaml, .yml or .json name",
                                 param_hint="--network-out")
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        network = load(file, fmt, traffic, default_capacity, metric_policy, metrics=metrics_file)
        if slices_file is None and not network.slices and file is None:
            slices_file = example_path("abilene-slices")
        if slices_file is not None:
            network = load_slices(slices_file, network)
        if not network.slices:
            raise typer.BadParameter(f"{network.name} has no slices: give --slices FILE",
                                     param_hint="--slices")
        with progress_bar("admitting slices") as advance:
            plan = plan_slices(network, survive=how,
                               progress=lambda f: advance(int(1000 * f), 1000))
    except NettwinError as exc:
        raise fail(exc) from None
    table = Table(title=f"{network.name}: slices ({'n-1' if how is Survive.N1 else 'no'} "
                        f"failure survival, {len(plan.states) - 1} failures swept)")
    for col in ("slice", "verdict", "steering", "guaranteed", "delay", "worst failure delay",
                "loss", "availability", "isolated"):
        table.add_column(col, justify="left" if col in ("slice", "verdict") else "right")
    for v in plan.verdicts:
        verdict = ("[green]admitted[/]" if v.admitted else
                   "[red]never[/]" if v.never_admissible else "[yellow]rejected[/]")
        table.add_row(v.slice, verdict, v.steering.value if v.admitted else "—",
                      si(v.guaranteed_rate_bps, "bit/s"),
                      _ms(v.normal.worst_delay_s if v.normal else None),
                      _ms(v.worst_failure_check.worst_delay_s if v.worst_failure_check
                          else None),
                      f"{v.normal.max_loss:.1e}" if v.normal else "—",
                      f"{v.availability:.6f}" if v.availability is not None else "—",
                      {True: "yes", False: "no", None: "—"}[v.isolated])
    out.print(table)
    for v in plan.verdicts:
        if v.reason:
            out.print(f"[bold]{escape(v.slice)}[/]: {escape(v.reason)}")
        elif v.worst_failure:
            out.print(f"[bold]{escape(v.slice)}[/]: worst failure {escape(v.worst_failure)}"
                      + (f"; broken by a x3 surge of {', '.join(v.broken_by_surge_of)}"
                         if v.broken_by_surge_of else ""))
    print_notes(network)
    if json_out is not None:
        write_json_file(json_out, plan.to_document())
    outputs = [(qos_out, plan.policy_document()), (paths_out, plan.paths_document())]
    for path, doc in outputs:
        if path is not None:
            path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
            err.print(f"wrote {path}")
    if network_out is not None:
        save_network(plan.marked_network(), network_out, NetworkFormat.NATIVE)
        err.print(f"wrote {network_out}")
    err.print(f"[dim]{len(plan.admitted)}/{len(plan.verdicts)} admitted; {plan.evaluations} "
              f"engine runs in {time.perf_counter() - t0:.1f} s "
              f"(CPU {time.process_time() - c0:.1f} s)[/]")
    if fail_on_reject and len(plan.admitted) < len(plan.verdicts):
        raise typer.Exit(EXIT_SLA_VIOLATED)
