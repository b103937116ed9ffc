"""Demands as a column table: a traffic matrix of a million entries stays a few arrays."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nettwin.model.elements import Demand
from nettwin.model.fields import DEMAND_FIELDS, coerce_record
from nettwin.model.problems import Problem

DEFAULT_CLASS = "best-effort"


@dataclass(frozen=True, eq=False)
class DemandTable:
    """Demands by column. ``src``/``dst`` are node positions in the owning network."""

    src: np.ndarray
    dst: np.ndarray
    rate_bps: np.ndarray
    class_index: np.ndarray
    class_names: tuple[str, ...] = (DEFAULT_CLASS,)
    ids: tuple[str, ...] | None = None  # None: derived as 'SRC->DST' on request

    def __len__(self) -> int:
        return int(self.src.shape[0])

    @property
    def total_rate_bps(self) -> float:
        return float(self.rate_bps.sum())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DemandTable):
            return NotImplemented
        return (
            np.array_equal(self.src, other.src)
            and np.array_equal(self.dst, other.dst)
            and np.array_equal(self.rate_bps, other.rate_bps)
            and [self.class_names[i] for i in self.class_index]
            == [other.class_names[i] for i in other.class_index]
        )

    __hash__ = None  # type: ignore[assignment]


def empty_demands() -> DemandTable:
    return DemandTable(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0),
                       np.zeros(0, np.int16))


def demand_id(src: str, dst: str, traffic_class: str) -> str:
    """The default id of a demand."""
    base = f"{src}->{dst}"
    return base if traffic_class == DEFAULT_CLASS else f"{base}:{traffic_class}"


def demand_ids(table: DemandTable, node_ids: Sequence[str]) -> tuple[str, ...]:
    """Ids of every demand, derived from endpoints and class where none were given."""
    if table.ids is not None:
        return table.ids
    return tuple(
        demand_id(node_ids[s], node_ids[d], table.class_names[c])
        for s, d, c in zip(table.src.tolist(), table.dst.tolist(), table.class_index.tolist(),
                           strict=True)
    )


def demand_record(table: DemandTable, i: int, node_ids: Sequence[str]) -> Demand:
    """Demand ``i`` of the table as a friendly record."""
    src, dst = node_ids[int(table.src[i])], node_ids[int(table.dst[i])]
    cls = table.class_names[int(table.class_index[i])]
    did = table.ids[i] if table.ids is not None else demand_id(src, dst, cls)
    return Demand(id=did, src=src, dst=dst, rate_bps=float(table.rate_bps[i]), traffic_class=cls)


def build_demands_from_columns(
    src: Sequence[str],
    dst: Sequence[str],
    rate_bps: Sequence[float] | np.ndarray,
    node_index: Mapping[str, int],
    *,
    traffic_class: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
) -> tuple[DemandTable, list[Problem]]:
    """Validate demand columns against the nodes; return the table and every problem.

    Used for bulk sources (traffic-matrix files, generators) where per-record coercion would
    cost seconds. ``labels`` name each record in messages (e.g. ``file.xml demand 'A_B'``).
    """
    n = len(src)
    problems: list[Problem] = []

    def label(i: int) -> str:
        return labels[i] if labels is not None else f"demand #{i + 1} ({src[i]}->{dst[i]})"

    rate = np.asarray(rate_bps, dtype=np.float64)
    s_idx = np.fromiter((node_index.get(x, -1) for x in src), dtype=np.int64, count=n)
    d_idx = np.fromiter((node_index.get(x, -1) for x in dst), dtype=np.int64, count=n)
    ok = np.ones(n, dtype=bool)
    for i in np.flatnonzero(s_idx < 0).tolist():
        problems.append(Problem(label(i), "source node does not exist", field="src",
                                value=src[i], fix="add the node or correct the demand's source"))
    for i in np.flatnonzero(d_idx < 0).tolist():
        problems.append(Problem(label(i), "destination node does not exist", field="dst",
                                value=dst[i], fix="add the node or correct the demand's target"))
    for i in np.flatnonzero((s_idx == d_idx) & (s_idx >= 0)).tolist():
        problems.append(Problem(label(i), "source and destination are the same node",
                                field="dst", value=dst[i],
                                fix="remove the demand (traffic inside a node uses no link)"))
    bad_rate = ~np.isfinite(rate) | (rate < 0)
    for i in np.flatnonzero(bad_rate).tolist():
        problems.append(Problem(label(i), "rate must be a finite number >= 0", field="rate_bps",
                                value=float(rate[i]), fix="give the mean rate in bit/s"))
    ok &= (s_idx >= 0) & (d_idx >= 0) & (s_idx != d_idx) & ~bad_rate

    classes = list(traffic_class) if traffic_class is not None else [DEFAULT_CLASS] * n
    class_names = tuple(dict.fromkeys(classes)) or (DEFAULT_CLASS,)
    class_pos = {c: i for i, c in enumerate(class_names)}
    class_index = np.fromiter((class_pos[c] for c in classes), dtype=np.int16, count=n)

    the_ids: tuple[str, ...] | None = None
    if ids is not None:
        the_ids = tuple(ids)
    seen: dict[str, int] = {}
    key_ids = the_ids if the_ids is not None else [
        demand_id(src[i], dst[i], classes[i]) for i in range(n)]
    for i, key in enumerate(key_ids):
        if key in seen:
            problems.append(Problem(
                label(i), "duplicate demand id", field="id", value=key,
                fix=f"give each demand its own id, or merge it with demand #{seen[key] + 1}"
                    " (the same endpoints and class)"))
        else:
            seen[key] = i
    table = DemandTable(
        src=s_idx[ok].astype(np.int32), dst=d_idx[ok].astype(np.int32), rate_bps=rate[ok],
        class_index=class_index[ok], class_names=class_names,
        ids=None if the_ids is None else tuple(np.asarray(the_ids, dtype=object)[ok].tolist()),
    )
    return table, problems


def build_demands_from_records(
    records: Iterable[Mapping[str, Any]], node_index: Mapping[str, int], source: str = ""
) -> tuple[DemandTable, list[Problem]]:
    """Coerce friendly demand records (YAML, API bodies) and validate them against the nodes."""
    problems: list[Problem] = []
    src: list[str] = []
    dst: list[str] = []
    rate: list[float] = []
    classes: list[str] = []
    ids: list[str] = []
    labels: list[str] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            problems.append(Problem(f"{source}demands[{i}]", "expected a mapping", value=rec,
                                    fix="write each demand as {src: ..., dst: ..., rate_bps: ...}"))
            continue
        label = f"{source}demand {rec.get('id')!r}" if rec.get("id") else f"{source}demands[{i}]"
        values, found = coerce_record("demand", label, rec, DEMAND_FIELDS)
        problems += found
        if found:
            continue
        src.append(values["src"])
        dst.append(values["dst"])
        rate.append(values["rate_bps"])
        classes.append(values["traffic_class"])
        ids.append(values["id"] or demand_id(values["src"], values["dst"],
                                              values["traffic_class"]))
        labels.append(label)
    table, more = build_demands_from_columns(src, dst, rate, node_index, traffic_class=classes,
                                             ids=ids, labels=labels)
    return table, problems + more
