"""SNDlib: native text and XML network files, and XML ``demandMatrix`` traffic files.

SNDlib links are undirected with one capacity; demands are directed. Values are in the
instance's own unit (META ``unit``), converted to bit/s here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nettwin.errors import ImportFormatError, ValidationError
from nettwin.io.options import ImportOptions, metric_policy_note
from nettwin.io.text import local_name, parse_number, parse_xml, read_text
from nettwin.io.traffic import TrafficRecords
from nettwin.model import Network, build_demands_from_columns, build_network
from nettwin.model.geo import distance_km
from nettwin.model.problems import Problem, note

UNIT_BPS = {"BITPERSEC": 1.0, "BITSPERSEC": 1.0, "KBITPERSEC": 1e3, "MBITPERSEC": 1e6,
            "GBITPERSEC": 1e9, "TBITPERSEC": 1e12}
_DEFAULT_UNIT = "MBITPERSEC"


@dataclass(frozen=True)
class _Link:
    id: str
    a: str
    b: str
    preinstalled: float
    modules: tuple[float, ...]
    line: int | None
    module_costs: tuple[float, ...] = ()  # one per module, in the instance's cost unit
    setup_cost: float = 0.0
    routing_cost: float = 0.0  # per unit of flow


def _unit_factor(path: Path, unit: str | None, notes: list[Problem]) -> float:
    if unit is None:
        notes.append(note(path.name, f"no META unit; values read as {_DEFAULT_UNIT}"))
        return UNIT_BPS[_DEFAULT_UNIT]
    key = unit.strip().upper()
    if key not in UNIT_BPS:
        raise ImportFormatError(str(path), f"unknown META unit {unit!r}; "
                                           f"expected one of {', '.join(UNIT_BPS)}")
    return UNIT_BPS[key]


# A token is anything but blanks and parentheses: with no two ways to split a line, a hostile
# line (a megabyte of '(') is matched in linear time (\S+ next to '\(' backtracked: O(n^2)).
_T = r"[^\s()]+"
_NODE_LINE = re.compile(rf"({_T})\s*(?:\(\s*({_T})\s+({_T})\s*\))?")
_LINK_LINE = re.compile(rf"({_T})\s*\(\s*({_T})\s+({_T})\s*\)\s*({_T})\s+{_T}\s+({_T})\s+({_T})"
                        r"\s*\(([^()]*)\)")
_DEMAND_LINE = re.compile(rf"({_T})\s*\(\s*({_T})\s+({_T})\s*\)\s*{_T}\s+({_T})(?:\s.*)?")


def _section(text: str, name: str) -> list[tuple[int, str]]:
    """Lines (number, text) inside ``NAME ( ... )`` of a native file, comments removed."""
    lines = text.splitlines()
    out: list[tuple[int, str]] = []
    inside = False
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not inside:
            if re.fullmatch(rf"{name}\s*\(", line):
                inside = True
            continue
        if line == ")":
            return out
        if line:
            out.append((number, line))
    return out


def _native_parts(path: Path) -> tuple[dict[str, str], list[tuple[str, float | None,
                                                                   float | None]],
                                        list[_Link], TrafficRecords, float]:
    text = read_text(path)
    if "NODES" not in text:
        raise ImportFormatError(str(path), "no NODES section: not an SNDlib native file")
    meta = {}
    for _, line in _section(text, "META"):
        key, _, value = line.partition("=")
        meta[key.strip()] = value.strip()
    notes: list[Problem] = []
    factor = _unit_factor(path, meta.get("unit"), notes)
    nodes: list[tuple[str, float | None, float | None]] = []
    for number, line in _section(text, "NODES"):
        m = _NODE_LINE.fullmatch(line)
        if not m:
            raise ImportFormatError(str(path), f"node line not understood: {line[:120]!r}",
                                    number)
        lon = parse_number(path, m.group(2), "longitude", number) if m.group(2) else None
        lat = parse_number(path, m.group(3), "latitude", number) if m.group(3) else None
        nodes.append((m.group(1), lat, lon))
    links = []
    for number, line in _section(text, "LINKS"):
        m = _LINK_LINE.fullmatch(line)
        if not m:
            raise ImportFormatError(
                str(path), f"link line not understood: {line[:120]!r}; expected "
                           "'ID ( A B ) cap cap_cost routing_cost setup_cost ( modules )'", number)
        module_values = m.group(7).split()
        modules = tuple(parse_number(path, x, "module capacity", number)
                        for x in module_values[0::2])
        costs = tuple(parse_number(path, x, "module cost", number)
                      for x in module_values[1::2])
        links.append(_Link(m.group(1), m.group(2), m.group(3),
                           parse_number(path, m.group(4), "pre-installed capacity", number),
                           modules, number, costs,
                           parse_number(path, m.group(6), "setup cost", number),
                           parse_number(path, m.group(5), "routing cost", number)))
    ids: list[str] = []
    traffic = TrafficRecords([], [], [], [], notes, ids=ids)
    for number, line in _section(text, "DEMANDS"):
        m = _DEMAND_LINE.fullmatch(line)
        if not m:
            raise ImportFormatError(str(path), f"demand line not understood: {line[:120]!r}",
                                    number)
        traffic.src.append(m.group(2))
        traffic.dst.append(m.group(3))
        traffic.rate_bps.append(parse_number(path, m.group(4), "demand value", number) * factor)
        traffic.labels.append(f"{path.name}:{number} demand {m.group(1)!r}")
        ids.append(m.group(1))
    return meta, nodes, links, traffic, factor


def _xml_parts(path: Path) -> tuple[dict[str, str], list[tuple[str, float | None,
                                                                float | None]],
                                     list[_Link], TrafficRecords, float]:
    root = parse_xml(path)
    if local_name(root.tag) != "network":
        raise ImportFormatError(str(path), f"root element is <{local_name(root.tag)}>, "
                                           "expected SNDlib <network>")
    meta: dict[str, str] = {}
    nodes: list[tuple[str, float | None, float | None]] = []
    links: list[_Link] = []
    notes: list[Problem] = []
    for el in root.iter():
        if local_name(el.tag) == "meta":
            meta = {local_name(c.tag): (c.text or "").strip() for c in el}
    factor = _unit_factor(path, meta.get("unit"), notes)

    def child(el: ET.Element, name: str) -> ET.Element | None:
        for c in el:
            if local_name(c.tag) == name:
                return c
        return None

    def text_of(el: ET.Element | None, name: str) -> str | None:
        c = child(el, name) if el is not None else None
        return None if c is None else (c.text or "").strip()

    ids: list[str] = []
    traffic = TrafficRecords([], [], [], [], notes, meta.get("time"), ids=ids)
    for el in root.iter():
        if local_name(el.tag) == "nodes":
            meta["coordinatesType"] = el.get("coordinatesType", "geographical")
    for el in root.iter():
        tag = local_name(el.tag)
        if tag == "node":
            coords = child(el, "coordinates")
            x, y = text_of(coords, "x"), text_of(coords, "y")
            lon = parse_number(path, x, f"node {el.get('id')} x") if x else None
            lat = parse_number(path, y, f"node {el.get('id')} y") if y else None
            nodes.append((el.get("id", ""), lat, lon))
        elif tag == "link":
            pre = child(el, "preInstalledModule")
            cap = parse_number(path, text_of(pre, "capacity"), f"link {el.get('id')} capacity") \
                if pre is not None else 0.0
            added = [m for m in el.iter() if local_name(m.tag) == "addModule"]
            modules = tuple(
                parse_number(path, text_of(m, "capacity"), f"link {el.get('id')} module")
                for m in added)
            costs = tuple(
                parse_number(path, text_of(m, "cost") or "0", f"link {el.get('id')} module cost")
                for m in added)
            setup, routing = text_of(el, "setupCost"), text_of(el, "routingCost")
            links.append(_Link(el.get("id", ""), text_of(el, "source") or "",
                               text_of(el, "target") or "", cap, modules, None, costs,
                               parse_number(path, setup, "setupCost") if setup else 0.0,
                               parse_number(path, routing, "routingCost") if routing else 0.0))
        elif tag == "demand":
            value = parse_number(path, text_of(el, "demandValue"),
                                 f"demand {el.get('id')} demandValue")
            traffic.src.append(text_of(el, "source") or "")
            traffic.dst.append(text_of(el, "target") or "")
            traffic.rate_bps.append(value * factor)
            traffic.labels.append(f"{path.name} demand {el.get('id')!r}")
            ids.append(el.get("id", ""))
    return meta, nodes, links, traffic, factor


def _build(path: Path, parts: tuple[dict[str, str], list[tuple[str, float | None,
                                                                  float | None]],
                                     list[_Link], TrafficRecords, float],
           options: ImportOptions) -> Network:
    meta, nodes, links, traffic, factor = parts
    src = path.name
    notes = list(traffic.notes)
    geographic = meta.get("coordinatesType", "geographical") == "geographical" and all(
        lat is None or (-90 <= lat <= 90 and -180 <= lon <= 180)  # type: ignore[operator]
        for _, lat, lon in nodes)
    if not geographic:
        notes.append(note(src, "node coordinates are not geographical (drawing positions); "
                               "kept as attributes x/y, links get no length",
                          "give length_km or delay_s in a native file"))
        node_records: list[dict[str, Any]] = [
            {"id": nid, "attributes": {"x": lon, "y": lat}} for nid, lat, lon in nodes]
        nodes = [(nid, None, None) for nid, _, _ in nodes]
    else:
        node_records = [{"id": nid, "latitude": lat, "longitude": lon} for nid, lat, lon in nodes]
    coords = {nid: (lat, lon) for nid, lat, lon in nodes}
    link_records = []
    from_modules = 0
    for lk in links:
        if lk.preinstalled > 0:
            capacity = lk.preinstalled * factor
        elif lk.modules:
            capacity = min(lk.modules) * factor
            from_modules += 1
        else:
            capacity = options.default_capacity_bps
            notes.append(note(f"{src} link {lk.id!r}", "no capacity and no modules; "
                              f"{capacity:g} bit/s assumed"))
        (la, oa), (lb, ob) = coords.get(lk.a, (None, None)), coords.get(lk.b, (None, None))
        length = distance_km(la, oa, lb, ob)
        record = {"id": lk.id, "a": lk.a, "b": lk.b, "capacity_ab_bps": capacity,
                  "metric_ab": options.metric_for(capacity, length), "length_km": length}
        link_records.append(record)
    if from_modules:
        notes.append(note(src, f"{from_modules} link(s) have no pre-installed capacity; the "
                               "smallest installable module's capacity is used"))
    notes.append(metric_policy_note(src, "SNDlib carries no IGP metrics", options))
    index = {nid: i for i, (nid, _, _) in enumerate(nodes)}
    table, problems = build_demands_from_columns(traffic.src, traffic.dst, traffic.rate_bps,
                                                 index, labels=traffic.labels,
                                                 ids=traffic.ids or None)
    if problems:
        raise ValidationError(problems, src)
    return build_network(path.stem, node_records, link_records, table, notes=notes, source=src)


def import_sndlib_native(path: str | Path, options: ImportOptions | None = None) -> Network:
    """Read an SNDlib native (.txt) network: nodes, links, capacities, static demands."""
    path = Path(path)
    return _build(path, _native_parts(path), options or ImportOptions())


def import_sndlib_xml(path: str | Path, options: ImportOptions | None = None) -> Network:
    """Read an SNDlib XML network: nodes, links, capacities, static demands."""
    path = Path(path)
    return _build(path, _xml_parts(path), options or ImportOptions())


def read_sndlib_traffic(path: str | Path) -> TrafficRecords:
    """Directed demands of an SNDlib XML file (e.g. a measured ``demandMatrix``), in bit/s."""
    path = Path(path)
    parts = _xml_parts(path)
    return parts[3]


@dataclass(frozen=True)
class SndlibLinkModules:
    """What an SNDlib instance offers on one link: module (capacity bit/s, cost) pairs
    (costs in the instance's own unit, already per link: SNDlib folds length into them),
    the link's setup cost and its routing cost per bit/s of flow."""

    link: str
    modules: tuple[tuple[float, float], ...]
    setup_cost: float
    routing_cost_per_bps: float


def read_sndlib_modules(path: str | Path) -> dict[str, SndlibLinkModules]:
    """Module lists and costs per link id of an SNDlib native or XML network file."""
    path = Path(path)
    head = read_text(path)[:4096]
    parts = _xml_parts(path) if head.lstrip().startswith("<") else _native_parts(path)
    factor = parts[4]
    return {lk.id: SndlibLinkModules(
        lk.id, tuple((cap * factor, cost) for cap, cost in zip(
            lk.modules, lk.module_costs or (0.0,) * len(lk.modules), strict=True)),
        lk.setup_cost, lk.routing_cost / factor) for lk in parts[2]}
