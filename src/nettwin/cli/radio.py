"""``nettwin radio budget|storm``: link budgets and rain storms on microwave links."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from nettwin.cli.common import (
    FormatOpt,
    JsonOpt,
    MetricsFileOpt,
    err,
    fail,
    json_to_stdout,
    load,
    out,
    print_notes,
    progress_bar,
    write_json_file,
)
from nettwin.cli.render import pct, si
from nettwin.errors import ImportFormatError, NettwinError
from nettwin.examples import example_path
from nettwin.io import MetricPolicy
from nettwin.io.text import read_document
from nettwin.model import Network
from nettwin.radio.acm import AcmProfile, load_acm_profiles

radio_app = typer.Typer(help="Microwave radio: ITU-R link budgets and rain storms.",
                        no_args_is_help=True)

RadioFileArg = Annotated[Path | None, typer.Argument(
    help="Network with microwave links (radio blocks). Default: the bundled Munich backhaul.")]
ProfilesOpt = Annotated[Path | None, typer.Option(
    "--profiles", help="Extra ACM profiles (vendor-table format); the bundled example's "
                       "38 GHz profile is added automatically.")]


def _radio_inputs(file: Path | None, fmt: Any, profiles: Path | None,
                  metrics: Path | None = None) -> tuple[Network, dict[str, AcmProfile]]:
    path = file or example_path("munich-backhaul")
    extra: dict[str, AcmProfile] = {}
    if file is None:
        extra |= load_acm_profiles(path.with_name("munich-acm-38ghz.txt"))
    if profiles is not None:
        if not profiles.exists():
            raise ImportFormatError(str(profiles), "no such file")
        extra |= load_acm_profiles(profiles)
    return load(path, fmt, None, 10e9, MetricPolicy.INVERSE_CAPACITY, metrics=metrics), extra


def _pct_avail(a: float) -> str:
    return f"{100 * a:.4f} %"


@radio_app.command("budget")
def budget_cmd(
    file: RadioFileArg = None,
    fmt: FormatOpt = None,
    profiles: ProfilesOpt = None,
    upgrade: Annotated[list[str] | None, typer.Option(
        "--upgrade", help="What-if on a radio field, e.g. 'A--B:dish_diameter_m=1.2' or "
                          "'A--B:profile=MINI-LINK_6600/18GHz/112MHz' (repeatable).")] = None,
    json_out: JsonOpt = None,
    csv_out: Annotated[Path | None, typer.Option("--csv")] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Links shown (least available "
                                                         "first).")] = 15,
) -> None:
    """Fade margin, availability per modulation and annual outage of every radio link, and
    which links limit each service's availability."""
    json_to_stdout(json_out)
    from nettwin.radio.acm import bundled_profiles
    from nettwin.radio.budget import compile_radio, link_budget
    from nettwin.radio.planning import apply_upgrades, parse_upgrades, service_availability
    from nettwin.report import write_rows

    try:
        network, extra = _radio_inputs(file, fmt, profiles)
        base = link_budget(compile_radio(network, extra))
        rows = base.rows()
        services = service_availability(network, base)
        upgraded = None
        if upgrade:
            pool = {**bundled_profiles(), **extra}
            caps = {pid: p.modes[-1].capacity_bps for pid, p in pool.items()}
            changed = apply_upgrades(network, parse_upgrades(upgrade), caps)
            upgraded = link_budget(compile_radio(changed, extra))
            services_after = service_availability(changed, upgraded)
    except NettwinError as exc:
        raise fail(exc) from None
    t = Table(title=f"Radio link budgets ({len(rows)} links, least available first)")
    for col in ("link", "GHz", "km", "R0.01", "margin low/top", "avail. up", "avail. top",
                "outage/yr", "limited by"):
        t.add_column(col, justify="left" if col == "link" else "right")
    for r in sorted(rows, key=lambda r: r["availability_link_up"])[:top]:
        t.add_row(r["link"], f"{r['frequency_ghz']:g}", f"{r['length_km']:.1f}",
                  f"{r['r001_mm_h']:.0f}",
                  f"{r['margin_lowest_mode_db']:.1f}/{r['margin_top_mode_db']:.1f} dB",
                  _pct_avail(r["availability_link_up"]), _pct_avail(r["availability_top_mode"]),
                  f"{r['outage_min_per_year']:.1f} min" + ("*" if r["rain_extrapolated"] else ""),
                  r["limited_by"])
    out.print(t)
    if any(r["rain_extrapolated"] for r in rows):
        out.print("* rain outage below 0.001 % of the time: P.530 stops there, the figure is "
                  "extrapolated (log-log tangent, errs long)")
    t = Table(title="Service availability over its radio links (no rerouting)")
    for col in ("service", "radio links", "availability", "target", "limiting link"):
        t.add_column(col)
    for s in services:
        ok = s["meets_target"]
        avail = _pct_avail(s["availability"])
        t.add_row(s["service"], str(s["radio_links"]),
                  avail if ok is None else f"[{'green' if ok else 'red'}]{avail}[/]",
                  "-" if s["target"] is None else _pct_avail(s["target"]),
                  str(s["limiting_link"]))
    out.print(t)
    doc: dict[str, Any] = {"links": rows, "services": services}
    if upgraded is not None:
        after = {r["link"]: r for r in upgraded.rows()}
        t = Table(title="Upgrade what-if")
        for col in ("link", "top capacity", "avail. up", "avail. top", "outage/yr"):
            t.add_column(col)
        for r in rows:
            a = after[r["link"]]
            if r["link"] in parse_upgrades(upgrade or []):
                t.add_row(r["link"], f"{si(r['capacity_top_bps'], 'bit/s')} -> "
                          f"{si(a['capacity_top_bps'], 'bit/s')}",
                          f"{_pct_avail(r['availability_link_up'])} -> "
                          f"{_pct_avail(a['availability_link_up'])}",
                          f"{_pct_avail(r['availability_top_mode'])} -> "
                          f"{_pct_avail(a['availability_top_mode'])}",
                          f"{r['outage_min_per_year']:.1f} -> {a['outage_min_per_year']:.1f} min")
        out.print(t)
        doc["upgraded"] = {"links": list(after.values()), "services": services_after}
    print_notes(network)
    if json_out is not None:
        write_json_file(json_out, doc)
    if csv_out is not None:
        write_rows(rows, csv_out)
        err.print(f"wrote {csv_out}")


