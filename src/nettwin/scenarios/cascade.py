"""Cascading failures: overloaded links trip, traffic reroutes, repeat to a fixed point.

Overload model (as protection and operators act): a link whose utilisation in either
direction stays above ``trip_utilisation`` for ``trip_delay_s`` is taken down (optical
power protection, an operator shutting a congested port, a BFD flap). Each round trips every
link over the threshold at once, then traffic reroutes; the chain ends when no link is over,
or when nothing is left to trip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationOptions, SimulationResult, simulate
from nettwin.model import Network
from nettwin.scenarios.apply import apply_scenario
from nettwin.scenarios.changes import Scenario


@dataclass(frozen=True)
class Trip:
    """One link tripping in the cascade."""

    round: int
    time_s: float
    link: str
    utilisation: float  # the higher of its two directions when it tripped
    cause: str  # what failed before and pushed it over


@dataclass(frozen=True, eq=False)
class CascadeResult:
    trips: tuple[Trip, ...]
    rounds: int
    final: SimulationResult
    initial: SimulationResult
    converged: bool

    @property
    def lost_bps(self) -> float:
        return self.final.unroutable_bps

    def summary(self) -> str:
        if not self.trips:
            return "no cascade: every link stays below the trip threshold"
        return (f"cascade of {len(self.trips)} link trip(s) over {self.rounds} round(s): "
                f"{self.final.unroutable_bps / 1e9:.3g} Gbit/s unroutable, final max "
                f"utilisation {100 * self.final.kpis()['max_utilisation']:.0f} %"
                + ("" if self.converged else " (stopped at the round limit)"))


def run_cascade(network: Network, trigger: Scenario, options: SimulationOptions | None = None,
                *, trip_utilisation: float = 1.0, trip_delay_s: float = 5.0,
                max_rounds: int = 50, compiled: CompiledNetwork | None = None) -> CascadeResult:
    """Apply ``trigger`` (e.g. a fiber cut, a surge) and follow the overload cascade."""
    applied = apply_scenario(network, compiled, trigger)
    net, up, rate = applied.compiled, applied.arc_up.copy(), applied.demand_rate_bps
    first = result = simulate(net, options, arc_up=up, demand_rate_bps=rate)
    trips: list[Trip] = []
    cause = trigger.name
    converged = False
    for rnd in range(1, max_rounds + 1):
        util = np.where(up, result.arc_utilisation, 0.0).reshape(-1, 2).max(axis=1)
        over = np.flatnonzero(util > trip_utilisation)
        if over.size == 0:
            converged = True
            break
        for link in over.tolist():
            trips.append(Trip(rnd, rnd * trip_delay_s, net.link_ids[link], float(util[link]),
                              cause))
            up[[2 * link, 2 * link + 1]] = False
        cause = ", ".join(net.link_ids[i] for i in over[:5]) + (" ..." if over.size > 5 else "")
        result = simulate(net, options, arc_up=up, demand_rate_bps=rate)
    else:
        rnd = max_rounds
    return CascadeResult(tuple(trips), len({t.round for t in trips}), result, first, converged)
