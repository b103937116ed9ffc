"""The lab: a nettwin topology built as FRR routers running OSPF in Linux network namespaces.

One namespace per node (loopback 10.255.x.y/32, the OSPF router id), one veth pair per link
(a /30 from 10.1.0.0/16, point-to-point OSPF, cost = the IGP metric of the direction that
leaves through the interface), ``tc`` shaping each direction's data to capacity x ``scale``
with OSPF and ARP in a class of their own beside it (``lab.shaping``). Traffic generators
send UDP from each node's loopback to every destination's loopback at demand rate x
``scale``. Counters read from the kernel (``ip -s -j link``, the shaper's drops from
``tc``) are scaled back by 1 / ``scale``, so the twin sees the lab at nominal rates.

Everything created is recorded in ``lab.json`` in the lab folder: ``down`` removes exactly
that (processes by pid file, namespaces by name), never anything else. Router configs, pid
files, logs and sockets live in /var/run/frr/NAMESPACE, where the frr user can reach them.

FRR settings follow what was observed on these machines: hello 1 s / dead 4 s, retransmit
2 s, SPF and LSA throttles at zero, and ``no zebra nexthop kernel enable`` (with kernel
next-hop groups the kernel kept fewer equal-cost next hops than OSPF after a flap).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nettwin.errors import LabError
from nettwin.lab.plan import LabLink, LabNode, LabPlan, plan_lab
from nettwin.lab.shaping import add_shaper, change_rate
from nettwin.model import Network

FRR_DIR = Path("/usr/lib/frr")
RUN_DIR = Path("/var/run/frr")

# the lab's plan (names and addresses) lives in lab.plan, its error in errors; both are
# still importable from here
__all__ = ["FRR_DIR", "RUN_DIR", "Lab", "LabError", "LabLink", "LabNode", "LabPlan",
           "check_environment", "plan_lab"]


def _run(*args: str, check: bool = True, capture: bool = False) -> str:
    proc = subprocess.run(args, check=False, text=True,
                          stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout if capture else ""


def check_environment() -> None:
    """Root, iproute2 and FRR's daemons: what the lab needs, said plainly."""
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, veth, tc)")
    for tool in ("ip", "tc", "vtysh"):
        if shutil.which(tool) is None:
            raise LabError(f"{tool} not found: apt-get install frr iproute2")
    for daemon in ("zebra", "ospfd"):
        if not (FRR_DIR / daemon).exists():
            raise LabError(f"{FRR_DIR / daemon} not found: apt-get install frr")


