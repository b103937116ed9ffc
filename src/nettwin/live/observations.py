"""Normalised observations from a live network, decoded in batches.

One JSON object per observation (JSON lines, a bus message holding one object or a list):

- ``counter``: ``{"kind": "counter", "time": T, "device": "Denver", "interface": "eth1",
  "out_octets": N, "in_octets": N, "out_packets": N, "in_packets": N, "out_drops": N,
  "in_drops": N, "oper_status": "up"|"down"}`` — cumulative interface counters; only
  ``out_octets`` is required (the rate of an arc is measured where it leaves its node).
  Octets count bytes; ``*_packets`` and ``*_drops`` count packets, as SNMP (ifHCOutOctets,
  ifHCOutUcastPkts, ifOutDiscards) and gNMI (out-octets, out-pkts, out-discards) do. The
  live state shows drops in packets per second (``drops_pps``); diagnosis turns them into
  bit/s with the port's measured octets per packet (``out_octets`` over ``out_packets``),
  or ``DEFAULT_PACKET_BYTES`` where the port gives no packet count.
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
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from nettwin.engine.simulate import SimulationOptions
from nettwin.model import Network

COUNTER_FIELDS = ("out_octets", "in_octets", "out_packets", "in_packets", "out_drops",
                  "in_drops")
# bytes per packet where a port counts drops but not the packets it sent: the engine's mean
DEFAULT_PACKET_BYTES = SimulationOptions.mean_packet_bytes
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
    out_packets: np.ndarray = field(default_factory=lambda: np.zeros(0))  # nan: not given
    out_drop_packets: np.ndarray = field(default_factory=lambda: np.zeros(0))  # nan: not given
    oper_up: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # -1 unknown
    counter_bits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # 0: ?
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
        try:
            t = float(value)
        except OverflowError:
            raise ValueError(f"time {str(value)[:40]}... is not a valid epoch time") from None
        t = t / 1e9 if t > 1e14 else t
        if not math.isfinite(t) or t < 0:
            raise ValueError(f"time {value!r} is not a valid epoch time")
        return t
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:  # a time without zone is UTC, not this host's zone
                parsed = parsed.replace(tzinfo=UTC)
            t = parsed.timestamp()
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"time {value[:60]!r} is neither epoch seconds nor "
                             "ISO 8601") from None
        if t < 0:
            raise ValueError(f"time {value[:60]!r} is before 1970")
        return t
    raise ValueError(f"time {value!r} is missing or not a number/ISO string")


def _number(rec: Mapping[str, Any], key: str) -> float:
    v = rec.get(key)
    if v is None:
        return math.nan
    if type(v) is float and 0.0 <= v < math.inf:  # the common case, checked fast
        return v
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise ValueError(f"{key} {_shown(v)} is not a number")
    try:
        x = float(v)
    except (ValueError, OverflowError):
        raise ValueError(f"{key} {_shown(v)} is not a number") from None
    if not math.isfinite(x) or x < 0 or x > 2.0**64:  # 2^64 - 1 rounds to 2^64
        raise ValueError(f"{key} {_shown(v)} must be a finite number in 0..2^64")
    return x


# What a malformed record can provoke while it is decoded; it becomes a dead letter
_RECORD_FAILURES = (ValueError, TypeError, KeyError, IndexError, AttributeError,
                    OverflowError, RecursionError, UnicodeError)


@dataclass(frozen=True)
class TimeWindow:
    """Observation times the twin accepts: not after now + ``max_future_s`` (a clock set
    wrong, or 1e300, would otherwise make every later sample of the port look old), not
    before now - ``max_age_s`` when that is given (replays of old files need no limit).
    Environment: NETTWIN_MAX_CLOCK_SKEW_S, NETTWIN_MAX_SAMPLE_AGE_S."""

    max_future_s: float = 300.0
    max_age_s: float | None = None
    clock: Callable[[], float] = time.time

    @classmethod
    def from_env(cls) -> TimeWindow:
        skew = os.environ.get("NETTWIN_MAX_CLOCK_SKEW_S")
        age = os.environ.get("NETTWIN_MAX_SAMPLE_AGE_S")
        return cls(max_future_s=float(skew) if skew else 300.0,
                   max_age_s=float(age) if age else None)

    def bounds(self) -> tuple[float, float]:
        """The accepted interval now, for checking a whole batch against one clock read."""
        now = self.clock()
        return (-math.inf if self.max_age_s is None else now - self.max_age_s,
                now + self.max_future_s)

    def check(self, t: float) -> float:
        """``t``, or ValueError saying how far outside the window it is."""
        now = self.clock()
        if t > now + self.max_future_s:
            raise ValueError(f"time {t:.6g} is {t - now:.3g} s in the future (more than "
                             f"{self.max_future_s:g} s ahead of this host's clock); fix the "
                             "sender's clock or raise NETTWIN_MAX_CLOCK_SKEW_S")
        if self.max_age_s is not None and t < now - self.max_age_s:
            raise ValueError(f"time {t:.6g} is {now - t:.3g} s old (more than "
                             f"{self.max_age_s:g} s); raise NETTWIN_MAX_SAMPLE_AGE_S to "
                             "replay older data")
        return t


class Decoder:
    """Turns raw messages into a ``Batch`` against one network's ports and elements. Every
    record that cannot be used becomes a dead letter with the reason; nothing a record holds
    stops the rest of its batch."""

    def __init__(self, ports: InterfaceMap, window: TimeWindow | None = None) -> None:
        self.ports = ports
        self.window = window or TimeWindow.from_env()
        self._bounds = self.window.bounds()

    def decode(self, payloads: Iterable[bytes | str | Mapping[str, Any]],
               source: str = "in-process") -> Batch:
        port: list[int] = []
        time: list[float] = []
        octets: list[float] = []
        packets: list[float] = []
        drops: list[float] = []
        oper: list[int] = []
        bits: list[int] = []
        cols = (port, time, octets, packets, drops, oper, bits)
        batch = Batch()
        self._bounds = self.window.bounds()
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
                    except _RECORD_FAILURES as exc:
                        batch.dead.append(DeadLetter(source, _text(rec),
                                                     f"malformed gNMI notification: "
                                                     f"{_reason(exc)}"))
                        continue
                else:
                    expanded = [rec]
                for r in expanded:
                    try:
                        self._one(r, cols, batch)
                    except _RECORD_FAILURES as exc:
                        batch.dead.append(DeadLetter(source, _text(r), _reason(exc)))
        batch.port = np.array(port, np.int64)
        batch.time = np.array(time)
        batch.out_octets = np.array(octets)
        batch.out_packets = np.array(packets)
        batch.out_drop_packets = np.array(drops)
        batch.oper_up = np.array(oper, np.int8)
        batch.counter_bits = np.array(bits, np.int8)
        return batch

    def _one(self, rec: Any, cols: tuple[list[Any], ...], batch: Batch) -> None:
        if not isinstance(rec, Mapping):
            raise ValueError(f"an observation is a JSON object, got {type(rec).__name__}")
        port, time, octets, packets, drops, oper, bits = cols
        if "error" in rec:  # set by decode_gnmi for a port whose update was unusable
            raise ValueError(str(rec["error"]))
        kind = rec.get("kind")
        t = parse_time(rec.get("time"))
        if not self._bounds[0] <= t <= self._bounds[1]:
            self.window.check(t)  # raises, saying how far out it is
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
            width = rec.get("counter_bits", 0)
            if width not in (0, 32, 64) or isinstance(width, bool):
                raise ValueError(f"counter_bits {width!r}: use 32 or 64 (or leave it out)")
            sent = _number(rec, "out_packets")
            dropped = _number(rec, "out_drops")
            port.append(p)
            time.append(t)
            octets.append(out)
            packets.append(sent)
            drops.append(dropped)
            oper.append(-1 if status is None else int(str(status).lower() == "up"))
            bits.append(int(width))
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


def _shown(value: Any) -> str:
    """A value for a message, cut short (a hostile record may hold megabytes)."""
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 200 else \
        f"<integer of {value.bit_length()} bits>"
    return text if len(text) <= 60 else text[:57] + "..."


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ValueError) and type(exc) is ValueError:
        return str(exc)
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return f"record not understood ({type(exc).__name__}: {str(exc)[:200]})"


def _text(payload: Any) -> str:
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")[:10_000]
    if isinstance(payload, str):
        return payload[:10_000]
    try:
        return json.dumps(payload, default=str)[:10_000]
    except (TypeError, ValueError, RecursionError):
        return f"<unprintable {type(payload).__name__}>"


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
        elems = path.get("elem") or []
        if not isinstance(elems, list) or not all(isinstance(e, Mapping) for e in elems):
            raise ValueError(f"gNMI path elem {str(elems)[:80]!r} is not a list of objects")
        return [(str(e.get("name")), {str(k): str(v) for k, v in (e.get("key") or {}).items()})
                for e in elems]
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
    updates = note.get("update") or []
    if not isinstance(updates, list):
        raise ValueError(f"gNMI update list is a {type(updates).__name__}, not a list")
    for i, upd in enumerate(updates):
        if not isinstance(upd, Mapping):
            raise ValueError(f"gNMI update[{i}] is a {type(upd).__name__}, not an object")
        elems = base + _path_elems(upd.get("path"))
        names = [e[0] for e in elems]
        if "interface" not in names:
            continue
        port = elems[names.index("interface")][1].get("name")
        if port is None:
            raise ValueError("gNMI interface path without [name=...]")
        leaf = names[-1]
        # OpenConfig interface counters are counter64
        rec = per_port.setdefault(port, {"kind": "counter", "time": t, "device": device,
                                         "interface": port, "counter_bits": 64})
        try:  # a bad value spoils its port's record only, not the notification
            value = _gnmi_value(upd.get("val"))
            if leaf in _GNMI_LEAVES:
                rec[_GNMI_LEAVES[leaf]] = _counter_value(value, leaf)
            elif leaf == "oper-status":
                rec["oper_status"] = "up" if str(value).upper() == "UP" else "down"
        except ValueError as exc:
            rec.setdefault("error", f"gNMI update[{i}] {leaf}: {exc}")
    return list(per_port.values())


def _counter_value(value: Any, leaf: str) -> float:
    """A gNMI counter value (uint64 may come as a JSON string) as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{str(value)[:60]!r} is not a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"{str(value)[:60]!r} is not a number") from None
    if not (math.isfinite(number) and 0 <= number <= 2.0**64):
        raise ValueError(f"{str(value)[:60]!r} is outside a counter64's range")
    return number
