"""Each direction of a lab link shaped with ``tc``: the data to the link's rate x scale (an
HTB class, with the propagation delay by netem where the kernel has it), and OSPF (IP
protocol 89), ARP and anything not IP in a class of their own that never waits behind the
data. Shaped together with the data, at the default scale, flooded updates were queued or
dropped with it on slow links; ``plan.control_priority = False`` builds that older lab
(one netem or token-bucket queue for everything) for comparison. ``plan.shaping`` says
what the kernel allowed (these machines lack netem)."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nettwin.lab.frr import LabPlan

CONTROL_RATE_BPS = 10_000_000  # OSPF + ARP per interface: far above what they send


def _tc(ns: str, *args: str) -> bool:
    return subprocess.run(["ip", "netns", "exec", ns, "tc", *args], capture_output=True,
                          check=False).returncode == 0


def _data_rate(rate: int) -> list[str]:
    burst = str(max(rate // 8 // 100, 4000))
    return ["rate", f"{rate}bit", "ceil", f"{rate}bit", "burst", burst, "cburst", burst]


def add_shaper(plan: LabPlan, ns: str, ifname: str, rate_bps: float, delay_ms: float) -> None:
    """The root qdisc of one interface (one direction of a link)."""
    if not plan.control_priority:
        _add_single_queue(plan, ns, ifname, rate_bps, delay_ms)
        return
    rate = max(int(rate_bps), 8000)
    steps = [
        ["qdisc", "add", "dev", ifname, "root", "handle", "1:", "htb", "default", "10"],
        ["class", "add", "dev", ifname, "parent", "1:", "classid", "1:10", "htb",
         "rate", f"{CONTROL_RATE_BPS}bit", "ceil", f"{CONTROL_RATE_BPS}bit", "prio", "0"],
        ["class", "add", "dev", ifname, "parent", "1:", "classid", "1:20", "htb",
         *_data_rate(rate), "prio", "1"],
        ["filter", "add", "dev", ifname, "parent", "1:", "protocol", "ip", "prio", "1",
         "u32", "match", "ip", "protocol", "89", "0xff", "flowid", "1:10"],
        ["filter", "add", "dev", ifname, "parent", "1:", "protocol", "ip", "prio", "2",
         "u32", "match", "u32", "0", "0", "flowid", "1:20"],
    ]
    for args in steps:
        if not _tc(ns, *args):  # no HTB or u32 here: the single queue, said in the plan
            _tc(ns, "qdisc", "del", "dev", ifname, "root")
            plan.control_priority = False
            _add_single_queue(plan, ns, ifname, rate_bps, delay_ms)
            return
    leaf = ["qdisc", "add", "dev", ifname, "parent", "1:20", "handle", "20:"]
    if plan.shaping in ("htb + netem", "?") and _tc(
            ns, *leaf, "netem", "delay", f"{delay_ms:.3f}ms", "limit", "1000"):
        plan.shaping = "htb + netem"
        return
    _tc(ns, *leaf, "bfifo", "limit", str(max(rate // 80, 3000)))  # ~100 ms of queue
    plan.shaping = "htb (no netem here: rate only)"


def _add_single_queue(plan: LabPlan, ns: str, ifname: str, rate_bps: float,
                      delay_ms: float) -> None:
    rate = max(int(rate_bps), 8000)
    root = ["qdisc", "add", "dev", ifname, "root"]
    if plan.shaping in ("netem", "?") and _tc(ns, *root, "netem", "delay",
                                               f"{delay_ms:.3f}ms", "rate", f"{rate}bit",
                                               "limit", "1000"):
        plan.shaping = "netem"
        return
    ok = _tc(ns, *root, "tbf", "rate", f"{rate}bit", "burst", str(max(rate // 800, 4000)),
             "latency", "100ms")
    plan.shaping = "tbf (no netem here: rate only)" if ok else "none"


def change_rate(plan: LabPlan, ns: str, ifname: str, rate_bps: float) -> None:
    """The data rate of one interface now (a capacity fault, or its repair)."""
    from nettwin.lab.frr import LabError

    rate = max(int(rate_bps), 8000)
    if plan.control_priority:
        ok = _tc(ns, "class", "change", "dev", ifname, "parent", "1:", "classid", "1:20",
                 "htb", *_data_rate(rate), "prio", "1")
    elif plan.shaping.startswith("netem"):
        ok = _tc(ns, "qdisc", "change", "dev", ifname, "root", "netem", "rate", f"{rate}bit")
    else:
        ok = _tc(ns, "qdisc", "change", "dev", ifname, "root", "tbf", "rate", f"{rate}bit",
                 "burst", str(max(rate // 800, 4000)), "latency", "100ms")
    if not ok:
        raise LabError(f"tc could not set {ifname} in {ns} to {rate} bit/s")
