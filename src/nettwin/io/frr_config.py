"""FRR configuration snippets as change sets: what the twin models, and nothing silently.

Convention: a file holds the snippet of one router or several. A router is named by a
``hostname NAME`` line or a ``! router NAME`` comment; the lines after it (until the next
one) are that router's. A file without either belongs to the router named like the file
(``Denver.conf`` -> Denver). Understood (FRR syntax, one command per line, indentation free)::

    interface IFACE               IFACE: a link id ending at the router, the neighbour's
     ip ospf cost 1-65535             node id (one link to it), or the lab's name ntlN
     shutdown | no shutdown
     description ...              (no effect on forwarding)
    router ospf
     max-metric router-lsa administrative     drain (transit avoids the router)
     no max-metric router-lsa [administrative]
    ip route A.B.C.D/LEN NEXTHOP [DISTANCE]   NEXTHOP: address, IFACE, Null0 or blackhole
    no ip route A.B.C.D/LEN NEXTHOP
    !  exit  end  configure terminal  (structure)

Every other line is an error naming file, line and text (exit 3 on the command line): a
command the twin does not model must not pass for validated.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nettwin.errors import ValidationError
from nettwin.io.text import read_text
from nettwin.model import Network
from nettwin.model.problems import Problem
from nettwin.scenarios.changes import Change, Direction, DrainNode, Scenario, SetMetric
from nettwin.validate.addressing import Prefix
from nettwin.validate.changeset import (
    OSPF_MAX_COST,
    OSPF_MIN_COST,
    AddStaticRoute,
    ChangeSet,
    ConfigChange,
    RemoveStaticRoute,
    SetLinkAdmin,
    StaticRoute,
)

_STRUCTURE = {"!", "exit", "end", "configure terminal", "conf t", "configure", "exit-vrf",
              "write", "write memory"}
_DISCARD = {"null0", "blackhole", "reject"}


@dataclass
class _Reader:
    network: Network
    source: str
    lab_prefix: str
    problems: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    config: list[ConfigChange] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    router: str | None = None
    context: tuple[str, str] = ("top", "")  # ("interface", link id) or ("ospf", "")

    def bad(self, line: int, text: str, message: str, fix: str) -> None:
        self.problems.append(Problem(f"{self.source}:{line}", message, value=text, fix=fix))

    def keep(self, line: int, text: str) -> None:
        self.origins.append(f"{self.source}:{line}: {self.router}: {text}")

    def set_router(self, line: int, text: str, name: str) -> None:
        if name not in self.network.nodes:
            self.bad(line, text, "no such router in the network",
                     f"use a node id ({', '.join(self.network.node_ids[:5])}, ...)")
            self.router = None
        else:
            self.router = name
        self.context = ("top", "")

    def link_of(self, name: str) -> str | None:
        """The link an interface name means at the current router, or None."""
        router = self.router
        links = self.network.links
        if name in links and router in (links[name].a, links[name].b):
            return name
        m = re.fullmatch(re.escape(self.lab_prefix) + r"l(\d+)", name)
        if m and int(m.group(1)) < len(links):
            lid = list(links)[int(m.group(1))]
            if router in (links[lid].a, links[lid].b):
                return lid
        to = [lid for lid, lk in links.items()
              if {lk.a, lk.b} == {router, name} and lk.a != lk.b]
        return to[0] if len(to) == 1 else None

    def interface_fix(self) -> str:
        mine = [lid for lid, lk in self.network.links.items() if self.router in (lk.a, lk.b)]
        return f"name a link of {self.router}: {', '.join(mine[:6]) or 'it has none'}"

    def route(self, line: int, text: str, words: list[str]) -> StaticRoute | None:
        if len(words) not in (2, 3):
            self.bad(line, text, "expected 'ip route A.B.C.D/LEN NEXTHOP [DISTANCE]'",
                     "one prefix, one next hop (address, interface, Null0), an optional "
                     "distance")
            return None
        try:
            prefix = Prefix.parse(words[0]) if "/" in words[0] else None
        except ValueError as exc:
            self.bad(line, text, f"bad prefix: {exc}", "write A.B.C.D/LEN with host bits 0")
            return None
        if prefix is None:
            self.bad(line, text, "prefix without a length", "write A.B.C.D/LEN")
            return None
        distance = 1
        if len(words) == 3:
            if not words[2].isdigit() or not 1 <= int(words[2]) <= 255:
                self.bad(line, text, "distance must be a whole number 1-255",
                         "e.g. 'ip route 10.0.0.0/8 10.1.0.2 200' for a floating static")
                return None
            distance = int(words[2])
        assert self.router is not None
        hop = words[1]
        if hop.lower() in _DISCARD:
            return StaticRoute(self.router, prefix, distance, discard=True)
        try:
            address = int(ipaddress.IPv4Address(hop))
        except ValueError:
            link = self.link_of(hop)
            if link is None:
                self.bad(line, text, f"next hop {hop!r} is neither an address nor an "
                         f"interface of {self.router}", self.interface_fix())
                return None
            return StaticRoute(self.router, prefix, distance, via_link=link)
        return StaticRoute(self.router, prefix, distance, via_address=address)

    def read(self, line: int, raw: str) -> None:
        text = raw.strip()
        lower = text.lower()
        header = re.fullmatch(r"!\s*router\s+(\S+)", text, re.IGNORECASE)
        if header:
            self.set_router(line, text, header.group(1))
            return
        if not text or text.startswith(("!", "#")) or lower in _STRUCTURE:
            if lower in ("!", "exit", "end"):
                self.context = ("top", "")
            return
        words = text.split()
        if words[0] == "hostname" and len(words) == 2:
            self.set_router(line, text, words[1])
            return
        if self.router is None:
            self.bad(line, text, "which router? no 'hostname NAME' or '! router NAME' before "
                     "this line", "start the snippet with '! router NAME' (or name the "
                     "file after the router)")
            return
        if words[0] == "interface" and len(words) == 2:
            link = self.link_of(words[1])
            if link is None:
                self.bad(line, text, f"no interface {words[1]!r} on {self.router}",
                         self.interface_fix())
                self.context = ("bad", "")
            else:
                self.context = ("interface", link)
            return
        if lower == "router ospf":
            self.context = ("ospf", "")
            return
        if words[:2] == ["ip", "route"]:
            self.context = ("top", "")
            r = self.route(line, text, words[2:])
            if r is not None:
                self.config.append(AddStaticRoute(r))
                self.keep(line, text)
            return
        if words[:3] == ["no", "ip", "route"]:
            self.context = ("top", "")
            r = self.route(line, text, words[3:])
            if r is not None:
                self.config.append(RemoveStaticRoute(r))
                self.keep(line, text)
            return
        kind, link = self.context
        if kind == "bad":
            return  # the interface line was reported; its body would only repeat it
        if kind == "interface":
            self.interface_line(line, text, words, link)
            return
        if kind == "ospf":
            self.ospf_line(line, text, words)
            return
        self.bad(line, text, "command not modelled by the twin", _SUPPORTED)

    def interface_line(self, line: int, text: str, words: list[str], link: str) -> None:
        assert self.router is not None
        lk = self.network.links[link]
        if words[:3] == ["ip", "ospf", "cost"] and len(words) == 4:
            if not words[3].isdigit() or not OSPF_MIN_COST <= int(words[3]) <= OSPF_MAX_COST:
                self.bad(line, text, f"OSPF cost out of range {OSPF_MIN_COST}-{OSPF_MAX_COST}",
                         "FRR rejects it and keeps the old cost: give 1-65535")
                return
            direction = Direction.AB if lk.a == self.router else Direction.BA
            self.changes.append(SetMetric(link, int(words[3]), direction))
        elif words in (["shutdown"], ["no", "shutdown"]):
            self.config.append(SetLinkAdmin(link, self.router, up=words[0] == "no"))
        elif words[0] == "description":
            return
        else:
            self.bad(line, text, "interface command not modelled by the twin", _SUPPORTED)
            return
        self.keep(line, text)

    def ospf_line(self, line: int, text: str, words: list[str]) -> None:
        assert self.router is not None
        if words == ["max-metric", "router-lsa", "administrative"]:
            self.changes.append(DrainNode(self.router))
            self.keep(line, text)
        elif words[:3] == ["no", "max-metric", "router-lsa"] and len(words) <= 4:
            self.origins.append(f"{self.source}:{line}: {self.router}: {text} (the twin "
                                "holds no router drained: nothing to undo)")
        else:
            self.bad(line, text, "router ospf command not modelled by the twin",
                     "only 'max-metric router-lsa administrative' (and its 'no' form) "
                     "under router ospf; " + _SUPPORTED)


_SUPPORTED = ("the twin models: interface IFACE / ip ospf cost N / shutdown / no shutdown, "
              "router ospf / max-metric router-lsa administrative, "
              "ip route A.B.C.D/LEN NEXTHOP [DISTANCE]")


def parse_frr_config(text: str, network: Network, source: str = "config",
                     router: str | None = None, lab_prefix: str = "ntl") -> ChangeSet:
    """A change set from FRR snippet text; every line it cannot model is an error."""
    reader = _Reader(network, source, lab_prefix)
    if router is not None:
        reader.router = router
    for i, raw in enumerate(text.splitlines(), start=1):
        reader.read(i, raw)
    if reader.problems:
        raise ValidationError(reader.problems, source)
    return ChangeSet(source, Scenario(source, tuple(reader.changes)), tuple(reader.config),
                     tuple(reader.origins))


def load_frr_config(path: str | Path, network: Network, lab_prefix: str = "ntl") -> ChangeSet:
    """Read a snippet file; without a router header it belongs to the router named like the
    file (``Denver.conf``)."""
    path = Path(path)
    default = path.stem if path.stem in network.nodes else None
    return parse_frr_config(read_text(path), network, path.name, default, lab_prefix)


def load_static_routes(paths: Sequence[str | Path], network: Network,
                       lab_prefix: str = "ntl") -> tuple[StaticRoute, ...]:
    """The static routes of running configurations (snippets holding ``ip route`` lines)."""
    routes: list[StaticRoute] = []
    for p in paths:
        cs = load_frr_config(p, network, lab_prefix)
        routes += [c.route for c in cs.config if isinstance(c, AddStaticRoute)]
    return tuple(routes)


def is_frr_config(path: str | Path) -> bool:
    """Snippets by name (.conf, .cfg, .frr) rather than scenario documents (YAML/JSON)."""
    return Path(path).suffix.lower() in (".conf", ".cfg", ".frr", ".txt")
