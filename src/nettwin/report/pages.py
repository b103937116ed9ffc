"""The HTML reports of ``whatif``, ``sweep`` and ``risk``: the inputs recorded (so a report
can be repeated), a map, plots and tables in people's units. One function per report; the
CLI passes what it ran and what it was given."""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path
from typing import Any

import numpy as np

from nettwin.engine import compile_network, simulate
from nettwin.model import Network
from nettwin.report.html import (
    format_value,
    header_of,
    image_html,
    inputs_html,
    table_html,
    write_report,
)
from nettwin.report.maps import network_map_svg
from nettwin.scenarios import RiskModel, RiskResult, SweepResult, WhatIfResult
from nettwin.scenarios.changes import Scenario
from nettwin.scenarios.whatif import diff_document


def describe_change(change: Any) -> str:
    """'fail link Denver--Kansas-City', 'scale traffic factor 1.5 node New-York', ..."""
    words = "".join(f" {c.lower()}" if c.isupper() else c
                    for c in type(change).__name__).strip()
    fields = []
    for f in dataclasses.fields(change):
        value = getattr(change, f.name)
        if value is None or (f.name == "direction" and getattr(value, "value", "") == "both"):
            continue
        shown = getattr(value, "value", value)
        if isinstance(shown, dict):
            shown = ", ".join(f"{k} {v}" for k, v in shown.items())
        fields.append(str(shown) if f.name in ("link", "node", "srlg")
                      else f"{header_of(f.name)} {format_value(f.name, shown)}")
    return f"{words} {' '.join(fields)}".strip()


def _changes_html(scenario: Scenario) -> str:
    items = "".join(f"<li>{html.escape(describe_change(c))}</li>" for c in scenario.changes)
    return f"<ul>{items}</ul>"


def _util(result: Any) -> tuple[np.ndarray, np.ndarray]:
    return np.where(result.arc_up, result.arc_utilisation, 0.0), result.arc_up


def write_whatif_report(path: Path, network: Network, results: list[WhatIfResult],
                        inputs: dict[str, Any]) -> None:
    """Per scenario: verdict, the changes, a map after the change, the arcs that moved most
    and the services."""
    from nettwin.report.plots import whatif_png

    sections = [("Inputs", inputs_html(inputs))]
    for r in results:
        doc = diff_document(r.diff, limit=10_000)
        bad = doc["verdict"].startswith("FAIL")
        util, up = _util(r.result)
        arcs = [{"arc": c["arc"], "utilisation_before": c["utilisation_before"],
                 "utilisation_after": c["utilisation_after"],
                 "change_utilisation": None if None in (c["utilisation_before"],
                                                        c["utilisation_after"])
                 else c["utilisation_after"] - c["utilisation_before"]}
                for c in doc["arc_changes"]]
        services = [{"service": s["service"], "worst_delay_before_s": s["worst_delay_before_s"],
                     "worst_delay_after_s": s["worst_delay_after_s"],
                     "SLA_before": "violated" if s["violated_before"] else "ok",
                     "SLA_after": "violated" if s["violated_after"] else "ok"}
                    for s in doc["services"]]
        where = (f" on {html.escape(doc['max_utilisation_arc'])}"
                 if doc["max_utilisation_arc"] else "")
        body = (f'<p class="verdict{" bad" if bad else ""}">{html.escape(doc["verdict"])}</p>'
                f"<p>Changes:</p>{_changes_html(r.scenario)}"
                f"<p>max utilisation {format_value('utilisation', doc['max_utilisation_before'])}"
                f" → {format_value('utilisation', doc['max_utilisation_after'])}"
                f"{where}"
                f"; {doc['demands_rerouted']} demands rerouted, {doc['demands_lost_count']} lost"
                f" ({format_value('lost_bps', doc['lost_bps'])})</p>"
                + network_map_svg(r.applied.network, util, up,
                                  f"Utilisation after “{r.scenario.name}”")
                + (image_html(whatif_png(doc["arc_changes"]), "utilisation before and after")
                   if doc["arc_changes"] else "")
                + "<h3>Arcs that changed most</h3>" + table_html(arcs, 40)
                + "<h3>Services</h3>" + table_html(services))
        sections.append((f"Scenario: {r.scenario.name}", body))
    write_report(path, f"nettwin what-if: {network.name}", sections)


