"""``nettwin estimate-tm``: the traffic matrix from the link counters the store keeps (with a
prior learned from measured matrices, or gravity), and its error against real matrices."""

from __future__ import annotations

import glob
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.progress import track
from rich.table import Table

from nettwin.cli.common import (
    CapacityOpt,
    FileArg,
    FormatOpt,
    JsonOpt,
    MetricOpt,
    MetricsFileOpt,
    err,
    fail,
    json_to_stdout,
    load,
    out,
    write_json_file,
)
from nettwin.cli.live_twin import (
    COUNTER_NOISE,
    NoiseOpt,
    PriorOpt,
    StoreOpt,
    TimezoneOpt,
    history_span,
    iso,
    open_twin,
    parse_when,
    print_choice,
    print_kept_prior,
)
from nettwin.cli.render import pct, si
from nettwin.errors import NettwinError
from nettwin.io import MetricPolicy

commands = typer.Typer()


@commands.command("estimate-tm")
def estimate_tm_cmd(
    file: FileArg = None,
    fmt: FormatOpt = None,
    store: StoreOpt = None,
    at: Annotated[str | None, typer.Option(
        "--at", help="Estimate from the rates measured at this instant (default: latest).")] = None,
    validate: Annotated[list[str] | None, typer.Option(
        "--validate", help="Real traffic matrices (SNDlib XML, ...; a quoted glob such as "
                           "'traffic/abilene/*.xml', repeatable): route each on the network, "
                           "estimate it back from the link loads, report the error.")] = None,
    prior_from: PriorOpt = None,
    counter_noise: NoiseOpt = COUNTER_NOISE,
    timezone: TimezoneOpt = None,
    forget_prior: Annotated[bool, typer.Option(
        "--forget-prior", help="Forget the measured matrices the store keeps for this "
                               "network (from 'ingest --prior-from' or PUT "
                               ".../traffic-history, and for earlier versions of the "
                               "network): back to gravity, now and after.")] = False,
    carry_prior: Annotated[bool, typer.Option(
        "--carry-prior", help="Learn the prior from the matrices the store keeps for an "
                              "earlier version of this network (its links or ports changed "
                              "since) and keep them for this one.")] = False,
    edge: Annotated[bool, typer.Option(
        "--edge/--no-edge", help="With --validate: give the estimator each node's total "
                                 "ingress/egress (as access counters would).")] = True,
    csv_out: Annotated[Path | None, typer.Option(
        "--csv", help="Write the estimate as a CSV traffic matrix (src,dst,rate_bps); with "
                      "--validate, one row per validated matrix.")] = None,
    json_out: JsonOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
) -> None:
    """Traffic matrix from link counters, with per-pair uncertainty: a prior (gravity, or
    learned from measured history with --prior-from) projected onto the counters through
    the ECMP routing matrix. --json writes {time, total_bps, prior (gravity | history),
    prior_source (store | files | null), prior_matrices, prior_labels, innovation, misfit,
    drift, pairs: [{src, dst, rate_bps, std_bps}]} (with --validate: one row per matrix)."""
    json_to_stdout(json_out)
    from nettwin.engine import compile_network
    from nettwin.estimate import routing_matrix
    from nettwin.estimate.history import prior_from_history
    from nettwin.io.tm_history import load_tm_history, resolve_history_paths
    from nettwin.live.live_network import estimate_matrix
    from nettwin.report import write_rows

    try:
        prior_paths = resolve_history_paths(prior_from) if prior_from else []
        if validate and (forget_prior or carry_prior):
            raise typer.BadParameter("--validate reads no store: give --forget-prior or "
                                     "--carry-prior without it", param_hint="--validate")
        if carry_prior and (forget_prior or prior_from):
            raise typer.BadParameter("carry the kept history over, forget it or learn from "
                                     "--prior-from: give one", param_hint="--carry-prior")
        if validate:
            network = load(file, fmt, None, default_capacity, metric_policy, metrics=metrics_file)
            paths = sorted({Path(p) for pattern in validate
                            for p in glob.glob(pattern)})  # noqa: PTH207 - absolute globs
            if not paths:
                raise typer.BadParameter(f"no file matches {validate}", param_hint="--validate")
            own = {p.resolve() for p in paths} & {p.resolve() for p in prior_paths}
            if own:
                raise typer.BadParameter(
                    f"{len(own)} validated matrices are also in the prior (e.g. "
                    f"{sorted(own)[0].name}): a matrix cannot be its own prior; give "
                    "--prior-from other (earlier) matrices", param_hint="--prior-from")
            rows = _validate_rows(network, paths, prior_paths, edge)
            _validation_table(rows, edge, bool(prior_paths))
            if csv_out:
                write_rows(rows, csv_out)
                err.print(f"wrote {csv_out}")
            if json_out:
                write_json_file(json_out, rows)
            return
        twin = open_twin(file, fmt, default_capacity, metric_policy, store,
                         metrics=metrics_file, reader="estimate-tm",
                         counter_noise=counter_noise, timezone=timezone)
        if forget_prior:
            kept = twin.prior_matrices + sum(n for _, n in twin.history_elsewhere)
            twin.forget_history()
            err.print(f"forgot the {kept} measured matrices kept for {twin.name}: gravity prior"
                      if kept else f"no measured matrices kept for {twin.name}")
        if carry_prior:
            twin.carry_history()  # the choice is printed with the kept prior below
            err.print(f"carried {twin.prior_matrices} measured matrices over from "
                      f"{twin.carried_from} to {twin.name}")
        span = history_span(twin, file, "estimate-tm")
        past = twin.state_at(span[1] if at is None else parse_when(at))
        up = np.repeat([past.link_up.get(lk, True) for lk in twin.network.links], 2)
        if prior_paths and twin.prior is not None:
            err.print("[dim]note:[/] the prior kept in the store is not used (nor replaced: "
                      "`nettwin ingest --prior-from` replaces it)")
        if prior_paths:
            c = compile_network(twin.network)
            rm = routing_matrix(c, up)
            hist = load_tm_history(prior_paths, list(twin.network.node_ids), rm)
            prior, choice = prior_from_history(hist, rm, c.n_nodes, edge=False)
            print_choice(hist.n, choice, twin.timezone)
            drift_prior, prior_doc = prior, _prior_json("files", hist.n, hist.labels)
            est = estimate_matrix(rm, np.where(up, past.arc_rate_bps, np.nan), c, prior,
                                  float(past.time), 0.01, counter_noise, twin.zone)
            if prior.drift(est):
                out.print(f"[bold red]drift alarm[/]: the counters do not fit the twin's "
                          f"routing and the measured history (innovation "
                          f"{est.innovation:.3g}, alarm above {prior.alarm_innovation:.3g}; "
                          f"misfit {est.misfit:.3g}): a silent failure or metric change?")
        else:
            print_kept_prior(twin)
            drift_prior = twin.prior
            prior_doc = _prior_json(twin.prior_source, twin.prior_matrices,
                                    twin.prior_labels) if drift_prior is not None \
                else _prior_json(None, 0, ())
            est = twin.estimate_tm(arc_rate_bps=past.arc_rate_bps, arc_up=up, at=past.time)
            if twin.prior is not None and twin.prior.drift(est):
                out.print(f"[bold red]drift alarm[/]: the counters do not fit the twin's "
                          f"routing and the kept history (innovation {est.innovation:.3g}, "
                          f"alarm above {twin.prior.alarm_innovation:.3g}; misfit "
                          f"{est.misfit:.3g}): a silent failure "
                          "or metric change?")
    except NettwinError as exc:
        raise fail(exc) from None
    ids = twin.network.node_ids
    order = np.argsort(-est.rate_bps)
    pairs = int((est.rate_bps > 0).sum())
    t = Table(title=f"Estimated traffic matrix at {iso(past.time)}: "
                    f"{si(float(est.rate_bps.sum()), 'bit/s')} over {pairs} pairs")
    for col in ("src", "dst", "rate", "± 1 sd", "history prior"
                if prior_paths or twin.prior is not None else "gravity prior"):
        t.add_column(col)
    for p in order[:15]:
        t.add_row(ids[est.src[p]], ids[est.dst[p]], si(float(est.rate_bps[p]), "bit/s"),
                  si(float(est.std_bps[p]), "bit/s") if est.std_bps is not None else "—",
                  si(float(est.prior_bps[p]), "bit/s"))
    out.print(t)
    resid = np.abs(est.residual_bps)
    out.print(f"counters explained to {si(float(resid.max(initial=0.0)), 'bit/s')} at worst "
              f"({est.measured_arcs.size} measured arcs)")
    rows_out = [{"src": ids[est.src[p]], "dst": ids[est.dst[p]],
                 "rate_bps": float(est.rate_bps[p]),
                 "std_bps": None if est.std_bps is None else float(est.std_bps[p])}
                for p in order if est.rate_bps[p] > 0]
    if csv_out:
        write_rows([{k: r[k] for k in ("src", "dst", "rate_bps")} for r in rows_out], csv_out)
        err.print(f"wrote {csv_out}")
    if json_out:
        write_json_file(json_out, {
            "time": past.time, "total_bps": float(est.rate_bps.sum()), **prior_doc,
            "innovation": est.innovation if drift_prior is not None else None,
            "misfit": est.misfit if drift_prior is not None else None,
            "drift": bool(drift_prior.drift(est)) if drift_prior is not None else None,
            "pairs": rows_out})


