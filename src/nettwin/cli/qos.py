"""``nettwin qos-validate``: the per-class queueing model against OMNeT++ ground truth."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from nettwin.cli.app import app
from nettwin.cli.common import err, fail, out, progress_bar, write_json_file
from nettwin.errors import ImportFormatError, NettwinError
from nettwin.io.gnnet import iter_gnnet_samples, predict

DEFAULT_DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "gnnet2020" / "train"


def _stats(err_rel: np.ndarray) -> str:
    return f"{100 * err_rel.mean():.1f} % / {100 * np.median(err_rel):.1f} %"


@app.command("qos-validate")
def qos_validate(
    data: Annotated[Path, typer.Option(
        "--data", help="Folder with the GNNet 2020 tarballs, graphs/ and routings/.")] =
        DEFAULT_DATA,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, help="Use only the first N samples (quick look).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json")] = None,
) -> None:
    """Per-pair mean delay (MAPE / median error) and loss of the queueing models against the
    OMNeT++ results of the Graph Neural Networking Challenge 2020, per topology, load,
    scheduling and class. Nothing is fitted: both topologies are unseen by the model."""
    tarballs = sorted(data.glob("*.tar.gz"))
    if not tarballs:
        raise fail(ImportFormatError(str(data), "no GNNet tarballs here; pass --data"))
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    try:
        with progress_bar("samples") as advance:
            done = 0
            for tar in tarballs:
                for sample in iter_gnnet_samples(tar):
                    if limit is not None and done >= limit:
                        break
                    aware, loss, util = predict(sample)
                    single, _, _ = predict(sample, scheduling_aware=False)
                    policies = "+".join(sorted(set(sample.topology.policy)))
                    for f in range(sample.n_flows):
                        rows.append({"topology": "NSFNET" if sample.topology.n_nodes == 14
                                     else "GEANT2", "policies": policies,
                                     "class": int(sample.tos[f]), "util": float(util[f]),
                                     "overloaded": bool(sample.drop_fraction.max() > 0),
                                     "true": float(sample.delay_s[f]),
                                     "aware": float(aware[f]), "single": float(single[f]),
                                     "loss_true": float(sample.drop_fraction[f]),
                                     "loss_pred": float(loss[f])})
                    done += 1
                    advance(done, limit or 400)
    except NettwinError as exc:
        raise fail(exc) from None
    arr = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    e_aware = np.abs(arr["aware"] - arr["true"]) / arr["true"]
    e_single = np.abs(arr["single"] - arr["true"]) / arr["true"]
    groups: list[tuple[str, np.ndarray]] = []
    for topo in ("NSFNET", "GEANT2"):
        base = arr["topology"] == topo
        groups.append((f"{topo}, all samples", base))
        groups.append((f"{topo}, samples without drops", base & ~arr["overloaded"]))
        groups.append((f"{topo}, samples with drops", base & arr["overloaded"]))
    for lo, hi in ((0, 0.5), (0.5, 0.8), (0.8, 1.0), (1.0, np.inf)):
        groups.append((f"path max utilisation {lo:g}-{hi:g}", (arr["util"] >= lo)
                       & (arr["util"] < hi)))
    for pol in sorted(set(arr["policies"].tolist())):
        groups.append((f"policies {pol}", arr["policies"] == pol))
    for c in range(3):
        groups.append((f"class {c}", arr["class"] == c))
    table = Table(title=f"Per-pair mean delay vs OMNeT++ ({len(rows):,} pairs): MAPE / median")
    for col in ("subset", "pairs", "scheduling-aware", "single M/G/1 per port",
                "loss MAE"):
        table.add_column(col, justify="left" if col == "subset" else "right")
    summary = []
    for name, mask in groups:
        if not mask.any():
            continue
        mae = float(np.abs(arr["loss_pred"][mask] - arr["loss_true"][mask]).mean())
        table.add_row(name, f"{int(mask.sum()):,}", _stats(e_aware[mask]), _stats(e_single[mask]),
                      f"{mae:.4f}")
        summary.append({"subset": name, "pairs": int(mask.sum()),
                        "mape_aware": float(e_aware[mask].mean()),
                        "median_aware": float(np.median(e_aware[mask])),
                        "mape_single": float(e_single[mask].mean()),
                        "median_single": float(np.median(e_single[mask])),
                        "loss_mae": mae})
    out.print(table)
    err.print(f"[dim]{len(rows):,} pairs in {time.perf_counter() - t0:.1f} s[/]")
    if json_out is not None:
        write_json_file(json_out, summary)
