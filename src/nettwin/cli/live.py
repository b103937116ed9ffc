"""``nettwin ingest``, ``nettwin state``, ``nettwin estimate-tm`` and ``nettwin lab ...``:
the live twin from the terminal (``lab`` is in :mod:`nettwin.cli.lab`)."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.live import Live
from rich.progress import track
from rich.table import Table

from nettwin.cli.common import (
    EXIT_BAD_INPUT,
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
    write_json_file,
)
from nettwin.cli.render import pct, si
from nettwin.errors import NettwinError
from nettwin.io import MetricPolicy

commands = typer.Typer()

StoreOpt = Annotated[str | None, typer.Option(
    "--store", help="History database URL: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB "
                    "(default: the embedded twin.db in NETTWIN_DATA_DIR).")]


def _when(text: str | None) -> float:
    """Epoch seconds from 'now', epoch seconds, ISO 8601, or -30s / -5m / -2h / -1d."""
    from nettwin.live.observations import parse_time

    if text is None or text == "now":
        return time.time()
    if text.startswith("-") and text[-1] in "smhd":
        try:
            return time.time() - float(text[1:-1]) * {"s": 1, "m": 60, "h": 3600,
                                                        "d": 86400}[text[-1]]
        except ValueError:
            pass
    try:
        return parse_time(float(text) if text.replace(".", "", 1).isdigit() else text)
    except ValueError as exc:
        raise typer.BadParameter(f"{exc}; use now, epoch seconds, ISO 8601 or -5m") from None


def _iso(t: float | None) -> str:
    return (datetime.fromtimestamp(t, UTC).isoformat() if t is not None and math.isfinite(t)
            else "never")


def _source(spec: str, speed: float, queries: list[str], stream: str, durable: str) -> Any:
    from nettwin.live.sources import source_for

    pairs = dict(q.split("=", 1) for q in queries if "=" in q)
    try:
        return source_for(spec, speed=speed, queries=pairs, stream=stream, durable=durable)
    except ValueError as exc:
        raise typer.BadParameter(str(exc).replace("queries: ", "--query "),
                                 param_hint="SOURCE") from None


LabOpt = Annotated[Path | None, typer.Option(
    "--lab", help="Mirror the FRR lab whose state is in this folder (its routers, links, "
                  "costs and traffic as built). Without --network or --lab, a lab running "
                  "in NETTWIN_DATA_DIR/lab is mirrored; else the bundled Abilene.")]


def _network(file: Path | None, fmt: Any, capacity: float, policy: MetricPolicy,
             lab: Path | None = None, metrics: Path | None = None) -> Any:
    """--network, else --lab, else the lab running in the data folder, else Abilene: the
    lab's exporter names its routers and links, which another network would dead-letter."""
    if file is not None and lab is not None:
        raise typer.BadParameter("give --network or --lab, not both", param_hint="--lab")
    if file is None:
        from nettwin.paths import data_dir

        default = data_dir() / "lab"
        folder = lab or (default if (default / "lab.json").is_file() else None)
        if folder is not None:
            from nettwin.lab.forwarding import network_of
            from nettwin.lab.frr import Lab

            network = network_of(Lab.load(folder).plan, injected=False)
            if lab is None:
                err.print(f"mirroring the lab in {folder} (--network FILE mirrors another "
                          "network)")
            if metrics is not None:
                from nettwin.io.metrics import apply_metrics_file

                network = apply_metrics_file(network, metrics)
            return network
    return load(file, fmt, None, capacity, policy, metrics=metrics)


def _twin(file: Path | None, fmt: Any, capacity: float, policy: MetricPolicy,
          store_url: str | None, lab: Path | None = None, metrics: Path | None = None) -> Any:
    from nettwin.live import LiveTwin, Store, default_store_url

    network = _network(file, fmt, capacity, policy, lab, metrics)
    return LiveTwin(network, Store(store_url or default_store_url()))


PriorOpt = Annotated[str | None, typer.Option(
    "--prior-from", help="Measured past matrices (a folder or a quoted glob of traffic "
                         "files: flow exports, uploaded matrices) to learn the prior from: "
                         "per-source fan-out shares and time-of-day profiles, chosen and "
                         "calibrated on the history's own later part. Without it: gravity.")]


