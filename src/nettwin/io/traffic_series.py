"""A day (or several) of traffic matrices from files, as a series the environments replay.

Each file is one interval (SNDlib demandMatrix XML, REPETITA, CSV or native), read with
``load_traffic``; the files are taken in name order (SNDlib names end in the time,
``...-20040301-1205.xml``). The network gets one demand per node pair seen in any file
(rates of the first interval); the series holds every interval's rates per demand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from nettwin.engine import compile_network
from nettwin.errors import ImportFormatError, ValidationError
from nettwin.gym.traffic import TrafficSeries, series_from_matrices
from nettwin.io.formats import load_traffic
from nettwin.io.traffic import dropped_arrivals
from nettwin.model import Network, build_demands_from_columns
from nettwin.model.problems import Problem

_STAMP = re.compile(r"(\d{8})-(\d{4})$")


def _stamp(path: Path) -> datetime | None:
    match = _STAMP.search(path.stem)
    return datetime.strptime("".join(match.groups()), "%Y%m%d%H%M") if match else None


def traffic_files(spec: str | Path) -> list[Path]:
    """The files of a folder (sorted), a glob pattern, or a single file."""
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    elif any(c in str(spec) for c in "*?["):
        files = sorted(path.parent.glob(path.name))
    else:
        files = [path] if path.exists() else []
    if not files:
        raise ImportFormatError(str(spec), "no traffic files found (give a folder, a glob or "
                                           "a file)")
    return files


def read_traffic_series(network: Network, files: Sequence[str | Path], *,
                        interval_s: float | None = None) -> tuple[Network, TrafficSeries]:
    """The network with one demand per pair seen, and the series of every file's rates.

    ``interval_s`` defaults to the spacing of the times in the file names (SNDlib), else
    300 s.
    """
    paths = [Path(f) for f in files]
    if len(paths) < 2:
        raise ValidationError([Problem("traffic series", "needs at least two files",
                                       value=len(paths), fix="give a folder of matrices")])
    ids = network.node_ids
    tables = [load_traffic(network, p).demands for p in paths]
    pairs: dict[tuple[int, int], None] = {}
    for t in tables:
        pairs.update(dict.fromkeys(zip(t.src.tolist(), t.dst.tolist(), strict=True)))
    first = {(s, d): r for s, d, r in zip(tables[0].src.tolist(), tables[0].dst.tolist(),
                                          tables[0].rate_bps.tolist(), strict=True)}
    keys = list(pairs)
    table, problems = build_demands_from_columns(
        [ids[s] for s, _ in keys], [ids[d] for _, d in keys],
        [first.get(k, 0.0) for k in keys], network.node_index)
    if problems:
        raise ValidationError(problems, "traffic series")
    with_pairs = network.with_demands(table, notes=dropped_arrivals(network, table,
                                                                    "traffic series"))
    if interval_s is None:
        stamps = [_stamp(p) for p in paths[:2]]
        interval_s = ((stamps[1] - stamps[0]).total_seconds()
                      if stamps[0] is not None and stamps[1] is not None else 300.0)
    if not interval_s > 0:
        raise ValidationError([Problem("traffic series", "interval must be > 0",
                                       value=interval_s, fix="give --interval-s")])
    series = series_from_matrices(
        compile_network(with_pairs), [t.src for t in tables], [t.dst for t in tables],
        [t.rate_bps for t in tables], interval_s=interval_s,
        labels=[str(_stamp(p) or p.stem) for p in paths],
        source=f"{len(paths)} files from {paths[0].parent}")
    return with_pairs, series

