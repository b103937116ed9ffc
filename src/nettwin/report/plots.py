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
