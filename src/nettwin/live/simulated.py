"""Counter streams as routers would send them, for a network carrying known traffic: what
the benchmarks, the tests and the embedded demo (``nettwin serve``) feed the twin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from nettwin.live.observations import InterfaceMap
from nettwin.model import Network


class CounterFeed:
    """Cumulative out_octets per port (device = the arc's sending node, interface = the
    link id), advanced by the rate each arc carries."""

    def __init__(self, network: Network) -> None:
        ports = InterfaceMap(network)
        self.names = {p: key for key, p in ports.ports.items() if key[1] in ports.link_ids}
        self.order = sorted(self.names)
        self.arcs = ports.port_arc[self.order]
        self.octets = np.zeros(len(self.order))
        self.time: float | None = None

    def step(self, t: float, arc_rate_bps: np.ndarray, interval_s: float | None = None,
             arc_up: np.ndarray | None = None) -> list[dict[str, Any]]:
        """Advance by ``interval_s`` (default: since the last step) at these rates and report
        every port at time ``t``."""
        if interval_s is None:
            interval_s = 0.0 if self.time is None else t - self.time
        self.time = t
        self.octets += np.maximum(arc_rate_bps[self.arcs], 0.0) * interval_s / 8.0
        up = np.ones(len(self.order), bool) if arc_up is None else arc_up[self.arcs]
        return [{"kind": "counter", "time": t, "device": self.names[p][0],
                 "interface": self.names[p][1], "out_octets": float(o),
                 "oper_status": "up" if u else "down"}
                for p, o, u in zip(self.order, self.octets.tolist(), up.tolist(), strict=True)]


def counter_records(network: Network, arc_rate_bps: np.ndarray, *, start: float,
                    interval_s: float, steps: int, noise: float = 0.0, seed: int = 0
                    ) -> Iterator[list[dict[str, Any]]]:
    """Per step, one counter record per port, counters growing at the arcs' rates (times
    1 + noise N(0, 1) per step when ``noise`` > 0)."""
    feed = CounterFeed(network)
    rng = np.random.default_rng(seed)
    for k in range(steps + 1):
        rate = arc_rate_bps * (1.0 + noise * rng.standard_normal(arc_rate_bps.shape)) \
            if noise and k else arc_rate_bps
        yield feed.step(start + k * interval_s, rate, interval_s if k else 0.0)
