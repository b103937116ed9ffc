"""``nettwin qos-validate``: the per-class queueing model against OMNeT++ ground truth."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
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
    progress_bar,
    write_json_file,
)
from nettwin.cli.render import si
from nettwin.errors import ImportFormatError, NettwinError
from nettwin.io import MetricPolicy
from nettwin.io.gnnet import (
    DELAY_HORIZON_S,
    iter_gnnet_samples,
    observed_delay_sd,
    predict,
)

commands = typer.Typer()

DEFAULT_DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "gnnet2020" / "train"


def _stats(err_rel: np.ndarray) -> str:
    return f"{100 * err_rel.mean():.1f} % / {100 * np.median(err_rel):.1f} %"


@commands.command("qos-validate")
def qos_validate(
    data: Annotated[Path, typer.Option(
        "--data", help="Folder with the GNNet 2020 tarballs, graphs/ and routings/.")] =
        DEFAULT_DATA,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, help="Use only the first N samples (quick look).")] = None,
    horizon: Annotated[float, typer.Option(
        "--delay-horizon", min=0.0,
        help="Longest mean delay the simulator observes, seconds (the data set's ceiling "
             "is 20 s); 0 compares the raw model.")] = DELAY_HORIZON_S,
    json_out: JsonOpt = None,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="PNG of predicted against measured delay per pair.")] = None,
) -> None:
    """Per-pair mean delay (MAPE / median error) and loss of the queueing models against the
    OMNeT++ results of the Graph Neural Networking Challenge 2020, per topology, load,
    scheduling and class. Model choices were made on NSFNET and the even-numbered GEANT2
    samples; the odd ones are unseen (tools/gnnet_error_breakdown.py scores them apart)."""
    json_to_stdout(json_out)
    tarballs = sorted(data.glob("*.tar.gz"))
    if not tarballs:
        raise fail(ImportFormatError(str(data), "no GNNet tarballs here; pass --data"))
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    try:
        with progress_bar("samples") as advance:
            done = 0
            for tar in tarballs:
                for sample in iter_gnnet_samples(tar):
                    if limit is not None and done >= limit:
                        break
                    pred = predict(sample)
                    raw, loss, util = pred.delay_s, pred.loss, pred.path_utilisation
                    aware = np.minimum(raw, horizon) if horizon > 0 else raw
                    jitter = (observed_delay_sd(raw, pred.delay_var_s2, horizon) if horizon > 0
                              else np.sqrt(pred.delay_var_s2))
                    single = predict(sample, scheduling_aware=False).delay_s
                    poisson = predict(sample, smooth_arrivals=False).delay_s
                    if horizon > 0:
                        single = np.minimum(single, horizon)
                        poisson = np.minimum(poisson, horizon)
                    policies = "+".join(sorted(set(sample.topology.policy)))
                    for f in range(sample.n_flows):
                        rows.append({"topology": "NSFNET" if sample.topology.n_nodes == 14
                                     else "GEANT2", "policies": policies,
                                     "class": int(sample.tos[f]), "util": float(util[f]),
                                     "overloaded": bool(sample.drop_fraction.max() > 0),
                                     "true": float(sample.delay_s[f]),
                                     "aware": float(aware[f]), "raw": float(raw[f]),
                                     "single": float(single[f]),
                                     "poisson": float(poisson[f]),
                                     "loss_true": float(sample.drop_fraction[f]),
                                     "loss_pred": float(loss[f]),
                                     "jitter_true": float(np.sqrt(sample.jitter_s[f])),
                                     "jitter_pred": float(jitter[f])})
                    done += 1
                    advance(done, limit or 400)
    except NettwinError as exc:
        raise fail(exc) from None
    arr = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    e_aware = np.abs(arr["aware"] - arr["true"]) / arr["true"]
    e_raw = np.abs(arr["raw"] - arr["true"]) / arr["true"]
    e_poisson = np.abs(arr["poisson"] - arr["true"]) / arr["true"]
    e_single = np.abs(arr["single"] - arr["true"]) / arr["true"]
    has_jitter = arr["jitter_true"] > 0
    e_jitter = np.where(has_jitter, np.abs(arr["jitter_pred"] - arr["jitter_true"])
                        / np.where(has_jitter, arr["jitter_true"], 1.0), np.nan)
    groups: list[tuple[str, np.ndarray]] = []
    for topo in ("NSFNET", "GEANT2"):
        base = arr["topology"] == topo
        groups.append((f"{topo}, all samples", base))
        groups.append((f"{topo}, samples without drops", base & ~arr["overloaded"]))
        groups.append((f"{topo}, samples with drops", base & arr["overloaded"]))
    for lo, hi in ((0, 0.5), (0.5, 0.8), (0.8, 1.0), (1.0, np.inf)):
        groups.append((f"path max utilisation {lo:g}-{hi:g}", (arr["util"] >= lo)
                       & (arr["util"] < hi)))
    for pol in sorted(set(arr["policies"].tolist())):
        groups.append((f"policies {pol}", arr["policies"] == pol))
    for c in range(3):
        groups.append((f"class {c}", arr["class"] == c))
    table = Table(title=f"Per-pair mean delay vs OMNeT++ ({len(rows):,} pairs): MAPE / median")
    seen = f"aware, seen to {horizon:g} s" if horizon > 0 else "scheduling-aware"
    for col in ("subset", "pairs", seen, "aware, raw", "aware, Poisson arrivals",
                "one FIFO per port", "jitter (sd)", "loss MAE"):
        table.add_column(col, justify="left" if col == "subset" else "right")
    summary = []
    for name, mask in groups:
        if not mask.any():
            continue
        mae = float(np.abs(arr["loss_pred"][mask] - arr["loss_true"][mask]).mean())
        jit = e_jitter[mask & has_jitter]
        table.add_row(name, f"{int(mask.sum()):,}", _stats(e_aware[mask]),
                      f"{100 * e_raw[mask].mean():.1f} %", _stats(e_poisson[mask]),
                      _stats(e_single[mask]),
                      _stats(jit) if jit.size else "—", f"{mae:.4f}")
        summary.append({"subset": name, "pairs": int(mask.sum()),
                        "mape_aware": float(e_aware[mask].mean()),
                        "median_aware": float(np.median(e_aware[mask])),
                        "mape_raw": float(e_raw[mask].mean()),
                        "mape_poisson": float(e_poisson[mask].mean()),
                        "mape_single": float(e_single[mask].mean()),
                        "median_single": float(np.median(e_single[mask])),
                        "jitter_mape": float(jit.mean()) if jit.size else None,
                        "jitter_median": float(np.median(jit)) if jit.size else None,
                        "loss_mae": mae})
    out.print(table)
    err.print(f"[dim]{len(rows):,} pairs in {time.perf_counter() - t0:.1f} s[/]")
    if json_out is not None:
        write_json_file(json_out, summary)
    if plot is not None:
        from nettwin.report.plots import delay_calibration_png

        where = {t: arr["topology"] == t for t in ("NSFNET", "GEANT2")
                 if (arr["topology"] == t).any()}
        plot.write_bytes(delay_calibration_png({t: arr["true"][m] for t, m in where.items()},
                                               {t: arr["aware"][m] for t, m in where.items()},
                                               {t: arr["util"][m] for t, m in where.items()}))
        err.print(f"wrote {plot}")


@commands.command("qos-simulate")
def qos_simulate(
    file: FileArg = None,
    fmt: FormatOpt = None,
    traffic: TrafficOpt = None,
    scheduler: Annotated[str, typer.Option(
        "--scheduler", help="Port scheduling: fifo, sp (strict priority), wfq or drr.")] = "sp",
    priority: Annotated[str | None, typer.Option(
        "--priority", help="Classes, highest first, comma-separated (default: as the "
                           "traffic lists them).")] = None,
    weights: Annotated[str | None, typer.Option(
        "--weights", help="WFQ/DRR weights in priority order, e.g. 0.5,0.3,0.2.")] = None,
    buffer_packets: Annotated[int, typer.Option(
        "--buffer-packets", min=1, help="Buffer per class queue.")] = 1000,
    packet_bytes: Annotated[float, typer.Option("--packet-bytes", min=1.0)] = 340.0,
    packet_scv: Annotated[float, typer.Option("--packet-scv", min=0.0)] = 1.59,
    scale: Annotated[float, typer.Option("--scale", min=0.0)] = 1.0,
    policy_file: Annotated[Path | None, typer.Option(
        "--policy", help="QoS policy file (YAML/JSON): classes in service order, default "
                         "scheduler, weights and buffers, per-node and per-port overrides, "
                         "packet sizes per class; replaces --scheduler, --priority, "
                         "--weights, --buffer-packets and the packet options.")] = None,
    paths_file: Annotated[Path | None, typer.Option(
        "--paths", help="Explicit paths (YAML/JSON: demand id and the nodes 'via'): those "
                        "demands are pinned, as segment routing or static routes pin them; "
                        "the rest follow the IGP.")] = None,
    json_out: JsonOpt = None,
    fail_on_violation: Annotated[bool, typer.Option("--fail-on-violation")] = False,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
) -> None:
    """Per-class QoS on the network's IGP/ECMP routing: delay, jitter and loss per traffic
    class and demand, SLAs checked on each service's own class."""
    json_to_stdout(json_out)
    from nettwin.engine import compile_network
    from nettwin.engine.classes import simulate_classes, uniform_policy
    from nettwin.engine.qos import Scheduler
    from nettwin.errors import SimulationError
    from nettwin.io.explicit_paths import load_paths
    from nettwin.io.qos_policy import load_policy

    try:
        sched = Scheduler[scheduler.upper()]
    except KeyError:
        raise typer.BadParameter(f"{scheduler!r}: use fifo, sp, wfq or drr",
                                 param_hint="--scheduler") from None
    try:
        w = tuple(float(v) for v in weights.split(",")) if weights else None
    except ValueError:
        raise typer.BadParameter(f"{weights!r}: numbers separated by commas",
                                 param_hint="--weights") from None
    try:
        network = load(file, fmt, traffic, default_capacity, metric_policy, metrics=metrics_file)
        c = compile_network(network)
        order = tuple(p.strip() for p in priority.split(",")) if priority else None
        if policy_file is not None:
            policy = load_policy(policy_file, c)
        else:
            policy = uniform_policy(c, sched, priority=order, weights=w,
                                    buffer_packets=buffer_packets,
                                    mean_packet_bytes=packet_bytes, packet_size_scv=packet_scv)
        t0 = time.perf_counter()
        pinned = load_paths(paths_file, network, c) if paths_file is not None else None
        res = simulate_classes(c, policy, demand_rate_bps=c.demand_rate_bps * scale,
                               pinned=pinned)
        elapsed = time.perf_counter() - t0
    except (NettwinError, SimulationError) as exc:
        raise fail(exc) from None
    used = sorted({Scheduler(int(v)).name for v in policy.scheduler.tolist()})
    where = "on every port" if len(used) == 1 else "per port"
    table = Table(title=f"{network.name}: {'/'.join(used)} {where}, classes "
                        f"{' > '.join(res.priority)}")
    for col in ("class", "demands", "offered", "mean delay", "p99 delay", "mean jitter",
                "max loss"):
        table.add_column(col, justify="left" if col == "class" else "right")
    rows = res.class_rows(c.demand_rate_bps * scale)
    for row in rows:
        table.add_row(row["class"], f"{row['demands']:,}", si(row["offered_bps"], "bit/s"),
                      f"{1e3 * row['mean_delay_s']:.3f} ms", f"{1e3 * row['p99_delay_s']:.3f} ms",
                      f"{1e3 * row['mean_jitter_s']:.3f} ms", f"{row['max_loss']:.2e}")
    out.print(table)
    services = res.service_rows()
    for row in services:
        out.print(f"service {row['service']}: worst delay {1e3 * row['worst_delay_s']:.3f} ms, "
                  f"loss {row['worst_loss']:.2e} -> "
                  + ("[red]SLA violated[/]" if row["violated"] else "[green]ok[/]"))
    pinned_note = f", {pinned.demand.size:,} on explicit paths" if pinned is not None else ""
    err.print(f"[dim]{c.n_demands:,} demands{pinned_note}, {len(res.priority)} classes in "
              f"{1e3 * elapsed:.1f} ms[/]")
    if json_out is not None:
        write_json_file(json_out, {"classes": rows, "services": services})
    if fail_on_violation and res.services.violated.any():
        raise typer.Exit(EXIT_SLA_VIOLATED)
