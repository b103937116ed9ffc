"""What-if commands: whatif, sweep, cascade, risk."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

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
    emit_json,
    err,
    fail,
    json_to_stdout,
    load,
    out,
    print_notes,
    progress_bar,
    simulation_options,
    step,
    write_json_file,
)
from nettwin.cli.render import ms, pct, si
from nettwin.engine import QueueModel, compile_network, simulate
from nettwin.engine.options import ArrivalModel
from nettwin.errors import NettwinError
from nettwin.extras import require
from nettwin.io import MetricPolicy
from nettwin.io.scenario_files import load_scenarios
from nettwin.model import Network
from nettwin.scenarios import (
    RiskModel,
    Scenario,
    parse_scenario,
    run_cascade,
    run_risk,
    run_sweep,
    run_whatif,
)
from nettwin.scenarios.whatif import diff_document

commands = typer.Typer()

ScenarioOpt = Annotated[Path | None, typer.Option(
    "--scenario", "-s", help="Scenario file (YAML/JSON): one scenario or a 'scenarios:' list.")]
FailLinkOpt = Annotated[list[str] | None, typer.Option(
    "--fail-link", help="Fail a link (repeatable).")]
FailNodeOpt = Annotated[list[str] | None, typer.Option(
    "--fail-node", help="Fail a node (repeatable).")]
FailSrlgOpt = Annotated[list[str] | None, typer.Option(
    "--fail-srlg", help="Fail an SRLG (repeatable).")]
DrainOpt = Annotated[list[str] | None, typer.Option(
    "--drain", help="Drain a node for maintenance (max-metric; repeatable).")]
ScaleOpt = Annotated[float | None, typer.Option("--scale", min=0.0, help="Scale all traffic.")]
HtmlOpt = Annotated[Path | None, typer.Option("--html", help="Write an HTML report with plots.")]


def _cli_scenarios(scenario_file: Path | None, fail_link: list[str] | None,
                   fail_node: list[str] | None, fail_srlg: list[str] | None,
                   drain: list[str] | None, scale: float | None) -> list[Scenario]:
    changes: list[dict[str, Any]] = (
        [{"fail_link": x} for x in fail_link or []] + [{"fail_node": x} for x in fail_node or []]
        + [{"fail_srlg": x} for x in fail_srlg or []] + [{"drain_node": x} for x in drain or []]
        + ([{"scale_traffic": {"factor": scale}}] if scale is not None else []))
    scenarios = load_scenarios(scenario_file) if scenario_file is not None else []
    if changes:
        name = ", ".join(f"{k} {v}" for c in changes for k, v in c.items())
        scenarios.append(parse_scenario({"name": name, "changes": changes}, "command line"))
    if not scenarios:
        raise typer.BadParameter("give --scenario FILE or at least one change "
                                 "(--fail-link, --fail-node, --fail-srlg, --drain, --scale)")
    return scenarios


def _network(file: Path | None, fmt: Any, traffic: Path | None, cap: float,
             metric: MetricPolicy, metrics: Path | None) -> Network:
    try:
        return load(file, fmt, traffic, cap, metric, metrics=metrics)
    except NettwinError as exc:
        raise fail(exc) from None


@commands.command()
def whatif(
    file: FileArg = None,
    scenario: ScenarioOpt = None,
    fail_link: FailLinkOpt = None,
    fail_node: FailNodeOpt = None,
    fail_srlg: FailSrlgOpt = None,
    drain: DrainOpt = None,
    scale: ScaleOpt = None,
    fmt: FormatOpt = None,
    traffic: TrafficOpt = None,
    model: ModelOpt = QueueModel.MM1,
    arrivals: ArrivalsOpt = ArrivalModel.BURSTY,
    packet_bytes: PacketBytesOpt = None,
    packet_scv: PacketScvOpt = None,
    buffer_packets: BufferOpt = 1000,
    top: Annotated[int, typer.Option("--top", min=0, help="Changed arcs shown.")] = 10,
    json_out: JsonOpt = None,
    html_out: HtmlOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
    fail_on_violation: Annotated[bool, typer.Option(
        "--fail-on-violation", help="Exit 1 if any scenario's verdict is FAIL.")] = False,
) -> None:
    """Compare scenarios (failures, drains, metric/capacity changes, traffic surges) with the
    baseline: changed links, rerouted and lost demands, SLA changes, a one-line verdict."""
    json_to_stdout(json_out)
    from nettwin.report.pages import write_whatif_report

    network = _network(file, fmt, traffic, default_capacity, metric_policy, metrics_file)
    try:
        scenarios = _cli_scenarios(scenario, fail_link, fail_node, fail_srlg, drain, scale)
        options = simulation_options(model, packet_bytes, packet_scv,
                                     buffer_packets, arrivals)
        compiled = compile_network(network)
        with step("baseline"):
            baseline = simulate(compiled, options)
        results = []
        for sc in scenarios:
            with step(f"scenario {sc.name}"):
                results.append(run_whatif(network, sc, options, compiled=compiled,
                                          baseline=baseline))
    except NettwinError as exc:
        raise fail(exc) from None
    verdicts = Table(title="What-if verdicts")
    verdicts.add_column("scenario")
    verdicts.add_column("verdict")
    for r in results:
        style = "red" if r.diff.verdict().startswith("FAIL") else "green"
        verdicts.add_row(r.scenario.name, f"[{style}]{r.diff.verdict()}[/]")
    out.print(verdicts)
    for r in results:
        d = r.diff
        if top and d.arcs_changed:
            t = Table(title=f"{r.scenario.name}: arcs whose utilisation changed most")
            for col in ("arc", "before", "after"):
                t.add_column(col, justify="left" if col == "arc" else "right")
            for c in d.arcs_changed[:top]:
                t.add_row(c.arc, "-" if c.utilisation_before is None else pct(
                    c.utilisation_before), "-" if c.utilisation_after is None else pct(
                    c.utilisation_after))
            out.print(t)
        if d.services:
            t = Table(title=f"{r.scenario.name}: services")
            for col in ("service", "worst delay before", "after", "SLA"):
                t.add_column(col)
            for s in d.services:
                status = ("[red]newly VIOLATED[/]" if s.violated_after and not s.violated_before
                          else "[red]VIOLATED[/]" if s.violated_after else "[green]ok[/]")
                t.add_row(s.service, ms(s.worst_delay_before_s), ms(s.worst_delay_after_s),
                          status)
            out.print(t)
    print_notes(network)
    if json_out is not None:
        write_json_file(json_out, [{"scenario": r.scenario.name} | diff_document(r.diff)
                                   for r in results])
    if html_out is not None:
        write_whatif_report(html_out, network, results, {
            "network": str(file or "bundled example"), "traffic": traffic,
            "scenario_file": scenario, "queue_model": model.value,
            "arrival_model": arrivals.value, "packet_bytes": packet_bytes,
            "packet_scv": packet_scv, "buffer_packets": buffer_packets})
        err.print(f"wrote {html_out}")
    if fail_on_violation and any(r.diff.verdict().startswith("FAIL") for r in results):
        raise typer.Exit(EXIT_SLA_VIOLATED)


@commands.command()
def sweep(
    file: FileArg = None,
    links: Annotated[bool, typer.Option("--links/--no-links", help="Every link.")] = True,
    nodes: Annotated[bool, typer.Option("--nodes", help="Every node.")] = False,
    srlgs: Annotated[bool, typer.Option("--srlgs", help="Every SRLG.")] = False,
    pairs: Annotated[bool, typer.Option("--pairs", help="Link pairs (N-2).")] = False,
    max_pairs: Annotated[int, typer.Option(
        "--max-pairs", min=1,
        help="Above this many pairs, only pairs among the most critical links are evaluated "
             "(the rest are counted).")] = 20_000,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Dask scheduler address, or 'local' for a LocalCluster.")] = None,
    fmt: FormatOpt = None,
    traffic: TrafficOpt = None,
    model: ModelOpt = QueueModel.MM1,
    arrivals: ArrivalsOpt = ArrivalModel.BURSTY,
    packet_bytes: PacketBytesOpt = None,
    packet_scv: PacketScvOpt = None,
    buffer_packets: BufferOpt = 1000,
    top: Annotated[int, typer.Option("--top", min=0, help="Rows shown per table.")] = 10,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Folder for the tables (worst-case arcs, failures).")] = None,
    table_format: Annotated[str, typer.Option(
        "--table-format", help="csv, parquet or json.")] = "csv",
    html_out: HtmlOpt = None,
    json_out: JsonOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
) -> None:
    """Fail every link (and node, SRLG, link pair) in turn, exactly and incrementally:
    worst-case utilisation per link, criticality ranking, SLA breaks per service."""
    json_to_stdout(json_out)
    from nettwin.report import write_rows
    from nettwin.report.pages import write_sweep_report

    if table_format not in ("csv", "parquet", "json"):
        raise typer.BadParameter("--table-format must be csv, parquet or json")
    if table_format == "parquet":
        require("pyarrow.parquet")  # nettwin[arrow]: said before the sweep, not after it
    network = _network(file, fmt, traffic, default_capacity, metric_policy, metrics_file)
    try:
        options = simulation_options(model, packet_bytes, packet_scv,
                                     buffer_packets, arrivals)
        t0 = time.perf_counter()
        with progress_bar("failures") as advance:
            result = run_sweep(network, options, links=links, nodes=nodes, srlgs=srlgs,
                               link_pairs=pairs, max_pairs=max_pairs, progress=advance,
                               scheduler=scheduler)
        elapsed = time.perf_counter() - t0
    except NettwinError as exc:
        raise fail(exc) from None
    failures = result.failure_rows()
    worst = sorted(result.worst_case_rows(), key=lambda r: -r["worst_utilisation"])
    t = Table(title=f"Most critical of {len(failures)} failures")
    for col in ("#", "failure", "lost", "max util", "on arc", "SLAs broken"):
        t.add_column(col)
    for r in failures[:top]:
        t.add_row(str(r["rank"]), f"{r['kind']} {r['failure']}", si(r["lost_bps"], "bit/s"),
                  pct(r["max_utilisation"]), str(r["max_utilisation_arc"]),
                  ", ".join(r["services_broken"]) or "-")
    out.print(t)
    t = Table(title="Worst-case utilisation per arc")
    for col in ("arc", "baseline", "worst case", "caused by"):
        t.add_column(col)
    for r in worst[:top]:
        t.add_row(r["arc"], pct(r["baseline_utilisation"]), pct(r["worst_utilisation"]),
                  r["worst_failure"] or "-")
    out.print(t)
    for sid in result.compiled.service_ids:
        breaking = result.failures_breaking(sid)
        out.print(f"service [bold]{sid}[/]: SLA broken by {len(breaking)} failure(s)"
                  + (f", e.g. {', '.join(f.label for f in breaking[:4])}" if breaking else ""))
    if result.pair_plan is not None:
        p = result.pair_plan
        out.print(f"link pairs: {len(p.pairs)} evaluated of {p.total} ({p.rule}); "
                  f"{p.skipped} skipped")
    err.print(f"[dim]{len(failures)} failures in {elapsed:.2f} s "
              f"({1e3 * elapsed / max(1, len(failures)):.3f} ms each); baseline state "
              f"{result.baseline.memory_bytes / 2**20:.1f} MiB[/]")
    print_notes(network)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_rows(worst, out_dir / f"worst_case_arcs.{table_format}")
        write_rows(failures, out_dir / f"failures.{table_format}")
        err.print(f"wrote {out_dir}/worst_case_arcs.{table_format}, failures.{table_format}")
    emit_json(json_out, {"failures": failures, "worst_case": worst})
    if html_out is not None:
        write_sweep_report(html_out, network, result, {
            "network": str(file or "bundled example"), "traffic": traffic, "links": links,
            "nodes": nodes, "srlgs": srlgs, "link_pairs": pairs, "max_pairs": max_pairs,
            "queue_model": model.value, "arrival_model": arrivals.value, "scheduler": scheduler})
        err.print(f"wrote {html_out}")


@commands.command()
def cascade(
    file: FileArg = None,
    scenario: ScenarioOpt = None,
    fail_link: FailLinkOpt = None,
    fail_node: FailNodeOpt = None,
    fail_srlg: FailSrlgOpt = None,
    drain: DrainOpt = None,
    scale: ScaleOpt = None,
    trip_utilisation: Annotated[float, typer.Option(
        "--trip-utilisation", min=0.01, help="A link above this utilisation trips.")] = 1.0,
    trip_delay: Annotated[float, typer.Option(
        "--trip-delay", min=0.0, help="Seconds a link stays overloaded before it trips.")] = 5.0,
    fmt: FormatOpt = None,
    traffic: TrafficOpt = None,
    json_out: JsonOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
) -> None:
    """Follow an overload cascade from a trigger (failure, surge) to its fixed point."""
    json_to_stdout(json_out)
    network = _network(file, fmt, traffic, default_capacity, metric_policy, metrics_file)
    try:
        scenarios = _cli_scenarios(scenario, fail_link, fail_node, fail_srlg, drain, scale)
        results = [run_cascade(network, sc, trip_utilisation=trip_utilisation,
                               trip_delay_s=trip_delay) for sc in scenarios]
    except NettwinError as exc:
        raise fail(exc) from None
    docs = []
    for sc, res in zip(scenarios, results, strict=True):
        t = Table(title=f"Cascade after {sc.name}")
        for col in ("round", "time", "link tripped", "utilisation", "pushed over by"):
            t.add_column(col)
        for trip in res.trips:
            t.add_row(str(trip.round), f"{trip.time_s:g} s", trip.link, pct(trip.utilisation),
                      trip.cause)
        out.print(t)
        out.print(res.summary())
        docs.append({"scenario": sc.name, "summary": res.summary(),
                     "trips": [vars(t) for t in res.trips], "lost_bps": res.lost_bps,
                     "converged": res.converged})
    if json_out is not None:
        write_json_file(json_out, docs)


@commands.command()
def risk(
    file: FileArg = None,
    samples: Annotated[int, typer.Option("--samples", "-n", min=1)] = 10_000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    growth: Annotated[float, typer.Option(
        "--growth", min=0.0, help="Median traffic multiplier.")] = 1.0,
    growth_sigma: Annotated[float, typer.Option(
        "--growth-sigma", min=0.0, help="Log-standard deviation of traffic growth.")] = 0.0,
    cuts: Annotated[float, typer.Option(
        "--cuts-per-1000km", min=0.0, help="Fiber cuts per 1,000 km per year.")] = 4.0,
    link_mttr: Annotated[float, typer.Option("--link-mttr-h", min=0.01)] = 12.0,
    node_mtbf: Annotated[float, typer.Option("--node-mtbf-h", min=1.0)] = 100_000.0,
    nodes: Annotated[bool, typer.Option("--nodes/--no-nodes",
                                        help="Include node failures.")] = True,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Dask scheduler address, or 'local' for a LocalCluster.")] = None,
    samples_out: Annotated[Path | None, typer.Option(
        "--samples-out", help="Write every sample (growth, failed elements, max utilisation, "
                              "unserved traffic) as .csv, .parquet or .json.")] = None,
    fmt: FormatOpt = None,
    traffic: TrafficOpt = None,
    model: ModelOpt = QueueModel.MM1,
    arrivals: ArrivalsOpt = ArrivalModel.BURSTY,
    json_out: JsonOpt = None,
    html_out: HtmlOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
) -> None:
    """Monte Carlo risk: random (and SRLG-correlated) failures and traffic growth give
    distributions of max utilisation, unserved traffic and SLA violation probability."""
    json_to_stdout(json_out)
    from nettwin.report.pages import write_risk_report

    if samples_out is not None and samples_out.suffix.lower() == ".parquet":
        require("pyarrow.parquet")  # nettwin[arrow]: said before the samples, not after them
    network = _network(file, fmt, traffic, default_capacity, metric_policy, metrics_file)
    rm = RiskModel(fiber_cuts_per_1000km_year=cuts, link_mttr_h=link_mttr,
                   node_mtbf_h=node_mtbf, growth_median=growth, growth_sigma=growth_sigma,
                   include_nodes=nodes)
    try:
        t0 = time.perf_counter()
        with progress_bar("samples") as advance:
            result = run_risk(network, rm, simulation_options(model, None, None, 1000, arrivals),
                              samples=samples, seed=seed, progress=advance,
                              scheduler=scheduler)
        elapsed = time.perf_counter() - t0
    except NettwinError as exc:
        raise fail(exc) from None
    s = result.summary()
    t = Table(title=f"Risk over {samples} samples (seed {seed})")
    for col in ("measure", "mean [95 % CI]", "p50", "p95", "p99"):
        t.add_column(col)
    for key, label, fmt_ in (("max_utilisation", "max utilisation", pct),
                             ("unserved_bps", "unserved traffic",
                              lambda v: si(v, "bit/s"))):
        d = s[key]
        t.add_row(label, f"{fmt_(d['mean'])} [{fmt_(d['ci95_low'])}, {fmt_(d['ci95_high'])}]",
                  fmt_(d["p50"]), fmt_(d["p95"]), fmt_(d["p99"]))
    out.print(t)
    out.print(f"P(some link overloaded) = {s['p_overload']:.4f} "
              f"[{s['p_overload_ci95'][0]:.4f}, {s['p_overload_ci95'][1]:.4f}]; "
              f"P(traffic lost) = {s['p_traffic_lost']:.4f} "
              f"[{s['p_traffic_lost_ci95'][0]:.4f}, {s['p_traffic_lost_ci95'][1]:.4f}]")
    for sid, v in s["services"].items():
        out.print(f"service [bold]{sid}[/]: P(SLA violated) = {v['p_sla_violation']:.4f} "
                  f"[{v['ci95'][0]:.4f}, {v['ci95'][1]:.4f}]")
    err.print(f"[dim]{samples} samples in {elapsed:.2f} s[/]")
    if json_out is not None:
        write_json_file(json_out, s)
    if samples_out is not None:
        from nettwin.report import write_rows

        write_rows([{"sample": i, "growth": float(result.growth[i]),
                     "failed_elements": int(result.failed_elements[i]),
                     "max_utilisation": float(result.max_utilisation[i]),
                     "unserved_bps": float(result.unserved_bps[i])}
                    | {f"sla_violated_{sid}": bool(result.service_violated[i, k])
                       for k, sid in enumerate(result.service_ids)}
                    for i in range(result.samples)], samples_out)
        err.print(f"wrote {samples_out}")
    if html_out is not None:
        write_risk_report(html_out, network, result, rm, {
            "network": str(file or "bundled example"), "traffic": traffic,
            "queue_model": model.value, "arrival_model": arrivals.value, "scheduler": scheduler})
        err.print(f"wrote {html_out}")