def write_sweep_report(path: Path, network: Network, result: SweepResult,
                       inputs: dict[str, Any]) -> None:
    """Worst case per arc (map, plot, table), the criticality ranking, SLAs per service."""
    from nettwin.report.plots import criticality_png, worst_case_utilisation_png

    worst = result.worst_case_rows()
    failures = result.failure_rows()
    worst_util = np.array([w["worst_utilisation"] for w in worst])
    services = [{"service": sid, "failures_breaking_SLA": len(result.failures_breaking(sid)),
                 "for_example": [f.label for f in result.failures_breaking(sid)[:6]]}
                for sid in result.compiled.service_ids]
    ranked = sorted(worst, key=lambda w: -w["worst_utilisation"])
    write_report(path, f"nettwin failure sweep: {network.name}", [
        ("Inputs", inputs_html(inputs | {"failures evaluated": len(failures)})),
        ("Map of the worst case", network_map_svg(
            network, worst_util, None, "Worst utilisation of each arc over every failure")),
        ("Worst-case utilisation", image_html(worst_case_utilisation_png(worst), "worst")
         + table_html(ranked, 40)),
        ("Criticality ranking", image_html(criticality_png(failures), "criticality")
         + table_html(failures, 40)),
        ("Services", table_html(services)),
    ])


def _interval(bounds: tuple[float, float] | list[float], key: str) -> str:
    return f"[{format_value(key, bounds[0])}, {format_value(key, bounds[1])}]"


def write_risk_report(path: Path, network: Network, result: RiskResult, model: RiskModel,
                      inputs: dict[str, Any]) -> None:
    """The assumptions, distributions with 95 % intervals, probabilities with Wilson
    intervals, and the map at the median traffic growth."""
    from nettwin.report.plots import risk_png

    s = result.summary()
    measures = []
    for key, label in (("max_utilisation", "max utilisation"),
                       ("unserved_bps", "unserved traffic")):
        d = s[key]
        unit = "utilisation" if key == "max_utilisation" else "x_bps"
        measures.append({"measure": label,
                         "mean [95 % CI]": f"{format_value(unit, d['mean'])} "
                                           + _interval((d["ci95_low"], d["ci95_high"]), unit),
                         "p50": format_value(unit, d["p50"]), "p95": format_value(unit, d["p95"]),
                         "p99": format_value(unit, d["p99"]), "max": format_value(unit, d["max"])})
    probs = [{"event": "some link overloaded", "probability": s["p_overload"],
              "95 % interval (Wilson)": _interval(s["p_overload_ci95"], "p_")},
             {"event": "traffic lost", "probability": s["p_traffic_lost"],
              "95 % interval (Wilson)": _interval(s["p_traffic_lost_ci95"], "p_")}]
    probs += [{"event": f"SLA of {sid} violated", "probability": v["p_sla_violation"],
               "95 % interval (Wilson)": _interval(v["ci95"], "p_")}
              for sid, v in s["services"].items()]
    compiled = compile_network(network)
    median = simulate(compiled, demand_rate_bps=compiled.demand_rate_bps * model.growth_median)
    util, up = _util(median)
    assumptions = {f.name: getattr(model, f.name) for f in dataclasses.fields(model)}
    write_report(path, f"nettwin risk: {network.name}", [
        ("Inputs", inputs_html(inputs | {"samples": result.samples, "seed": result.seed}
                               | assumptions)),
        ("Summary", table_html(measures) + table_html(probs)),
        ("Map at the median growth", network_map_svg(
            network, util, up, f"Utilisation with every element up and traffic × "
                               f"{model.growth_median:g} (the median growth)")),
        ("Distributions", image_html(risk_png(result.max_utilisation, result.unserved_bps,
                                              s["services"]), "risk")),
    ])