def _prior_json(source: str | None, matrices: int, labels: Sequence[str]
                ) -> dict[str, Any]:
    """What the estimate's prior was learned from, for --json: ``prior_source`` "store"
    (the matrices kept by an earlier ``ingest --prior-from`` or PUT .../traffic-history),
    "files" (this run's --prior-from) or None (gravity), with the matrices' labels."""
    return {"prior": "gravity" if source is None else "history", "prior_source": source,
            "prior_matrices": matrices, "prior_labels": list(labels)}


def _validate_rows(network: Any, paths: list[Path], prior_paths: list[Path], edge: bool
                   ) -> list[dict[str, Any]]:
    """Route each real matrix, estimate it back from its link loads (and node totals with
    ``edge``), score it; an empty matrix is reported as such, not as 0 % error."""
    from nettwin.engine import compile_network
    from nettwin.estimate import estimate_tm, estimation_errors, routing_matrix
    from nettwin.estimate.history import estimate_tm_with_prior, prior_from_history
    from nettwin.io.tm_history import load_tm_history

    c = compile_network(network)
    rm = routing_matrix(c)
    ids = list(network.node_ids)
    truth = load_tm_history(paths, ids, rm, keep_empty=True)
    prior = None
    if prior_paths:
        hist = load_tm_history(prior_paths, ids, rm)
        prior, choice = prior_from_history(hist, rm, c.n_nodes, edge=edge)
        print_choice(hist.n, choice, None)
    rows: list[dict[str, Any]] = []
    days = (truth.day_of_week if truth.day_of_week is not None
            else np.full(truth.n, np.nan))
    for label, x, tod, day in track(list(zip(truth.labels, truth.rate_bps,
                                             truth.time_of_day_s, days, strict=True)),
                               description="estimating", console=err, transient=True,
                               disable=not err.is_terminal):
        row: dict[str, Any] = {"matrix": label, "empty": bool(x.sum() <= 0)}
        if row["empty"]:
            rows.append(row | {"weighted_error": math.nan, "rmsre_top": math.nan,
                               "median_rel_error_top": math.nan,
                               "prior_weighted_error": math.nan, "coverage_1sd": math.nan,
                               "seconds": math.nan, "innovation": math.nan,
                               "misfit": math.nan,
                               "drift_alarm": None})
            continue
        y = rm.a @ x
        node_out = np.bincount(rm.src, x, c.n_nodes) if edge else None
        node_in = np.bincount(rm.dst, x, c.n_nodes) if edge else None
        t0 = time.perf_counter()
        if prior is not None:
            est = estimate_tm_with_prior(rm, y, prior,
                                         time_of_day_s=float(tod), node_out_bps=node_out,
                                         node_in_bps=node_in, day_of_week=float(day))
        else:
            est = estimate_tm(rm, y, c.arc_src, c.arc_dst, c.n_nodes, node_out_bps=node_out,
                              node_in_bps=node_in)
        seconds = time.perf_counter() - t0
        e = estimation_errors(x, est.rate_bps)
        live = x > 0
        cover = (float(np.mean(np.abs(est.rate_bps - x)[live] <= est.std_bps[live]))
                 if est.std_bps is not None else math.nan)
        rows.append(row | {"weighted_error": e["weighted_error"], "rmsre_top": e["rmsre_top"],
                           "median_rel_error_top": e["median_rel_error_top"],
                           "prior_weighted_error":
                               estimation_errors(x, est.prior_bps)["weighted_error"],
                           "coverage_1sd": cover, "seconds": seconds,
                           "innovation": est.innovation, "misfit": est.misfit,
                           "drift_alarm": prior.drift(est) if prior is not None else None})
    return rows


