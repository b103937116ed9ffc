"""What the dashboard draws, computed: map positions (``Layout``, from ``report.maps``, the
one the HTML reports use too), the arcs each service uses, records as JSON, a network's radio
arrays. The routes are in ``api.routes.views``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from nettwin.engine import CompiledNetwork
from nettwin.engine.simulate import route
from nettwin.errors import NettwinError
from nettwin.model import Network
from nettwin.radio.budget import RadioArrays

MAX_STORM_STEPS = 2000


class StormRequest(BaseModel):
    """A rain storm (see ``nettwin radio storm``); no cells: the network's bundled storm."""

    name: str = Field(default="dashboard storm", max_length=200)
    duration_min: float = Field(default=60.0, gt=0.0, le=7 * 24 * 60)
    step_min: float = Field(default=2.0, gt=0.0, le=24 * 60)
    cells: list[dict[str, float]] = Field(default_factory=list, max_length=200)


def service_arcs(compiled: CompiledNetwork) -> list[np.ndarray]:
    """Per service, the arcs its demands use in the baseline (loaded when routed alone)."""
    out = []
    for i in range(len(compiled.service_ids)):
        rate = np.zeros(compiled.n_demands)
        members = compiled.service_demand[compiled.service_ptr[i]:compiled.service_ptr[i + 1]]
        rate[members] = np.maximum(compiled.demand_rate_bps[members], 1.0)
        out.append(np.flatnonzero(route(compiled, compiled.arc_up, rate).load_bps > 0))
    return out


def radio_of(network: Network, profiles: dict[str, Any]) -> RadioArrays | None:
    """The network's radio links as arrays, or None when it has none it can model."""
    from nettwin.radio.budget import compile_radio

    if not any(lk.radio is not None for lk in network.links.values()):
        return None
    try:
        return compile_radio(network, profiles)
    except NettwinError:
        return None