@commands.command()
def ingest(
    source: Annotated[str, typer.Argument(
        help="Where observations come from: FILE.jsonl / FILE.csv / FILE.parquet (replay), "
             "nats://HOST:PORT/SUBJECT (JetStream), mqtt://HOST:PORT/TOPIC[?client_id=ID] "
             "(persistent session per client id), "
             "prometheus+http://HOST:PORT (with --query).")],
    file: Annotated[Path | None, typer.Option(
        "--network", "-n", help="The network mirrored (default: the lab, see --lab, else "
                                "the bundled Abilene).")] = None,
    fmt: FormatOpt = None,
    lab: LabOpt = None,
    store: StoreOpt = None,
    speed: Annotated[float, typer.Option(
        "--speed", min=0.0, help="File replay speed (x real time; 0: as fast as read).")] = 0.0,
    query: Annotated[list[str] | None, typer.Option(
        "--query", help="Prometheus: FIELD=SELECTOR, e.g. out_octets=ifHCOutOctets.")] = None,
    stream: Annotated[str, typer.Option("--stream", help="JetStream stream.")] = "NETTWIN",
    durable: Annotated[str, typer.Option("--durable", help="JetStream consumer.")] = "nettwin",
    duration: Annotated[float | None, typer.Option(
        "--duration", min=0.0, help="Stop after this many seconds (default: when the source "
                                    "ends; buses never end).")] = None,
    json_out: JsonOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
    prior_from: PriorOpt = None,
    drift_every: Annotated[float, typer.Option(
        "--drift-every", min=0.0, help="Data seconds between the twin's drift checks "
                                       "(matrix re-estimated, mispredicted arcs and, with "
                                       "--prior-from, inconsistent counters alarmed); 0: "
                                       "never.")] = 60.0,
) -> None:
    """Mirror a network from a stream of counters, radio readings and events; every batch is
    committed to the history store, bad records go to its dead letters."""
    json_to_stdout(json_out)
    try:
        twin = _twin(file, fmt, default_capacity, metric_policy, store, lab, metrics_file)
        twin.drift_every_s = drift_every or None
        if prior_from:
            from nettwin.io.tm_history import load_tm_history, resolve_history_paths

            hist = load_tm_history(resolve_history_paths(prior_from),
                                   list(twin.network.node_ids), twin.routing())
            _print_choice(hist.n, twin.use_history(hist))
        else:
            _print_kept_prior(twin)
        src = _source(source, speed, query or [], stream, durable)
    except NettwinError as exc:
        raise fail(exc) from None
    if hasattr(src, "resume_note"):  # a file: say what a resumed replay skips
        err.print(src.resume_note(twin.store.cursor(twin.name, src.name)))
    started = time.monotonic()

    def view() -> Table:
        s = twin.summary()
        rate = s["samples"] / max(time.monotonic() - started, 1e-9)
        t = Table.grid(padding=(0, 2))
        t.add_row("samples", f"{s['samples']:,}", "rate", f"{rate:,.0f}/s")
        t.add_row("dead letters", f"{s['dead_letters']:,}", "batches", f"{s['batches']:,}")
        t.add_row("data time", _iso(s["time"]), "p99 latency",
                  f"{1e3 * s['latency_p99_s']:.1f} ms")
        return t

    async def run() -> None:
        stop = asyncio.Event()
        if duration is not None:
            asyncio.get_running_loop().call_later(duration, stop.set)
        with Live(view(), console=err, refresh_per_second=4,
                  transient=not err.is_terminal) as live:
            task = asyncio.create_task(twin.run(src, stop=stop, progress=lambda _t:
                                                live.update(view())))
            while not task.done():
                await asyncio.sleep(0.2)
                if stop.is_set() and not task.done():
                    task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        err.print("[dim]stopped[/]")
    _print_state(twin.state.snapshot(), twin.summary(),
                 {lid for lid, lk in twin.network.links.items() if not lk.admin_up})
    emit_json(json_out, twin.state.snapshot() | {"summary": twin.summary()})


def _history_span(twin: Any) -> tuple[float, float]:
    """First and last measured instants in the store; exit 3 when there are none."""
    span: tuple[float, float] | None = twin.store.time_range(twin.name)
    if span is None:
        alert.print(f"no history for network {twin.name!r} in {twin.store.url}: ingest first")
        raise typer.Exit(EXIT_BAD_INPUT)
    return span


