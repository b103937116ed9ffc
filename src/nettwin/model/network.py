"""The Network: nodes, links, demands, services and slices, validated as a whole."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from nettwin.errors import ValidationError
from nettwin.model.demands import (
    DemandIds,
    DemandTable,
    build_demands_from_records,
    demand_ids,
    demand_record,
    empty_demands,
)
from nettwin.model.elements import (
    Demand,
    Link,
    Node,
    Radio,
    Service,
    Slice,
    resolve_propagation_delay_s,
)
from nettwin.model.fields import (
    DEFAULT_IGP_METRIC,
    LINK_FIELDS,
    NODE_FIELDS,
    RADIO_FIELDS,
    SERVICE_FIELDS,
    SLICE_FIELDS,
    LinkKind,
    coerce_record,
)
from nettwin.model.problems import Problem, Severity, note

Record = Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class Network:
    """A whole network. Immutable: changes make a new Network, results never live in it."""

    name: str
    nodes: Mapping[str, Node]
    links: Mapping[str, Link]
    demands: DemandTable = field(default_factory=empty_demands)
    services: Mapping[str, Service] = field(default_factory=dict)
    notes: tuple[Problem, ...] = ()
    slices: Mapping[str, Slice] = field(default_factory=dict)

    @cached_property
    def node_ids(self) -> tuple[str, ...]:
        return tuple(self.nodes)

    @cached_property
    def node_index(self) -> dict[str, int]:
        return {nid: i for i, nid in enumerate(self.nodes)}

    @cached_property
    def demand_ids(self) -> Sequence[str]:
        """Every demand's id (derived ids are a lazy view: strings only when read)."""
        return demand_ids(self.demands, self.node_ids)

    def demand(self, i: int) -> Demand:
        return demand_record(self.demands, i, self.node_ids)

    def iter_demands(self) -> Iterator[Demand]:
        return (self.demand(i) for i in range(len(self.demands)))

    def with_demands(self, demands: DemandTable, services: Mapping[str, Service] | None = None,
                     notes: Iterable[Problem] = ()) -> Network:
        """The same topology with another traffic matrix (services dropped unless given)."""
        return dataclasses.replace(self, demands=demands, services=dict(services or {}),
                                   notes=self.notes + tuple(notes))

    def with_slices(self, records: Iterable[Any], source: str | None = None) -> Network:
        """The same network with these slices instead of its own (validated against it)."""
        return dataclasses.replace(self, slices=build_slices(self, records, source))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return (self.name == other.name and dict(self.nodes) == dict(other.nodes)
                and list(self.nodes) == list(other.nodes)
                and dict(self.links) == dict(other.links)
                and self.demands == other.demands
                and self.demand_ids == other.demand_ids
                and dict(self.services) == dict(other.services)
                and dict(self.slices) == dict(other.slices))

    __hash__ = None  # type: ignore[assignment]

    def summary(self) -> dict[str, Any]:
        """Counts and totals for a one-screen overview."""
        up = sum(1 for link in self.links.values() if link.is_up)
        return {
            "name": self.name,
            "nodes": len(self.nodes),
            "links": len(self.links),
            "links_up": up,
            "arcs": 2 * len(self.links),
            "demands": len(self.demands),
            "offered_bps": self.demands.total_rate_bps,
            "services": len(self.services),
            "slices": len(self.slices),
            "capacity_bps": sum(lk.capacity_ab_bps + lk.capacity_ba_bps
                                for lk in self.links.values()),
            "traffic_classes": list(self.demands.class_names),
        }


def _as_record(item: Any) -> Any:
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return {f.name: _as_record(getattr(item, f.name)) for f in dataclasses.fields(item)}
    return item


def _expand_link_shorthand(rec: Any) -> Any:
    """'capacity_bps' and 'metric' set both directions at once."""
    if not isinstance(rec, Mapping):
        return rec
    rec = dict(rec)
    if "capacity_bps" in rec:
        cap = rec.pop("capacity_bps")
        rec.setdefault("capacity_ab_bps", cap)
        rec.setdefault("capacity_ba_bps", cap)
    if "metric" in rec:
        metric = rec.pop("metric")
        rec.setdefault("metric_ab", metric)
        rec.setdefault("metric_ba", metric)
    return rec


