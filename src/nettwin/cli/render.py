"""Rich tables for the terminal: SI units, worst first, colour only where it means something."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.table import Table

from nettwin.model import Network
from nettwin.report import service_records, top_arcs

if TYPE_CHECKING:  # annotations only: rendering never loads the engine's kernels
    from nettwin.engine import CompiledNetwork, SimulationResult


def si(value: float, unit: str) -> str:
    """1.2345e9, 'bit/s' -> '1.23 Gbit/s'."""
    if value is None or not math.isfinite(value):
        return "∞" if value == math.inf else "-"
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def figure(value: float) -> str:
    """About four significant digits, never more than three decimals: -5.599, 12.34,
    -10895. A table column stays narrow enough for 80 columns without cutting digits off."""
    if not math.isfinite(value):
        return str(value)
    whole = len(str(int(abs(value))))
    return f"{value:.{max(0, 4 - whole) if whole > 1 else 3}f}"


def plural(n: int, noun: str) -> str:
    """'1 episode', '5 episodes'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def ms(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "∞"
    return f"{seconds * 1e3:.3f} ms"


def pct(x: float) -> str:
    style = "red" if x >= 1.0 else ("yellow" if x >= 0.8 else "")
    text = f"{100 * x:.1f} %"
    return f"[{style}]{text}[/]" if style else text


def summary_table(network: Network) -> Table:
    s = network.summary()
    table = Table(title=f"Network {s['name']}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    rows: list[tuple[str, Any]] = [
        ("nodes", s["nodes"]), ("links (up)", f"{s['links']} ({s['links_up']})"),
        ("arcs", s["arcs"]), ("total capacity", si(s["capacity_bps"], "bit/s")),
        ("demands", s["demands"]), ("offered traffic", si(s["offered_bps"], "bit/s")),
        ("traffic classes", ", ".join(s["traffic_classes"])), ("services", s["services"]),
    ]
    for k, v in rows:
        table.add_row(k, str(v))
    return table


def kpi_table(result: SimulationResult) -> Table:
    k = result.kpis()
    table = Table(title=f"Scenario KPIs ({result.options.queue_model.value})", show_header=False)
    table.add_column("KPI")
    table.add_column("value", justify="right")
    table.add_row("offered", si(k["offered_bps"], "bit/s"))
    table.add_row("routed", si(k["routed_bps"], "bit/s"))
    table.add_row("unroutable", f"{si(k['unroutable_bps'], 'bit/s')} "
                                f"({k['unroutable_demands']} demands)")
    table.add_row("lost in queues", si(k["queue_lost_bps"], "bit/s"))
    table.add_row("max utilisation", pct(k["max_utilisation"]))
    table.add_row("mean utilisation", pct(k["mean_utilisation"]))
    for th in result.options.utilisation_thresholds:
        table.add_row(f"arcs above {100 * th:g} %",
                      f"{k[f'arcs_above_{th:g}']} carrying "
                      f"{si(k[f'load_on_arcs_above_{th:g}_bps'], 'bit/s')}")
    table.add_row("overloaded arcs", str(k["overloaded_arcs"]))
    table.add_row("mean delay (traffic-weighted)", ms(k["mean_delay_s"]))
    table.add_row("worst path delay", ms(k["max_worst_delay_s"]))
    table.add_row("services violating SLA", f"{k['services_violated']} of {k['services']}")
    return table


def arc_table(net: CompiledNetwork, result: SimulationResult, count: int) -> Table:
    table = Table(title=f"Top {count} arcs by utilisation")
    for col, justify in (("arc", "left"), ("capacity", "right"),
                         ("load", "right"), ("util", "right"), ("delay", "right"),
                         ("loss", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for arc in top_arcs(result, count).tolist():
        table.add_row(
            f"{net.node_ids[net.arc_src[arc]]} → {net.node_ids[net.arc_dst[arc]]}",
            si(net.arc_capacity_bps[arc], "bit/s"), si(result.arc_load_bps[arc], "bit/s"),
            pct(result.arc_utilisation[arc]), ms(result.arc_delay_s[arc]),
            f"{result.arc_loss[arc]:.2e}")
    return table


def service_table(network: Network, result: SimulationResult) -> Table:
    table = Table(title="Services and SLAs")
    for col in ("service", "worst delay", "target", "worst loss", "target", "status"):
        table.add_column(col)
    for row in service_records(network, result):
        status = "[red]VIOLATED[/]" if row["violated"] else "[green]ok[/]"
        if row["unroutable_demands"]:
            status += f" ({row['unroutable_demands']} unroutable)"
        table.add_row(row["name"], ms(row["worst_delay_s"]),
                      ms(row["max_delay_s"]) if row["max_delay_s"] else "-",
                      f"{row['worst_loss']:.2e}",
                      f"{row['max_loss']:.0e}" if row["max_loss"] is not None else "-", status)
    return table
