"""Normalised observations from a live network, decoded in batches.

One JSON object per observation (JSON lines, a bus message holding one object or a list):

- ``counter``: ``{"kind": "counter", "time": T, "device": "Denver", "interface": "eth1",
  "out_octets": N, "in_octets": N, "out_packets": N, "in_packets": N, "out_drops": N,
  "in_drops": N, "oper_status": "up"|"down"}`` — cumulative interface counters; only
  ``out_octets`` is required (the rate of an arc is measured where it leaves its node).
  ``interface`` may name the link instead of the port (see ``InterfaceMap``).
- ``radio``: ``{"kind": "radio", "time": T, "link": "A--B", "rsl_dbm": -45.2,
  "modulation": "1024QAM", "capacity_bps": 9.1e8}`` (capacity: what adaptive modulation
  gives now, per direction; utilisation is measured against it).
- ``event``: ``{"kind": "event", "time": T, "object": "A--B", "event": "link_down"|
  "link_up"|"node_down"|"node_up"|"syslog", "severity": "critical"|..., "message": "..."}``.
- ``topology``: ``{"kind": "topology", "time": T, "change": {"set_metric": {"link": "A--B",
  "metric": 20}}}`` (also add_link, remove_link, set_capacity; see ``live.topology``).
- OpenConfig/gNMI notifications (``{"update": {"timestamp": ns, "prefix": ..., "update":
  [{"path": ..., "val": ...}]}}``, the JSON form of a gNMI SubscribeResponse) are turned into
  counter and status observations by ``decode_gnmi``.

``T`` is seconds since the epoch or an ISO 8601 time. A record that fails validation goes to
the dead letters with the reason; it never stops the rest of its batch.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import orjson

from nettwin.model import Network

COUNTER_FIELDS = ("out_octets", "in_octets", "out_packets", "in_packets", "out_drops",
                  "in_drops")
EVENTS = ("link_down", "link_up", "node_down", "node_up", "syslog")
SEVERITIES = ("critical", "major", "minor", "warning", "indeterminate", "cleared", "info")


@dataclass(frozen=True)
class DeadLetter:
    source: str
    payload: str
    reason: str


@dataclass(frozen=True)
class Event:
    time: float
    object_id: str
    event: str
    severity: str
    message: str


@dataclass(frozen=True)
class RadioReading:
    time: float
    link: str
    rsl_dbm: float | None
    modulation: str | None
    capacity_bps: float | None = None  # what the link carries at this modulation


@dataclass
class Batch:
    """Decoded observations of one batch: counters as columns, the rest as records."""

    port: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # InterfaceMap
    time: np.ndarray = field(default_factory=lambda: np.zeros(0))
    out_octets: np.ndarray = field(default_factory=lambda: np.zeros(0))
    out_drops: np.ndarray = field(default_factory=lambda: np.zeros(0))  # nan: not given
    oper_up: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # -1 unknown
    events: list[Event] = field(default_factory=list)
    radio: list[RadioReading] = field(default_factory=list)
    topology: list[tuple[float, dict[str, Any], str]] = field(default_factory=list)  # +raw
    dead: list[DeadLetter] = field(default_factory=list)

    @property
    def n_counters(self) -> int:
        return int(self.port.shape[0])

    @property
    def n_good(self) -> int:
        return self.n_counters + len(self.events) + len(self.radio) + len(self.topology)


class InterfaceMap:
    """Which arc a device's port sends on. Link ``i`` is arcs ``2i`` (a->b) and ``2i+1``.

    A port is known by ``(device, interface)`` where interface is the link's
    ``attributes.interface_a`` / ``interface_b`` when given, and always also the link id
    (so ``{"device": "Denver", "interface": "Denver--Kansas-City"}`` works everywhere)."""

    def __init__(self, network: Network) -> None:
        self.ports: dict[tuple[str, str], int] = {}
        arcs: list[int] = []
        for i, link in enumerate(network.links.values()):
            attrs = link.attributes or {}
            for side, (node, arc) in enumerate(((link.a, 2 * i), (link.b, 2 * i + 1))):
                names = {link.id, attrs.get("interface_a" if side == 0 else "interface_b")}
                for name in names - {None}:
                    self.ports[(node, str(name))] = len(arcs)
                arcs.append(arc)
        self.port_arc = np.array(arcs, np.int64)
        self.link_ids = tuple(network.links)
        self.node_ids = set(network.nodes)

    def __len__(self) -> int:
        return int(self.port_arc.shape[0])


def parse_time(value: Any) -> float:
    """Seconds since the epoch from a number (s, or ns when > 1e14) or an ISO 8601 string."""
    if type(value) is float and 0.0 <= value <= 1e14:  # the common case, checked fast
        return value
    if isinstance(value, bool):
        raise ValueError("time is a boolean")
    if isinstance(value, int | float):
        t = float(value)
        t = t / 1e9 if t > 1e14 else t
        if not math.isfinite(t) or t < 0:
            raise ValueError(f"time {value!r} is not a valid epoch time")
        return t
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise ValueError(f"time {value!r} is neither epoch seconds nor ISO 8601") from None
    raise ValueError(f"time {value!r} is missing or not a number/ISO string")


def _number(rec: Mapping[str, Any], key: str) -> float:
    v = rec.get(key)
    if v is None:
        return math.nan
    if type(v) is float and 0.0 <= v < math.inf:  # the common case, checked fast
        return v
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise ValueError(f"{key} {v!r} is not a number")
    x = float(v)
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"{key} {v!r} must be a finite number >= 0")
    return x


class Decoder:
    """Turns raw messages into a ``Batch`` against one network's ports and elements."""

    def __init__(self, ports: InterfaceMap) -> None:
        self.ports = ports

    def decode(self, payloads: Iterable[bytes | str | Mapping[str, Any]],
               source: str = "in-process") -> Batch:
        port: list[int] = []
        time: list[float] = []
        octets: list[float] = []
        drops: list[float] = []
        oper: list[int] = []
        batch = Batch()
        for payload in payloads:
            try:
                doc = orjson.loads(payload) if isinstance(payload, bytes | str) else payload
            except orjson.JSONDecodeError as exc:
                batch.dead.append(DeadLetter(source, _text(payload), f"not JSON: {exc}"))
                continue
            records = doc if isinstance(doc, list) else [doc]
            for rec in records:
                if isinstance(rec, Mapping) and "update" in rec and "kind" not in rec:
                    try:
                        expanded = decode_gnmi(rec)
                    except ValueError as exc:
                        batch.dead.append(DeadLetter(source, _text(rec), str(exc)))
                        continue
                else:
                    expanded = [rec]
                for r in expanded:
                    try:
                        self._one(r, port, time, octets, drops, oper, batch)
                    except ValueError as exc:
                        batch.dead.append(DeadLetter(source, _text(r), str(exc)))
        batch.port = np.array(port, np.int64)
        batch.time = np.array(time)
        batch.out_octets = np.array(octets)
        batch.out_drops = np.array(drops)
        batch.oper_up = np.array(oper, np.int8)
        return batch

    def _one(self, rec: Any, port: list[int], time: list[float], octets: list[float],
             drops: list[float], oper: list[int], batch: Batch) -> None:
        if not isinstance(rec, Mapping):
            raise ValueError(f"an observation is a JSON object, got {type(rec).__name__}")
        kind = rec.get("kind")
        t = parse_time(rec.get("time"))
        if kind == "counter":
            key = (str(rec.get("device")), str(rec.get("interface")))
            p = self.ports.ports.get(key)
            if p is None:
                raise ValueError(f"unknown port device={key[0]!r} interface={key[1]!r}: name "
                                 "a node and one of its links (or the link's interface_a/"
                                 "interface_b attribute)")
            out = _number(rec, "out_octets")
            status = rec.get("oper_status")
            if status not in (None, "up", "down", "UP", "DOWN"):
                raise ValueError(f"oper_status {status!r}: use up or down")
            if math.isnan(out) and status is None:
                raise ValueError("a counter needs out_octets (or at least oper_status)")
            port.append(p)
            time.append(t)
            octets.append(out)
            drops.append(_number(rec, "out_drops"))
            oper.append(-1 if status is None else int(str(status).lower() == "up"))
        elif kind == "event":
            obj, ev = rec.get("object"), rec.get("event")
            if ev not in EVENTS:
                raise ValueError(f"event {ev!r}: use one of {', '.join(EVENTS)}")
            if ev.startswith("link") and obj not in self.ports.link_ids:
                raise ValueError(f"event on unknown link {obj!r}")
            if ev.startswith("node") and obj not in self.ports.node_ids:
                raise ValueError(f"event on unknown node {obj!r}")
            sev = str(rec.get("severity") or ("critical" if ev.endswith("down") else "info"))
            if sev not in SEVERITIES:
                raise ValueError(f"severity {sev!r}: use one of {', '.join(SEVERITIES)}")
            batch.events.append(Event(t, str(obj), ev, sev, str(rec.get("message") or "")))
        elif kind == "radio":
            link = rec.get("link")
            if link not in self.ports.link_ids:
                raise ValueError(f"radio reading on unknown link {link!r}")
            rsl = rec.get("rsl_dbm")
            if rsl is not None and (isinstance(rsl, bool) or not isinstance(rsl, int | float)):
                raise ValueError(f"rsl_dbm {rsl!r} is not a number")
            mod = rec.get("modulation")
            cap = rec.get("capacity_bps")
            if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int | float)
                                    or not cap >= 0):
                raise ValueError(f"capacity_bps {cap!r} is not a rate >= 0")
            batch.radio.append(RadioReading(t, str(link), None if rsl is None else float(rsl),
                                            None if mod is None else str(mod),
                                            None if cap is None else float(cap)))
        elif kind == "topology":
            change = rec.get("change")
            if not isinstance(change, Mapping) or len(change) != 1:
                raise ValueError("a topology update needs change: {add_link|remove_link|"
                                 "set_metric|set_capacity: ...}")
            batch.topology.append((t, dict(change), _text(rec)))
        else:
            raise ValueError(f"kind {kind!r}: use counter, radio, event or topology")


