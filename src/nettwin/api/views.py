"""What the dashboard draws, computed: map positions (``Layout``), the arcs each service
uses, records as JSON, a network's radio arrays. The routes are in ``api.routes.views``.

Positions (``Layout``) are geographic (longitude scaled by the cosine of the mean latitude)
when every node has coordinates, else a deterministic force layout; both are normalised to
[0, 1] with y growing downwards, the SVG convention.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
from pydantic import BaseModel, Field

from nettwin.engine import CompiledNetwork
from nettwin.engine.simulate import route
from nettwin.errors import NettwinError
from nettwin.model import Network
from nettwin.model.geo import EARTH_RADIUS_KM
from nettwin.radio.budget import RadioArrays

if TYPE_CHECKING:
    pass

MAX_STORM_STEPS = 2000


class StormRequest(BaseModel):
    """A rain storm (see ``nettwin radio storm``); no cells: the network's bundled storm."""

    name: str = Field(default="dashboard storm", max_length=200)
    duration_min: float = Field(default=60.0, gt=0.0, le=7 * 24 * 60)
    step_min: float = Field(default=2.0, gt=0.0, le=24 * 60)
    cells: list[dict[str, float]] = Field(default_factory=list, max_length=200)


@dataclass(frozen=True)
class Layout:
    """Node positions in [0, 1]^2 (y down) and, when geographic, the map projection."""

    pos: dict[str, tuple[float, float]]
    geographic: bool
    cos_lat: float = 1.0
    x_min: float = 0.0
    y_min: float = 0.0
    span: float = 1.0
    x_pad: float = 0.0
    y_pad: float = 0.0

    def xy(self, latitude: float, longitude: float) -> tuple[float, float]:
        """Where a point of the map lies in the normalised square."""
        x = longitude * self.cos_lat
        return ((x - self.x_min) / self.span + self.x_pad,
                (-latitude - self.y_min) / self.span + self.y_pad)

    def km(self, distance_km: float) -> float:
        """A ground distance in normalised units (geographic layouts)."""
        return math.degrees(distance_km / EARTH_RADIUS_KM) / self.span

    @classmethod
    def of(cls, network: Network) -> Layout:
        nodes = list(network.nodes.values())
        if not nodes:
            return cls({}, False)
        geographic = all(n.has_coordinates for n in nodes)
        cos_lat = 1.0
        if geographic:
            lat = np.array([n.latitude for n in nodes], dtype=float)
            lon = np.array([n.longitude for n in nodes], dtype=float)
            cos_lat = math.cos(math.radians(float(lat.mean())))
            x, y = lon * cos_lat, -lat
        else:
            g = nx.Graph()
            g.add_nodes_from(network.nodes)
            g.add_edges_from((lk.a, lk.b) for lk in network.links.values())
            layout = (nx.kamada_kawai_layout(g) if len(nodes) <= 200 and g.number_of_edges()
                      else nx.spring_layout(g, seed=1))
            x = np.array([layout[n.id][0] for n in nodes], dtype=float)
            y = np.array([-layout[n.id][1] for n in nodes], dtype=float)
        span = max(float(np.ptp(x)), float(np.ptp(y))) or 1.0
        x_pad, y_pad = (1 - float(np.ptp(x)) / span) / 2, (1 - float(np.ptp(y)) / span) / 2
        nx_ = (x - x.min()) / span + x_pad
        ny_ = (y - y.min()) / span + y_pad
        return cls({n.id: (float(nx_[i]), float(ny_[i])) for i, n in enumerate(nodes)},
                   geographic, cos_lat, float(x.min()), float(y.min()), span, x_pad, y_pad)


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
