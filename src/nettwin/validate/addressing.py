"""IPv4 addresses of the twin, the same scheme as the FRR lab (``nettwin.lab.frr.plan_lab``):
node ``i`` (position in the network) owns loopback 10.255.(i // 256).(i % 256)/32; link ``i``
(position in the link list) is the /30 at 10.1.0.0 + 4 i, end ``a`` .1 and end ``b`` .2.

A node may own more prefixes (attached LANs, customer aggregates): ``attributes: {prefixes:
[10.20.0.0/24, ...]}`` in the native format. They are advertised into OSPF like the loopback.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from nettwin.errors import ValidationError
from nettwin.model import Network
from nettwin.model.problems import Problem

LOOPBACK_BASE = int(ipaddress.IPv4Address("10.255.0.0"))
LINK_BASE = int(ipaddress.IPv4Address("10.1.0.0"))
MAX_LINKS = 16_384  # 10.1.0.0/16 holds this many /30s
MAX_NODES = 65_536


@dataclass(frozen=True, order=True)
class Prefix:
    """An IPv4 prefix as integers (network address, length): cheap to compare and match."""

    network: int
    length: int

    @classmethod
    def parse(cls, text: str) -> Prefix:
        """'10.0.0.0/24' (or a bare address: /32); raises ValueError on bad text."""
        net = ipaddress.IPv4Network(text.strip(), strict=True)
        return cls(int(net.network_address), net.prefixlen)

    @property
    def mask(self) -> int:
        return (0xFFFFFFFF << (32 - self.length)) & 0xFFFFFFFF if self.length else 0

    def contains(self, address: int) -> bool:
        return (address & self.mask) == self.network

    def covers(self, other: Prefix) -> bool:
        return self.length <= other.length and self.contains(other.network)

    def __str__(self) -> str:
        return f"{ipaddress.IPv4Address(self.network)}/{self.length}"


def format_address(address: int) -> str:
    return str(ipaddress.IPv4Address(address))


def loopback_address(node_position: int) -> int:
    """The loopback of the node at this position (the lab's OSPF router id)."""
    return LOOPBACK_BASE + 256 * (node_position // 256) + node_position % 256


def link_addresses(link_position: int) -> tuple[int, int]:
    """Addresses of ends a and b of the link at this position (a /30)."""
    base = LINK_BASE + 4 * link_position
    return base + 1, base + 2


@dataclass(frozen=True)
class AddressPlan:
    """Who owns which prefix, and the address of each link end."""

    owner_prefixes: tuple[tuple[int, Prefix], ...]  # (node position, prefix), loopbacks first
    link_end_address: dict[str, tuple[int, int]]  # link id -> (address of end a, of end b)

    def link_of_address(self) -> dict[int, tuple[str, int]]:
        """Interface address -> (link id, 0 for end a / 1 for end b)."""
        return {addr: (lid, end) for lid, pair in self.link_end_address.items()
                for end, addr in enumerate(pair)}

    @functools.cached_property
    def _hosts(self) -> dict[int, int]:
        return {p.network: node for node, p in self.owner_prefixes if p.length == 32}

    @functools.cached_property
    def _networks(self) -> tuple[tuple[int, Prefix], ...]:
        return tuple((node, p) for node, p in self.owner_prefixes if p.length < 32)

    def owner_of(self, address: int) -> tuple[int, Prefix] | None:
        """Longest owned prefix containing ``address`` and its node, or None."""
        if address in self._hosts:
            return self._hosts[address], Prefix(address, 32)
        best: tuple[int, Prefix] | None = None
        for node, prefix in self._networks:
            if prefix.contains(address) and (best is None or prefix.length > best[1].length):
                best = (node, prefix)
        return best


def plan_addresses(network: Network, before: AddressPlan | None = None) -> AddressPlan:
    """Loopbacks, attached prefixes (node attribute ``prefixes``) and link addresses; with
    ``before`` (the plan of the network before a change) links keep their addresses and
    added links take the next free /30s."""
    if len(network.nodes) > MAX_NODES or len(network.links) > MAX_LINKS:
        raise ValidationError([Problem(
            f"network {network.name!r}", "too large for the twin's address plan",
            value=f"{len(network.nodes)} nodes, {len(network.links)} links",
            fix=f"at most {MAX_NODES} nodes and {MAX_LINKS} links")])
    owned: list[tuple[int, Prefix]] = [(i, Prefix(loopback_address(i), 32))
                                       for i in range(len(network.nodes))]
    problems: list[Problem] = []
    seen = {p: node for node, p in owned}
    for i, node in enumerate(network.nodes.values()):
        extra = (node.attributes or {}).get("prefixes") or []
        if isinstance(extra, str):
            extra = [extra]
        for text in extra:
            try:
                prefix = Prefix.parse(str(text))
            except ValueError as exc:
                problems.append(Problem(f"node {node.id!r}", f"bad prefix: {exc}",
                                        field="attributes.prefixes", value=text,
                                        fix="write prefixes as A.B.C.D/LEN with host bits 0"))
                continue
            if prefix in seen and seen[prefix] != i:
                problems.append(Problem(
                    f"node {node.id!r}", "prefix already owned by node "
                    f"{network.node_ids[seen[prefix]]!r}", field="attributes.prefixes",
                    value=text, fix="give each prefix one owner (anycast is not modelled)"))
                continue
            seen[prefix] = i
            owned.append((i, prefix))
    n = len(network.nodes)
    for pos, outer in owned[n:]:  # attached prefixes (few) against everything owned
        for other, inner in owned:
            if other != pos and inner != outer and (outer.covers(inner) or inner.covers(outer)):
                problems.append(Problem(
                    f"node {network.node_ids[pos]!r}", f"prefix {outer} nests with "
                    f"{inner} of node {network.node_ids[other]!r}",
                    field="attributes.prefixes", value=str(outer),
                    fix="owned prefixes must not nest (10.255.0.0/16 holds the loopbacks)"))
                break
    if problems:
        raise ValidationError(problems, f"network {network.name!r}")
    if before is None:
        ends = {lid: link_addresses(i) for i, lid in enumerate(network.links)}
    else:
        ends = {lid: before.link_end_address[lid] for lid in network.links
                if lid in before.link_end_address}
        free = len(before.link_end_address)
        for lid in network.links:
            if lid not in ends:
                ends[lid] = link_addresses(free)
                free += 1
    return AddressPlan(tuple(owned), ends)