def _validation_table(rows: list[dict[str, Any]], edge: bool, history: bool) -> None:
    scored = [r for r in rows if not r["empty"]]
    empty = len(rows) - len(scored)

    def q(key: str, p: float | None) -> str:
        v = np.array([r[key] for r in scored], dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size == 0:
            return "—"
        return pct(float(np.mean(v) if p is None else np.percentile(v, p)))

    prior = "history prior" if history else "gravity prior"
    t = Table(title=f"Estimation error over {len(scored)} real matrices "
                    f"({'with' if edge else 'without'} node ingress/egress totals, {prior})"
                    + (f"; {empty} empty matrices not scored" if empty else ""))
    for col in ("measure", "median", "mean", "p10", "p90"):
        t.add_column(col)
    for key, label in (("weighted_error", "estimate: traffic-weighted |error|"),
                       ("prior_weighted_error", f"{prior} alone"),
                       ("rmsre_top", "estimate: RMS rel. error, top 75 % flows"),
                       ("median_rel_error_top", "estimate: median rel. error, top flows"),
                       ("coverage_1sd", "±1 sd interval covers the truth")):
        t.add_row(label, q(key, 50), q(key, None), q(key, 10), q(key, 90))
    out.print(t)
    if scored:
        out.print(f"{1e3 * float(np.median([r['seconds'] for r in scored])):.1f} ms per "
                  "estimate (median)")
    alarms = sum(1 for r in scored if r["drift_alarm"])
    if history:
        out.print(f"drift alarm raised on {alarms} of {len(scored)} matrices")