def _label(kind: str, index: int, rec: Any, source: str) -> str:
    rid = rec.get("id") if isinstance(rec, Mapping) else None
    return f"{source}{kind} {rid!r}" if rid not in (None, "") else f"{source}{kind}s[{index}]"


def _coerce_all(kind: str, records: Iterable[Any], specs: Any, source: str,
                problems: list[Problem]) -> list[tuple[str, dict[str, Any]]]:
    """Coerce every record; report bad ones and ids used twice (even on bad records)."""
    out = []
    ids: Counter[str] = Counter()
    for i, raw in enumerate(records):
        rec = _as_record(raw)
        label = _label(kind, i, rec, source)
        if isinstance(rec, Mapping) and rec.get("id") not in (None, ""):
            ids[str(rec["id"]).strip()] += 1
        if not isinstance(rec, Mapping):
            problems.append(Problem(label, f"expected a {kind} mapping", value=rec,
                                    fix=f"write each {kind} as a mapping of field: value"))
            continue
        values, found = coerce_record(kind, label, rec, specs)
        problems += found
        if not found:
            out.append((label, values))
    for ident, count in ids.items():
        if count > 1:
            problems.append(Problem(f"{source}{kind} {ident!r}", f"id is used by {count} {kind}s",
                                    field="id", fix=f"give each {kind} its own id"))
    return out


def build_network(
    name: str,
    nodes: Iterable[Any],
    links: Iterable[Any],
    demands: Iterable[Any] | DemandTable = (),
    services: Iterable[Any] = (),
    *,
    notes: Sequence[Problem] = (),
    source: str | None = None,
    slices: Iterable[Any] = (),
) -> Network:
    """Validate records as a whole and build a Network, or raise with *every* problem found.

    Records are mappings (or the model's dataclasses). Nothing is half-loaded: if any record
    is bad, :class:`~nettwin.errors.ValidationError` lists all problems and no Network is made.
    """
    prefix = f"{source}: " if source else ""
    problems: list[Problem] = []
    node_items = _coerce_all("node", nodes, NODE_FIELDS, prefix, problems)
    link_items = _coerce_all("link", (_expand_link_shorthand(_as_record(r)) for r in links),
                             LINK_FIELDS, prefix, problems)
    service_items = _coerce_all("service", services, SERVICE_FIELDS, prefix, problems)
    slice_items = _coerce_all("slice", slices, SLICE_FIELDS, prefix, problems)

    node_map: dict[str, Node] = {}
    for _, v in node_items:
        node_map.setdefault(v["id"], Node(**v))
    node_index = {nid: i for i, nid in enumerate(node_map)}

    link_map: dict[str, Link] = {}
    defaulted_metric: list[str] = []
    for label, v in link_items:
        bad = False
        for end in ("a", "b"):
            if v[end] not in node_map:
                problems.append(Problem(label, "endpoint node does not exist", field=end,
                                        value=v[end], fix="add the node or correct the link"))
                bad = True
        if v["a"] == v["b"]:
            problems.append(Problem(label, "link connects a node to itself (self-loop)",
                                    field="b", value=v["b"],
                                    fix="remove the link or connect two different nodes"))
            bad = True
        if bad:
            continue
        if v["metric_ab"] is None:
            defaulted_metric.append(v["id"])
            v["metric_ab"] = DEFAULT_IGP_METRIC
        for spec in LINK_FIELDS:
            if spec.default_from is not None and v[spec.name] is None:
                v[spec.name] = v[spec.default_from]
        if v["radio"] is not None:
            radio, found = coerce_record("radio", f"{label} radio", v["radio"], RADIO_FIELDS)
            problems += found
            if found:
                continue
            if v["kind"] is not LinkKind.MICROWAVE:
                problems.append(Problem(label, "radio parameters on a link that is not "
                                        "microwave", field="kind", value=v["kind"].value,
                                        fix="set kind: microwave, or drop the radio block"))
                continue
            v["radio"] = Radio(**radio)
        link_map.setdefault(v["id"], Link(**v))

    if isinstance(demands, DemandTable):
        table = demands
    else:
        table, found = build_demands_from_records(
            (_as_record(d) for d in demands), node_index, prefix)
        problems += found

    in_range = len(table) == 0 or int(max(table.src.max(), table.dst.max())) < len(node_map)
    known: Sequence[str] | set[str] = ()
    if in_range and (service_items or slice_items):  # the lazy view: no string per demand
        known = demand_ids(table, tuple(node_map))
        known = known if isinstance(known, DemandIds) else set(known)
    service_map: dict[str, Service] = {}
    for label, v in service_items:
        if not v["demands"]:
            problems.append(Problem(label, "service has no demands", field="demands",
                                    fix="list the ids of the demands the service is made of"))
        for did in v["demands"]:
            if did not in known:
                problems.append(Problem(label, "refers to a demand that does not exist",
                                        field="demands", value=did,
                                        fix="use a demand id (default ids read 'SRC->DST')"))
        service_map.setdefault(v["id"], Service(**v))

    slice_map = {v["id"]: Slice(**v) for label, v in slice_items
                  if not _slice_problems(label, v, node_map, service_map, known, problems)}

    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        raise ValidationError(errors, source)

    built_notes = list(notes) + [p for p in problems if p.severity is Severity.NOTE]
    if defaulted_metric:
        built_notes.append(note(
            f"{prefix}{len(defaulted_metric)} link(s)",
            f"no IGP metric given, metric 1 (hop count) applied, e.g. {defaulted_metric[:3]}",
            "set metric_ab/metric_ba to the routers' configured costs"))
    no_delay = [lk.id for lk in link_map.values()
                if resolve_propagation_delay_s(lk, node_map[lk.a], node_map[lk.b]) is None]
    if no_delay:
        built_notes.append(note(
            f"{prefix}{len(no_delay)} link(s)",
            f"no delay_s, length_km or endpoint coordinates: propagation delay taken as 0,"
            f" e.g. {no_delay[:3]}",
            "give length_km or delay_s, or node latitude/longitude"))
    return Network(name=name, nodes=node_map, links=link_map, demands=table,
                   services=service_map, notes=tuple(built_notes), slices=slice_map)


