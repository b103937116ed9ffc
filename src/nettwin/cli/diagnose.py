"""``nettwin diagnose``: counterfactual root cause of a window of observations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from nettwin.cli.common import (
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
    set_quiet,
)
from nettwin.errors import NettwinError
from nettwin.io import MetricPolicy

commands = typer.Typer()


def _time(text: str | None) -> float | None:
    from nettwin.live.observations import parse_time

    if text is None:
        return None
    try:
        return parse_time(float(text) if text.replace(".", "", 1).isdigit() else text)
    except ValueError as exc:
        raise typer.BadParameter(f"{exc}; use epoch seconds or ISO 8601") from None


@commands.command("diagnose")
def diagnose_cmd(
    file: FileArg = None,
    observations: Annotated[Path | None, typer.Option(
        "--observations", "-o", help="JSON lines in the live observation format (counters, "
                                     "radio readings, events), e.g. from 'nettwin synth'. "
                                     "Without it: the live twin's history since --since.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Window start (epoch s or ISO 8601).")
                     ] = None,
    store: Annotated[str | None, typer.Option(
        "--store", help="History database URL (default: the embedded twin.db in "
                        "NETTWIN_DATA_DIR), read when no --observations is given.")] = None,
    until: Annotated[str | None, typer.Option(help="Window end (epoch s or ISO 8601).")
                     ] = None,
    top: Annotated[int, typer.Option(min=1, help="Causes to list.")] = 5,
    exhaustive: Annotated[bool, typer.Option(
        help="Try every element, not only those the symptoms point at.")] = False,
    fmt: FormatOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
    json_out: JsonOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Counterfactual root cause: candidate faults generated from the symptoms are each
    simulated by the engine over the observed window and ranked by how well their predicted
    loads, drops, oper status, silent ports, events and radio levels explain the observed.

    Kinds: link_down, node_down, srlg_down, capacity_degraded, metric_changed,
    traffic_surge, rain_fade, misalignment, none. JSON: {"onset", "candidates",
    "elapsed_s", "causes": [{"kind", "element", "score", "confidence", "cost", "explains",
    "unexplained", "chain", "params"}]} ranked best first.
    """
    set_quiet(quiet)
    json_to_stdout(json_out)
    from nettwin.diagnose import (
        Diagnoser,
        ObservationError,
        history_window,
        load_observations,
    )

    t0, t1 = _time(since), _time(until)
    if t0 is not None and t1 is not None and t0 >= t1:
        # else: "no interface counters in the window", as if the data were at fault
        raise typer.BadParameter(f"--since {since} is not before --until {until}: the "
                                 "window would be empty; swap them")
    try:
        network = load(file, fmt, None, default_capacity, metric_policy, metrics=metrics_file)
        if observations is not None:
            obs = load_observations(network, observations, _time(since), _time(until))
        else:
            start = _time(since)
            if start is None:
                raise ObservationError("give --observations FILE, or --since T to read the "
                                       "live twin's history")
            from nettwin.live import default_store_url

            obs = history_window(network, store or default_store_url(), start, _time(until))
        result = Diagnoser(network).diagnose(obs, top=top, exhaustive=exhaustive)
    except NettwinError as exc:
        raise fail(exc) from None
    if obs.dead_letters:
        err.print(f"[yellow]{obs.dead_letters} observation(s) rejected[/] (unknown ports or "
                  "malformed records)")
    table = Table(title=f"Root causes ({result.candidates} candidates, "
                        f"{result.elapsed_s * 1e3:.0f} ms)")
    for col in ("#", "kind", "element", "confidence", "explains", "unexplained"):
        table.add_column(col)
    for i, c in enumerate(result.causes, 1):
        table.add_row(str(i), c.kind.value, escape(c.element), f"{100 * c.score:.1f} %",
                      str(len(c.explains)), str(len(c.unexplained)))
    out.print(table)
    if result.causes and result.causes[0].chain:
        out.print("chain: " + escape(" -> ".join(result.causes[0].chain)))
    emit_json(json_out, result.to_json())


