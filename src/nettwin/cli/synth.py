"""``nettwin synth``: labelled synthetic telemetry."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from nettwin.cli.common import (
    CapacityOpt,
    FileArg,
    FormatOpt,
    MetricOpt,
    MetricsFileOpt,
    err,
    fail,
    load,
    progress_bar,
    set_quiet,
)
from nettwin.errors import NettwinError
from nettwin.examples import example_path
from nettwin.io import MetricPolicy
from nettwin.model import Network

commands = typer.Typer()


def radio_arrays(network: Network, path: Path | None, profiles: Path | None) -> Any:
    """The network's radio links as arrays (None when it has none); the bundled Munich
    example brings its 38 GHz ACM ladder along."""
    from nettwin.radio.acm import load_acm_profiles
    from nettwin.radio.budget import compile_radio

    if not any(link.radio is not None for link in network.links.values()):
        return None
    extra: dict[str, Any] = {}
    ladder = (path or example_path()).with_name("munich-acm-38ghz.txt")
    if ladder.exists():
        extra |= load_acm_profiles(ladder)
    if profiles is not None:
        extra |= load_acm_profiles(profiles)
    return compile_radio(network, extra)


@commands.command("synth")
def synth_cmd(
    file: FileArg = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for observations.jsonl "
                                          "and labels.jsonl.")] = Path("synth-out"),
    radio_days: Annotated[float, typer.Option(
        "--radio-days", min=0.0, help="Instead of episodes: this many days of received "
                                      "levels of every radio link (15 min), rain cells "
                                      "passing and one labelled degradation, to radio.jsonl "
                                      "and radio_labels.json (for 'nettwin radio-health').")
    ] = 0.0,
    radio_degradation: Annotated[str, typer.Option(
        help="With --radio-days: slow_decline, misalignment or none.")] = "slow_decline",
    parquet: Annotated[bool, typer.Option(
        "--parquet", help="Also write observations.parquet and labels.parquet (schema "
                          "below).")] = False,
    episodes: Annotated[int, typer.Option("--episodes", "-n", min=1,
                                          help="Episodes (one fault or none each).")] = 22,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 0,
    scenarios: Annotated[str | None, typer.Option(
        help="Comma-separated scenarios (default: every one the network supports, "
             "balanced).")] = None,
    interval_s: Annotated[float, typer.Option("--interval", min=1.0,
                                              help="Seconds between samples.")] = 60.0,
    steps: Annotated[int, typer.Option(min=6, help="Samples per episode.")] = 60,
    no_noise: Annotated[bool, typer.Option("--no-noise", help="Exact counters: no jitter, "
                                           "no missing samples, no delays, no resets.")] = False,
    profiles: Annotated[Path | None, typer.Option(help="Extra ACM profiles (radio).")] = None,
    traffic_series: Annotated[Path | None, typer.Option(
        "--traffic-series", help="Folder of measured traffic matrices (SNDlib dynamic data, "
                                 "e.g. ../shared/data/traffic/abilene-zhang-5min with "
                                 "sndlib/native/abilene.txt) replayed instead of the diurnal "
                                 "profile.")] = None,
    fmt: FormatOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Labelled synthetic telemetry: the network carries a traffic day (the demands times a
    diurnal profile, 1.0 at 20:00, or measured matrices with --traffic-series; per-demand
    burstiness on top), routed and queued by the engine at every sample, with one injected
    fault per episode.

    Scenarios: fibre_cut_peak, fibre_cut_offpeak, srlg_cut, node_loss, lag_member_lost
    (silent: no event, capacity drops below the load), metric_misconfig, traffic_surge,
    rain_storm and misalignment (radio links), cascading_overload, none.

    observations.jsonl: the live twin's observation format (replay it with `nettwin
    ingest observations.jsonl NET`): {"kind": "counter", "time", "device",
    "interface" (the link id), "out_octets" (bytes), "out_packets", "out_drops" (packets,
    like ifOutDiscards), "oper_status", "counter_bits"};
    {"kind": "radio", "time", "link", "rsl_dbm", "modulation", "capacity_bps"};
    {"kind": "event", "time", "object", "event" (link_down, link_up, node_down, syslog),
    "severity", "message"}. Noise: counter jitter, lost samples, delayed and lost events,
    counter resets (turn it off with --no-noise).

    labels.jsonl, one row per episode: event_id, scenario, kind (link_down, node_down,
    srlg_down, capacity_degraded, metric_changed, traffic_surge, rain_fade, misalignment,
    none), element (link, node, SRLG or surge destination), elements (links affected),
    start, end, window_start, window_end (epoch s), params, chain (cause -> reroute ->
    overload -> SLA break), affected_services.

    With --parquet, the same data as Parquet tables beside the JSON lines (replay them with
    `nettwin diagnose NET --observations observations.parquet`). observations.parquet,
    one row per record, null where the record's kind lacks the column: kind string, time
    float64, device string, interface string, out_octets float64, out_packets float64,
    out_drops float64, oper_status string, counter_bits int8 (counter); link string,
    rsl_dbm float64, modulation string, capacity_bps float64 (radio); object string, event
    string, severity string, message string (event). labels.parquet: event_id string,
    scenario string, kind string, element string, elements list<string>, start float64,
    end float64, window_start float64, window_end float64, params string (a JSON object),
    chain list<string>, affected_services list<string>.
    """
    set_quiet(quiet)
    from nettwin.synth import Noise, SynthConfig, Synthesizer

    try:
        network = load(file, fmt, None, default_capacity, metric_policy, metrics=metrics_file)
        radio = radio_arrays(network, file, profiles)
        config = SynthConfig(interval_s=interval_s, steps=steps,
                             noise=Noise.off() if no_noise else Noise())
        measured, measured_interval = None, 300.0
        if traffic_series is not None:
            from nettwin.io.traffic_series import read_traffic_series, traffic_files

            network, series = read_traffic_series(network, traffic_files(traffic_series))
            measured, measured_interval = series.rate_bps, series.interval_s
        synth = Synthesizer(network, config, radio, seed, measured, measured_interval)
        chosen = tuple(s.strip() for s in scenarios.split(",")) if scenarios else None
        unknown = [s for s in chosen or () if s not in synth.scenarios]
        if unknown:
            raise NettwinError(f"scenario(s) {', '.join(unknown)} not possible on "
                               f"{network.name}: use some of {', '.join(synth.scenarios)}")
    except NettwinError as exc:
        raise fail(exc) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    if radio_days > 0:
        _radio_history(radio, out_dir, radio_days, radio_degradation, seed)
        return
    n_records = 0
    sink = None
    if parquet:
        from nettwin.synth.parquet import ParquetSink

        sink = ParquetSink(out_dir)
    try:
        with (progress_bar("synthesising") as advance,
              (out_dir / "observations.jsonl").open("wb") as obs,
              (out_dir / "labels.jsonl").open("wb") as labels):
            for i, ep in enumerate(synth.episodes(episodes, chosen)):
                label = ep.label.to_json()
                obs.write(b"".join(orjson.dumps(r) + b"\n" for r in ep.records))
                labels.write(orjson.dumps(label) + b"\n")
                if sink is not None:
                    sink.write(ep.records, label)
                n_records += len(ep.records)
                advance(i + 1, episodes)
    finally:
        if sink is not None:
            sink.close()
    formats = "JSON lines and Parquet" if parquet else "JSON lines"
    err.print(f"wrote {n_records} observations and {episodes} labels ({formats}) to {out_dir}")


