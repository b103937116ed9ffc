"""Measured traffic matrices read as history for the estimator's prior
(``nettwin.estimate.history``): a folder or glob of files in any traffic format with node
names, aligned on the pairs of a routing matrix, with each matrix's time of day and, where
the stamp or the file name carries a date, its day of the week."""

from __future__ import annotations

import datetime
import glob
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nettwin.errors import ImportFormatError, ValidationError
from nettwin.estimate.history import TmHistory
from nettwin.estimate.tm import RoutingMatrix
from nettwin.io.formats import TrafficFormat, detect_traffic_format
from nettwin.io.sndlib import read_sndlib_traffic
from nettwin.io.traffic import read_traffic_csv, read_traffic_native
from nettwin.model.problems import Problem

_STAMP = re.compile(r"(\d{8})[-_T]?(\d{4})?")
_DATE = re.compile(r"(?<!\d)(\d{8})")  # YYYYMMDD, not inside a longer run's middle


def resolve_history_paths(spec: str | Path) -> list[Path]:
    """Files of a ``--prior-from`` argument: a folder (every file in it) or a glob."""
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    else:
        files = sorted(Path(p) for p in glob.glob(str(spec)))  # noqa: PTH207 - user globs
    if not files:
        raise ImportFormatError(str(spec), "no measured matrix matches (give a folder of "
                                           "traffic files or a quoted glob)")
    return files


def _time_of_day(stamp: str | None, name: str) -> float:
    for text in (stamp or "", name):
        m = _STAMP.search(text)
        if m and m.group(2):
            hh, mm = int(m.group(2)[:2]), int(m.group(2)[2:])
            return float(hh * 3600 + mm * 60)
    return float("nan")


def _day_of_week(stamp: str | None, name: str) -> float:
    """Day of the week (0 Monday .. 6 Sunday) of the YYYYMMDD date in the stamp or the
    file name; nan when neither carries a valid date."""
    for text in (stamp or "", name):
        for m in _DATE.finditer(text):  # the first 8 digits that make a date
            try:
                return float(datetime.date(int(m.group(1)[:4]), int(m.group(1)[4:6]),
                                           int(m.group(1)[6:])).weekday())
            except ValueError:
                continue
    return float("nan")


def load_tm_history(paths: Iterable[str | Path], node_ids: Sequence[str],
                    rm: RoutingMatrix, *, keep_empty: bool = False) -> TmHistory:
    """Read measured matrices (any traffic format ``nettwin`` reads) onto ``rm``'s pairs.
    Demands between unknown nodes are an error naming the file; an empty file is skipped
    (a matrix of zeros says nothing about fan-out) unless ``keep_empty``."""
    records = []
    for raw in paths:
        path = Path(raw)
        fmt = detect_traffic_format(path)
        if fmt is TrafficFormat.SNDLIB_XML:
            rec = read_sndlib_traffic(path)
        elif fmt is TrafficFormat.CSV:
            rec = read_traffic_csv(path)
        elif fmt is TrafficFormat.NATIVE:
            rec = read_traffic_native(path)
        else:
            raise ImportFormatError(str(path), f"{fmt.value} files carry no node names; "
                                               "give SNDlib XML, CSV or native matrices")
        records.append(MeasuredMatrix(path.name, _time_of_day(rec.time, path.name),
                                      rec.src, rec.dst, rec.rate_bps,
                                      _day_of_week(rec.time, path.name)))
    return tm_history(records, node_ids, rm, keep_empty=keep_empty)


@dataclass(frozen=True)
class MeasuredMatrix:
    """One measured matrix by node names (a file, an upload)."""

    label: str
    time_of_day_s: float  # nan: unknown
    src: Sequence[str]
    dst: Sequence[str]
    rate_bps: Sequence[float]
    day_of_week: float = float("nan")  # 0 Monday .. 6 Sunday; nan: unknown


def tm_history(matrices: Iterable[MeasuredMatrix], node_ids: Sequence[str], rm: RoutingMatrix,
               *, keep_empty: bool = False) -> TmHistory:
    """Measured matrices aligned on ``rm``'s pairs. Demands between unknown nodes are an
    error naming the matrix; an empty matrix is skipped (a matrix of zeros says nothing
    about fan-out) unless ``keep_empty``."""
    index = {name: i for i, name in enumerate(node_ids)}
    n = len(node_ids)
    pair_of = np.full(n * n, -1, np.int64)
    pair_of[rm.src.astype(np.int64) * n + rm.dst] = np.arange(rm.src.size)
    rows, times, labels, days = [], [], [], []
    for rec in matrices:
        unknown = sorted({s for s in (*rec.src, *rec.dst) if s not in index})
        if unknown:
            raise ValidationError([Problem(f"matrix {rec.label}", "nodes not in the network",
                                           value=unknown[:5],
                                           fix="measure the same network (same node ids)")])
        s = np.array([index[v] for v in rec.src], np.int64)
        d = np.array([index[v] for v in rec.dst], np.int64)
        r = np.asarray(rec.rate_bps, np.float64)
        if not np.isfinite(r).all() or (r < 0).any():
            bad = int(np.flatnonzero(~np.isfinite(r) | (r < 0))[0])
            raise ValidationError([Problem(f"matrix {rec.label}", f"demand {rec.src[bad]}->"
                                           f"{rec.dst[bad]}: rate not a finite non-negative "
                                           "number", value=float(r[bad]),
                                           fix="give rates in bit/s, >= 0")])
        keep = (s != d) & (r > 0)
        x = np.zeros(rm.src.size)
        np.add.at(x, pair_of[s[keep] * n + d[keep]], r[keep])
        if x.sum() <= 0 and not keep_empty:
            continue
        rows.append(x)
        times.append(rec.time_of_day_s)
        days.append(rec.day_of_week)
        labels.append(rec.label)
    if not rows or not any(r.sum() > 0 for r in rows):
        raise ImportFormatError("prior history", "every measured matrix is empty")
    week = np.asarray(days, dtype=np.float64)
    return TmHistory(np.vstack(rows), np.asarray(times, dtype=np.float64), tuple(labels),
                     week if np.isfinite(week).any() else None)
