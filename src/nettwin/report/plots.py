"""Figures where a picture beats a table (matplotlib, Agg backend, PNG bytes)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np


def _figure(width: float = 9.0, height: float = 4.5) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=100)


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def worst_case_utilisation_png(rows: list[dict[str, Any]], top: int = 40) -> bytes:
    """Baseline vs worst-case utilisation of the most exposed arcs."""
    rows = sorted(rows, key=lambda r: -r["worst_utilisation"])[:top]
    fig, ax = _figure(10, 5)
    x = np.arange(len(rows))
    ax.bar(x, [100 * r["worst_utilisation"] for r in rows], color="#d95f02",
           label="worst case over all failures")
    ax.bar(x, [100 * r["baseline_utilisation"] for r in rows], color="#1b9e77", width=0.5,
           label="no failure")
    ax.axhline(100, color="k", lw=0.8, ls="--")
    ax.set_xticks(x, [r["arc"].split(" (")[1].rstrip(")") for r in rows], rotation=75,
                  fontsize=7)
    ax.set_ylabel("utilisation (%)")
    ax.set_title(f"Worst-case utilisation, {len(rows)} most exposed arcs")
    ax.legend()
    return _png(fig)


def criticality_png(rows: list[dict[str, Any]], top: int = 20) -> bytes:
    """The failures that hurt most: traffic lost and max utilisation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = rows[:top][::-1]
    fig, (ax1, ax2) = plt.subplots(1, 2, sharey=True, dpi=100,
                                   figsize=(11, 0.3 * len(rows) + 1.5))
    y = np.arange(len(rows))
    ax1.barh(y, [r["lost_bps"] / 1e9 for r in rows], color="#7570b3")
    ax1.set_yticks(y, [f"{r['kind']} {r['failure']}"[:48] for r in rows], fontsize=7)
    ax1.set_xlabel("traffic lost (Gbit/s)")
    ax2.barh(y, [100 * r["max_utilisation"] for r in rows], color="#e7298a")
    ax2.axvline(100, color="k", lw=0.8, ls="--")
    ax2.set_xlabel("max utilisation (%)")
    fig.suptitle("Criticality ranking (most damaging failures first)")
    return _png(fig)


def risk_png(max_utilisation: np.ndarray, unserved_bps: np.ndarray,
             services: dict[str, dict[str, Any]]) -> bytes:
    """Distributions of max utilisation and unserved traffic; SLA violation risk."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), dpi=100)
    axes[0].hist(100 * max_utilisation, bins=50, color="#1b9e77")
    axes[0].axvline(100, color="k", lw=0.8, ls="--")
    axes[0].set_xlabel("max utilisation (%)")
    axes[0].set_ylabel("samples")
    axes[1].hist(unserved_bps / 1e9, bins=50, color="#d95f02", log=True)
    axes[1].set_xlabel("unserved traffic (Gbit/s)")
    names = list(services)
    p = [services[s]["p_sla_violation"] for s in names]
    lo = [p[i] - services[s]["ci95"][0] for i, s in enumerate(names)]
    hi = [services[s]["ci95"][1] - p[i] for i, s in enumerate(names)]
    axes[2].barh(np.arange(len(names)), p, xerr=[lo, hi], color="#7570b3")
    axes[2].set_yticks(np.arange(len(names)), names, fontsize=8)
    axes[2].set_xlabel("P(SLA violated), 95 % CI")
    fig.suptitle("Monte Carlo risk")
    return _png(fig)


def whatif_png(changes: list[dict[str, Any]], top: int = 30) -> bytes:
    """Utilisation before and after the scenario on the arcs that moved most."""
    rows = changes[:top]
    fig, ax = _figure(10, 4.5)
    x = np.arange(len(rows))
    before = [100 * (r["utilisation_before"] or 0) for r in rows]
    after = [100 * (r["utilisation_after"] or 0) for r in rows]
    ax.bar(x - 0.2, before, width=0.4, label="baseline", color="#1b9e77")
    ax.bar(x + 0.2, after, width=0.4, label="scenario", color="#d95f02")
    ax.axhline(100, color="k", lw=0.8, ls="--")
    ax.set_xticks(x, [r["arc"].split(" (")[-1].rstrip(")") for r in rows], rotation=75,
                  fontsize=7)
    ax.set_ylabel("utilisation (%)")
    ax.legend()
    ax.set_title("Arcs whose utilisation changed most")
    return _png(fig)


def storm_timeline_png(times_min: np.ndarray, link_ids: tuple[str, ...],
                       capacity_bps: np.ndarray, fade_db: np.ndarray, top: int = 8) -> bytes:
    """Capacity and rain fade over the storm for the links that lost most capacity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lost = (capacity_bps[0] - capacity_bps).sum(axis=0)
    order = np.argsort(-lost)[:top]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6.5), dpi=100, sharex=True)
    for i in order:
        ax1.step(times_min, capacity_bps[:, i] / 1e6, where="post", label=link_ids[i])
        ax2.plot(times_min, fade_db[:, i], label=link_ids[i])
    ax1.set_ylabel("capacity (Mbit/s)")
    ax1.set_title("Adaptive modulation over the storm (links that lost most capacity)")
    ax1.legend(fontsize=7, ncol=2)
    ax2.set_ylabel("rain fade (dB)")
    ax2.set_xlabel("time (min)")
    return _png(fig)


