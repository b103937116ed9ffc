"""The lab's plan, pure (nothing is created): a namespace and loopback per node, a veth pair
with a /30 per link, OSPF costs from the IGP metrics, rates and demands at lab scale, and
what was injected since (links or routers down, capacity factors). ``lab.json`` keeps it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from nettwin.errors import LabError
from nettwin.model import Network


@dataclass
class LabNode:
    id: str
    ns: str
    loopback: str


@dataclass
class LabLink:
    id: str
    a: str
    b: str
    ifname: str
    addr_a: str
    addr_b: str
    cost_ab: int
    cost_ba: int
    rate_ab_bps: float
    rate_ba_bps: float
    delay_ms: float = 0.0


@dataclass
class LabPlan:
    prefix: str
    scale: float
    nodes: list[LabNode]
    links: list[LabLink]
    demands: list[tuple[str, str, float]]  # (src, dst, rate at lab scale)
    pids: list[str] = field(default_factory=list)  # pid files of what the lab started
    shaping: str = "?"  # netem, tbf or none: found out on the first link
    control_priority: bool = True  # OSPF and ARP in a class of their own, beside the data
    # injected by `nettwin lab fail/shape`: what the routers run now differs from the plan
    down_links: list[str] = field(default_factory=list)
    down_nodes: list[str] = field(default_factory=list)
    rate_factor: dict[str, float] = field(default_factory=dict)  # link -> capacity x factor

    def node(self, node_id: str) -> LabNode:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise LabError(f"no router {node_id!r} in the lab: use one of "
                       f"{', '.join(n.id for n in self.nodes[:6])}...")

    def links_of(self, node_id: str) -> list[LabLink]:
        self.node(node_id)
        return [lk for lk in self.links if node_id in (lk.a, lk.b)]

    def link(self, link_id: str) -> LabLink:
        for lk in self.links:
            if lk.id == link_id:
                return lk
        raise LabError(f"no link {link_id!r} in the lab: use one of "
                       f"{', '.join(lk.id for lk in self.links[:6])}...")


def plan_lab(network: Network, prefix: str = "ntl", scale: float = 1e-4,
             control_priority: bool = True) -> LabPlan:
    """Names and addresses for every node and link (pure: nothing is created)."""
    if len(network.nodes) > 60000 or len(network.links) > 16000:
        raise LabError("the lab addresses at most 60,000 nodes and 16,000 links")
    if not 0 < scale <= 1:
        raise LabError(f"scale {scale} must be in (0, 1]: lab rates are nominal x scale")
    bad = [f"{lk.id} ({lk.metric_ab}/{lk.metric_ba})" for lk in network.links.values()
           if not (1 <= lk.metric_ab <= 65_535 and 1 <= lk.metric_ba <= 65_535)]
    if bad:
        raise LabError(f"OSPF costs are 1-65,535 and FRR silently replaces others (it kept "
                       f"cost 10 for 70000): {len(bad)} link(s) out of range, e.g. "
                       f"{', '.join(bad[:5])}; scale the metrics down (IS-IS wide metrics "
                       "are not what the lab runs)")
    from nettwin.engine import compile_network

    nodes = [LabNode(nid, f"{prefix}{i}", f"10.255.{i // 256}.{i % 256}")
             for i, nid in enumerate(network.nodes)]
    propagation = compile_network(network).arc_propagation_s
    net = ipaddress.IPv4Network("10.1.0.0/16")
    links = []
    for i, lk in enumerate(network.links.values()):
        if not lk.is_up:
            continue
        base = int(net.network_address) + 4 * i
        links.append(LabLink(lk.id, lk.a, lk.b, f"{prefix}l{i}",
                             str(ipaddress.IPv4Address(base + 1)),
                             str(ipaddress.IPv4Address(base + 2)), lk.metric_ab, lk.metric_ba,
                             lk.capacity_ab_bps * scale, lk.capacity_ba_bps * scale,
                             1e3 * float(propagation[2 * i])))
    ids = network.node_ids
    demands = [(ids[int(s)], ids[int(d)], float(r) * scale) for s, d, r in
               zip(network.demands.src, network.demands.dst, network.demands.rate_bps,
                   strict=True) if s != d and r > 0]
    return LabPlan(prefix, scale, nodes, links, demands, control_priority=control_priority)