def _radio_history(radio: Any, out_dir: Path, days: float, degradation: str, seed: int) -> None:
    """Days of received levels with a labelled degradation (radio predictive maintenance)."""
    import dataclasses

    from nettwin.synth.radio_history import Degradation, synth_radio_history

    if radio is None:
        raise fail(NettwinError("--radio-days needs a network with microwave links (e.g. "
                                "the bundled munich-backhaul)"))
    kinds = {d.value: d for d in Degradation} | {"none": None}
    if degradation not in kinds:
        raise typer.BadParameter(f"--radio-degradation {degradation!r}: use one of "
                                 f"{', '.join(kinds)}")
    h = synth_radio_history(radio, seed=seed, days=days, degradation=kinds[degradation])
    with (out_dir / "radio.jsonl").open("wb") as fh:
        for k, t in enumerate(h.times.tolist()):
            fh.write(b"".join(orjson.dumps({"kind": "radio", "time": t, "link": lid,
                                            "rsl_dbm": v}) + b"\n"
                              for lid, v in zip(h.link_ids, h.rsl_dbm[k].tolist(),
                                                strict=True) if not math.isnan(v)))
    labels = {"degradation": None if h.degradation is None else
              dataclasses.asdict(h.degradation) | {"kind": h.degradation.kind.value},
              "rain": [dataclasses.asdict(r) for r in h.rain]}
    (out_dir / "radio_labels.json").write_bytes(orjson.dumps(labels, option=orjson.OPT_INDENT_2
                                                             | orjson.OPT_SERIALIZE_NUMPY))
    err.print(f"wrote {h.times.size} instants of {len(h.link_ids)} radio links and "
              f"{len(h.rain)} rain passage(s) to {out_dir}")
