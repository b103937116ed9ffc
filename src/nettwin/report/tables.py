"""Results as tables with names: per arc, per demand, per service, and the headline KPIs.

The engine speaks arrays and positions; people and other systems want ids. These functions
join the two, for the CLI today and the API tomorrow.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationResult
from nettwin.extras import require
from nettwin.model import Network


def json_safe(value: Any) -> Any:
    """JSON has no inf/nan: unbounded or unknown numbers become null, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _num(x: float) -> float | None:
    """JSON has no inf/nan: unknown or unbounded values become null."""
    return float(x) if math.isfinite(x) else None


def arc_records(net: CompiledNetwork, result: SimulationResult,
                rows_wanted: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """One row per arc (link direction), in arc order (only ``rows_wanted``, if given)."""
    rows = []
    for arc in range(net.n_arcs) if rows_wanted is None else rows_wanted:
        rows.append({
            "link": net.link_ids[arc // 2],
            "direction": "ab" if arc % 2 == 0 else "ba",
            "src": net.node_ids[net.arc_src[arc]],
            "dst": net.node_ids[net.arc_dst[arc]],
            "up": bool(result.arc_up[arc]),
            "metric": int(net.arc_metric[arc]),
            "capacity_bps": float(net.arc_capacity_bps[arc]),
            "load_bps": float(result.arc_load_bps[arc]),
            "utilisation": float(result.arc_utilisation[arc]),
            "propagation_s": float(net.arc_propagation_s[arc]),
            "transmission_s": float(result.arc_transmission_s[arc]),
            "queueing_s": float(result.arc_queueing_s[arc]),
            "delay_s": float(result.arc_delay_s[arc]),
            "loss": float(result.arc_loss[arc]),
            "overloaded": bool(result.arc_overloaded[arc]),
        })
    return rows


def demand_records(network: Network, result: SimulationResult) -> list[dict[str, Any]]:
    """One row per demand, in the network's demand order."""
    ids = network.demand_ids
    names = network.node_ids
    t = network.demands
    rows = []
    for i in range(len(t)):
        rows.append({
            "id": ids[i], "src": names[t.src[i]], "dst": names[t.dst[i]],
            "traffic_class": t.class_names[t.class_index[i]],
            "rate_bps": float(result.demand_rate_bps[i]),
            "routed": bool(result.demand_routed[i]),
            "delay_mean_s": _num(result.demand_delay_mean_s[i]),
            "delay_worst_s": _num(result.demand_delay_worst_s[i]),
            "loss": float(result.demand_loss[i]),
            "hops_mean": _num(result.demand_hops_mean[i]),
        })
    return rows


def service_records(network: Network, result: SimulationResult,
                    rows_wanted: range | None = None) -> list[dict[str, Any]]:
    """One row per service: measured worst delay and loss against the SLA targets (only
    ``rows_wanted``, if given)."""
    s = result.services
    rows = []
    for i in range(len(s.ids)) if rows_wanted is None else rows_wanted:
        sid = s.ids[i]
        svc = network.services[sid]
        rows.append({
            "id": sid, "name": svc.name or sid, "demands": len(svc.demands),
            "worst_delay_s": _num(s.worst_delay_s[i]), "max_delay_s": svc.max_delay_s,
            "worst_loss": float(s.worst_loss[i]), "max_loss": svc.max_loss,
            "unroutable_demands": int(s.unroutable_demands[i]),
            "violated": bool(s.violated[i]),
        })
    return rows


def result_document(network: Network, net: CompiledNetwork, result: SimulationResult,
                    *, with_demands: bool = True) -> dict[str, Any]:
    """Everything about one run, JSON-ready."""
    kpis = json_safe(result.kpis())
    doc: dict[str, Any] = {
        "network": network.summary(),
        "options": {"queue_model": result.options.queue_model.value,
                    "arrival_model": result.options.arrival_model.value,
                    "mean_packet_bytes": result.options.mean_packet_bytes,
                    "packet_size_scv": result.options.packet_size_scv,
                    "default_buffer_packets": result.options.default_buffer_packets},
        "kpis": kpis,
        "arcs": arc_records(net, result),
        "services": service_records(network, result),
        "notes": [str(n) for n in network.notes],
    }
    if with_demands:
        doc["demands"] = demand_records(network, result)
    return doc


def write_json(doc: Any, path: Path) -> None:
    """Write a JSON document; non-finite numbers are written as null."""
    path.write_text(json.dumps(json_safe(doc), indent=1, allow_nan=False) + "\n",
                    encoding="utf-8")


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        if not rows:
            return
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    """Rows as a Parquet table (lists become strings joined by ';')."""
    pa = require("pyarrow")
    pq = require("pyarrow.parquet")

    flat = [{k: (";".join(map(str, v)) if isinstance(v, list | tuple) else v)
             for k, v in row.items()} for row in rows]
    pq.write_table(pa.Table.from_pylist(flat), path)


def write_rows(rows: list[dict[str, Any]], path: Path) -> None:
    """Rows to CSV, Parquet or JSON, chosen by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        write_parquet(rows, path)
    elif suffix == ".json":
        write_json(rows, path)
    else:
        write_csv(rows, path)


def top_arcs(result: SimulationResult, count: int) -> np.ndarray:
    """Arc numbers of the ``count`` most utilised arcs that are up, most utilised first."""
    util = np.where(result.arc_up, result.arc_utilisation, -1.0)
    order = np.argsort(-util, kind="stable")
    return order[: min(count, int(result.arc_up.sum()))]


def _take(labels: tuple[str, ...] | list[str], index: np.ndarray) -> Any:
    """Labels picked by position, as an Arrow string column (one take in Arrow's C++: no
    Python string per row)."""
    pa = require("pyarrow")

    return pa.array(list(labels), pa.string()).take(pa.array(np.asarray(index, np.int32)))


def arc_table(net: CompiledNetwork, result: SimulationResult) -> Any:
    """One row per arc (link direction) as a pyarrow Table, built from the arrays at once."""
    pa = require("pyarrow")

    arc = np.arange(net.n_arcs)
    return pa.table({
        "link": _take(net.link_ids, arc // 2),
        "direction": _take(["ab", "ba"], arc % 2),
        "src": _take(net.node_ids, net.arc_src), "dst": _take(net.node_ids, net.arc_dst),
        "up": result.arc_up.astype(bool), "metric": net.arc_metric.astype(np.int64),
        "capacity_bps": result.arc_capacity_bps, "load_bps": result.arc_load_bps,
        "utilisation": result.arc_utilisation, "propagation_s": net.arc_propagation_s,
        "transmission_s": result.arc_transmission_s, "queueing_s": result.arc_queueing_s,
        "delay_s": result.arc_delay_s, "loss": result.arc_loss,
        "overloaded": result.arc_overloaded.astype(bool),
    })


def demand_table(network: Network, result: SimulationResult) -> Any:
    """One row per demand as a pyarrow Table (delays are NaN where a demand is unroutable)."""
    pa = require("pyarrow")

    t = network.demands
    return pa.table({
        "id": pa.array(list(network.demand_ids), pa.string()),
        "src": _take(network.node_ids, t.src), "dst": _take(network.node_ids, t.dst),
        "traffic_class": _take(t.class_names, t.class_index),
        "rate_bps": result.demand_rate_bps, "routed": result.demand_routed.astype(bool),
        "delay_mean_s": result.demand_delay_mean_s, "delay_worst_s": result.demand_delay_worst_s,
        "loss": result.demand_loss, "hops_mean": result.demand_hops_mean,
    })


def service_table(network: Network, result: SimulationResult) -> Any:
    """One row per service as a pyarrow Table: worst delay and loss against the SLA targets."""
    pa = require("pyarrow")

    s = result.services
    svcs = [network.services[sid] for sid in s.ids]
    return pa.table({
        "id": pa.array(list(s.ids), pa.string()),
        "name": pa.array([v.name or v.id for v in svcs], pa.string()),
        "demands": pa.array([len(v.demands) for v in svcs], pa.int64()),
        "worst_delay_s": pa.array(s.worst_delay_s, pa.float64()),
        "max_delay_s": pa.array([v.max_delay_s for v in svcs], pa.float64()),
        "worst_loss": pa.array(s.worst_loss, pa.float64()),
        "max_loss": pa.array([v.max_loss for v in svcs], pa.float64()),
        "unroutable_demands": pa.array(s.unroutable_demands, pa.int64()),
        "violated": pa.array(s.violated, pa.bool_()),
    })
