"""Demands as a column table: a traffic matrix of a million entries stays a few arrays."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from nettwin.model.elements import Demand
from nettwin.model.fields import DEMAND_FIELDS, ArrivalKind, coerce_record
from nettwin.model.problems import Problem, unknown_id_fix

MAX_SUGGESTED = 20  # distinct unknown node names given a 'did you mean'

DEFAULT_CLASS = "best-effort"
ARRIVAL_KINDS = tuple(ArrivalKind)  # DemandArrivals.kind holds positions in this tuple
ARRIVAL_COLUMNS = ("peak_rate_bps", "on_mean_s", "off_mean_s", "dispersion_index",
                   "correlation_time_s")


@dataclass(frozen=True, eq=False)
class DemandArrivals:
    """Per-demand arrival processes by column (NaN: not given); ``kind`` indexes
    ``ARRIVAL_KINDS``. Absent from a table whose demands are all Poisson."""

    kind: np.ndarray  # int8[k]
    peak_rate_bps: np.ndarray
    on_mean_s: np.ndarray
    off_mean_s: np.ndarray
    dispersion_index: np.ndarray
    correlation_time_s: np.ndarray

    def take(self, keep: np.ndarray) -> DemandArrivals:
        return DemandArrivals(self.kind[keep], *(getattr(self, c)[keep]
                                                  for c in ARRIVAL_COLUMNS))

    def bursty(self) -> np.ndarray:
        """Which demands' arrivals are not Poisson (a mask)."""
        mask: np.ndarray = self.kind != ARRIVAL_KINDS.index(ArrivalKind.POISSON)
        return mask

    def rerated(self, old_bps: np.ndarray, new_bps: np.ndarray | float,
                extra: int = 0) -> DemandArrivals:
        """The same processes for demands re-rated from ``old_bps`` to ``new_bps``: a peak
        rate is given with its demand's rate, so it moves with it (the process keeps its
        shape); then ``extra`` Poisson demands appended."""
        pad = np.full(extra, np.nan)
        kind = np.concatenate([self.kind, np.full(extra, ARRIVAL_KINDS.index(
            ArrivalKind.POISSON), self.kind.dtype)])
        old = np.asarray(old_bps, np.float64)
        # a demand planned at zero keeps its peak as given, not made NaN (a NaN peak left
        # an on-off given by on_mean_s and its peak an invalid record)
        with np.errstate(divide="ignore", invalid="ignore"):
            peak = np.where(old > 0, self.peak_rate_bps * (new_bps / old), self.peak_rate_bps)
        return DemandArrivals(kind, *(np.concatenate([
            peak if c == "peak_rate_bps" else getattr(self, c), pad])
            for c in ARRIVAL_COLUMNS))

    def values(self, i: int) -> dict[str, Any]:
        """Demand ``i``'s arrival fields as the record holds them."""
        out: dict[str, Any] = {"arrival": ARRIVAL_KINDS[int(self.kind[i])]}
        for c in ARRIVAL_COLUMNS:
            v = float(getattr(self, c)[i])
            out[c] = None if np.isnan(v) else v
        return out


