"""The native format: YAML or JSON, one document holding nodes, links, demands, services and
slices.

Schema: ``nettwin schema`` prints it (generated from the field declarations). Export then
import gives back an equal Network.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from nettwin.errors import ImportFormatError
from nettwin.io.text import read_document
from nettwin.model import Link, Network, Node, Service, Slice, build_network, demand_id
from nettwin.model.fields import (
    DEMAND_FIELDS,
    LINK_FIELDS,
    NODE_FIELDS,
    RADIO_FIELDS,
    SERVICE_FIELDS,
    SLICE_FIELDS,
)
from nettwin.model.schema import NATIVE_FORMAT_VERSION

_SECTIONS = ("nettwin", "name", "nodes", "links", "demands", "services", "slices")


def parse_document(doc: Any, source: str) -> Network:
    """Build a Network from an already-parsed native document."""
    if not isinstance(doc, Mapping):
        raise ImportFormatError(source, "top level must be a mapping with 'nodes' and 'links'")
    unknown = [k for k in doc if k not in _SECTIONS]
    if unknown:
        raise ImportFormatError(source, f"unknown section(s) {unknown}; "
                                        f"allowed: {', '.join(_SECTIONS)}")
    version = doc.get("nettwin", NATIVE_FORMAT_VERSION)
    if version != NATIVE_FORMAT_VERSION:
        raise ImportFormatError(source, f"format version {version!r} is not supported; "
                                        f"this nettwin reads version {NATIVE_FORMAT_VERSION}")
    sections = {}
    for key in ("nodes", "links", "demands", "services", "slices"):
        value = doc.get(key) or []
        if not isinstance(value, list):
            raise ImportFormatError(source, f"'{key}' must be a list, got {type(value).__name__}")
        sections[key] = value
    return build_network(
        str(doc.get("name") or Path(source).stem),
        sections["nodes"],
        sections["links"],
        sections["demands"],
        sections["services"],
        source=source,
        slices=sections["slices"],
    )


def import_native(path: str | Path) -> Network:
    """Read a native YAML (.yaml/.yml) or JSON (.json) network file."""
    return parse_document(read_document(path), str(path))


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


def _record(obj: Any, specs: Any, skip_equal: Mapping[str, str] | None = None, *,
            full: bool = False) -> dict[str, Any]:
    """The native record of a model element: every declared field (``full``), or only
    those that differ from their defaults (what files hold)."""
    out: dict[str, Any] = {}
    for spec in specs:
        value = getattr(obj, spec.name)
        if not full and (value is None or (not spec.required and value == spec.default)):
            continue
        twin = (skip_equal or {}).get(spec.name)
        if not full and twin is not None and value == getattr(obj, twin):
            continue
        out[spec.name] = (_record(value, RADIO_FIELDS, full=full)
                          if spec.name == "radio" and value is not None else _plain(value))
    return out


def element_document(element: Node | Link | Service | Slice) -> dict[str, Any]:
    """Every field of a node, link (with its radio block), service or slice, JSON-ready
    (enums as their values): what the API shows of one element."""
    specs = {Node: NODE_FIELDS, Link: LINK_FIELDS, Service: SERVICE_FIELDS,
             Slice: SLICE_FIELDS}[type(element)]
    return _record(element, specs, full=True)


def radio_document(radio: Any) -> dict[str, Any]:
    """The native form of a link's radio block."""
    return _record(radio, RADIO_FIELDS)


def network_to_document(network: Network) -> dict[str, Any]:
    """The native document of a network (what export writes)."""
    doc: dict[str, Any] = {"nettwin": NATIVE_FORMAT_VERSION, "name": network.name}
    doc["nodes"] = [_record(n, NODE_FIELDS) for n in network.nodes.values()]
    doc["links"] = [_record(lk, LINK_FIELDS, {"capacity_ba_bps": "capacity_ab_bps",
                                              "metric_ba": "metric_ab"})
                    for lk in network.links.values()]
    doc["demands"] = []
    for d in network.iter_demands():
        rec = _record(d, DEMAND_FIELDS)
        if d.id == demand_id(d.src, d.dst, d.traffic_class):
            del rec["id"]  # the default id; keeps large matrices short
        doc["demands"].append(rec)
    doc["services"] = [_record(s, SERVICE_FIELDS) for s in network.services.values()]
    doc["slices"] = [_record(s, SLICE_FIELDS) for s in network.slices.values()]
    for key in ("demands", "services", "slices"):
        if not doc[key]:
            del doc[key]
    return doc


def export_native(network: Network, path: str | Path) -> None:
    """Write the network as native YAML or JSON (by the file's suffix)."""
    path = Path(path)
    doc = network_to_document(network)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True,
                                       width=100), encoding="utf-8")
