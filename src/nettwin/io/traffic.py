"""Traffic matrices from files, applied to a network: SNDlib demandMatrix, REPETITA, CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nettwin.errors import ImportFormatError, ValidationError
from nettwin.io.text import parse_number, read_document, read_text
from nettwin.model import Network, build_demands_from_columns, demand_id
from nettwin.model.demands import (
    DemandArrivals,
    DemandTable,
    arrival_problems,
    arrivals_from_records,
)
from nettwin.model.fields import DEMAND_FIELDS, coerce_record
from nettwin.model.problems import Problem, note


@dataclass
class TrafficRecords:
    """Directed demands read from a traffic file (rates in bit/s), before they meet a network."""

    src: list[str]
    dst: list[str]
    rate_bps: list[float]
    labels: list[str]
    notes: list[Problem] = field(default_factory=list)
    time: str | None = None
    ids: list[str] | None = None  # the file's own demand ids, where it has them
    arrivals: DemandArrivals | None = None  # per-demand arrival processes (None: Poisson)


def read_traffic_csv(path: str | Path) -> TrafficRecords:
    """CSV with a header ``src,dst,rate_bps`` (optional ``traffic_class`` is not used yet)."""
    path = Path(path)
    try:
        return _traffic_rows(path, csv.reader(read_text(path).splitlines()))
    except csv.Error as exc:
        raise ImportFormatError(str(path), f"not a readable CSV file: {exc}") from None


def _traffic_rows(path: Path, rows: Iterator[list[str]]) -> TrafficRecords:
    header = [h.strip() for h in next(rows, [])]
    need = ("src", "dst", "rate_bps")
    if any(h not in header for h in need):
        raise ImportFormatError(str(path), f"CSV header {header} lacks one of {list(need)}", 1)
    pos = [header.index(h) for h in need]
    out = TrafficRecords([], [], [], [])
    for number, row in enumerate(rows, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < len(header):
            raise ImportFormatError(str(path), f"{len(row)} column(s), header has "
                                               f"{len(header)}", number)
        out.src.append(row[pos[0]].strip())
        out.dst.append(row[pos[1]].strip())
        out.rate_bps.append(parse_number(path, row[pos[2]], "rate_bps", number))
        out.labels.append(f"{path.name}:{number}")
    return out


def read_traffic_native(path: str | Path) -> TrafficRecords:
    """A YAML/JSON traffic file: a list of demands, or a mapping with a 'demands' list, each
    ``{src, dst, rate_bps}`` (plus an optional ``id``); no topology needed."""
    path = Path(path)
    doc = read_document(path)
    rows = doc.get("demands") if isinstance(doc, dict) else doc
    if not isinstance(rows, list):
        raise ImportFormatError(str(path), "expected a list of demands (or 'demands: [...]')")
    out = TrafficRecords([], [], [], [], ids=[])
    arrival: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for i, row in enumerate(rows):
        label = f"{path.name} demands[{i}]"
        if not isinstance(row, dict):
            problems.append(Problem(label, "expected a mapping", value=row,
                                    fix="write {src: ..., dst: ..., rate_bps: ...}"))
            continue
        values, found = coerce_record("demand", label, row, DEMAND_FIELDS)
        found = found or arrival_problems(label, values)
        problems += found
        if found:
            continue
        arrival.append(values)
        out.src.append(values["src"])
        out.dst.append(values["dst"])
        out.rate_bps.append(values["rate_bps"])
        out.labels.append(label)
        assert out.ids is not None
        out.ids.append(values["id"] or demand_id(values["src"], values["dst"],
                                                 values["traffic_class"]))
    if problems:
        raise ValidationError(problems, str(path))
    out.arrivals = arrivals_from_records(arrival)
    return out


def dropped_arrivals(network: Network, table: DemandTable, source: str) -> list[Problem]:
    """A note where ``table`` replaces bursty demands of ``network`` by Poisson ones."""
    before = network.demands.arrivals
    bursty = 0 if before is None else int(before.bursty().sum())
    if not bursty or (table.arrivals is not None and table.arrivals.bursty().any()):
        return []
    return [note(source, f"the file gives no arrival processes: the network's {bursty} "
                         "bursty demand(s) are replaced by Poisson ones",
                 fix="give the 'arrival' fields in a native YAML/JSON traffic file to keep "
                     "them")]


def apply_traffic(network: Network, records: TrafficRecords, *, source: str = "",
                  skip_invalid: bool = False) -> Network:
    """The network with its demands replaced by ``records``.

    Bad records (unknown nodes, negative rates, duplicates) raise a ValidationError listing
    every one, unless ``skip_invalid``: then they are set aside, counted in a note, and the
    good ones load.
    """
    table, problems = build_demands_from_columns(
        records.src, records.dst, records.rate_bps, network.node_index, labels=records.labels,
        ids=records.ids or None, arrivals=records.arrivals)
    notes = list(records.notes)
    if problems:
        if not skip_invalid:
            raise ValidationError(problems, source or None)
        notes.append(note(source or "traffic", f"{len(problems)} bad demand record(s) set "
                                               f"aside, first: {problems[0]}"))
    notes += dropped_arrivals(network, table, source or "traffic")
    zero = int((table.rate_bps == 0).sum())
    notes.append(note(source or "traffic",
                      f"{len(table)} demand(s) loaded, {zero} of them zero, total "
                      f"{table.total_rate_bps / 1e9:.3f} Gbit/s"
                      + (f" at {records.time}" if records.time else "")))
    return network.with_demands(table, notes=notes)