def arrival_problems(label: str, values: Mapping[str, Any]) -> list[Problem]:
    """What a demand's arrival fields lack or contradict (the kind says which it needs)."""
    kind = values.get("arrival") or ArrivalKind.POISSON
    given = {c for c in ARRIVAL_COLUMNS if values.get(c) is not None}
    need: dict[ArrivalKind, tuple[set[str], ...]] = {
        ArrivalKind.POISSON: (set(),),
        ArrivalKind.ONOFF: ({"on_mean_s", "off_mean_s"}, {"on_mean_s", "peak_rate_bps"}),
        ArrivalKind.MMPP: ({"peak_rate_bps", "on_mean_s", "off_mean_s"},),
        ArrivalKind.DISPERSION: ({"dispersion_index", "correlation_time_s"},),
    }
    options = need[kind]
    if not any(opt <= given for opt in options):
        missing = sorted(min(options, key=lambda o: len(o - given)) - given)
        return [Problem(label, f"arrival '{kind.value}' needs {', '.join(missing)}",
                        field=missing[0], value=None,
                        fix=f"give {' and '.join(missing)}, or arrival: poisson")]
    extra = sorted(given - set().union(*options))
    if extra:
        return [Problem(label, f"{', '.join(extra)} has no meaning for arrival "
                               f"'{kind.value}'", field=extra[0], value=values[extra[0]],
                        fix="remove it or choose the arrival kind that uses it")]
    rate, peak = values.get("rate_bps") or 0.0, values.get("peak_rate_bps")
    if peak is not None and peak < rate:
        return [Problem(label, "peak_rate_bps is below the mean rate", field="peak_rate_bps",
                        value=peak, fix=f"give a peak of at least rate_bps ({rate:g})")]
    if (kind is ArrivalKind.ONOFF and peak is not None and values.get("off_mean_s") is not None
            and values.get("on_mean_s") is not None):
        on, off = values["on_mean_s"], values["off_mean_s"]
        if abs(peak * on / (on + off) - rate) > 1e-6 * max(rate, 1.0):
            return [Problem(label, "peak_rate_bps, on_mean_s and off_mean_s disagree with "
                                   "rate_bps (mean = peak x on / (on + off))",
                            field="peak_rate_bps", value=peak,
                            fix="give two of them and let the third follow from rate_bps")]
    if kind is ArrivalKind.MMPP and peak is not None:
        on, off = values["on_mean_s"], values["off_mean_s"]
        if peak * on / (on + off) > rate * (1 + 1e-9):
            return [Problem(label, "the peak alone carries more than the mean rate "
                                   "(low rate would be negative)", field="peak_rate_bps",
                            value=peak, fix="lower peak_rate_bps or on_mean_s, or use onoff")]
    return []


@dataclass(frozen=True, eq=False)
class DemandTable:
    """Demands by column. ``src``/``dst`` are node positions in the owning network."""

    src: np.ndarray
    dst: np.ndarray
    rate_bps: np.ndarray
    class_index: np.ndarray
    class_names: tuple[str, ...] = (DEFAULT_CLASS,)
    ids: tuple[str, ...] | None = None  # None: derived as 'SRC->DST' on request
    arrivals: DemandArrivals | None = None  # None: every demand Poisson

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
            and _arrival_rows(self) == _arrival_rows(other)
        )

    __hash__ = None  # type: ignore[assignment]


def _arrival_rows(table: DemandTable) -> list[dict[str, Any]] | None:
    a = table.arrivals
    if a is None or not a.kind.any():
        return None
    return [a.values(i) for i in range(len(table))]


def empty_demands() -> DemandTable:
    return DemandTable(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0),
                       np.zeros(0, np.int16))


def demand_id(src: str, dst: str, traffic_class: str) -> str:
    """The default id of a demand."""
    base = f"{src}->{dst}"
    return base if traffic_class == DEFAULT_CLASS else f"{base}:{traffic_class}"