class Lab:
    """A running (or planned) lab, its state kept in ``folder/lab.json``."""

    def __init__(self, plan: LabPlan, folder: Path) -> None:
        self.plan = plan
        self.folder = Path(folder)

    # ------------------------------------------------------------------ persistence
    @property
    def state_file(self) -> Path:
        return self.folder / "lab.json"

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(asdict(self.plan), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Lab:
        path = Path(folder) / "lab.json"
        if not path.exists():
            raise LabError(f"no lab in {folder}: start one with `nettwin lab up FILE`")
        doc = json.loads(path.read_text(encoding="utf-8"))
        plan = LabPlan(doc["prefix"], doc["scale"], [LabNode(**n) for n in doc["nodes"]],
                       [LabLink(**lk) for lk in doc["links"]],
                       [tuple(d) for d in doc["demands"]],
                       doc.get("pids", []), doc.get("shaping", "?"),
                       doc.get("control_priority", False), doc.get("down_links", []),
                       doc.get("down_nodes", []), doc.get("rate_factor", {}))
        return cls(plan, Path(folder))

    # ------------------------------------------------------------------ up
    def up(self, traffic: bool = True) -> None:
        if self.state_file.exists():
            other = json.loads(self.state_file.read_text(encoding="utf-8")).get("prefix", "?")
            raise LabError(f"{self.state_file} records a lab already (prefix {other!r}): "
                           "`nettwin lab down` it first, or use another --dir; starting "
                           "another here would strand it")
        check_environment()
        existing = set(_run("ip", "netns", "list", capture=True).split())
        clash = [n.ns for n in self.plan.nodes if n.ns in existing]
        if clash:
            raise LabError(f"namespaces {clash[:3]} exist already: `nettwin lab down` first "
                           "or choose another --prefix")
        self.save()  # record before creating: a failure half-way can still be cleaned up
        try:
            self._namespaces()
            self._links()
            self._routers()
            if traffic:
                self.start_traffic()
        finally:
            self.save()

    def _namespaces(self) -> None:
        for n in self.plan.nodes:
            _run("ip", "netns", "add", n.ns)
            _run("ip", "-n", n.ns, "link", "set", "lo", "up")
            _run("ip", "-n", n.ns, "addr", "add", f"{n.loopback}/32", "dev", "lo")
            _run("ip", "netns", "exec", n.ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
            _run("ip", "netns", "exec", n.ns, "sysctl", "-qw",
                 "net.ipv4.conf.all.rp_filter=0")
            # generated traffic ends at closed ports: without this, every datagram would
            # send back an ICMP port-unreachable of up to 576 bytes and skew the counters
            _run("ip", "netns", "exec", n.ns, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=60000")
            # ECMP per layer-4 flow (the generators vary source ports), not per host pair
            _run("ip", "netns", "exec", n.ns, "sysctl", "-qw",
                 "net.ipv4.fib_multipath_hash_policy=1")

    def _links(self) -> None:
        for lk in self.plan.links:
            na, nb = self.plan.node(lk.a).ns, self.plan.node(lk.b).ns
            _run("ip", "-n", na, "link", "add", lk.ifname, "type", "veth", "peer", "name",
                 lk.ifname, "netns", nb)
            for ns, addr, rate in ((na, lk.addr_a, lk.rate_ab_bps),
                                   (nb, lk.addr_b, lk.rate_ba_bps)):
                _run("ip", "-n", ns, "addr", "add", f"{addr}/30", "dev", lk.ifname)
                _run("ip", "-n", ns, "link", "set", lk.ifname, "up")
                add_shaper(self.plan, ns, lk.ifname, rate, lk.delay_ms)

    def _config(self, node: LabNode) -> tuple[Path, Path]:
        d = RUN_DIR / node.ns  # the frr user must reach configs, pid files and logs
        d.mkdir(parents=True, exist_ok=True)
        zebra = ["hostname " + node.id.replace(" ", "_"), f"log file {d / 'zebra.log'}",
                 "no zebra nexthop kernel enable", ""]
        ospf = ["hostname " + node.id.replace(" ", "_"), f"log file {d / 'ospfd.log'}"]
        for lk in self.plan.links:
            if node.id not in (lk.a, lk.b):
                continue
            cost = lk.cost_ab if node.id == lk.a else lk.cost_ba
            if lk.a == lk.b:
                continue
            ospf += [f"interface {lk.ifname}", " ip ospf network point-to-point",
                     " ip ospf hello-interval 1", " ip ospf dead-interval 4",
                     # an update sent as the peer's end comes up is lost on the veth: resend
                     # it after 2 s, not OSPF's default 5 s (restores took 6 s, not 1)
                     " ip ospf retransmit-interval 2",
                     f" ip ospf cost {cost}", " ip ospf area 0"]
        ospf += ["interface lo", " ip ospf area 0", "router ospf",
                 f" ospf router-id {node.loopback}", " timers throttle spf 0 50 500",
                 " timers throttle lsa all 0", " timers lsa min-arrival 0",
                 " maximum-paths 64", ""]
        (d / "zebra.conf").write_text("\n".join(zebra), encoding="utf-8")
        (d / "ospfd.conf").write_text("\n".join(ospf), encoding="utf-8")
        shutil.chown(d, "frr", "frr")
        for f in d.iterdir():
            shutil.chown(f, "frr", "frr")
        return d / "zebra.conf", d / "ospfd.conf"

    def _routers(self) -> None:
        for n in self.plan.nodes:
            zconf, oconf = self._config(n)
            run = d = RUN_DIR / n.ns
            for daemon, conf in (("zebra", zconf), ("ospfd", oconf)):
                pid = d / f"{daemon}.pid"
                _run("ip", "netns", "exec", n.ns, str(FRR_DIR / daemon), "-d", "-N", n.ns,
                     "-f", str(conf), "-i", str(pid), "-z", str(run / "zserv.api"),
                     "--vty_socket", str(run), "-u", "frr", "-g", "frr")
                self.plan.pids.append(str(pid))
                self.save()

    def start_traffic(self) -> None:
        """One UDP generator per source node (in its namespace), background processes."""
        by_src: dict[str, list[str]] = {}
        for s, d, rate in self.plan.demands:
            by_src.setdefault(s, []).append(f"{self.plan.node(d).loopback}={rate:.1f}")
        for s, targets in by_src.items():
            node = self.plan.node(s)
            pid = RUN_DIR / node.ns / "traffic.pid"
            pid.parent.mkdir(parents=True, exist_ok=True)
            proc = subprocess.Popen(
                ["ip", "netns", "exec", node.ns, sys.executable, "-m", "nettwin.lab.traffic",
                 "--source", node.loopback, *targets],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            pid.write_text(str(proc.pid))
            self.plan.pids.append(str(pid))
        self.save()

    # ------------------------------------------------------------------ faults
    def _set_link(self, link_id: str, state: str) -> None:
        lk = self.plan.link(link_id)
        for node in (lk.a, lk.b):
            _run("ip", "-n", self.plan.node(node).ns, "link", "set", lk.ifname, state)

    def fail(self, *link_ids: str) -> None:
        """Both ends down (as a cut fibre: carrier lost on both sides), all links at once."""
        for link_id in link_ids:
            self.plan.link(link_id)  # every name checked before anything changes
        for link_id in link_ids:
            self._set_link(link_id, "down")
            if link_id not in self.plan.down_links:
                self.plan.down_links.append(link_id)
        self.save()

    def restore(self, *link_ids: str) -> None:
        for link_id in link_ids:
            self.plan.link(link_id)
        for link_id in link_ids:
            if any(n in self.plan.down_nodes for n in self._ends(link_id)):
                raise LabError(f"{link_id} ends at a failed router: `nettwin lab restore "
                               "--node` it instead")
        for link_id in link_ids:
            self._set_link(link_id, "up")
            if link_id in self.plan.down_links:
                self.plan.down_links.remove(link_id)
        self.save()

    def _ends(self, link_id: str) -> tuple[str, str]:
        lk = self.plan.link(link_id)
        return lk.a, lk.b

    def fail_node(self, node_id: str) -> None:
        """A router lost (power, crash): every interface down, so each neighbour sees its
        carrier go; the router's own generator has no route left."""
        links = self.plan.links_of(node_id)
        for lk in links:
            self._set_link(lk.id, "down")
        if node_id not in self.plan.down_nodes:
            self.plan.down_nodes.append(node_id)
        self.save()

    def restore_node(self, node_id: str) -> None:
        """Its interfaces back up, except links failed on their own or toward another
        failed router."""
        self.plan.node(node_id)
        if node_id in self.plan.down_nodes:
            self.plan.down_nodes.remove(node_id)
        for lk in self.plan.links_of(node_id):
            other = lk.b if lk.a == node_id else lk.a
            if lk.id not in self.plan.down_links and other not in self.plan.down_nodes:
                self._set_link(lk.id, "up")
        self.save()

    def shape(self, link_id: str, factor: float) -> None:
        """The data rate of both directions set to capacity x ``factor`` (1 restores it):
        a silent fault (a LAG member lost), no event, only counters show it."""
        lk = self.plan.link(link_id)
        if not 0 < factor <= 1:
            raise LabError(f"factor {factor} must be in (0, 1]: the share of the link's "
                           "capacity left")
        for node, rate in ((lk.a, lk.rate_ab_bps), (lk.b, lk.rate_ba_bps)):
            change_rate(self.plan, self.plan.node(node).ns, lk.ifname, rate * factor)
        if factor == 1:
            self.plan.rate_factor.pop(link_id, None)
        else:
            self.plan.rate_factor[link_id] = factor
        self.save()

    # ------------------------------------------------------------------ down
    def down(self) -> list[str]:
        """Stop every process the lab started and delete its namespaces; what was removed."""
        removed = []
        for pidfile in self.plan.pids:
            path = Path(pidfile)
            if not path.exists():
                continue
            try:
                pid = int(path.read_text().strip())
                if path.name in ("traffic.pid", "exporter.pid"):  # session leaders
                    os.killpg(pid, signal.SIGTERM)
                else:
                    os.kill(pid, signal.SIGTERM)
                removed.append(f"process {pid} ({path.parent.name}/{path.stem})")
            except (ValueError, ProcessLookupError, PermissionError):
                pass
        time.sleep(0.3)
        existing = set(_run("ip", "netns", "list", capture=True).split())
        for n in self.plan.nodes:
            if n.ns in existing:
                _run("ip", "netns", "del", n.ns, check=False)
                removed.append(f"namespace {n.ns}")
            shutil.rmtree(RUN_DIR / n.ns, ignore_errors=True)
        self.plan.pids = []
        if self.state_file.exists():
            self.state_file.unlink()
        return removed

    # ------------------------------------------------------------------ observe
    def counters(self) -> list[dict[str, Any]]:
        """Counter observations of every lab interface, scaled to nominal rates. Drops are
        the shaper's (the kernel's interface counters do not see them), in packets like
        ifOutDiscards, beside the packets sent, as the synthetic telemetry counts them."""
        out: list[dict[str, Any]] = []
        by_ns = {n.ns: n for n in self.plan.nodes}
        iface: dict[tuple[str, str], str] = {}
        for lk in self.plan.links:
            iface[(self.plan.node(lk.a).ns, lk.ifname)] = lk.id
            iface[(self.plan.node(lk.b).ns, lk.ifname)] = lk.id
        for ns, node in by_ns.items():
            t = time.time()
            doc = json.loads(_run("ip", "-n", ns, "-s", "-j", "link", "show", capture=True))
            drops: dict[str, int] = {}
            for q in json.loads(_run("ip", "netns", "exec", ns, "tc", "-s", "-j", "qdisc",
                                     "show", capture=True) or "[]"):
                if q.get("kind") != "htb":  # a classful root only sums its leaves
                    drops[q.get("dev", "")] = drops.get(q.get("dev", ""), 0) + \
                        int(q.get("drops", 0))
            for entry in doc:
                link_id = iface.get((ns, entry.get("ifname", "")))
                if link_id is None:
                    continue
                stats = entry.get("stats64") or entry.get("stats") or {}
                tx = stats.get("tx", {})
                dropped = drops.get(entry["ifname"], 0) + int(tx.get("dropped", 0))
                out.append({"kind": "counter", "time": t, "device": node.id,
                            "interface": link_id,
                            "out_octets": tx.get("bytes", 0) / self.plan.scale,
                            "out_packets": tx.get("packets", 0) / self.plan.scale,
                            "out_drops": dropped / self.plan.scale,  # packets
                            "oper_status": "up" if entry.get("operstate") == "UP" else "down"})
        return out

    def vtysh(self, node_id: str, command: str) -> Any:
        ns = self.plan.node(node_id).ns
        return json.loads(_run("vtysh", "-N", ns, "-c", command, capture=True) or "{}")

    def kernel_next_hops(self) -> dict[tuple[str, str], set[str]]:
        """(router, destination router) -> links of the kernel's next hops to its loopback."""
        by_loop = {n.loopback: n.id for n in self.plan.nodes}
        ends: dict[tuple[str, str], str] = {}  # (node, ifname) -> link
        for lk in self.plan.links:
            ends[(lk.a, lk.ifname)] = lk.id
            ends[(lk.b, lk.ifname)] = lk.id
        out: dict[tuple[str, str], set[str]] = {}
        for n in self.plan.nodes:
            routes = json.loads(_run("ip", "-n", n.ns, "-j", "route", "show", capture=True))
            for r in routes:
                dst = r.get("dst", "").removesuffix("/32")
                if dst not in by_loop or by_loop[dst] == n.id:
                    continue
                hops = r.get("nexthops") or [r]
                out[(n.id, by_loop[dst])] = {ends[(n.id, h["dev"])] for h in hops
                                             if (n.id, h.get("dev")) in ends}
        return out

    def ospf_adjacencies(self, router: str | None = None) -> list[tuple[str, str, str, int]]:
        """Point-to-point adjacencies (router, neighbour, interface address, cost) in the
        OSPF link-state database (router LSAs) as ``router`` sees it; routers named by their
        router id (the node's loopback)."""
        by_rid = {n.loopback: n.id for n in self.plan.nodes}
        db = self.vtysh(router or self.plan.nodes[0].id, "show ip ospf database router json")
        out = []
        for area in (db.get("routerLinkStates", {}).get("areas", {}) or {}).values():
            for lsa in area:
                rid = lsa.get("linkStateId")
                for link in (lsa.get("routerLinks") or {}).values():
                    nbr = link.get("neighborRouterId")
                    if nbr is None or rid not in by_rid or nbr not in by_rid:
                        continue
                    out.append((by_rid[rid], by_rid[nbr], str(link["routerInterfaceAddress"]),
                                int(link.get("tos0Metric", 0))))
        return out

    def learn_network(self, name: str = "learned from OSPF",
                      capacity_bps: float = 10e9) -> Network:
        """The topology as the routers advertise it: a link per pair of point-to-point
        adjacencies on the same /30, with the cost each end advertises."""
        from nettwin.model import build_network

        ends: dict[ipaddress.IPv4Network, list[tuple[str, str, int]]] = {}
        for router, nbr, addr, cost in self.ospf_adjacencies():
            subnet = ipaddress.IPv4Network(f"{addr}/30", strict=False)
            ends.setdefault(subnet, []).append((router, nbr, cost))
        links: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for subnet, pair in sorted(ends.items()):
            if len(pair) != 2:
                continue  # only one end advertises it yet (adjacency coming up)
            (a, b, cost_ab), (_b, _a, cost_ba) = sorted(pair)
            base = f"{a}--{b}"
            seen[base] = seen.get(base, 0) + 1
            links.append({"id": base if seen[base] == 1 else f"{base}#{seen[base]}",
                          "a": a, "b": b, "metric_ab": cost_ab, "metric_ba": cost_ba,
                          "capacity_ab_bps": capacity_bps, "capacity_ba_bps": capacity_bps,
                          "attributes": {"subnet": str(subnet)}})
        return build_network(name, [{"id": n.id} for n in self.plan.nodes], links)

    def ospf_converged(self) -> bool:
        """Every router has a full adjacency on each of its up links."""
        for n in self.plan.nodes:
            expected = sum(1 for lk in self.plan.links if n.id in (lk.a, lk.b))
            nbrs = self.vtysh(n.id, "show ip ospf neighbor json").get("neighbors", {})
            full = sum(1 for entries in nbrs.values() for e in entries
                       if str(e.get("nbrState", e.get("state", ""))).startswith("Full"))
            if full < expected:
                return False
        return True