def storm_map_png(ax_km: np.ndarray, ay_km: np.ndarray, bx_km: np.ndarray, by_km: np.ndarray,
                  state: np.ndarray, cells: tuple[np.ndarray, np.ndarray, np.ndarray,
                                                  np.ndarray],
                  title: str) -> bytes:
    """Rain field and every radio link coloured by its state (2 top mode, 1 degraded, 0 down)."""
    import matplotlib

    matplotlib.use("Agg")

    fig, ax = _figure(8, 7)
    xs = np.concatenate([ax_km, bx_km])
    ys = np.concatenate([ay_km, by_km])
    pad = 5.0
    gx, gy = np.meshgrid(np.linspace(xs.min() - pad, xs.max() + pad, 200),
                         np.linspace(ys.min() - pad, ys.max() + pad, 200))
    rain = np.zeros_like(gx)
    for cx, cy, peak, r0 in zip(*cells, strict=True):
        rain = np.maximum(rain, peak * np.exp(-np.hypot(gx - cx, gy - cy) / r0))
    mesh = ax.pcolormesh(gx, gy, np.where(rain >= 0.5, rain, np.nan), cmap="Blues",
                         shading="auto", vmin=0)
    fig.colorbar(mesh, ax=ax, label="rain rate (mm/h)")
    colours = {2: "#1b9e77", 1: "#e6ab02", 0: "#d62728"}
    for i in range(ax_km.size):
        ax.plot([ax_km[i], bx_km[i]], [ay_km[i], by_km[i]], color=colours[int(state[i])],
                lw=2.5 if state[i] < 2 else 1.5)
    ax.scatter(xs, ys, s=12, color="k", zorder=3)
    for label, c in (("top mode", 2), ("degraded", 1), ("down", 0)):
        ax.plot([], [], color=colours[c], label=label)
    ax.legend(loc="lower right")
    ax.set_xlabel("km east")
    ax.set_ylabel("km north")
    ax.set_aspect("equal")
    ax.set_title(title)
    return _png(fig)


def storm_services_png(times_min: np.ndarray, service_ids: tuple[str, ...],
                       worst_delay_s: np.ndarray, max_delay_s: np.ndarray) -> bytes:
    """Each service's worst-path delay over the storm against its SLA target."""
    fig, ax = _figure(10, 4)
    for i, sid in enumerate(service_ids):
        line = ax.plot(times_min, 1e3 * worst_delay_s[:, i], label=sid)[0]
        if np.isfinite(max_delay_s[i]):
            ax.axhline(1e3 * max_delay_s[i], color=line.get_color(), ls="--", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("time (min)")
    ax.set_ylabel("worst-path delay (ms)")
    ax.set_title("Service delay over the storm (dashed: SLA targets)")
    ax.legend(fontsize=8)
    return _png(fig)


def delay_calibration_png(measured_s: dict[str, np.ndarray], predicted_s: dict[str, np.ndarray],
                          utilisation: dict[str, np.ndarray]) -> bytes:
    """Predicted against measured mean delay per pair (log-log, one panel per data set,
    coloured by the busiest port on the path), with the 1:1 line and +-10 % bands."""
    import matplotlib.pyplot as plt

    names = list(measured_s)
    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4.8), dpi=100,
                             squeeze=False, layout="constrained")
    for ax, name in zip(axes[0], names, strict=True):
        true, pred = measured_s[name], predicted_s[name]
        points = ax.scatter(true, pred, s=2, c=np.minimum(utilisation[name], 1.5),
                            cmap="viridis", alpha=0.5, rasterized=True)
        lo, hi = float(true.min()), float(max(true.max(), pred.max()))
        line = np.array([lo, hi])
        ax.plot(line, line, color="black", linewidth=0.8)
        ax.fill_between(line, line * 0.9, line * 1.1, color="grey", alpha=0.2, linewidth=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        mape = float(np.mean(np.abs(pred - true) / true))
        ax.set_title(f"{name}: {true.size:,} pairs, MAPE {100 * mape:.1f} %")
        ax.set_xlabel("measured mean delay (s)")
        ax.set_ylabel("predicted mean delay (s)")
    fig.colorbar(points, ax=axes[0].tolist(), label="busiest port on the path (load)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