def _print_state(snap: dict[str, Any], summary: dict[str, Any] | None = None,
                 admin_down: set[str] | None = None) -> None:
    if summary:
        out.print(f"[bold]{summary['network']}[/]: {summary['samples']:,} samples, "
                  f"{summary['dead_letters']:,} dead letters, data up to {_iso(snap['time'])}")
    down = [f"{lk} (admin down)" if lk in (admin_down or set()) else lk
            for lk in snap.get("links_down") or []]
    out.print(f"links down: {', '.join(down) if down else 'none'}")
    arcs = [a for a in snap["arcs"] if a.get("utilisation") is not None]
    arcs.sort(key=lambda a: -a["utilisation"])
    t = Table(title=f"Busiest arcs ({len(arcs)} measured)")
    for col in ("arc", "rate", "utilisation"):
        t.add_column(col)
    for a in arcs[:10]:
        t.add_row(a["arc"], si(a["rate_bps"], "bit/s"), pct(a["utilisation"]))
    out.print(t)
    for lk, mod in sorted((snap.get("modulation") or {}).items()):
        out.print(f"radio {lk}: {mod}")
    alarms = snap.get("alarms") or []
    out.print(f"alarms: {len(alarms)}" + "".join(
        f"\n  {a['severity']:>8}  {a['type']}  {a['object']}" for a in alarms[:15]))


