"""FRR lab convergence: how long after a router fails (every interface down, as a power
loss) until every kernel forwards as the twin predicts, with OSPF's own packets shaped
together with the data (the lab before) and in a class of their own (now), at the default
traffic scale, on the bundled Abilene. Also the wait at ``lab up`` until the kernels match.

Needs root and Debian's frr; prints why it is skipped otherwise. Every namespace and
process it makes is removed at the end.

Run: ``make bench-lab`` or ``python benchmarks/bench_lab.py [--nodes N --scale S]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.lab.forwarding import await_forwarding
from nettwin.lab.frr import FRR_DIR, Lab, plan_lab
from nettwin.model import Network, build_network


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, tc)"
    if not (FRR_DIR / "ospfd").exists() or shutil.which("vtysh") is None:
        return "needs Debian's frr (make system)"
    return None


def ring(n: int = 8) -> Network:
    """n routers in a ring, 1 Gbit/s links, every router sending 100 Mbit/s to each other:
    one flooding path each way; the busiest links at 80 % (x1.5: 120 %, the queues full
    when the router fails), 120 % once a router is lost (its traffic the long way round)."""
    names = [f"R{i}" for i in range(n)]
    links = [{"id": f"{names[i]}--{names[(i + 1) % n]}", "a": names[i],
              "b": names[(i + 1) % n], "capacity_bps": 1e9, "metric": 10} for i in range(n)]
    demands = [{"src": a, "dst": b, "rate_bps": 1e8} for a in names for b in names if a != b]
    return build_network(f"ring{n}", [{"id": x} for x in names], links, demands)


def measure(control_priority: bool, nodes: int, scale: float, load: float, timeout_s: float,
            topology: str) -> tuple[float | None, list[float | None], list[float | None], str]:
    """(lab up -> forwarding matches, per router failure: seconds to match, per restore)."""
    net = ring() if topology == "ring" else load_network(example_path())
    net = net.with_demands(dataclasses.replace(net.demands,
                                               rate_bps=net.demands.rate_bps * load))
    prefix = f"nbl{'p' if control_priority else 't'}{os.getpid() % 100}x"
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(plan_lab(net, prefix, scale, control_priority=control_priority), Path(tmp))
        try:
            lab.up(traffic=True)
            up = await_forwarding(lab, 60).matched_s
            time.sleep(3.0)  # the generators fill the queues
            fails: list[float | None] = []
            restores: list[float | None] = []
            # the busiest routers first: most adjacencies, most updates to flood
            order = sorted(net.nodes, key=lambda n: -len(lab.plan.links_of(n)))
            for node in order[:nodes]:
                lab.fail_node(node)
                fails.append(await_forwarding(lab, timeout_s).matched_s)
                lab.restore_node(node)
                restores.append(await_forwarding(lab, timeout_s).matched_s)
                time.sleep(1.0)
            return up, fails, restores, lab.plan.shaping
        finally:
            lab.down()


def show(xs: list[float | None]) -> str:
    done = [x for x in xs if x is not None]
    missed = len(xs) - len(done)
    if not done:
        return f"none matched ({missed} timed out)"
    return (f"median {statistics.median(done):.2f} s, max {max(done):.2f} s"
            + (f", {missed} timed out" if missed else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=8, help="routers failed in turn")
    ap.add_argument("--scale", type=float, default=1e-4, help="lab rates = nominal x scale "
                                                              "(1e-4: lab up's default)")
    ap.add_argument("--load", default="1,1.5",
                    help="demand multipliers to run (Abilene's own matrix peaks at 60 %% "
                         "utilisation, 84 %% under the worst router failure; the ring's at "
                         "80 %%: x1.5 overloads links, as on the heavier topologies where "
                         "routers kept stale routes for 6-10 s)")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--topology", default="abilene,ring",
                    help="abilene (bundled) and/or ring (8 routers, one flooding path)")
    args = ap.parse_args()
    reason = skip_reason()
    if reason:
        print(f"lab convergence: skipped ({reason})")
        return
    for topology, load, priority in itertools.product(
            args.topology.split(","), [float(x) for x in args.load.split(",")], (False, True)):
        label = "OSPF in its own class" if priority else "OSPF shaped with the data"
        w0, c0 = time.perf_counter(), time.process_time()
        up, fails, restores, shaping = measure(priority, args.nodes, args.scale, load,
                                               args.timeout, topology)
        print(f"{label} ({shaping}), {topology} demands x{load:g}, lab scale "
              f"x{args.scale:g}:")
        print(f"  lab up -> kernels match the twin: "
              f"{'timed out' if up is None else f'{up:.2f} s'}")
        print(f"  router failure -> kernels match: {show(fails)}  "
              f"[{', '.join('-' if x is None else f'{x:.2f}' for x in fails)}]")
        print(f"  router restored -> kernels match: {show(restores)}")
        print(f"  ({time.perf_counter() - w0:.0f} s wall, {time.process_time() - c0:.1f} s "
              "CPU of this process)")


if __name__ == "__main__":
    main()
