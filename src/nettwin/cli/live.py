"""``nettwin ingest`` and ``nettwin state``: the live twin from the terminal (``estimate-tm``
is in :mod:`nettwin.cli.estimate_tm`, ``lab`` in :mod:`nettwin.cli.lab`, what they share in
:mod:`nettwin.cli.live_twin`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from nettwin.cli.common import (
    CapacityOpt,
    FileArg,
    FormatOpt,
    JsonOpt,
    MetricOpt,
    MetricsFileOpt,
    NetworkAliasOpt,
    emit_json,
    err,
    fail,
    json_to_stdout,
    network_file,
    out,
    write_json_file,
)
from nettwin.cli.live_twin import (
    COUNTER_NOISE,
    LabOpt,
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


def _source(spec: str, speed: float, queries: list[str], stream: str, durable: str) -> Any:
    from nettwin.live.sources import source_for

    pairs = dict(q.split("=", 1) for q in queries if "=" in q)
    try:
        return source_for(spec, speed=speed, queries=pairs, stream=stream, durable=durable)
    except ValueError as exc:
        raise typer.BadParameter(str(exc).replace("queries: ", "--query "),
                                 param_hint="SOURCE") from None


@commands.command()
def ingest(
    source: Annotated[str, typer.Argument(
        help="Where observations come from: FILE.jsonl / FILE.csv / FILE.parquet (replay), "
             "nats://HOST:PORT/SUBJECT (JetStream), mqtt://HOST:PORT/TOPIC[?client_id=ID] "
             "(persistent session per client id), "
             "prometheus+http://HOST:PORT (with --query).")],
    file: Annotated[Path | None, typer.Argument(
        help="The network mirrored, as for 'nettwin simulate FILE' (default: the lab, see "
             "--lab, else the bundled Abilene).", show_default=False)] = None,
    network_alias: NetworkAliasOpt = None,
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
    counter_noise: NoiseOpt = COUNTER_NOISE,
    timezone: TimezoneOpt = None,
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
        twin = open_twin(network_file(file, network_alias), fmt, default_capacity,
                         metric_policy, store, lab, metrics_file, counter_noise=counter_noise,
                         timezone=timezone)
        twin.drift_every_s = drift_every or None
        if prior_from:
            from nettwin.io.tm_history import load_tm_history, resolve_history_paths

            hist = load_tm_history(resolve_history_paths(prior_from),
                                   list(twin.network.node_ids), twin.routing())
            print_choice(hist.n, twin.use_history(hist), twin.timezone)
        else:
            print_kept_prior(twin)
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
        t.add_row("data time", iso(s["time"]), "p99 latency",
                  f"{1e3 * s['latency_p99_s']:.1f} ms")
        if s["commit_failures"]:
            t.add_row("store failures", f"[red]{s['commit_failures']:,}[/]", "", "")
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
    except NettwinError as exc:  # the store failed a batch after its retries
        _print_state(twin.state.snapshot(), twin.summary())
        raise fail(exc) from None
    _print_state(twin.state.snapshot(), twin.summary(),
                 {lid for lid, lk in twin.network.links.items() if not lk.admin_up})
    emit_json(json_out, twin.state.snapshot() | {"summary": twin.summary()})


def _print_state(snap: dict[str, Any], summary: dict[str, Any] | None = None,
                 admin_down: set[str] | None = None) -> None:
    if summary:
        out.print(f"[bold]{summary['network']}[/]: {summary['samples']:,} samples, "
                  f"{summary['dead_letters']:,} dead letters, data up to {iso(snap['time'])}")
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
        twin = open_twin(file, fmt, default_capacity, metric_policy, store, lab, metrics_file,
                         reader="state")
    except NettwinError as exc:
        raise fail(exc) from None
    span = history_span(twin, file, "state")
    when = span[1] if at is None else parse_when(at)
    past = twin.state_at(when)
    c = twin.state.compiled
    if diff is not None:
        other = twin.state_at(parse_when(diff))
        doc = diff_states(past, other, [c.arc_label(a) for a in range(c.n_arcs)],
                          c.arc_capacity_bps)
        out.print(f"from {iso(past.time)} to {iso(other.time)}")
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
    out.print(f"[bold]{twin.name}[/] at {iso(when)} (history {iso(span[0])} .. "
              f"{iso(span[1])})")
    _print_state(snap, admin_down={lid for lid, lk in twin.network.links.items()
                                   if not lk.admin_up})
    if json_out:
        write_json_file(json_out, snap)
