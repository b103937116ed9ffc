"""``nettwin optimize weights|paths``: traffic engineering, beside the optimal bound."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from nettwin.cli.common import (
    EXIT_BAD_INPUT,
    ArrivalsOpt,
    BufferOpt,
    CapacityOpt,
    FileArg,
    FormatOpt,
    MetricOpt,
    MetricsFileOpt,
    ModelOpt,
    PacketBytesOpt,
    PacketScvOpt,
    ProgressBar,
    TrafficOpt,
    err,
    fail,
    load,
    out,
    print_notes,
    progress_bar,
    simulation_options,
)
from nettwin.cli.plan_capacity import capacity_cmd
from nettwin.cli.render import pct
from nettwin.engine import QueueModel
from nettwin.engine.options import ArrivalModel
from nettwin.errors import NettwinError
from nettwin.io import MetricPolicy, NetworkFormat, save_network
from nettwin.optimize import Objective, Survive, apply_metrics, optimize_paths, optimize_weights
from nettwin.report.tables import json_safe

optimize_app = typer.Typer(help="Traffic engineering and planning: IGP metrics, SR waypoints, "
                                "capacity, energy (sleeping links) and slice admission.",
                           no_args_is_help=True)

JsonOpt = Annotated[Path | None, typer.Option(
    "--json", metavar="PATH|-", show_default=False,
    help="Write the result (out.json keys: mlu, mlu_before, mlu_lower_bound, ratio, weights, "
         "changed_links, steps, ...); '-' prints it to stdout.")]
TimeOpt = Annotated[float, typer.Option(
    "--time-limit", help="Seconds to search (at least 1; the bound is solved after it); "
                     "Ctrl-C returns the best so far.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the search (deterministic with "
                                                     "--iterations).")]
MaxMetricOpt = Annotated[int, typer.Option(
    "--max-metric", help="Largest metric the search may set (65535 OSPF, 16777215 IS-IS).")]
SymmetricOpt = Annotated[bool, typer.Option(
    "--symmetric", help="Give both directions of a link the same metric.")]
ThreadsOpt = Annotated[int | None, typer.Option(
    "--threads", min=1, help="Kernel threads (default: 1 on small networks, else all).")]


def _check_outputs(*paths: Path | None, network_out: Path | None = None) -> None:
    """Refuse before searching, not after: every output's folder must exist."""
    if network_out is not None and network_out.suffix.lower() not in (".yaml", ".yml", ".json"):
        err.print(f"[bold red]invalid input:[/] --apply-to {network_out}: the network is "
                  "written in the native format. Fix: use a .yaml, .yml or .json name.")
        raise typer.Exit(EXIT_BAD_INPUT)
    for p in (*paths, network_out):
        if p is not None and str(p) != "-" and not p.resolve().parent.is_dir():
            err.print(f"[bold red]invalid input:[/] cannot write {p}: the folder "
                      f"{p.resolve().parent} does not exist. Fix: create it or pick another path.")
            raise typer.Exit(EXIT_BAD_INPUT)


