"""Counter streams as routers would send them, for a network carrying known traffic: what
the benchmarks, the tests and the embedded demo feed the twin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from nettwin.live.observations import InterfaceMap
from nettwin.model import Network


def counter_records(network: Network, arc_rate_bps: np.ndarray, *, start: float,
                    interval_s: float, steps: int, noise: float = 0.0, seed: int = 0
                    ) -> Iterator[list[dict[str, Any]]]:
    """Per step, one counter record per port (device = the arc's sending node, interface =
    the link id): cumulative out_octets growing at the arc's rate (times 1 + noise N(0,1)
    per step when ``noise`` > 0)."""
    ports = InterfaceMap(network)
    rng = np.random.default_rng(seed)
    names = {}
    for (device, interface), p in ports.ports.items():
        if interface in ports.link_ids:
            names[p] = (device, interface)
    order = sorted(names)
    arcs = ports.port_arc[order]
    octets = np.zeros(len(order))
    for k in range(steps + 1):
        t = start + k * interval_s
        if k:
            factor = 1.0 + noise * rng.standard_normal(len(order)) if noise else 1.0
            octets += np.maximum(arc_rate_bps[arcs] * factor, 0.0) * interval_s / 8.0
        yield [{"kind": "counter", "time": t, "device": names[p][0],
                "interface": names[p][1], "out_octets": float(o), "oper_status": "up"}
               for p, o in zip(order, octets.tolist(), strict=True)]
