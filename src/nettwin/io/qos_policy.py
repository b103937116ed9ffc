"""QoS policy files (YAML or JSON): how every output port schedules the traffic classes.

    classes: [voice, video, best-effort]   # service order: first is served first (SP),
                                           # weights and buffers follow this order
    default:                               # every port
      scheduler: wfq                       # fifo | sp | wfq | drr
      weights: [0.5, 0.3, 0.2]             # WFQ/DRR, one per class (normalised)
      buffer_packets: 1000                 # one number, or one per class
    packets:                               # optional, per class
      mean_bytes: [200, 800, 1000]
      size_scv: [0.1, 0.5, 1.59]           # squared coefficient of variation of the size
    nodes:                                 # every port leaving that node
      CHIN: {scheduler: sp}
    ports:                                 # one port: "NODE->NEIGHBOUR" or "LINK:a" / "LINK:b"
      ATLA->HSTN: {weights: [0.7, 0.2, 0.1]}

A port takes the default, then its node's settings, then its own. Every problem in the file
is reported at once, each with its place in the file, the value and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from nettwin.engine.classes import ClassPolicy
from nettwin.engine.compiled import CompiledNetwork
from nettwin.engine.qos import Scheduler
from nettwin.engine.queueing import IMIX_MEAN_PACKET_BYTES, IMIX_PACKET_SCV
from nettwin.errors import ValidationError
from nettwin.io.text import read_document
from nettwin.model.problems import Problem

SchedulerName = Literal["fifo", "sp", "wfq", "drr"]


class PortSettings(BaseModel):
    """Settings of a port, or of every port of a node, or the default."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    scheduler: SchedulerName | None = None
    weights: list[float] | None = None
    buffer_packets: int | list[int] | None = None


class PacketSizes(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    mean_bytes: list[float] | None = None
    size_scv: list[float] | None = None


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    classes: list[str] = Field(min_length=1)
    default: PortSettings = PortSettings()
    packets: PacketSizes = PacketSizes()
    nodes: dict[str, PortSettings] = {}
    ports: dict[str, PortSettings] = {}


def _per_class(value: float | list[float] | list[int] | None, k: int, where: str,
               name: str, problems: list[Problem], *, positive: bool) -> np.ndarray | None:
    if value is None:
        return None
    try:
        arr = np.full(k, float(value)) if isinstance(value, int | float) else np.asarray(
            value, dtype=float)
    except OverflowError:  # an integer beyond float range
        arr = np.full(1, np.inf)
    if not np.isfinite(arr).all():
        problems.append(Problem(where, f"{name} must be finite numbers", field=name,
                                value=str(value)[:80], fix="use plausible numbers"))
        return None
    if arr.shape != (k,):
        problems.append(Problem(where, f"needs one {name} per class ({k})", field=name,
                                value=value, fix="list one value per class in 'classes' order"))
        return None
    if (arr <= 0).any() if positive else (arr < 0).any():
        problems.append(Problem(where, f"{name} must be {'positive' if positive else '>= 0'}",
                                field=name, value=value, fix="use numbers above zero"))
        return None
    return arr


def _port_index(net: CompiledNetwork) -> dict[str, int]:
    index: dict[str, int] = {}
    for arc in range(net.n_arcs):
        u, v = net.node_ids[net.arc_src[arc]], net.node_ids[net.arc_dst[arc]]
        index.setdefault(f"{u}->{v}", arc)  # parallel links: the first; name them by link
        index[f"{net.link_ids[arc // 2]}:{'ab'[arc % 2]}"] = arc
    return index


def build_policy(doc: Any, net: CompiledNetwork, source: str = "policy") -> ClassPolicy:
    """The per-port class policy a policy document describes, for this network."""
    try:
        spec = PolicyFile.model_validate(doc)
    except PydanticError as exc:
        raise ValidationError([Problem(
            f"{source}: {'.'.join(str(p) for p in err['loc']) or 'top level'}", err["msg"],
            value=err.get("input") if not isinstance(err.get("input"), Mapping) else None,
            fix="see the policy file format in 'nettwin qos-simulate --help'")
            for err in exc.errors()], source) from None
    problems: list[Problem] = []
    k = len(spec.classes)
    if len(set(spec.classes)) != k:
        problems.append(Problem(f"{source}: classes", "a class is listed twice",
                                value=spec.classes, fix="list every class once"))
    missing = sorted(set(net.class_names) - set(spec.classes))
    if missing:
        problems.append(Problem(f"{source}: classes", "the traffic has classes the policy "
                                f"does not place: {missing}", value=spec.classes,
                                fix="add them to 'classes'"))
    m = net.n_arcs
    scheduler = np.full(m, int(Scheduler[(spec.default.scheduler or "fifo").upper()]))
    weights = np.full((m, k), 1.0 / k)
    buffers = np.full((m, k), 1000.0)

    def apply(arcs: np.ndarray, s: PortSettings, where: str) -> None:
        if s.scheduler is not None:
            scheduler[arcs] = int(Scheduler[s.scheduler.upper()])
        w = _per_class(s.weights, k, where, "weights", problems, positive=True)
        if w is not None:
            weights[arcs] = w / w.sum()
        b = _per_class(s.buffer_packets, k, where, "buffer_packets", problems, positive=True)
        if b is not None:
            buffers[arcs] = b

    apply(np.arange(m), spec.default, f"{source}: default")
    node_pos = {nid: i for i, nid in enumerate(net.node_ids)}
    for nid, s in spec.nodes.items():
        if nid not in node_pos:
            problems.append(Problem(f"{source}: nodes.{nid}", "no such node in the network",
                                    value=nid, fix="use a node id of the network"))
            continue
        apply(np.nonzero(net.arc_src == node_pos[nid])[0], s, f"{source}: nodes.{nid}")
    ports = _port_index(net)
    for pid, s in spec.ports.items():
        if pid not in ports:
            problems.append(Problem(f"{source}: ports.{pid}", "no such port", value=pid,
                                    fix="name a port 'NODE->NEIGHBOUR' or 'LINK:a' / 'LINK:b' "
                                        "(a: from the link's end a)"))
            continue
        apply(np.array([ports[pid]]), s, f"{source}: ports.{pid}")
    mean = _per_class(spec.packets.mean_bytes, k, f"{source}: packets", "mean_bytes",
                      problems, positive=True)
    scv = _per_class(spec.packets.size_scv, k, f"{source}: packets", "size_scv", problems,
                     positive=False)
    if problems:
        raise ValidationError(problems, source)
    bits = 8.0 * (mean if mean is not None else np.full(k, IMIX_MEAN_PACKET_BYTES))
    scv_arr = scv if scv is not None else np.full(k, IMIX_PACKET_SCV)
    return ClassPolicy(tuple(spec.classes), scheduler, weights, buffers, bits,
                       bits ** 2 * (1.0 + scv_arr))


def load_policy(path: str | Path, net: CompiledNetwork) -> ClassPolicy:
    """Read a QoS policy file (YAML, or JSON by its suffix) for this network."""
    path = Path(path)
    doc = read_document(path)
    return build_policy(doc, net, path.name)
