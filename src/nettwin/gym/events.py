"""Rare events an episode injects: cuts, node loss, storms, surges, cascades.

An ``Event`` names a kind and optionally its target; what is not named is drawn per episode
from the environment's seeded generator and *resolved* into arrays the step applies
(failed arcs, per-step capacities, extra demand rates). ``ResolvedEvent.scenario()`` says the
same thing as a what-if scenario, so the twin's answer to the event can be checked against
``scenarios.whatif`` (tests do).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nettwin.engine import CompiledNetwork
from nettwin.errors import ValidationError
from nettwin.model import Network
from nettwin.model.problems import Problem
from nettwin.radio.acm import AcmProfile
from nettwin.radio.budget import compile_radio
from nettwin.radio.storm import AcmState, RainCell, Storm, StormField, parse_storm
from nettwin.scenarios.apply import link_arcs, node_arcs, srlg_arcs
from nettwin.scenarios.changes import (
    Change,
    FailLink,
    FailNode,
    FailSrlg,
    Scenario,
    Surge,
)


class EventKind(enum.Enum):
    FIBRE_CUT = "fibre_cut"  # one link, at the day's peak
    SRLG_CUT = "srlg_cut"  # every link of a shared-risk group
    NODE_LOSS = "node_loss"
    RAIN_STORM = "rain_storm"  # microwave links fade, step down in modulation or drop
    SURGE = "surge"  # a flash crowd / DDoS toward one node
    CASCADE = "cascade"  # a cut, then links above the trip threshold trip, step by step


@dataclass(frozen=True)
class Event:
    """One event; ``target`` None = drawn per episode (a link, SRLG or node id)."""

    kind: EventKind
    target: str | None = None
    at_step: int = 1  # steps after the episode start
    surge_factor: float = 4.0  # SURGE: traffic toward the target x this factor
    trip_utilisation: float = 1.0  # CASCADE: as scenarios.cascade
    storm: Storm | None = None  # RAIN_STORM: None = a squall cell drawn over the radio links


@dataclass(frozen=True, eq=False)
class ResolvedEvent:
    """An event made concrete for one episode."""

    event: Event
    label: str
    failed_arcs: np.ndarray  # int64[...]: down from at_step on
    surge_demands: np.ndarray  # int64[...]: demands that get surge_bps on top
    surge_bps: np.ndarray  # float64[...]
    surge_sources: tuple[str, ...] = ()
    storm_capacity_bps: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # [s, m]
    storm_up: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))  # [s, m]

    def scenario(self) -> Scenario:
        """The same event as a what-if scenario (storms have none: see radio.storm)."""
        e = self.event
        changes: list[Change] = []
        if e.kind in (EventKind.FIBRE_CUT, EventKind.CASCADE):
            changes.append(FailLink(str(e.target)))
        elif e.kind is EventKind.SRLG_CUT:
            changes.append(FailSrlg(str(e.target)))
        elif e.kind is EventKind.NODE_LOSS:
            changes.append(FailNode(str(e.target)))
        elif e.kind is EventKind.SURGE:
            changes.append(Surge(self.surge_sources, str(e.target),
                                 float(self.surge_bps.sum())))
        return Scenario(self.label, tuple(changes))


def parse_events(raw: Sequence[Any] | None) -> tuple[Event, ...]:
    """Events from Event objects, kind names ('fibre_cut') or mappings ({kind, target, ...})."""
    out: list[Event] = []
    problems: list[Problem] = []
    kinds = ", ".join(k.value for k in EventKind)
    for i, item in enumerate(raw or ()):
        if isinstance(item, Event):
            out.append(item)
            continue
        body: Mapping[str, Any] = {"kind": item} if isinstance(item, str) else item
        if not isinstance(body, Mapping):
            problems.append(Problem(f"events[{i}]", "expected a kind name or a mapping",
                                    value=item, fix=f"use one of: {kinds}"))
            continue
        try:
            kind = EventKind(str(body.get("kind")))
        except ValueError:
            problems.append(Problem(f"events[{i}]", "unknown event kind",
                                    value=body.get("kind"), fix=f"use one of: {kinds}"))
            continue
        extra = set(body) - {"kind", "target", "at_step", "surge_factor", "trip_utilisation",
                             "storm"}
        if extra:
            problems.append(Problem(f"events[{i}]", "unknown field", value=sorted(extra),
                                    fix="use target, at_step, surge_factor, trip_utilisation"))
            continue
        storm = body.get("storm")
        if isinstance(storm, Mapping):
            storm = parse_storm(storm, f"events[{i}].storm")
        try:
            out.append(Event(kind, body.get("target"), int(body.get("at_step", 1)),
                             float(body.get("surge_factor", 4.0)),
                             float(body.get("trip_utilisation", 1.0)), storm))
        except (TypeError, ValueError) as exc:
            problems.append(Problem(f"events[{i}]", "bad number", value=str(exc),
                                    fix="at_step is a whole number; factors are numbers"))
    for i, e in enumerate(out):
        if e.at_step < 0 or e.surge_factor <= 1 or e.trip_utilisation <= 0:
            problems.append(Problem(f"events[{i}] ({e.kind.value})", "at_step must be >= 0, "
                                    "surge_factor > 1, trip_utilisation > 0",
                                    value=(e.at_step, e.surge_factor, e.trip_utilisation)))
    if problems:
        raise ValidationError(problems, "events")
    return tuple(out)


def _draw_storm(network: Network, rng: np.random.Generator, steps: int,
                step_min: float) -> Storm:
    """A squall cell that crosses the radio links' area during the episode."""
    ends = [(network.nodes[lk.a], network.nodes[lk.b]) for lk in network.links.values()
            if lk.radio is not None]
    lat = np.array([n.latitude for pair in ends for n in pair], float)
    lon = np.array([n.longitude for pair in ends for n in pair], float)
    heading = float(rng.uniform(0, 360))
    duration = steps * step_min
    speed = float(rng.uniform(20, 50))
    back_km = speed * duration / 120.0  # start half the track before the centre
    dlat = -back_km * math.cos(math.radians(heading)) / 111.2
    dlon = -back_km * math.sin(math.radians(heading)) / (111.2 * math.cos(
        math.radians(float(lat.mean()))))
    cell = RainCell(float(lat.mean()) + dlat, float(lon.mean()) + dlon,
                    float(rng.uniform(60, 150)), float(rng.uniform(3, 8)), speed, heading)
    return Storm("drawn squall cell", (cell,), duration, step_min)


