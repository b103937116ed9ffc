"""What the dashboard draws: topology with positions, one element with everything about it,
rain storms, and the static dashboard itself (served from ``/ui``).

Positions (``Layout``) are geographic (longitude scaled by the cosine of the mean latitude)
when every node has coordinates, else a deterministic force layout; both are normalised to
[0, 1] with y growing downwards, the SVG convention.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from nettwin.api.auth import Role
from nettwin.api.deps import NetworkId, Planner, Viewer, role_route
from nettwin.api.live_routes import ALARMS
from nettwin.api.storm_frames import storm_frames
from nettwin.engine import CompiledNetwork, simulate
from nettwin.engine.simulate import route
from nettwin.errors import NettwinError
from nettwin.model import Network
from nettwin.model.geo import EARTH_RADIUS_KM
from nettwin.radio.budget import RadioArrays
from nettwin.radio.storm import AcmState, StormField, parse_storm, run_storm
from nettwin.report import json_safe

if TYPE_CHECKING:
    from nettwin.api.app import Twin

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


def _record(obj: Any) -> dict[str, Any]:
    """A frozen model record as a JSON-ready mapping (nested records and enums flattened)."""
    out: dict[str, Any] = {}
    for key, value in vars(obj).items():
        if hasattr(value, "__dataclass_fields__"):
            value = _record(value)
        elif hasattr(value, "value") and not isinstance(value, int | float | str):
            value = value.value
        out[key] = value
    return dict(json_safe(out))


def _alarms_of(twin: Twin, nid: NetworkId, object_ids: set[str], prefixes: tuple[str, ...]
               ) -> list[dict[str, Any]]:
    return [a.document(ALARMS) for a in twin.live.alarms.values()
            if a.network_id == nid and (a.object_id in object_ids
                                         or a.object_id.startswith(prefixes))]


def add_view_routes(app: FastAPI, twin: Twin) -> None:
    static = resources.files("nettwin.api") / "static"
    app.mount("/ui", StaticFiles(directory=str(static), html=True), name="ui")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/")

    @app.get("/api/v1/networks/{nid}/topology", **role_route(Role.VIEWER))
    def topology(_: Viewer, nid: NetworkId) -> dict[str, Any]:
        """Nodes with map positions, links with their arcs and (radio) clear-sky modulation."""
        network, compiled = twin.get(nid)
        view = twin.cached(nid, "layout", lambda: Layout.of(network))
        pos, geographic = view.pos, view.geographic
        radio = twin.radio(nid)
        modes: dict[str, str] = {}
        if radio is not None:
            modes = {lid: radio.mode_name(i, int(radio.top_mode[i]))
                     for i, lid in enumerate(radio.link_ids)}
        return {
            "id": nid, "name": network.name, "geographic": geographic,
            "nodes": [{"id": n.id, "name": n.name or n.id, "kind": n.kind.value,
                       "x": pos[n.id][0], "y": pos[n.id][1],
                       "latitude": n.latitude, "longitude": n.longitude}
                      for n in network.nodes.values()],
            "links": [{"id": lk.id, "a": lk.a, "b": lk.b, "kind": lk.kind.value,
                       "capacity_ab_bps": lk.capacity_ab_bps,
                       "capacity_ba_bps": lk.capacity_ba_bps, "up": lk.is_up,
                       "arcs": [compiled.arc_label(2 * i), compiled.arc_label(2 * i + 1)],
                       "modulation": modes.get(lk.id),
                       "frequency_ghz": lk.radio.frequency_ghz if lk.radio else None}
                      for i, lk in enumerate(network.links.values())],
            "services": [{"id": s.id, "name": s.name or s.id, "max_delay_s": s.max_delay_s,
                          "demands": len(s.demands)} for s in network.services.values()],
        }

    @app.get("/api/v1/networks/{nid}/elements/{kind}/{element_id}",
             **role_route(Role.VIEWER))
    def element(_: Viewer, nid: NetworkId, kind: str, element_id: str,
                history: int = Query(default=120, ge=1, le=600)) -> dict[str, Any]:
        """Everything about one node or link: attributes, baseline load, services using it,
        utilisation history and alarms."""
        network, compiled = twin.get(nid)
        if kind == "link":
            if element_id not in network.links:
                raise HTTPException(404, detail=f"no link {element_id!r} in network {nid!r}")
            i = list(network.links).index(element_id)
            arcs = [2 * i, 2 * i + 1]
            record: Any = network.links[element_id]
            ids = {element_id}
        elif kind == "node":
            if element_id not in network.nodes:
                raise HTTPException(404, detail=f"no node {element_id!r} in network {nid!r}")
            u = network.node_index[element_id]
            arcs = np.flatnonzero((compiled.arc_src == u) | (compiled.arc_dst == u)).tolist()
            record = network.nodes[element_id]
            ids = {element_id}
        else:
            raise HTTPException(404, detail=f"unknown element kind {kind!r}: use node or link")
        base = twin.baseline(nid)
        used = twin.cached(nid, "service_arcs", lambda: service_arcs(compiled))
        arc_set = set(arcs)
        services = [{"id": sid, "name": network.services[sid].name or sid,
                     "max_delay_s": network.services[sid].max_delay_s,
                     "violated": bool(base.services.violated[k]),
                     "worst_delay_s": float(base.services.worst_delay_s[k])}
                    for k, sid in enumerate(compiled.service_ids)
                    if arc_set.intersection(used[k].tolist())]
        samples = list(twin.live.history.get(nid, ()))[-history:]
        labels = [compiled.arc_label(a) for a in arcs]
        doc: dict[str, Any] = {
            "kind": kind, "id": element_id, "attributes": _record(record),
            "arcs": [{"arc": labels[j], "load_bps": float(base.arc_load_bps[a]),
                      "capacity_bps": float(compiled.arc_capacity_bps[a]),
                      "utilisation": float(base.arc_utilisation[a]),
                      "delay_s": float(base.arc_delay_s[a]), "up": bool(base.arc_up[a])}
                     for j, a in enumerate(arcs)],
            "services": services,
            "history": {"times": [t for t, _u in samples],
                        "series": {labels[j]: [float(u[a]) for _t, u in samples]
                                   for j, a in enumerate(arcs)}},
            "alarms": _alarms_of(twin, nid, ids | set(labels),
                                 tuple(f"{lid} (" for lid in ids) if kind == "link" else ()),
        }
        radio = twin.radio(nid)
        if kind == "link" and radio is not None and element_id in radio.link_ids:
            r = radio.link_ids.index(element_id)
            live_modes = twin.live.latest.get(nid, {}).get("link_modes", {})
            doc["radio"] = {"frequency_ghz": float(radio.f_ghz[r]),
                            "length_km": float(radio.d_km[r]),
                            "profile": radio.profile_ids[r],
                            "modes": list(radio.mode_names[r]),
                            "clear_sky_mode": radio.mode_name(r, int(radio.top_mode[r])),
                            "live_mode": live_modes.get(element_id)}
        return doc

    @app.post("/api/v1/networks/{nid}/storm", **role_route(Role.PLANNER))
    def storm(_: Planner, nid: NetworkId, body: StormRequest) -> dict[str, Any]:
        """Run a rain storm over the network's radio links; the worst step in detail."""
        network, compiled = twin.get(nid)
        radio = twin.radio(nid)
        if radio is None or radio.n == 0:
            raise HTTPException(422, detail=f"network {nid!r} has no microwave links with "
                                            "radio blocks: a storm changes nothing")
        if body.duration_min / body.step_min > MAX_STORM_STEPS:
            raise HTTPException(422, detail=f"{body.duration_min / body.step_min:.0f} steps; "
                                            f"at most {MAX_STORM_STEPS}: raise step_min")
        the_storm = (parse_storm(body.model_dump(), "body") if body.cells
                     else twin.default_storm(nid))
        if the_storm is None:
            raise HTTPException(422, detail="give rain cells: this network has no bundled "
                                            "storm")
        result = run_storm(network, radio, the_storm, compiled=compiled)
        k = int(np.argmax(result.attenuation_db.sum(axis=1)))
        capacity, up = AcmState(radio).arc_state(compiled, result.mode[k],
                                                 result.capacity_bps[k])
        worst = simulate(dataclasses.replace(compiled, arc_capacity_bps=capacity), arc_up=up)
        util = np.where(worst.arc_up, worst.arc_utilisation, 0.0)
        field = StormField(radio, the_storm)
        view = twin.cached(nid, "layout", lambda: Layout.of(network))
        return dict(json_safe({
            "summary": result.summary(), "worst_minute": float(result.times_min[k]),
            "links": [{"link": lid, "mode": radio.mode_name(i, int(result.mode[k, i])),
                       "clear_sky_mode": radio.mode_name(i, int(radio.top_mode[i])),
                       "capacity_bps": float(result.capacity_bps[k, i]),
                       "fade_db": float(result.attenuation_db[k, i]),
                       "max_fade_db": float(result.attenuation_db[:, i].max()),
                       "minutes_down": float((result.mode[:, i] < 0).sum()
                                             * the_storm.step_min)}
                      for i, lid in enumerate(radio.link_ids)],
            "arcs": [{"arc": compiled.arc_label(a), "utilisation": float(util[a]),
                      "up": bool(worst.arc_up[a])} for a in range(compiled.n_arcs)],
            "cells_at_worst": [cell | {"x": xy[0], "y": xy[1], "r": view.km(cell["radius_km"])}
                               for cell in field.cells_latlon_at(float(result.times_min[k]))
                               for xy in [view.xy(cell["latitude"], cell["longitude"])]],
            "frames": storm_frames(radio, compiled, result, field, view),
        }))


def radio_of(network: Network, profiles: dict[str, Any]) -> RadioArrays | None:
    """The network's radio links as arrays, or None when it has none it can model."""
    from nettwin.radio.budget import compile_radio

    if not any(lk.radio is not None for lk in network.links.values()):
        return None
    try:
        return compile_radio(network, profiles)
    except NettwinError:
        return None
