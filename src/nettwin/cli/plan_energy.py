"""``nettwin optimize energy``: which links sleep in each interval of a measured day, the
day replayed through the twin with that schedule."""

from __future__ import annotations

import contextlib
import enum
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nettwin.cli.common import (
    EXIT_BAD_INPUT,
    CapacityOpt,
    FileArg,
    FormatOpt,
    JsonOpt,
    MetricOpt,
    MetricsFileOpt,
    emit_json,
    err,
    fail,
    json_to_stdout,
    load,
    out,
    progress_bar,
)
from nettwin.cli.render import pct
from nettwin.errors import ImportFormatError, NettwinError
from nettwin.io import MetricPolicy


class SurviveChoice(enum.Enum):
    NONE = "none"
    N1 = "n-1"


SeriesOpt = Annotated[list[str], typer.Option(
    "--traffic-series", help="Traffic matrices of the day, one file per interval in name "
                             "order: a folder, a glob, or several files (SNDlib XML, "
                             "REPETITA, CSV, YAML).")]


def energy_cmd(
    network_file: FileArg = None,
    more_series: Annotated[list[str] | None, typer.Argument(
        help="More series files (what a shell makes of an unquoted glob after "
             "--traffic-series).", show_default=False)] = None,
    traffic_series: SeriesOpt = [],  # noqa: B006 - typer reads the default, never mutated
    sla: Annotated[bool, typer.Option(
        "--sla", help="Keep every service's SLA (delay, loss) in every interval.")] = False,
    max_utilisation: Annotated[float, typer.Option(
        "--max-utilisation", min=0.01, max=10.0,
        help="No awake link above this utilisation.")] = 0.8,
    survive: Annotated[SurviveChoice, typer.Option(
        "--survive", help="n-1: every single failure leaves every demand connected and no "
                          "link above 100 % while the sleepers wake.")] = SurviveChoice.NONE,
    wake_time_s: Annotated[float, typer.Option(
        "--wake-time-s", min=0.0, help="Seconds a sleeping link takes to wake (it draws "
                                       "full power meanwhile).")] = 60.0,
    min_dwell: Annotated[int, typer.Option(
        "--min-dwell", min=1, help="Intervals a link stays asleep/awake before it may "
                                   "change again.")] = 3,
    sleep_fraction: Annotated[float, typer.Option(
        "--sleep-fraction", min=0.0, max=0.99,
        help="Share of its awake power a sleeping link still draws.")] = 0.0,
    interval_s: Annotated[float | None, typer.Option(
        "--interval-s", min=1.0, help="Seconds per matrix (default: from SNDlib file "
                                      "names, else 300).")] = None,
    bound: Annotated[bool, typer.Option(
        "--bound", help="Also solve the MILP bound (any routing) on the saving.")] = False,
    json_out: JsonOpt = None,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Write the HTML report (schedule heatmap, MLU over the day, map).")]
    = None,
    fmt: FormatOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
) -> None:
    """Put links (radio carriers, modulation caps) to sleep per interval of a measured day,
    keeping the utilisation limit, SLAs and optionally n-1; replayed through the twin.

    out.json: energy_saved_fraction, kwh_saved, sla_violations (0), and per interval
    asleep, reduced, mlu, power_w (with n-1: worst_failure_mlu, worst_failure_mlu_woken).
    """
    from nettwin.io.traffic_series import read_traffic_series, traffic_files
    from nettwin.optimize.energy import optimize_energy

    to_stdout = json_to_stdout(json_out)
    traffic_series = [*traffic_series, *(more_series or [])]
    if not traffic_series:
        err.print("[bold red]invalid input:[/] --traffic-series is required. Fix: give the "
                  "folder of the day's matrices, e.g. --traffic-series "
                  "../shared/data/traffic/abilene-zhang-5min")
        raise typer.Exit(EXIT_BAD_INPUT)
    for p in (html, None if to_stdout or json_out is None else Path(json_out)):
        if p is not None and not p.resolve().parent.is_dir():
            err.print(f"[bold red]invalid input:[/] cannot write {p}: the folder "
                      f"{p.resolve().parent} does not exist. Fix: create it or pick another "
                      "path.")
            raise typer.Exit(EXIT_BAD_INPUT)
    try:
        network = load(network_file, fmt, None, default_capacity, metric_policy,
                       metrics=metrics_file)
        if not network.links:  # e.g. a series file taken for the network (see below)
            raise ImportFormatError(
                str(network_file), "the network has no links, so nothing can sleep. Fix: "
                "name the network file before --traffic-series, or quote the glob (the "
                "shell expands an unquoted one into files whose second is then read as "
                "the network)")
        files = [f for spec in traffic_series for f in traffic_files(spec)]
        planned = network
        network, series = read_traffic_series(network, files, interval_s=interval_s)
        # the series replaces the demands (and so drops the services): keep each service
        # whose demands (ids 'SRC->DST') the series carries, so --sla has SLAs to keep
        ids = set(network.demand_ids)
        kept = {sid: sv for sid, sv in planned.services.items() if set(sv.demands) <= ids}
        network = network.with_demands(network.demands, services=kept)
        for sid in planned.services.keys() - kept.keys():
            err.print(f"note: service {sid!r} not kept: its demands are not all in the "
                      "traffic series")
        empty = [label for label, row in zip(series.labels, series.rate_bps, strict=False)
                 if not row.any()]
        if empty:  # a measurement gap reads as no traffic: everything may sleep then
            err.print(f"note: {len(empty)} interval(s) carry no traffic at all (e.g. "
                      f"{empty[0]}): planned as idle; leave such files out if they are gaps")
        if sla and not network.services:
            err.print("note: --sla: the network has no services, so only the utilisation "
                      "limit and connectivity are kept (add services with SLA targets).")
        with progress_bar(f"planning {series.steps} intervals") as advance, \
                _solver_chatter_to_stderr(bound):
            result = optimize_energy(
                network, series.rate_bps, interval_s=series.interval_s, labels=series.labels,
                max_utilisation=max_utilisation, survive=survive.value, sla=sla,
                wake_time_s=wake_time_s, min_dwell=min_dwell, sleep_fraction=sleep_fraction,
                bound=bound, progress=lambda f: advance(int(1000 * f), 1000))
    except NettwinError as exc:
        raise fail(exc) from exc
    doc = result.to_document()
    doc["traffic_series"] = series.source
    if not to_stdout:
        out.print(_summary(doc))
    if html is not None:
        from nettwin.report.energy import write_energy_report

        write_energy_report(html, network, doc, {
            "network": network.name, "traffic series": series.source,
            "intervals": series.steps, "interval_s": series.interval_s,
            "max utilisation": max_utilisation, "survive": survive.value, "sla": sla,
            "wake time (s)": wake_time_s, "min dwell (intervals)": min_dwell,
            "sleep fraction": sleep_fraction})
        err.print(f"wrote {html}")
    emit_json(json_out, doc)


