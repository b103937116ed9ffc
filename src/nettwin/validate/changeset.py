"""A change set: what an engineer, an optimiser or an agent proposes, as the twin models it.

Two kinds of content: scenario changes (``nettwin.scenarios.changes``: metrics, drains,
capacities, links added or removed, traffic) and router configuration the scenario format
has no word for: an interface shut or brought back, a static route added or removed. The
FRR-snippet reader (``nettwin.io.frr_config``) turns configuration into both kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nettwin.scenarios.changes import Scenario
from nettwin.validate.addressing import Prefix, format_address

STATIC_DEFAULT_DISTANCE = 1
OSPF_DISTANCE = 110
CONNECTED_DISTANCE = 0
OSPF_MIN_COST = 1
OSPF_MAX_COST = 65_535


@dataclass(frozen=True)
class StaticRoute:
    """``ip route PREFIX NEXTHOP [DISTANCE]`` on ``router``: the next hop is an address
    (connected or resolved recursively through OSPF), a link (an interface) or a discard."""

    router: str
    prefix: Prefix
    distance: int = STATIC_DEFAULT_DISTANCE
    via_address: int | None = None
    via_link: str | None = None
    discard: bool = False

    def __str__(self) -> str:
        via = ("Null0" if self.discard else self.via_link if self.via_link is not None
               else format_address(self.via_address or 0))
        tail = f" {self.distance}" if self.distance != STATIC_DEFAULT_DISTANCE else ""
        return f"{self.router}: ip route {self.prefix} {via}{tail}"


@dataclass(frozen=True)
class SetLinkAdmin:
    """``shutdown`` / ``no shutdown`` on one end of a link: OSPF drops or forms the
    adjacency, so the whole link goes down or up."""

    link: str
    router: str
    up: bool


@dataclass(frozen=True)
class AddStaticRoute:
    route: StaticRoute


@dataclass(frozen=True)
class RemoveStaticRoute:
    route: StaticRoute


ConfigChange = SetLinkAdmin | AddStaticRoute | RemoveStaticRoute


@dataclass(frozen=True)
class ChangeSet:
    """Scenario changes plus configuration changes, each with where it came from
    (``file:line: text``) so findings can point back at the line that caused them."""

    name: str
    scenario: Scenario
    config: tuple[ConfigChange, ...] = ()
    origins: tuple[str, ...] = field(default=(), compare=False)

    @property
    def links_touched(self) -> frozenset[str]:
        """Links whose metric, capacity or state the change set modifies (or adds/removes)."""
        from nettwin.scenarios.changes import (
            AddLink,
            FailLink,
            RemoveLink,
            SetCapacity,
            SetMetric,
        )

        out: set[str] = set()
        for c in self.scenario.changes:
            if isinstance(c, SetMetric | SetCapacity | FailLink | RemoveLink):
                out.add(c.link)
            elif isinstance(c, AddLink):
                out.add(str(c.record.get("id", "?")))
        out |= {c.link for c in self.config if isinstance(c, SetLinkAdmin)}
        return frozenset(out)


def merge_change_sets(parts: list[ChangeSet]) -> ChangeSet:
    """Several change sets applied in order, as one."""
    if len(parts) == 1:
        return parts[0]
    name = " + ".join(p.name for p in parts)
    return ChangeSet(name, Scenario(name, tuple(c for p in parts for c in p.scenario.changes)),
                     tuple(c for p in parts for c in p.config),
                     tuple(o for p in parts for o in p.origins))


def apply_static_changes(running: tuple[StaticRoute, ...], changes: tuple[ConfigChange, ...]
                         ) -> tuple[StaticRoute, ...]:
    """The static routes after the change set (an added route already there stays once)."""
    routes = list(running)
    for c in changes:
        if isinstance(c, AddStaticRoute) and c.route not in routes:
            routes.append(c.route)
        elif isinstance(c, RemoveStaticRoute):
            routes = [r for r in routes if not _same_route(r, c.route)]
    return tuple(routes)


def _same_route(a: StaticRoute, b: StaticRoute) -> bool:
    """FRR removes ``no ip route P NH`` whatever distance it had."""
    return (a.router, a.prefix, a.via_address, a.via_link, a.discard) == (
        b.router, b.prefix, b.via_address, b.via_link, b.discard)
