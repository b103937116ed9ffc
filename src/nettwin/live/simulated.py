"""Counter streams as routers would send them, for a network carrying known traffic: what
the benchmarks, the tests and the embedded demo (``nettwin serve``, through the
``SimulatedTelemetry`` source) feed the twin."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import numpy as np

from nettwin.engine import CompiledNetwork, compile_network, simulate
from nettwin.live.observations import InterfaceMap
from nettwin.live.sources import Ack, Message
from nettwin.live.weather import LiveWeather
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


def diurnal_scale(t_s: float, period_s: float = 600.0, seed: int = 0) -> float:
    """Simulated live traffic: a daily cycle compressed into ``period_s`` with 5 % noise."""
    rng = np.random.default_rng(seed + int(t_s))
    return float(0.75 + 0.35 * math.sin(2 * math.pi * t_s / period_s)
                 + 0.05 * rng.standard_normal())


class SimulatedTelemetry:
    """A ``Source`` of what routers would report for a network carrying its demands at a
    traffic level (``scale`` x the modelled rates): every step the network is routed and
    queued by the engine, and each arc's load becomes its sending port's ``out_octets``
    (with oper status); with ``weather``, the storm of that step sets the radio links'
    modulation, capacity (radio readings) and state. The embedded demo (``nettwin serve``)
    and the API's ``/telemetry`` feed the live twin through it like any other source.

    The first step also reports a baseline one ``interval_s`` earlier, so rates are known
    from the first step on."""

    name = "simulated"

    def __init__(self, network: Network, compiled: CompiledNetwork | None = None, *,
                 weather: LiveWeather | None = None, interval_s: float = 2.0,
                 scale: Callable[[float], float] = diurnal_scale,
                 clock: Callable[[], float] = time.time) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s {interval_s} must be > 0")
        self.network = network
        self.compiled = compiled or compile_network(network)
        self.weather, self.interval_s = weather, interval_s
        self.scale, self.clock = scale, clock
        self.feed = CounterFeed(network)
        self.tick = 0
        self.last_scale: float | None = None
        self._started = clock()

    def step(self, scale: float | None = None, t: float | None = None
             ) -> list[dict[str, Any]]:
        """The observations of one instant (default: now, at ``scale(elapsed)``)."""
        t = self.clock() if t is None else t
        if self.feed.time is not None:
            t = max(t, self.feed.time + 1e-3)  # counters need strictly increasing times
        if scale is None:
            scale = self.scale(t - self._started)
        c, up, records = self.compiled, None, []
        if self.weather is not None:
            now = self.weather.at_tick(self.tick, c)
            c = dataclasses.replace(c, arc_capacity_bps=now.arc_capacity_bps)
            up = now.arc_up
            records += [{"kind": "radio", "time": t, "link": lid, "modulation": mode}
                        | ({"capacity_bps": now.link_capacity_bps[lid]}
                           if mode != "down" and now.link_capacity_bps[lid] > 0 else {})
                        for lid, mode in now.link_modes.items()]
        load = simulate(c, arc_up=up, demand_rate_bps=c.demand_rate_bps * scale).arc_load_bps
        if self.feed.time is None:
            records = self.feed.step(t - self.interval_s, load, 0.0, arc_up=up) + records
        records += self.feed.step(t, load, arc_up=up)
        self.tick += 1
        self.last_scale = scale
        return records

    async def batches(self, max_batch: int = 10_000, max_wait_s: float = 0.05
                      ) -> AsyncIterator[tuple[list[Message], Ack | None]]:
        while True:
            records = await asyncio.to_thread(self.step)
            yield [Message(r) for r in records], None
            await asyncio.sleep(self.interval_s)

    async def close(self) -> None:
        return None
