"""Compact answers for agents: summaries first, top-N lists with their whole counts, and a
resource URI where the full table can be read. Pure functions over the API's documents."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def top(rows: Sequence[dict[str, Any]], n: int, key: Callable[[dict[str, Any]], Any]
        ) -> list[dict[str, Any]]:
    """The ``n`` rows with the largest key (None counts as the smallest)."""
    return sorted(rows, key=lambda r: (key(r) is not None, key(r) or 0), reverse=True)[:n]


def _util(row: dict[str, Any]) -> float | None:
    value = row.get("utilisation")
    return None if value is None else float(value)


def summarise_simulation(doc: dict[str, Any], n: int, resource: str) -> dict[str, Any]:
    """KPIs, worst arcs, violated services (of a ``SimulationDoc``)."""
    arcs, services = doc["arcs"], doc["services"]
    violated = [s for s in services if s["violated"]]
    return {
        "kpis": doc["kpis"],
        "arcs_count": len(arcs),
        "arcs_overloaded": sum(1 for a in arcs if a["overloaded"]),
        "worst_arcs": [{"arc": arc_label(a)} | {k: a[k] for k in (
                           "utilisation", "load_bps", "capacity_bps", "delay_s", "loss")}
                       for a in top(arcs, n, _util)],
        "services_count": len(services),
        "services_violated_count": len(violated),
        "services_violated": [{k: s[k] for k in ("id", "worst_delay_s", "max_delay_s",
                                                  "worst_loss", "unroutable_demands")}
                              for s in top(violated, n, lambda s: s["worst_delay_s"])],
        "resource": resource,
    }


def arc_label(row: dict[str, Any]) -> str:
    """'LINK (A->B)' of a simulation arc record."""
    return f"{row['link']} ({row['src']}->{row['dst']})"


def summarise_whatif(doc: dict[str, Any], n: int, resource: str) -> dict[str, Any]:
    """Verdict, KPIs before/after, the arcs that changed most, services affected."""
    changes = doc["arc_changes"]
    services = doc["services"]
    moved = [s for s in services if s["violated_before"] != s["violated_after"]
             or s["worst_delay_after_s"] != s["worst_delay_before_s"]]
    return {
        "basis": doc["basis"], "verdict": doc["verdict"],
        "max_utilisation_before": doc["max_utilisation_before"],
        "max_utilisation_after": doc["max_utilisation_after"],
        "max_utilisation_arc": doc["max_utilisation_arc"], "lost_bps": doc["lost_bps"],
        "arcs_changed": doc["arcs_changed"],
        "most_loaded_arcs_after": top(changes, n, lambda c: c["utilisation_after"]),
        "demands_rerouted": doc["demands_rerouted"],
        "demands_lost_count": doc["demands_lost_count"],
        "demands_lost": doc["demands_lost"][:n],
        "services_count": len(services),
        "services_changed_count": len(moved),
        "services_changed": top(moved, n, lambda s: s["worst_delay_after_s"]),
        "services_newly_violated": doc["services_newly_violated"][:n],
        "services_newly_violated_count": len(doc["services_newly_violated"]),
        "resource": resource,
    }


def summarise_sweep(result: dict[str, Any], n: int, job: dict[str, Any],
                    resource: str) -> dict[str, Any]:
    """Worst failures (criticality order), worst case per arc, counts."""
    failures, worst = result["failures"], result["worst_case"]
    return {
        "job": job, "basis": result.get("basis"),
        "failures_count": len(failures),
        "failures_losing_traffic": sum(1 for f in failures if f["lost_bps"] > 0),
        "failures_breaking_slas": sum(1 for f in failures if f["services_broken"]),
        "failures_overloading": sum(1 for f in failures if f["overloaded_arcs"] > 0),
        "worst_failures": [f | {"services_broken_count": len(f["services_broken"]),
                                "services_broken": f["services_broken"][:n]}
                           for f in failures[:n]],
        "worst_case_arcs": top(worst, n, lambda r: r["worst_utilisation"]),
        "arcs_count": len(worst),
        "resources": {"failures": f"{resource}/failures",
                      "worst_case": f"{resource}/worst_case"},
    }


def summarise_live(state: dict[str, Any], n: int) -> dict[str, Any]:
    """The live state's header with its busiest arcs and standing alarms."""
    arcs, alarms = state["arcs"], state["alarms"]
    modes = state.get("modulation") or {}
    return {
        "network_id": state["network_id"], "time": state["time"],
        "time_iso": state["time_iso"], "samples": state["samples"], "note": state["note"],
        "max_utilisation": state["max_utilisation"], "scale": state["scale"],
        "links_down_count": len(state["links_down"]),
        "links_down": state["links_down"][:n],
        "arcs_count": len(arcs),
        "arcs_measured": sum(1 for a in arcs if a["rate_bps"] is not None),
        "busiest_arcs": top(arcs, n, _util),
        "alarms_count": len(alarms), "alarms": alarms[:n],
        "modulation_count": len(modes),
        "modulation": dict(list(modes.items())[:n]),
    }


def summarise_diff(diff: dict[str, Any], n: int) -> dict[str, Any]:
    """What changed between two instants, largest arc changes first."""
    def delta(row: dict[str, Any]) -> float:
        before, after = row.get("utilisation_before"), row.get("utilisation_after")
        return abs(float(after or 0.0) - float(before or 0.0))

    return {
        "from": diff["from"], "to": diff["to"],
        "links_changed_count": len(diff["links"]),
        "links_changed": dict(list(diff["links"].items())[:n]),
        "modulation_changed_count": len(diff["modulation"]),
        "modulation_changed": dict(list(diff["modulation"].items())[:n]),
        "alarms_raised_count": len(diff["alarms_raised"]),
        "alarms_raised": diff["alarms_raised"][:n],
        "alarms_cleared_count": len(diff["alarms_cleared"]),
        "alarms_cleared": diff["alarms_cleared"][:n],
        "arcs_changed_count": len(diff["arcs"]),
        "arcs_changed": sorted(diff["arcs"], key=delta, reverse=True)[:n],
    }