@commands.command()
def state(
    file: FileArg = None,
    fmt: FormatOpt = None,
    lab: LabOpt = None,
    store: StoreOpt = None,
    at: Annotated[str | None, typer.Option(
        "--at", help="Instant: now, epoch seconds, ISO 8601 or -5m (default: the latest).")] = None,
    diff: Annotated[str | None, typer.Option(
        "--diff", help="Compare with this other instant (what changed from --at to it).")] = None,
    json_out: JsonOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
) -> None:
    """The mirrored state as the history store has it, at any instant, or two instants
    compared."""
    json_to_stdout(json_out)
    from nettwin.live import diff_states

    try:
        twin = _twin(file, fmt, default_capacity, metric_policy, store, lab, metrics_file)
    except NettwinError as exc:
        raise fail(exc) from None
    span = _history_span(twin)
    when = span[1] if at is None else _when(at)
    past = twin.state_at(when)
    c = twin.state.compiled
    if diff is not None:
        other = twin.state_at(_when(diff))
        doc = diff_states(past, other, [c.arc_label(a) for a in range(c.n_arcs)],
                          c.arc_capacity_bps)
        out.print(f"from {_iso(past.time)} to {_iso(other.time)}")
        for lk, ch in doc["links"].items():
            out.print(f"link {lk}: {'up' if ch['before'] else 'down'} -> "
                      f"{'up' if ch['after'] else 'down'}")
        for lk, ch in doc["modulation"].items():
            out.print(f"radio {lk}: {ch['before']} -> {ch['after']}")
        for a in doc["alarms_raised"]:
            out.print(f"alarm raised: {a}")
        for a in doc["alarms_cleared"]:
            out.print(f"alarm cleared: {a}")
        out.print(f"{len(doc['arcs'])} arcs moved by more than 5 points of utilisation")
        if json_out:
            write_json_file(json_out, doc)
        return
    for lid, lk in twin.network.links.items():  # down from the start: no change recorded
        if not lk.is_up:
            past.link_up.setdefault(lid, False)
    snap = past.snapshot([c.arc_label(a) for a in range(c.n_arcs)], c.arc_capacity_bps)
    out.print(f"[bold]{twin.name}[/] at {_iso(when)} (history {_iso(span[0])} .. "
              f"{_iso(span[1])})")
    _print_state(snap, admin_down={lid for lid, lk in twin.network.links.items()
                                   if not lk.admin_up})
    if json_out:
        write_json_file(json_out, snap)


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
    from nettwin.estimate.history import estimate_tm_with_prior, prior_from_history
    from nettwin.io.tm_history import load_tm_history, resolve_history_paths
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
        twin = _twin(file, fmt, default_capacity, metric_policy, store, metrics=metrics_file)
        if forget_prior:
            kept = twin.prior_matrices + sum(n for _, n in twin.history_elsewhere)
            twin.forget_history()
            err.print(f"forgot the {kept} measured matrices kept for {twin.name}: gravity prior"
                      if kept else f"no measured matrices kept for {twin.name}")
        if carry_prior:
            twin.carry_history()  # the choice is printed with the kept prior below
            err.print(f"carried {twin.prior_matrices} measured matrices over from "
                      f"{twin.carried_from} to {twin.name}")
        span = _history_span(twin)
        past = twin.state_at(span[1] if at is None else _when(at))
        up = np.repeat([past.link_up.get(lk, True) for lk in twin.network.links], 2)
        if prior_paths and twin.prior is not None:
            err.print("[dim]note:[/] the prior kept in the store is not used (nor replaced: "
                      "`nettwin ingest --prior-from` replaces it)")
        if prior_paths:
            c = compile_network(twin.network)
            rm = routing_matrix(c, up)
            hist = load_tm_history(prior_paths, list(twin.network.node_ids), rm)
            prior, choice = prior_from_history(hist, rm, c.n_nodes, edge=False)
            _print_choice(hist.n, choice)
            drift_prior, prior_doc = prior, _prior_json("files", hist.n, hist.labels)
            est = estimate_tm_with_prior(
                rm, np.where(up, past.arc_rate_bps, np.nan), prior,
                time_of_day_s=float(past.time) % 86_400.0)
            if prior.drift(est):
                out.print(f"[bold red]drift alarm[/]: the counters do not fit the twin's "
                          f"routing and the measured history (innovation "
                          f"{est.innovation:.3g}, alarm above {prior.alarm_innovation:.3g}; "
                          f"misfit {est.misfit:.3g}): a silent failure or metric change?")
        else:
            _print_kept_prior(twin)
            drift_prior = twin.prior
            prior_doc = _prior_json(twin.prior_source, twin.prior_matrices,
                                    twin.prior_labels) if drift_prior is not None \
                else _prior_json(None, 0, ())
            est = twin.estimate_tm(arc_rate_bps=past.arc_rate_bps, arc_up=up, at=past.time)
            if twin.prior is not None and twin.prior.drift(est):
                out.print(f"[bold red]drift alarm[/]: the counters do not fit the twin's "
                          f"routing and the kept history (innovation {est.innovation:.3g}, "
                          f"misfit {est.misfit:.3g}): a silent failure "
                          "or metric change?")
    except NettwinError as exc:
        raise fail(exc) from None
    ids = twin.network.node_ids
    order = np.argsort(-est.rate_bps)
    pairs = int((est.rate_bps > 0).sum())
    t = Table(title=f"Estimated traffic matrix at {_iso(past.time)}: "
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


def _print_kept_prior(twin: Any) -> None:
    """Say that the twin's prior was learned again from the matrices the store keeps (an
    earlier ``ingest --prior-from`` or PUT .../traffic-history), and from which; or that
    matrices are kept for an earlier version of the network (other links or ports) and how
    to carry them over or forget them."""
    if twin.prior_source is None:
        for key, n in twin.history_elsewhere:
            out.print(f"[dim]note:[/] gravity prior, while {n} measured matrices are kept in "
                      f"the store under {key}, an earlier version of this network (its links "
                      "or ports changed since): `estimate-tm --carry-prior` carries them "
                      "over, `estimate-tm --forget-prior` forgets them")
    if twin.prior_source != "store" or twin.prior_choice is None:
        return
    labels = twin.prior_labels
    span = f" ({labels[0]} .. {labels[-1]})" if labels else ""
    out.print(f"prior: learned from {twin.prior_matrices} measured matrices kept in the store "
              f"for {twin.name}{span}; `ingest --prior-from` replaces them")
    _print_choice(twin.prior_matrices, twin.prior_choice)


def _print_choice(n: int, choice: Any) -> None:
    hl = "none" if choice.half_life is None else f"{choice.half_life:.0f} matrices"
    analog = "off" if choice.analog_tau is None else f"tau {choice.analog_tau:g}"
    out.print(f"prior learned from {n} measured matrices: {choice.bins} time-of-day bin(s), "
              f"recency half-life {hl}, analog weighting by node totals: {analog}, "
              f"fan-in combined: {choice.use_fanin}, KL-fitted to "
              f"node totals: {choice.fit_totals}; sd calibrated x{choice.kappa:.2f}; "
              f"{pct(choice.validation_error)} median error on the history's last "
              f"{choice.validation_matrices} matrices")


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
        _print_choice(hist.n, choice)
    rows: list[dict[str, Any]] = []
    for label, x, tod in track(list(zip(truth.labels, truth.rate_bps, truth.time_of_day_s,
                                        strict=True)),
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
                                         node_in_bps=node_in)
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