def _write_atomic(path: Path, text: str) -> None:
    """All or nothing: a temporary file in the same folder, renamed over the target."""
    fd, tmp = tempfile.mkstemp(dir=path.resolve().parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _network_text(network: Any, metric: Any, target: Path) -> str:
    """The network with ``metric``, as the native file ``target`` will hold (staged in a
    temporary folder, so a failure leaves nothing behind)."""
    if target.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise typer.BadParameter(f"{target}: the network is written in the native format; "
                                 "use a .yaml, .yml or .json name", param_hint="--apply-to")
    with tempfile.TemporaryDirectory(dir=target.resolve().parent) as tmp:
        staged = Path(tmp) / target.name
        save_network(apply_metrics(network, metric), staged, NetworkFormat.NATIVE)
        return staged.read_text(encoding="utf-8")


def _emit(doc: dict[str, Any], json_out: Path | None) -> None:
    if json_out is None:
        return
    text = json.dumps(json_safe(doc), indent=1, allow_nan=False)
    if str(json_out) == "-":
        print(text)
    else:
        _write_atomic(json_out, text + "\n")
        err.print(f"wrote {json_out}")


def _search_progress(bar: ProgressBar) -> Callable[[float, float], None]:
    """The search's report (share of its time or iterations, best so far) on ``bar``."""
    return lambda fraction, best: bar.share(fraction, f"searching, best {best:.4g} "
                                                      "(Ctrl-C stops)")


def _summary(doc: dict[str, Any], title: str) -> Table:
    t = Table(title=title)
    t.add_column("")
    t.add_column("value", justify="right")
    rows: list[tuple[str, str]] = [
        ("max utilisation before", pct(doc["mlu_before"])),
        ("max utilisation after", pct(doc["mlu"])),
        (f"lower bound ({doc['lower_bound_method']})", pct(doc["mlu_lower_bound"])),
        ("ratio to the bound", f"{doc['ratio']:.4f}"),
    ]
    if "worst_mlu" in doc:
        rows += [("worst single failure before", pct(doc["worst_mlu_before"])),
                 ("worst single failure after", pct(doc["worst_mlu"])),
                 ("worst failure", str(doc["worst_failure"]))]
    if doc.get("objective") in ("delay", "sla"):
        rows += [(f"{doc['objective']} before", f"{doc['objective_before']:.6g}"),
                 (f"{doc['objective']} after", f"{doc['objective_value']:.6g}")]
    rate = doc["evaluations"] / max(doc["seconds"], 1e-9)
    rows += [("links changed", str(len(doc.get("changed_links", [])))),
             ("evaluations", f"{doc['evaluations']:,} ({rate:,.0f}/s)"),
             ("seconds", f"{doc['seconds']:.1f} ({doc['stopped']})")]
    for k, v in rows:
        t.add_row(k, v)
    return t


def _steps_table(doc: dict[str, Any], top: int) -> Table:
    t = Table(title="Changes in apply order")
    for col in ("#", "link", "metric a->b", "metric b->a", "max util after"):
        t.add_column(col)
    before = {c["link"]: c for c in doc["changed_links"]}
    for s in doc["steps"][:top]:
        c = before[s["link"]]
        t.add_row(str(s["step"]), s["link"], f"{c['metric_ab_before']} -> {s['metric_ab']}",
                  f"{c['metric_ba_before']} -> {s['metric_ba']}",
                  pct(s["worst_mlu"] if "worst_mlu" in s else s["mlu"]))
    return t


@optimize_app.command("weights")
def weights_cmd(
    file: FileArg = None,
    fmt: FormatOpt = None,
    traffic: TrafficOpt = None,
    objective: Annotated[Objective, typer.Option(
        "--objective", help="mlu: max link utilisation; delay: mean delay (queueing model); "
                            "sla: services violated, then MLU.")] = Objective.MLU,
    survive: Annotated[Survive, typer.Option(
        "--survive", help="n-1: minimise the worst MLU over all single-link failures.")]
        = Survive.NONE,
    changes: Annotated[int | None, typer.Option(
        "--changes", help="Change the metrics of at most this many links.")] = None,
    max_metric: MaxMetricOpt = 65_535,
    symmetric: SymmetricOpt = False,
    time_limit: TimeOpt = 60.0,
    iterations: Annotated[int | None, typer.Option(
        "--iterations", help="Stop after this many search steps instead of the time limit "
                             "(the result then depends on the seed only).")] = None,
    seed: SeedOpt = 0,
    json_out: JsonOpt = None,
    apply_to: Annotated[Path | None, typer.Option(
        "--apply-to", help="Write the network with the new metrics (native YAML/JSON).")]
        = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Changes shown.")] = 20,
    threads: ThreadsOpt = None,
    model: ModelOpt = QueueModel.MM1,
    arrivals: ArrivalsOpt = ArrivalModel.BURSTY,
    packet_bytes: PacketBytesOpt = None,
    packet_scv: PacketScvOpt = None,
    buffer_packets: BufferOpt = 1000,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
) -> None:
    """Integer IGP metrics that minimise the maximum utilisation (or delay, or SLA breaks),
    optionally robust to every single-link failure, with the changes in apply order."""
    _check_outputs(json_out, network_out=apply_to)
    try:
        network = load(file, fmt, traffic, default_capacity, metric_policy, metrics=metrics_file)
        options = simulation_options(model, packet_bytes, packet_scv,
                                     buffer_packets, arrivals)
        t0 = time.perf_counter()
        with progress_bar("searching", counted=False) as bar:
            result = optimize_weights(network, objective=objective, survive=survive,
                                      max_changes=changes, max_metric=max_metric,
                                      symmetric=symmetric, time_limit_s=time_limit,
                                      iterations=iterations, seed=seed, options=options,
                                      progress=_search_progress(bar), threads=threads)
        doc = result.to_document()
        text = None if apply_to is None else _network_text(network, result.metric, apply_to)
    except NettwinError as exc:
        raise fail(exc) from None
    if str(json_out) != "-":
        out.print(_summary(doc, f"optimize weights: {network.name} "
                                f"({objective.value}{', n-1' if survive is Survive.N1 else ''})"))
        if doc["steps"] and top:
            out.print(_steps_table(doc, top))
    print_notes(network)
    _emit(doc, json_out)
    if apply_to is not None and text is not None:
        _write_atomic(apply_to, text)
        err.print(f"wrote {apply_to}")
    err.print(f"[dim]{time.perf_counter() - t0:.1f} s[/]")


@optimize_app.command("paths")
def paths_cmd(
    file: FileArg = None,
    fmt: FormatOpt = None,
    traffic: TrafficOpt = None,
    segments: Annotated[int, typer.Option(
        "--segments", help="Segments per demand: 2 (one waypoint) or 3 (two).")] = 2,
    keep_metrics: Annotated[bool, typer.Option(
        "--keep-metrics", help="Use the network's metrics as they are (default: optimise "
                               "them first, for half the time).")] = False,
    max_metric: MaxMetricOpt = 65_535,
    symmetric: SymmetricOpt = False,
    time_limit: TimeOpt = 60.0,
    seed: SeedOpt = 0,
    json_out: JsonOpt = None,
    paths_out: Annotated[Path | None, typer.Option(
        "--paths-out", help="Write the explicit paths (YAML) that 'qos-simulate --paths' "
                            "reads.")] = None,
    apply_to: Annotated[Path | None, typer.Option(
        "--apply-to", help="Write the network with the metrics used (native YAML/JSON).")]
        = None,
    threads: ThreadsOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
) -> None:
    """Segment-routing waypoints (at most --segments per demand, IGP shortest paths between
    them) on top of the given or optimised metrics."""
    _check_outputs(json_out, paths_out, network_out=apply_to)
    try:
        network = load(file, fmt, traffic, default_capacity, metric_policy, metrics=metrics_file)
        with progress_bar("searching", counted=False) as bar:
            result = optimize_paths(network, segments=segments,
                                    optimize_metrics=not keep_metrics, max_metric=max_metric,
                                    symmetric=symmetric, time_limit_s=time_limit, seed=seed,
                                    progress=_search_progress(bar), threads=threads)
        doc = result.to_document()
        net_text = (None if apply_to is None
                    else _network_text(network, result.metric, apply_to))
    except NettwinError as exc:
        raise fail(exc) from None
    if str(json_out) != "-":
        out.print(_summary(doc, f"optimize paths: {network.name} (<= {segments} segments)"))
        out.print(f"{len(result.waypoints)} demands on waypoints; max utilisation with the "
                  f"metrics alone {pct(result.mlu_weights_only)}")
    print_notes(network)
    _emit(doc, json_out)
    if paths_out is not None:
        _write_atomic(paths_out, yaml.safe_dump(result.paths_document(), sort_keys=False))
        err.print(f"wrote {paths_out}")
    if apply_to is not None and net_text is not None:
        _write_atomic(apply_to, net_text)
        err.print(f"wrote {apply_to}")


optimize_app.command("capacity")(capacity_cmd)


def _register_slices() -> None:
    """``optimize slices`` lives in its own module (cli/plan_slices.py)."""
    from nettwin.cli.plan_slices import slices_cmd

    optimize_app.command("slices")(slices_cmd)


_register_slices()

from nettwin.cli.plan_energy import energy_cmd  # noqa: E402 - one command per module

optimize_app.command("energy")(energy_cmd)