def _text(payload: Any) -> str:
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")[:10_000]
    if isinstance(payload, str):
        return payload[:10_000]
    try:
        return json.dumps(payload, default=str)[:10_000]
    except (TypeError, ValueError):
        return repr(payload)[:10_000]


# --------------------------------------------------------------------------- gNMI
_GNMI_LEAVES = {"out-octets": "out_octets", "in-octets": "in_octets",
                "out-pkts": "out_packets", "in-pkts": "in_packets",
                "out-unicast-pkts": "out_packets", "in-unicast-pkts": "in_packets",
                "out-discards": "out_drops", "in-discards": "in_drops"}
_ELEM = re.compile(r"([^/\[]+)((?:\[[^\]]+\])*)")


def _path_elems(path: Any) -> list[tuple[str, dict[str, str]]]:
    """gNMI path as (name, keys) pairs, from the elem list or the string form."""
    if isinstance(path, str):
        out = []
        for m in _ELEM.finditer(path.strip("/")):
            keys = dict(kv.split("=", 1) for kv in re.findall(r"\[([^\]]+)\]", m.group(2)))
            out.append((m.group(1), keys))
        return out
    if isinstance(path, Mapping):
        return [(str(e.get("name")), {str(k): str(v) for k, v in (e.get("key") or {}).items()})
                for e in path.get("elem") or []]
    raise ValueError(f"gNMI path {path!r} is neither an elem list nor a string")