@commands.command("anomalies")
def anomalies_cmd(
    file: FileArg = None,
    observations: Annotated[Path, typer.Option(
        "--observations", "-o", help="JSON lines or Parquet observations to watch (e.g. "
                                     "from 'nettwin synth').")] = Path("observations.jsonl"),
    train: Annotated[Path | None, typer.Option(
        help="Observations of normal operation to learn the bands from (default: the "
             "first --learn fraction of the window itself).")] = None,
    learn: Annotated[float, typer.Option(min=0.05, max=0.9, help="Without --train: the "
                                         "leading fraction of the window taken as normal.")
                     ] = 0.3,
    threshold: Annotated[float, typer.Option(min=1.0, help="Band spreads a residual must "
                                             "leave the band by.")] = 5.0,
    persist: Annotated[int, typer.Option(min=1, help="Consecutive samples it must stay "
                                         "out.")] = 2,
    fmt: FormatOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
    json_out: JsonOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Anomalies against the twin: per link the measured rate and drops against what the
    twin predicts (its traffic matrix over the reported topology, traffic level fitted per
    sample), per node the traffic balance (demand), per radio link the received level,
    each judged on a normal band learned from history. Classes: traffic (demand changed),
    topology (the twin's state is wrong: cut, silent node, unknown metric or capacity),
    physics (radio fade).

    JSON: {"alarms": [{"class", "element", "start", "end", "score" (band spreads),
    "evidence"}], "learned_samples"}.
    """
    set_quiet(quiet)
    json_to_stdout(json_out)
    from nettwin.diagnose import load_observations, observe
    from nettwin.diagnose.anomaly import AnomalyDetector

    try:
        network = load(file, fmt, None, default_capacity, metric_policy, metrics=metrics_file)
        obs = load_observations(network, observations)
        detector = AnomalyDetector(network, threshold=threshold, persist=persist)
        if train is not None:
            history = [load_observations(network, train)]
        else:
            cut = float(obs.times[0] + learn * (obs.times[-1] - obs.times[0]))
            from nettwin.diagnose.observed import read_observations

            records = _records(observations, read_observations)
            history = [observe(network, records, None, cut)]
            obs = observe(network, records, cut, None)
        bands = detector.fit(history)
        alarms = detector.detect(obs)
    except NettwinError as exc:
        raise fail(exc) from None
    table = Table(title=f"Anomalies ({len(alarms)}; bands learned from {bands.samples} "
                        "samples)")
    for col in ("class", "element", "from", "to", "sigma", "evidence"):
        table.add_column(col)
    for a in sorted(alarms, key=lambda a: -a.score):  # the strongest first
        table.add_row(a.cls.value, escape(a.element), _clock(a.start), _clock(a.end),
                      f"{a.score:.0f}", escape(a.evidence[0] if a.evidence else ""))
    out.print(table)
    emit_json(json_out, {"alarms": [a.to_json() for a in alarms],
                         "learned_samples": bands.samples})


def _records(path: Path, read: Any) -> list[Any]:
    if path.suffix == ".parquet":
        from nettwin.synth.parquet import read_observations_parquet

        return read_observations_parquet(path)
    return list(read(path))


def _clock(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


@commands.command("radio-health")
def radio_health_cmd(
    file: FileArg = None,
    observations: Annotated[Path, typer.Option(
        "--observations", "-o", help="Radio readings (JSON lines or Parquet, kind 'radio' "
                                     "with rsl_dbm), days of them (e.g. 'nettwin synth "
                                     "--radio-days 14').")] = Path("radio.jsonl"),
    profiles: Annotated[Path | None, typer.Option(help="Extra ACM profiles.")] = None,
    fmt: FormatOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
    json_out: JsonOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Radio predictive maintenance: from received-level history, rain fades (neighbours
    fading together, each by its frequency per ITU-R P.838) told from degradations of one
    link (misalignment step, slow clear-sky decline), with a warning and the time the fade
    margin (clear sky above the top modulation's threshold) runs out.

    JSON: {"alarms": [{"link", "kind" (rain_fade, misalignment, slow_decline), "start",
    "detected_at", "eta_exhausted", "rate_db_per_day", "step_db", "evidence"}]}.
    """
    set_quiet(quiet)
    json_to_stdout(json_out)
    from nettwin.cli.synth import radio_arrays
    from nettwin.diagnose.observed import ObservationError, read_observations
    from nettwin.forecast.radio_health import HealthKind, RadioHealth
    from nettwin.synth.radio_history import clear_sky_levels

    try:
        network = load(file, fmt, None, default_capacity, metric_policy, metrics=metrics_file)
        radio = radio_arrays(network, file, profiles)
        if radio is None:
            raise ObservationError(f"{network.name} has no microwave links")
        times, rsl = _rsl_matrix(_records(observations, read_observations), radio.link_ids)
        if times.size < 96:
            raise ObservationError(f"{times.size} reading instant(s) in {observations}: "
                                   "radio health needs days of history (96 or more)")
        _clear, margin = clear_sky_levels(radio)
        alarms = RadioHealth(radio).assess(times, rsl, None, margin)
    except NettwinError as exc:
        raise fail(exc) from None
    found = [a for a in alarms if a.kind is not HealthKind.RAIN_FADE]
    rain = len(alarms) - len(found)
    table = Table(title=f"Radio health: {len(found)} degradation(s), {rain} rain fade(s) "
                        "told apart")
    for col in ("link", "kind", "found", "margin gone", "evidence"):
        table.add_column(col)
    for a in found:
        table.add_row(escape(a.link), a.kind.value, _clock(a.detected_at),
                      "not in sight" if a.eta_exhausted == float("inf")
                      else _clock(a.eta_exhausted), escape("; ".join(a.evidence)))
    out.print(table)
    emit_json(json_out, {"alarms": [a.to_json() for a in alarms]})


def _rsl_matrix(records: list[Any], link_ids: tuple[str, ...]) -> tuple[Any, Any]:
    """[instants] times and [instants, links] received levels (nan where not read)."""
    import numpy as np
    import orjson

    index = {lid: i for i, lid in enumerate(link_ids)}
    records = [orjson.loads(r) if isinstance(r, bytes | str) else r for r in records]
    rows = [(float(r["time"]), index[r["link"]], float(r["rsl_dbm"])) for r in records
            if isinstance(r, dict) and r.get("kind") == "radio" and r.get("link") in index
            and r.get("rsl_dbm") is not None]
    times = np.unique([t for t, _, _ in rows])
    rsl = np.full((times.size, len(link_ids)), np.nan)
    for t, i, v in rows:
        rsl[np.searchsorted(times, t), i] = v
    return times, rsl
