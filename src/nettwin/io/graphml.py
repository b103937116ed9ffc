"""Topology Zoo GraphML: coordinates, link speeds, multigraphs, missing data reported."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from nettwin.errors import ImportFormatError
from nettwin.io.options import ImportOptions, metric_policy_note
from nettwin.io.text import check_file_size
from nettwin.model import Network, build_network
from nettwin.model.fields import LinkKind
from nettwin.model.geo import distance_km
from nettwin.model.problems import Problem, note

# Line rates of the circuit names Topology Zoo uses in LinkType / LinkLabel (bit/s).
_NAMED_RATES_BPS = {
    "t1": 1.544e6, "e1": 2.048e6, "t2": 6.312e6, "e3": 34.368e6, "t3": 44.736e6,
    "ds3": 44.736e6, "oc3": 155.52e6, "stm1": 155.52e6, "oc12": 622.08e6,
    "stm4": 622.08e6, "oc48": 2488.32e6, "stm16": 2488.32e6, "oc192": 9953.28e6,
    "stm64": 9953.28e6, "oc768": 39813.12e6, "stm256": 39813.12e6, "gige": 1e9,
    "gbe": 1e9, "10ge": 10e9, "10gige": 10e9, "100ge": 100e9,
}
_UNIT = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}
_KINDS = {"fiber": LinkKind.FIBER, "fibre": LinkKind.FIBER, "optical": LinkKind.FIBER,
          "wireless": LinkKind.MICROWAVE, "microwave": LinkKind.MICROWAVE,
          "ethernet": LinkKind.ETHERNET, "gige": LinkKind.ETHERNET}


def _capacity(data: dict[str, Any], path: Path, edge: str) -> tuple[float | None, str]:
    raw = data.get("LinkSpeedRaw")
    if raw is not None:
        try:
            value = float(raw)
        except (TypeError, ValueError, OverflowError):
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise ImportFormatError(str(path), f"edge {edge}: LinkSpeedRaw {str(raw)[:40]!r} "
                                               "is no speed in bit/s; correct or remove it")
        if value > 0:
            return value, "LinkSpeedRaw"
    speed, unit = data.get("LinkSpeed"), str(data.get("LinkSpeedUnits", "")).strip().lower()
    if speed not in (None, "") and unit in _UNIT:
        try:
            value = float(speed) * _UNIT[unit]
        except (TypeError, ValueError, OverflowError):
            value = 0.0
        if math.isfinite(value) and value > 0:
            return value, "LinkSpeed"
    for key in ("LinkType", "LinkLabel"):
        name = re.sub(r"[^a-z0-9]", "", str(data.get(key, "")).lower())
        name = name.removesuffix("c") if name.startswith(("oc", "stm")) else name
        if name in _NAMED_RATES_BPS:
            return _NAMED_RATES_BPS[name], key
    return None, ""


def _degrees(value: Any, bound: float) -> float | None:
    """A coordinate usable for lengths, else None (the node's record reports a bad one)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        deg = float(value)
    except (ValueError, OverflowError):
        return None
    return deg if math.isfinite(deg) and -bound <= deg <= bound else None


def import_graphml(path: str | Path, options: ImportOptions | None = None) -> Network:
    """Read a Topology Zoo GraphML file. Node ids are the labels (made unique if repeated)."""
    import networkx as nx  # here: every other command loads without it (~0.3 s)

    path = Path(path)
    options = options or ImportOptions()
    check_file_size(path)
    try:
        g = nx.read_graphml(path)
    except (nx.NetworkXError, ET.ParseError, ValueError, LookupError) as exc:
        raise ImportFormatError(str(path), f"not a readable GraphML graph: {exc}") from exc
    except OSError as exc:
        raise ImportFormatError(str(path), f"cannot read file: {exc}") from exc
    src = path.name
    notes: list[Problem] = []
    labels = {n: str(d.get("label") or n).strip() or str(n) for n, d in g.nodes(data=True)}
    counts = Counter(labels.values())
    ids: dict[Any, str] = {}
    for n in g.nodes:
        ids[n] = labels[n] if counts[labels[n]] == 1 else f"{labels[n]}#{n}"
    repeated = sorted(k for k, c in counts.items() if c > 1)
    if repeated:
        notes.append(note(src, f"{len(repeated)} node label(s) are shared by several nodes;"
                               f" those nodes are named 'LABEL#GRAPHML_ID', e.g. {repeated[:3]}"))
    nodes = []
    no_coords = []
    for n, d in g.nodes(data=True):
        lat, lon = d.get("Latitude"), d.get("Longitude")
        if lat is None or lon is None:
            no_coords.append(ids[n])
        attrs = {k: d[k] for k in ("Country", "Internal", "type") if k in d}
        nodes.append({"id": ids[n], "name": labels[n], "latitude": lat, "longitude": lon,
                      "attributes": attrs or None})
    if no_coords:
        notes.append(note(src, f"{len(no_coords)} node(s) have no coordinates, so their links"
                               f" have no length or propagation delay: {no_coords[:5]}",
                          "add Latitude/Longitude, or give length_km in a native file"))
    links = []
    defaulted, self_loops = 0, 0
    sources: Counter[str] = Counter()
    pos = {ids[n]: (_degrees(d.get("Latitude"), 90.0), _degrees(d.get("Longitude"), 180.0))
           for n, d in g.nodes(data=True)}
    edges = g.edges(keys=True, data=True) if g.is_multigraph() else (
        (u, v, 0, d) for u, v, d in g.edges(data=True))
    seen: Counter[tuple[str, str]] = Counter()
    for u, v, _key, d in edges:
        a, b = ids[u], ids[v]
        if a == b:
            self_loops += 1
            continue
        capacity, origin = _capacity(d, path, f"{a}--{b}")
        if capacity is None:
            capacity, origin = options.default_capacity_bps, "default"
            defaulted += 1
        sources[origin] += 1
        seen[(a, b)] += 1
        link_id = f"{a}--{b}" if seen[(a, b)] == 1 else f"{a}--{b}#{seen[(a, b)]}"
        (la, oa), (lb, ob) = pos[a], pos[b]
        length = distance_km(la, oa, lb, ob)
        kind = _KINDS.get(str(d.get("LinkType", "")).strip().lower(), LinkKind.FIBER)
        metric = options.metric_for(capacity, length)
        attrs = {k: d[k] for k in ("LinkLabel", "LinkType", "LinkNote") if d.get(k)}
        links.append({"id": link_id, "a": a, "b": b, "kind": kind.value,
                      "capacity_ab_bps": capacity, "metric_ab": metric,
                      "length_km": length, "attributes": attrs or None})
    if self_loops:
        notes.append(note(src, f"{self_loops} self-loop edge(s) dropped (a link needs two nodes)"))
    multi = sum(c - 1 for c in seen.values() if c > 1)
    if multi:
        notes.append(note(src, f"{multi} parallel edge(s) kept as separate links "
                               "(ids end in '#2', '#3', ...)"))
    if defaulted:
        notes.append(note(src, f"{defaulted} of {len(links)} link(s) have no speed "
                               f"(LinkSpeedRaw/LinkSpeed/LinkType); capacity "
                               f"{options.default_capacity_bps:g} bit/s assumed",
                          "pass another default capacity or correct the links in a native file"))
    notes.append(note(src, f"capacities from: {dict(sources)}"))
    notes.append(metric_policy_note(src, "no IGP metrics in GraphML", options))
    name = str(g.graph.get("Network") or g.graph.get("label") or path.stem)
    return build_network(name, nodes, links, notes=notes, source=src)