def _gnmi_value(val: Any) -> Any:
    if isinstance(val, Mapping):
        for key in ("uintVal", "intVal", "floatVal", "doubleVal", "stringVal", "jsonVal"):
            if key in val:
                return val[key]
        raise ValueError(f"gNMI value {val!r} has no scalar field")
    return val


def decode_gnmi(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Counter observations from one gNMI notification (OpenConfig interfaces model):
    .../interfaces/interface[name=X]/state/counters/<leaf> and .../state/oper-status."""
    note = message.get("update")
    if not isinstance(note, Mapping):
        raise ValueError("gNMI message without an 'update' notification")
    t = parse_time(note.get("timestamp"))
    prefix = note.get("prefix") or {}
    device = (prefix.get("target") if isinstance(prefix, Mapping) else None) or \
        message.get("target")
    if not device:
        raise ValueError("gNMI notification without prefix.target (the device)")
    base = _path_elems(prefix) if isinstance(prefix, Mapping) and prefix.get("elem") else []
    per_port: dict[str, dict[str, Any]] = {}
    for upd in note.get("update") or []:
        elems = base + _path_elems(upd.get("path"))
        names = [e[0] for e in elems]
        if "interface" not in names:
            continue
        port = elems[names.index("interface")][1].get("name")
        if port is None:
            raise ValueError("gNMI interface path without [name=...]")
        leaf = names[-1]
        rec = per_port.setdefault(port, {"kind": "counter", "time": t, "device": device,
                                         "interface": port})
        value = _gnmi_value(upd.get("val"))
        if leaf in _GNMI_LEAVES:
            rec[_GNMI_LEAVES[leaf]] = float(value)
        elif leaf == "oper-status":
            rec["oper_status"] = "up" if str(value).upper() == "UP" else "down"
    return list(per_port.values())
