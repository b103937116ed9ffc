"""RFC 8345 instance data (``ietf-network`` + ``ietf-network-topology``) in JSON.

RFC 8345 links are unidirectional; opposite links between the same termination points are
paired into one nettwin link. The IGP metric uses RFC 8346 ``l3-link-attributes/metric1``;
what the standard models lack (capacity, kind, length, coordinates, demands) travels in a
``nettwin:`` augmentation, read back when present and reported when missing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nettwin.errors import ImportFormatError
from nettwin.io.documents import parse_json
from nettwin.io.native import radio_document
from nettwin.io.options import ImportOptions, metric_policy_note
from nettwin.io.text import read_text
from nettwin.model import Network, build_network
from nettwin.model.problems import Problem, note

NW = "ietf-network:networks"
NT = "ietf-network-topology"
L3 = "ietf-l3-unicast-topology:l3-link-attributes"
NODE_EXT = "nettwin:node-attributes"
LINK_EXT = "nettwin:link-attributes"


def _tp(node: str, link_id: str) -> str:
    return f"{node}:{link_id}"


def export_rfc8345(network: Network, path: str | Path) -> None:
    """Write the topology as RFC 8345 JSON (two unidirectional links per nettwin link)."""
    tps: dict[str, list[dict[str, str]]] = defaultdict(list)
    links = []
    for link in network.links.values():
        for direction, (s, d, cap, metric) in (
                ("ab", (link.a, link.b, link.capacity_ab_bps, link.metric_ab)),
                ("ba", (link.b, link.a, link.capacity_ba_bps, link.metric_ba))):
            tps[s].append({"tp-id": _tp(s, link.id)})
            ext: dict[str, Any] = {"link-id": link.id, "direction": direction,
                                   "capacity-bps": cap, "kind": link.kind.value}
            for key, value in (("length-km", link.length_km), ("delay-s", link.delay_s),
                               ("buffer-packets", link.buffer_packets),
                               ("attributes", link.attributes)):
                if value is not None:
                    ext[key] = value
            if link.srlgs:
                ext["srlgs"] = list(link.srlgs)
            if link.radio is not None:
                ext["radio"] = radio_document(link.radio)
            if not link.is_up:
                ext["admin-up"], ext["oper-up"] = link.admin_up, link.oper_up
            links.append({
                "link-id": f"{link.id}/{direction}",
                "source": {"source-node": s, "source-tp": _tp(s, link.id)},
                "destination": {"dest-node": d, "dest-tp": _tp(d, link.id)},
                L3: {"metric1": metric},
                LINK_EXT: ext,
            })
    nodes = []
    for node in network.nodes.values():
        ext = {k: v for k, v in (("name", node.name), ("kind", node.kind.value),
                                 ("latitude", node.latitude), ("longitude", node.longitude),
                                 ("attributes", node.attributes))
               if v is not None}
        nodes.append({"node-id": node.id, f"{NT}:termination-point": tps[node.id],
                      NODE_EXT: ext})
    doc = {NW: {"network": [{
        "network-id": network.name,
        "network-types": {"ietf-l3-unicast-topology:l3-unicast-topology": {}},
        "node": nodes,
        f"{NT}:link": links,
    }]}}
    Path(path).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def _get(obj: Any, path: str, key: str) -> Any:
    if not isinstance(obj, Mapping) or key not in obj:
        raise ImportFormatError(path, f"missing '{key}'")
    return obj[key]


def _mapping(obj: Any, path: str, where: str) -> Mapping[str, Any]:
    """``obj`` when it is a JSON object (absent: empty), else an error naming ``where``."""
    if obj is None:
        return {}
    if not isinstance(obj, Mapping):
        raise ImportFormatError(path, f"{where} must be a JSON object, got "
                                      f"{type(obj).__name__} {str(obj)[:60]!r}")
    return obj


def _list(obj: Any, path: str, where: str) -> list[Any]:
    """``obj`` when it is a JSON array (absent: empty), else an error naming ``where``."""
    if obj is None:
        return []
    if not isinstance(obj, list):
        raise ImportFormatError(path, f"{where} must be a JSON array, got "
                                      f"{type(obj).__name__} {str(obj)[:60]!r}")
    return obj


def _key(obj: Any, path: str, where: str) -> str | None:
    """A node, termination-point or link id: text or a whole number."""
    if obj is None:
        return None
    if isinstance(obj, bool) or not isinstance(obj, str | int):
        raise ImportFormatError(path, f"{where} must be a string id, got {str(obj)[:60]!r}")
    return str(obj)


def import_rfc8345(path: str | Path, options: ImportOptions | None = None,
                   network_id: str | None = None) -> Network:
    """Read RFC 8345 JSON. With several networks in the file, ``network_id`` picks one."""
    path = Path(path)
    options = options or ImportOptions()
    src = str(path)
    doc = parse_json(read_text(path), src)
    networks = _list(_get(_get(doc, src, NW), src, "network"), src, f"{NW}.network")
    if not networks:
        raise ImportFormatError(src, "no network in 'ietf-network:networks'")
    networks = [_mapping(n, src, f"{NW}.network[{i}]") for i, n in enumerate(networks)]
    if network_id is None:
        net = networks[0]
    else:
        match = [n for n in networks if n.get("network-id") == network_id]
        if not match:
            raise ImportFormatError(src, f"no network {network_id!r}; the file has "
                                         f"{[n.get('network-id') for n in networks]}")
        net = match[0]
    notes: list[Problem] = []
    if len(networks) > 1 and network_id is None:
        notes.append(note(path.name, f"{len(networks)} networks in the file; the first, "
                                     f"{net.get('network-id')!r}, was read"))
    nodes = []
    for i, n in enumerate(_list(net.get("node"), src, "network.node")):
        n = _mapping(n, src, f"node[{i}]")
        ext = _mapping(n.get(NODE_EXT), src, f"node[{i}].{NODE_EXT}")
        nodes.append({"id": n.get("node-id") or f"#{i}", "name": ext.get("name"),
                      "kind": ext.get("kind"), "latitude": ext.get("latitude"),
                      "longitude": ext.get("longitude"), "attributes": ext.get("attributes")})
    arcs = [_mapping(arc, src, f"{NT}:link[{i}]")
            for i, arc in enumerate(_list(net.get(f"{NT}:link"), src, f"{NT}:link"))]
    pending: dict[tuple[Any, Any, Any, Any], list[Mapping[str, Any]]] = defaultdict(list)
    links: list[dict[str, Any]] = []
    defaulted_capacity = defaulted_metric = one_way = 0

    def direction(arc: Mapping[str, Any]) -> tuple[Any, float, int | None, dict[str, Any]]:
        nonlocal defaulted_capacity
        where = f"link {str(arc.get('link-id'))[:60]!r}"
        ext = dict(_mapping(arc.get(LINK_EXT), src, f"{where} {LINK_EXT}"))
        cap = ext.get("capacity-bps")
        if cap is None:
            cap = options.default_capacity_bps
            defaulted_capacity += 1
        metric = _mapping(arc.get(L3), src, f"{where} {L3}").get("metric1")
        return ext.get("link-id"), cap, metric, ext

    for i, arc in enumerate(arcs):
        where = f"{NT}:link[{i}]"
        s = _mapping(_get(arc, src, "source"), src, f"{where}.source")
        d = _mapping(_get(arc, src, "destination"), src, f"{where}.destination")
        key = (_key(s.get("source-node"), src, f"{where}.source.source-node"),
               _key(s.get("source-tp"), src, f"{where}.source.source-tp"),
               _key(d.get("dest-node"), src, f"{where}.destination.dest-node"),
               _key(d.get("dest-tp"), src, f"{where}.destination.dest-tp"))
        back_key = (key[2], key[3], key[0], key[1])
        if pending.get(back_key):
            first = pending[back_key].pop(0)
            lid, cap_ab, m_ab, ext = direction(first)
            _, cap_ba, m_ba, _ = direction(arc)
            if m_ab is None or m_ba is None:
                defaulted_metric += 1
            a, b = back_key[0], back_key[2]
            links.append(_link_record(lid or first.get("link-id"), a, b, cap_ab, cap_ba,
                                      m_ab, m_ba, ext, options))
        else:
            pending[key].append(arc)
    for key, left in pending.items():
        for arc in left:
            one_way += 1
            lid, cap, metric, ext = direction(arc)
            if metric is None:
                defaulted_metric += 1
            links.append(_link_record(lid or arc.get("link-id"), key[0], key[2], cap, cap,
                                      metric, metric, ext, options))
    if one_way:
        notes.append(note(path.name, f"{one_way} unidirectional link(s) without an opposite "
                                     "link; the reverse direction is assumed identical"))
    if defaulted_capacity:
        notes.append(note(path.name, f"{defaulted_capacity} link direction(s) carry no "
                                     f"capacity; {options.default_capacity_bps:g} bit/s assumed"))
    if defaulted_metric:
        notes.append(metric_policy_note(
            path.name, f"{defaulted_metric} link(s) lack RFC 8346 metric1", options))
    return build_network(str(net.get("network-id") or path.stem), nodes, links, notes=notes,
                         source=path.name)


def _link_record(lid: Any, a: Any, b: Any, cap_ab: float, cap_ba: float, m_ab: int | None,
                 m_ba: int | None, ext: Mapping[str, Any],
                 options: ImportOptions) -> dict[str, Any]:
    length = ext.get("length-km")
    return {
        "id": lid, "a": a, "b": b, "capacity_ab_bps": cap_ab, "capacity_ba_bps": cap_ba,
        "metric_ab": m_ab if m_ab is not None else options.metric_for(cap_ab, length),
        "metric_ba": m_ba if m_ba is not None else options.metric_for(cap_ba, length),
        "kind": ext.get("kind"), "length_km": length, "delay_s": ext.get("delay-s"),
        "srlgs": ext.get("srlgs", ()), "admin_up": ext.get("admin-up", True),
        "oper_up": ext.get("oper-up", True), "buffer_packets": ext.get("buffer-packets"),
        "attributes": ext.get("attributes"), "radio": ext.get("radio"),
    }