def resolve_event(event: Event, network: Network, net: CompiledNetwork,
                  rng: np.random.Generator, *, steps: int, step_min: float,
                  peak_rate_bps: np.ndarray,
                  radio_profiles: Mapping[str, AcmProfile] | None = None) -> ResolvedEvent:
    """Make ``event`` concrete for one episode (targets drawn from ``rng`` when unset)."""
    empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0)
    links = list(network.links)
    kind = event.kind

    def pick(pool: Sequence[str], what: str) -> str:
        if event.target is not None:
            if event.target not in pool:
                raise ValidationError([Problem(f"event {kind.value}", f"no such {what}",
                                               value=event.target,
                                               fix=f"use a {what} id of the network")])
            return event.target
        if not pool:
            raise ValidationError([Problem(f"event {kind.value}", f"the network has no {what}",
                                           fix="choose another event kind")])
        return pool[int(rng.integers(len(pool)))]

    if kind in (EventKind.FIBRE_CUT, EventKind.CASCADE):
        target = pick(links, "link")
        arcs = np.asarray(link_arcs(links.index(target)), np.int64)
        return ResolvedEvent(Event(kind, target, event.at_step, event.surge_factor,
                                   event.trip_utilisation), f"{kind.value} {target}",
                             arcs, empty_i, empty_f)
    if kind is EventKind.SRLG_CUT:
        target = pick(sorted({g for lk in network.links.values() for g in lk.srlgs}), "SRLG")
        return ResolvedEvent(Event(kind, target, event.at_step), f"{kind.value} {target}",
                             np.asarray(srlg_arcs(network, target), np.int64), empty_i,
                             empty_f)
    if kind is EventKind.NODE_LOSS:
        target = pick(list(network.node_ids), "node")
        return ResolvedEvent(Event(kind, target, event.at_step), f"{kind.value} {target}",
                             node_arcs(net, network.node_index[target]).astype(np.int64),
                             empty_i, empty_f)
    if kind is EventKind.SURGE:
        targets = [network.node_ids[v] for v in np.unique(net.demand_dst).tolist()]
        target = pick(targets, "node receiving traffic")
        into = np.flatnonzero(net.demand_dst == network.node_index[target])
        inbound = float(peak_rate_bps[into].sum())
        extra = (event.surge_factor - 1.0) * max(inbound, 1.0)
        sources = tuple(network.node_ids[s] for s in net.demand_src[into].tolist())
        return ResolvedEvent(Event(kind, target, event.at_step, event.surge_factor),
                             f"{kind.value} x{event.surge_factor:g} toward {target}",
                             empty_i, into.astype(np.int64), np.full(into.size,
                                                                      extra / into.size),
                             surge_sources=sources)
    radio = compile_radio(network, radio_profiles)
    if radio.n == 0:
        raise ValidationError([Problem("event rain_storm", "the network has no microwave "
                                       "links with a radio block", fix="choose another event "
                                       "kind or a network with radio links (e.g. Munich)")])
    storm = event.storm or _draw_storm(network, rng, steps, step_min)
    fld = StormField(radio, storm)
    acm = AcmState(radio)
    times = storm.times_min
    cap = np.empty((times.size, net.n_arcs))
    up = np.empty((times.size, net.n_arcs), bool)
    for i, t in enumerate(times.tolist()):
        mode, capacity = acm.update(fld.attenuation(t))
        cap[i], up[i] = acm.arc_state(net, mode, capacity)
    return ResolvedEvent(Event(kind, None, event.at_step, storm=storm),
                         f"{kind.value}: {storm.name}", empty_i, empty_i, empty_f,
                         storm_capacity_bps=cap, storm_up=up)