@radio_app.command("storm")
def storm_cmd(
    file: RadioFileArg = None,
    storm: Annotated[Path | None, typer.Option(
        "--storm", help="Storm file (YAML): duration_min, step_min, cells. Default: the "
                        "bundled squall line over Munich.")] = None,
    fmt: FormatOpt = None,
    profiles: ProfilesOpt = None,
    metrics: MetricsFileOpt = None,
    at: Annotated[float | None, typer.Option(
        "--at", help="Minute drawn on the storm map (default: the worst step).")] = None,
    json_out: JsonOpt = None,
    csv_out: Annotated[Path | None, typer.Option(
        "--csv", help="Per step and link: fade, mode, capacity.")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Report with plots.")] = None,
) -> None:
    """Run a rain storm over the network: fade, modulation and capacity of every radio link
    at every step, and what the IP layer does with it (utilisation, reroutes, SLAs)."""
    json_to_stdout(json_out)
    from nettwin.radio.budget import compile_radio
    from nettwin.radio.storm import StormField, parse_storm, run_storm
    from nettwin.report import write_rows
    from nettwin.report.html import image_html, table_html, write_report
    from nettwin.report.plots import storm_map_png, storm_services_png, storm_timeline_png

    try:
        network, extra = _radio_inputs(file, fmt, profiles, metrics)
        storm_path = storm or example_path("munich-storm")
        if not storm_path.exists():
            raise ImportFormatError(str(storm_path), "no such file")
        doc = read_document(storm_path)  # bounded: no alias bombs, no runaway nesting
        the_storm = parse_storm(doc, storm_path.name)
        radio = compile_radio(network, extra)
        t0 = time.perf_counter()
        with progress_bar("storm steps") as advance:
            result = run_storm(network, radio, the_storm, progress=advance)
        elapsed = time.perf_counter() - t0
    except NettwinError as exc:
        raise fail(exc) from None
    s = result.summary()
    out.print(f"[bold]{the_storm.name}[/]: {s['steps']} steps of {the_storm.step_min:g} min "
              f"over {s['radio_links']} radio links; worst rain fade {s['max_rain_fade_db']:.1f} "
              f"dB; {s['links_ever_down']} link(s) went down ({s['link_minutes_down']:g} "
              f"link-minutes); radio capacity fell to {pct(s['min_capacity_fraction'])}; "
              f"peak utilisation {pct(s['peak_max_utilisation'])}; peak unroutable "
              f"{si(s['peak_unroutable_bps'], 'bit/s')}")
    t = Table(title="Radio links hit hardest")
    for col in ("link", "max fade", "lowest mode", "minutes down", "min capacity"):
        t.add_column(col)
    lost = (result.capacity_bps[0] - result.capacity_bps).sum(axis=0)
    for i in np.argsort(-lost)[:10]:
        modes = result.mode[:, i]
        lowest = int(modes.min())
        t.add_row(radio.link_ids[i], f"{result.attenuation_db[:, i].max():.1f} dB",
                  "down" if lowest < 0 else str(lowest),
                  f"{(modes < 0).sum() * the_storm.step_min:g}",
                  si(result.capacity_bps[:, i].min(), "bit/s"))
    out.print(t)
    for sid, v in s["services"].items():
        out.print(f"service [bold]{sid}[/]: SLA violated {v['minutes_violated']:g} min, "
                  f"worst delay {1e3 * (v['worst_delay_s'] or float('nan')):.2f} ms")
    err.print(f"[dim]{s['steps']} steps in {elapsed:.2f} s[/]")
    if json_out is not None:
        write_json_file(json_out, s)
    if csv_out is not None:
        write_rows([{"time_min": float(tm), "link": radio.link_ids[i],
                     "fade_db": float(result.attenuation_db[k, i]),
                     "mode": int(result.mode[k, i]),
                     "capacity_bps": float(result.capacity_bps[k, i])}
                    for k, tm in enumerate(result.times_min) for i in range(radio.n)], csv_out)
        err.print(f"wrote {csv_out}")
    if html_out is not None:
        k = (int(np.argmin(np.abs(result.times_min - at))) if at is not None
             else int(np.argmax(result.attenuation_db.sum(axis=1))))
        field = StormField(radio, the_storm)
        state = np.where(result.mode[k] < 0, 0,
                         np.where(result.mode[k] < radio.top_mode, 1, 2))
        write_report(html_out, f"nettwin storm: {the_storm.name}", [
            ("Map", image_html(storm_map_png(field.ax, field.ay, field.bx, field.by, state,
                                             field.cells_at(float(result.times_min[k])),
                                             f"t = {result.times_min[k]:g} min"), "map")),
            ("Modulation and capacity", image_html(storm_timeline_png(
                result.times_min, radio.link_ids, result.capacity_bps, result.attenuation_db),
                "timeline")),
            ("Services", image_html(storm_services_png(
                result.times_min, result.service_ids, result.service_worst_delay_s,
                result.service_max_delay_s), "services")
             + table_html([{"service": k2, **v} for k2, v in s["services"].items()])),
        ])
        err.print(f"wrote {html_out}")