class DemandIds(Sequence[str]):
    """The derived ids of a demand table ('SRC->DST', ':CLASS' when not best-effort), made
    only when one is read: a million-demand matrix keeps its endpoints as arrays, and a
    string exists only for the rows shown. Compares equal to any sequence of the same ids."""

    __slots__ = ("_index", "_node_ids", "_table")

    def __init__(self, table: DemandTable, node_ids: Sequence[str]) -> None:
        self._table = table
        self._node_ids = node_ids
        self._index: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self._table)

    def _one(self, i: int) -> str:
        t = self._table
        return demand_id(self._node_ids[int(t.src[i])], self._node_ids[int(t.dst[i])],
                         t.class_names[int(t.class_index[i])])

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self._one(k) for k in range(*i.indices(len(self)))]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"demand {i} out of range ({n} demands)")
        return self._one(i % n if n else i)

    def __iter__(self) -> Iterator[str]:
        t, names, classes = self._table, self._node_ids, self._table.class_names
        for s, d, c in zip(t.src.tolist(), t.dst.tolist(), t.class_index.tolist(), strict=True):
            yield demand_id(names[s], names[d], classes[c])

    def position(self, demand: str) -> int | None:
        """Row of the demand with this id (None if there is none); the lookup table is built
        on the first call."""
        if self._index is None:
            index: dict[str, int] = {}
            for i, did in enumerate(self):
                index.setdefault(did, i)  # the first row, as tuple.index finds it
            self._index = index
        return self._index.get(demand)

    def __contains__(self, demand: object) -> bool:
        return isinstance(demand, str) and self.position(demand) is not None

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        i = self.position(value) if isinstance(value, str) else None
        if i is None or i < start or (stop is not None and i >= stop):
            raise ValueError(f"{value!r} is not a demand id")
        return i

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DemandIds):
            a, b = self._table, other._table
            if len(a) != len(b):
                return False
            if tuple(self._node_ids) == tuple(other._node_ids) and a.class_names == b.class_names:
                return bool(np.array_equal(a.src, b.src) and np.array_equal(a.dst, b.dst)
                            and np.array_equal(a.class_index, b.class_index))
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(x == y for x, y in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        head = ", ".join(repr(x) for x in self[:3])
        return f"DemandIds([{head}{', ...' if len(self) > 3 else ''}], {len(self)} demands)"


def demand_ids(table: DemandTable, node_ids: Sequence[str]) -> Sequence[str]:
    """Ids of every demand: the given ones, or a lazy view deriving them from endpoints
    and class (no string is made until one is read)."""
    if table.ids is not None:
        return table.ids
    return DemandIds(table, node_ids)


def demand_record(table: DemandTable, i: int, node_ids: Sequence[str]) -> Demand:
    """Demand ``i`` of the table as a friendly record."""
    src, dst = node_ids[int(table.src[i])], node_ids[int(table.dst[i])]
    cls = table.class_names[int(table.class_index[i])]
    did = table.ids[i] if table.ids is not None else demand_id(src, dst, cls)
    arrival = table.arrivals.values(i) if table.arrivals is not None else {}
    return Demand(id=did, src=src, dst=dst, rate_bps=float(table.rate_bps[i]), traffic_class=cls,
                  **arrival)


def _duplicates(ids: Sequence[str] | None, src: Sequence[str], dst: Sequence[str],
                classes: Sequence[str], s_idx: np.ndarray, d_idx: np.ndarray,
                class_index: np.ndarray,
                node_index: Mapping[str, int]) -> list[tuple[int, int]]:
    """(row, first row with the same id) for every repeated demand id, in row order.

    Derived ids ('SRC->DST:CLASS') are compared as integer keys, without a string per row,
    when no node or class name could make two different keys read the same.
    """
    n = len(src)
    plain = (ids is None and bool((s_idx >= 0).all() and (d_idx >= 0).all())
             and not any("->" in x or ":" in x for x in node_index))
    if plain:
        nn = max(1, len(node_index))
        key = (class_index.astype(np.int64) * nn + s_idx) * nn + d_idx
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        rows = np.flatnonzero(first[inverse] != np.arange(n))
        return list(zip(rows.tolist(), first[inverse[rows]].tolist(), strict=True))
    seen: dict[str, int] = {}
    out = []
    keys = ids if ids is not None else [demand_id(src[i], dst[i], classes[i]) for i in range(n)]
    for i, k in enumerate(keys):
        if k in seen:
            out.append((i, seen[k]))
        else:
            seen[k] = i
    return out


def build_demands_from_columns(
    src: Sequence[str],
    dst: Sequence[str],
    rate_bps: Sequence[float] | np.ndarray,
    node_index: Mapping[str, int],
    *,
    traffic_class: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    arrivals: DemandArrivals | None = None,
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
    suggestions: dict[str, str] = {}

    def unknown(name: str, end: str) -> str:
        """The closest node ids for a misspelt name (for the first few names only: a
        matrix of another network names thousands, and each costs a scan of the nodes)."""
        if name not in suggestions and len(suggestions) < MAX_SUGGESTED:
            suggestions[name] = unknown_id_fix("node", name, node_index)
        hint = suggestions.get(name, "")
        return (f"{hint} (or add the node)" if hint.startswith("did you mean")
                else f"add the node or correct the demand's {end}")

    for i in np.flatnonzero(s_idx < 0).tolist():
        problems.append(Problem(label(i), "source node does not exist", field="src",
                                value=src[i], fix=unknown(src[i], "source")))
    for i in np.flatnonzero(d_idx < 0).tolist():
        problems.append(Problem(label(i), "destination node does not exist", field="dst",
                                value=dst[i], fix=unknown(dst[i], "target")))
    for i in np.flatnonzero((s_idx == d_idx) & (s_idx >= 0)).tolist():
        problems.append(Problem(label(i), "source and destination are the same node",
                                field="dst", value=dst[i],
                                fix="remove the demand (traffic inside a node uses no link)"))
    bad_rate = ~np.isfinite(rate) | (rate < 0)
    for i in np.flatnonzero(bad_rate).tolist():
        problems.append(Problem(label(i), "rate must be a finite number >= 0", field="rate_bps",
                                value=float(rate[i]), fix="give the mean rate in bit/s"))
    ok &= (s_idx >= 0) & (d_idx >= 0) & (s_idx != d_idx) & ~bad_rate

    classes: Sequence[str]
    class_names: tuple[str, ...]
    if traffic_class is None:
        classes, class_names = [DEFAULT_CLASS] * n, (DEFAULT_CLASS,)
        class_index = np.zeros(n, np.int16)
    else:
        classes = list(traffic_class)
        class_names = tuple(dict.fromkeys(classes)) or (DEFAULT_CLASS,)
        class_pos = {c: i for i, c in enumerate(class_names)}
        class_index = np.fromiter((class_pos[c] for c in classes), dtype=np.int16, count=n)

    the_ids: tuple[str, ...] | None = None
    if ids is not None:
        the_ids = tuple(ids)
    for i, first in _duplicates(the_ids, src, dst, classes, s_idx, d_idx, class_index,
                                node_index):
        key = the_ids[i] if the_ids is not None else demand_id(src[i], dst[i], classes[i])
        problems.append(Problem(
            label(i), "duplicate demand id", field="id", value=key,
            fix=f"give each demand its own id, or merge it with demand #{first + 1}"
                " (the same endpoints and class)"))
    table = DemandTable(
        src=s_idx[ok].astype(np.int32), dst=d_idx[ok].astype(np.int32), rate_bps=rate[ok],
        class_index=class_index[ok], class_names=class_names,
        ids=None if the_ids is None else tuple(np.asarray(the_ids, dtype=object)[ok].tolist()),
        arrivals=arrivals.take(ok) if arrivals is not None and arrivals.kind.any() else None,
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
    arrival: list[dict[str, Any]] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            problems.append(Problem(f"{source}demands[{i}]", "expected a mapping", value=rec,
                                    fix="write each demand as {src: ..., dst: ..., rate_bps: ...}"))
            continue
        label = f"{source}demand {rec.get('id')!r}" if rec.get("id") else f"{source}demands[{i}]"
        values, found = coerce_record("demand", label, rec, DEMAND_FIELDS)
        found = found or arrival_problems(label, values)
        problems += found
        if found:
            continue
        arrival.append(values)
        src.append(values["src"])
        dst.append(values["dst"])
        rate.append(values["rate_bps"])
        classes.append(values["traffic_class"])
        ids.append(values["id"] or demand_id(values["src"], values["dst"],
                                              values["traffic_class"]))
        labels.append(label)
    table, more = build_demands_from_columns(src, dst, rate, node_index, traffic_class=classes,
                                             ids=ids, labels=labels,
                                             arrivals=arrivals_from_records(arrival))
    return table, problems + more


def arrivals_from_records(values: Sequence[Mapping[str, Any]]) -> DemandArrivals | None:
    """Arrival columns of coerced demand records; None when every one is Poisson."""
    kinds = [v.get("arrival") or ArrivalKind.POISSON for v in values]
    if all(k is ArrivalKind.POISSON for k in kinds):
        return None
    nan = float("nan")
    return DemandArrivals(
        np.array([ARRIVAL_KINDS.index(k) for k in kinds], np.int8),
        *(np.array([nan if v.get(c) is None else float(v[c]) for v in values])
          for c in ARRIVAL_COLUMNS))
