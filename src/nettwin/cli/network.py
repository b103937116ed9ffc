"""Network commands: info, simulate, convert, schema, example."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from nettwin.cli.common import (
    EXIT_SLA_VIOLATED,
    ArrivalsOpt,
    BufferOpt,
    CapacityOpt,
    FileArg,
    FormatOpt,
    JsonOpt,
    MetricOpt,
    MetricsFileOpt,
    ModelOpt,
    PacketBytesOpt,
    PacketScvOpt,
    TrafficOpt,
    alert,
    emit_json,
    err,
    fail,
    json_to_stdout,
    load,
    out,
    print_notes,
    simulation_options,
    step,
)
from nettwin.engine.options import ArrivalModel, QueueModel
from nettwin.errors import NettwinError
from nettwin.examples import example_path
from nettwin.io import MetricPolicy, NetworkFormat
from nettwin.io import save_network as write_network
from nettwin.model.schema import export_json_schema, render_markdown

commands = typer.Typer()


@commands.command()
def info(
    file: FileArg = None,
    fmt: FormatOpt = None,
    traffic: TrafficOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
    json_out: JsonOpt = None,
) -> None:
    """Load a network, validate it and summarise it (with every default the import applied)."""
    try:
        network = load(file, fmt, traffic, default_capacity, metric_policy, metrics=metrics_file)
    except NettwinError as exc:
        raise fail(exc) from None
    emit_json(json_out, network.summary() | {"notes": [str(n) for n in network.notes]})
    if json_to_stdout(json_out):
        return
    from nettwin.cli.render import summary_table

    out.print(summary_table(network))
    print_notes(network, limit=50)


@commands.command("simulate")
def simulate_cmd(
    file: FileArg = None,
    fmt: FormatOpt = None,
    traffic: TrafficOpt = None,
    scale: Annotated[float, typer.Option(
        "--scale", min=0.0, help="Multiply every demand by this factor.")] = 1.0,
    model: ModelOpt = QueueModel.MM1,
    arrivals: ArrivalsOpt = ArrivalModel.BURSTY,
    packet_bytes: PacketBytesOpt = None,
    packet_scv: PacketScvOpt = None,
    buffer_packets: BufferOpt = 1000,
    json_out: JsonOpt = None,
    csv_out: Annotated[Path | None, typer.Option(
        "--csv", help="Write per-arc results as CSV here, per-demand next to it "
                      "(-demands.csv).")] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Arcs shown in the table.")] = 10,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
    skip_invalid_traffic: Annotated[bool, typer.Option(
        "--skip-invalid-traffic", help="Set bad traffic records aside instead of failing.")] =
        False,
    fail_on_violation: Annotated[bool, typer.Option(
        "--fail-on-violation", help="Exit with code 1 if any service violates its SLA.")] = False,
) -> None:
    """Route the traffic (IGP shortest paths, ECMP), load the links, and report delay, loss
    and SLAs."""
    from nettwin.cli.render import arc_table, kpi_table, service_table, summary_table
    from nettwin.engine import compile_network, simulate
    from nettwin.report import demand_records, result_document, write_csv

    try:
        network = load(file, fmt, traffic, default_capacity, metric_policy,
                        skip_invalid_traffic, metrics=metrics_file)
        options = simulation_options(model, packet_bytes, packet_scv,
                                     buffer_packets, arrivals)
        t0 = time.perf_counter()
        with step("compiling the network into arrays"):
            compiled = compile_network(network)
        t1 = time.perf_counter()
        with step("routing and queueing (the first run compiles the kernels, ~10 s)"):
            rates = compiled.demand_rate_bps * scale
            result = simulate(compiled, options, demand_rate_bps=rates)
        t2 = time.perf_counter()
    except NettwinError as exc:
        raise fail(exc) from None
    if not json_to_stdout(json_out):
        out.print(summary_table(network))
        out.print(kpi_table(result))
        if top:
            out.print(arc_table(compiled, result, top))
        if network.services:
            out.print(service_table(network, result))
    print_notes(network)
    err.print(f"[dim]compile {1e3 * (t1 - t0):.1f} ms, simulate {1e3 * (t2 - t1):.1f} ms "
              f"(scale x{scale:g})[/]")
    emit_json(json_out, result_document(network, compiled, result))
    if csv_out is not None:
        from nettwin.report import arc_records

        write_csv(arc_records(compiled, result), csv_out)
        demands_csv = csv_out.with_name(csv_out.stem + "-demands.csv")
        write_csv(demand_records(network, result), demands_csv)
        err.print(f"wrote {csv_out} and {demands_csv}")
    if fail_on_violation and result.services.violated.any():
        raise typer.Exit(EXIT_SLA_VIOLATED)


@commands.command()
def convert(
    source: Annotated[Path, typer.Argument(help="Network file to read (any supported format).")],
    target: Annotated[Path, typer.Argument(
        help="File to write: .yaml/.yml/.json (native) or with --to rfc8345.")],
    fmt: FormatOpt = None,
    to: Annotated[NetworkFormat | None, typer.Option(
        "--to", help="Output format: native or rfc8345 (default: native by suffix).")] = None,
    traffic: TrafficOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
    json_out: JsonOpt = None,
) -> None:
    """Convert a network between formats (e.g. Topology Zoo GraphML to native YAML)."""
    try:
        network = load(source, fmt, traffic, default_capacity, metric_policy, metrics=metrics_file)
        write_network(network, target, to)
    except NettwinError as exc:
        raise fail(exc) from None
    print_notes(network)
    err.print(f"wrote {target}")
    emit_json(json_out, {"source": str(source), "target": str(target)} | network.summary()
              | {"notes": [str(n) for n in network.notes]})


@commands.command()
def schema(
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="Print the field reference as Markdown instead.")] = False,
) -> None:
    """Print the JSON Schema of the native network format."""
    if markdown:
        print(render_markdown())
    else:
        print(json.dumps(export_json_schema(), indent=1))


@commands.command()
def example(
    name: Annotated[str, typer.Argument(
        help="abilene (IP core), munich-backhaul (microwave), munich-storm (its storm)")]
        = "abilene",
) -> None:
    """Print the path of a bundled example file."""
    path = example_path(name)
    if not path.exists():
        alert.print(f"no example {name!r}: use abilene, munich-backhaul or munich-storm")
        raise typer.Exit(2)
    print(path)
