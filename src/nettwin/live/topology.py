"""Topology updates observed live: links added or removed, metrics and capacities changed.

An update is ``{"kind": "topology", "time": T, "change": {...}}`` where the change has the
scenario-file form: ``add_link`` (a link record), ``remove_link``, ``set_metric``
(``{link, metric, direction}``), ``set_capacity`` (``{link, capacity_bps, direction}``).
Unlike a what-if, it changes the mirrored network itself from that time on. Links are never
taken out of the mirrored network: a removed link stays, administratively down, and a new
one is appended, so arc numbers (the history's keys) keep their meaning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from nettwin.errors import ValidationError
from nettwin.model import Network, build_network
from nettwin.model.problems import Problem
from nettwin.scenarios.changes import (
    AddLink,
    Direction,
    RemoveLink,
    SetCapacity,
    SetMetric,
    parse_change,
)

KINDS = ("add_link", "remove_link", "set_metric", "set_capacity")


def apply_topology(network: Network, change: Mapping[str, Any], label: str = "topology"
                   ) -> Network:
    """The network after one topology update (every problem reported, nothing half-done)."""
    problems: list[Problem] = []
    if not isinstance(change, Mapping) or len(change) != 1 or next(iter(change)) not in KINDS:
        raise ValidationError([Problem(label, "a topology change is one of "
                                       + ", ".join(KINDS), value=change,
                                       fix='e.g. {"set_metric": {"link": "A--B", '
                                           '"metric": 20}}')])
    parsed = parse_change(change, label, problems)
    if problems or parsed is None:
        raise ValidationError(problems)
    links = dict(network.links)
    if isinstance(parsed, AddLink):
        return build_network(network.name, list(network.nodes.values()),
                             [*links.values(), parsed.record], network.demands,
                             list(network.services.values()), source=label)
    if not isinstance(parsed, RemoveLink | SetMetric | SetCapacity):  # KINDS keeps others out
        raise ValidationError([Problem(label, "not a topology change", value=change)])
    link_id = parsed.link
    if link_id not in links:
        raise ValidationError([Problem(label, "no such link", value=link_id,
                                       fix="name a link of the mirrored network")])
    link = links[link_id]
    if isinstance(parsed, RemoveLink):
        links[link_id] = dataclasses.replace(link, admin_up=False)
    elif isinstance(parsed, SetMetric | SetCapacity):
        field = "metric" if isinstance(parsed, SetMetric) else "capacity"
        value = parsed.metric if isinstance(parsed, SetMetric) else parsed.capacity_bps
        updates = {}
        if parsed.direction in (Direction.AB, Direction.BOTH):
            updates[f"{field}_ab" if field == "metric" else "capacity_ab_bps"] = value
        if parsed.direction in (Direction.BA, Direction.BOTH):
            updates[f"{field}_ba" if field == "metric" else "capacity_ba_bps"] = value
        links[link_id] = dataclasses.replace(link, **updates)  # type: ignore[arg-type]
    return dataclasses.replace(network, links=links)