def build_slices(network: Network, records: Iterable[Any], source: str | None = None
                 ) -> dict[str, Slice]:
    """Slice records (mappings or Slice) checked against a network, or a ValidationError
    with every problem."""
    prefix = f"{source}: " if source else ""
    problems: list[Problem] = []
    items = _coerce_all("slice", records, SLICE_FIELDS, prefix, problems)
    known = set(network.demand_ids)
    out = {v["id"]: Slice(**v) for label, v in items
           if not _slice_problems(label, v, network.nodes, network.services, known, problems)}
    if problems:
        raise ValidationError(problems, source)
    return out


def _slice_problems(label: str, v: Mapping[str, Any], nodes: Mapping[str, Node],
                    services: Mapping[str, Service], demands: Container[str],
                    problems: list[Problem]) -> bool:
    """Report a slice's selectors that name nothing; True when any did."""
    before = len(problems)
    if not (v["demands"] or v["services"] or v["endpoints"] or v["traffic_classes"]):
        problems.append(Problem(label, "slice selects no demand", field="demands",
                                fix="give demands, services, endpoints or traffic_classes"))
    for key, known, what in (("demands", demands, "demand"), ("services", services, "service"),
                             ("endpoints", nodes, "node")):
        for ident in v[key]:
            if ident not in known:
                problems.append(Problem(label, f"refers to a {what} that does not exist",
                                        field=key, value=ident, fix=f"use a {what} id of the "
                                        "network" + (" (default ids read 'SRC->DST')"
                                                     if what == "demand" else "")))
    if len(v["endpoints"]) == 1:
        problems.append(Problem(label, "one endpoint selects no demand", field="endpoints",
                                value=list(v["endpoints"]),
                                fix="list two or more node ids (the demands between them)"))
    return len(problems) > before
