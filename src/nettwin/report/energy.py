"""The energy report: which links sleep when (a heatmap over the day), the maximum
utilisation with and without the schedule, the saving beside its bound, a map at the
deepest sleep. Built from the document ``EnergyResult.to_document()`` gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nettwin.model import Network
from nettwin.report.html import image_html, inputs_html, table_html, write_report
from nettwin.report.maps import network_map_svg


def schedule_matrix(doc: dict[str, Any]) -> np.ndarray:
    """float[links, intervals]: 1 asleep, 0.5 carriers asleep or modulation capped, 0 awake."""
    index = {lk["link"]: i for i, lk in enumerate(doc["links"])}
    grid = np.zeros((len(index), len(doc["intervals"])))
    for t, row in enumerate(doc["intervals"]):
        for lid in row["asleep"]:
            grid[index[lid], t] = 1.0
        for lid in row["reduced"]:
            grid[index[lid], t] = 0.5
    return grid


def energy_png(doc: dict[str, Any], top: int = 60) -> bytes:
    """Top: links (rows) over the day, dark when asleep. Bottom: MLU over the day."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nettwin.report.plots import _png

    grid = schedule_matrix(doc)
    ever = np.flatnonzero(grid.max(axis=1) > 0)[:top]
    labels = [doc["links"][i]["link"] for i in ever]
    rows = doc["intervals"]
    x = np.arange(len(rows))
    height = 2.0 + 0.22 * max(len(ever), 4)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, height + 3), dpi=100, sharex=True,
                                   gridspec_kw={"height_ratios": [height, 3]})
    ax1.imshow(grid[ever] if ever.size else np.zeros((1, len(rows))), aspect="auto",
               cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    ax1.set_yticks(range(len(labels)), labels, fontsize=7)
    ax1.set_title("Links asleep (black) or reduced (grey) per interval")
    ax2.plot(x, [r["mlu_all_awake"] for r in rows], label="every link awake", color="#888")
    ax2.plot(x, [r["mlu"] for r in rows], label="with the schedule", color="#1f77b4")
    if rows and "worst_failure_mlu" in rows[0]:
        ax2.plot(x, [r["worst_failure_mlu"] for r in rows], label="worst single failure "
                 "before waking", color="#d62728", lw=0.8)
    ax2.axhline(doc["max_utilisation"], color="k", ls="--", lw=0.8, label="limit")
    ax2.set_ylabel("max utilisation")
    ticks = x[:: max(1, len(rows) // 12)]
    ax2.set_xticks(ticks, [str(rows[i]["label"])[-8:] for i in ticks], rotation=30,
                   fontsize=7)
    ax2.legend(fontsize=7)
    return _png(fig)


def write_energy_report(path: Path, network: Network, doc: dict[str, Any],
                        inputs: dict[str, Any]) -> None:
    """The HTML page of one energy schedule."""
    rows = doc["intervals"]
    deepest = max(range(len(rows)), key=lambda t: len(rows[t]["asleep"])) if rows else 0
    asleep = set(rows[deepest]["asleep"]) if rows else set()
    up = np.repeat([lid not in asleep for lid in network.links], 2)
    util = np.zeros(up.size)  # the map shows which links sleep, not loads
    grid = schedule_matrix(doc)
    hours = grid.sum(axis=1) * doc["interval_s"] / 3600.0
    per_link = sorted(({"link": lk["link"], "hours_asleep_or_reduced": float(h),
                        "awake_w": lk["awake_w"], "power_source": lk["source"]}
                       for lk, h in zip(doc["links"], hours, strict=True)),
                      key=lambda r: -r["hours_asleep_or_reduced"])
    keys = ("energy_saved_fraction", "kwh_saved", "kwh_all_awake", "sla_violations",
            "over_limit_arcs", "mlu_max", "mlu_all_awake_max", "asleep_mean", "asleep_max",
            "dwell_breaks", "intervals_broken_all_awake")
    headline: dict[str, Any] = {k: doc[k] for k in keys if k in doc}
    for k in ("worst_failure_mlu", "worst_failure_mlu_woken", "cut_failures"):
        if k in doc:
            headline[k] = doc[k]
    if "bound" in doc:
        headline["saving_upper_bound"] = doc["bound"]["saving_upper_bound"]
    sections = [
        ("Inputs", inputs_html(inputs)),
        ("Saving over the day", inputs_html(headline)),
        ("Schedule and utilisation", image_html(energy_png(doc), "schedule")),
        (f"Map at {rows[deepest]['label'] if rows else '-'} (most links asleep: dashed)",
         network_map_svg(network, util, up, f"{len(asleep)} link(s) asleep")),
        ("Links", table_html(per_link, 80)),
        ("Intervals", table_html([{k: v for k, v in r.items() if k != "reduced"}
                                  for r in rows], 400)),
    ]
    write_report(path, f"nettwin energy schedule: {network.name}", sections)