@contextlib.contextmanager
def _solver_chatter_to_stderr(active: bool) -> Iterator[None]:
    """HiGHS may print from C to file descriptor 1: keep stdout for the JSON (``--json -``)."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _summary(doc: dict[str, Any]) -> Table:
    table = Table(title=f"Energy schedule: {doc['network']} ({doc['steps']} intervals)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows: list[tuple[str, str]] = [
        ("link energy saved", pct(float(doc["energy_saved_fraction"]))),
        ("kWh saved", f"{doc['kwh_saved']:.2f} of {doc['kwh_all_awake']:.2f}"),
        ("links asleep (mean / max)", f"{doc['asleep_mean']:.1f} / {doc['asleep_max']}"),
        ("max utilisation (schedule / all awake)",
         f"{pct(float(doc['mlu_max']))} / {pct(float(doc['mlu_all_awake_max']))}"),
        ("SLA violations", str(doc["sla_violations"])),
        ("arcs over the limit", str(doc["over_limit_arcs"])),
    ]
    if "worst_failure_mlu" in doc:
        rows.append(("worst single failure before / after waking",
                     f"{pct(float(doc['worst_failure_mlu']))} / "
                     f"{pct(float(doc['worst_failure_mlu_woken']))}"))
    if doc["intervals_broken_all_awake"]:
        broken = doc["intervals_broken_all_awake"]
        rows.append(("intervals over a limit even with every link awake",
                     f"{len(broken)} (first: {doc['intervals'][broken[0]]['label']})"))
    if "bound" in doc:
        rows.append(("saving bound (any routing)",
                     pct(float(doc["bound"]["saving_upper_bound"]))))
    for name, value in rows:
        table.add_row(name, value)
    return table
