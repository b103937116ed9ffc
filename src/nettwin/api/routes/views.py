"""The dashboard's routes: the page itself (``/`` redirects to ``/ui``), the topology with
map positions, one element with everything about it, and rain storms over the radio links."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import RedirectResponse

from nettwin.api.auth import Role
from nettwin.api.deps import NetworkId, Planner, Viewer, role_route
from nettwin.api.live import alarm_document
from nettwin.api.schemas import Element, StormDoc, Topology
from nettwin.api.service import Twin, TwinDep
from nettwin.api.storm_frames import storm_frames
from nettwin.api.views import MAX_STORM_STEPS, StormRequest, service_arcs
from nettwin.engine import simulate
from nettwin.io.native import element_document
from nettwin.radio.storm import AcmState, StormField, parse_storm, run_storm
from nettwin.report import json_safe
from nettwin.report.maps import Layout

router = APIRouter()


def _alarms_of(twin: Twin, nid: NetworkId, object_ids: set[str], prefixes: tuple[str, ...]
               ) -> list[dict[str, Any]]:
    return [alarm_document(a) for a in twin.live.book.of_network(nid)
            if a.object_id in object_ids or a.object_id.startswith(prefixes)]


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/ui/")

@router.get("/api/v1/networks/{nid}/topology", tags=["views"], **role_route(Role.VIEWER))
def topology(_: Viewer, twin: TwinDep, nid: NetworkId) -> Topology:
    """Nodes with map positions, links with their arcs and (radio) clear-sky modulation."""
    network, compiled = twin.get(nid)
    view = twin.cached(nid, "layout", lambda: Layout.of(network))
    pos, geographic = view.pos, view.geographic
    radio = twin.radio(nid)
    modes: dict[str, str] = {}
    if radio is not None:
        modes = {lid: radio.mode_name(i, int(radio.top_mode[i]))
                 for i, lid in enumerate(radio.link_ids)}
    return Topology.model_validate({
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
    })

@router.get("/api/v1/networks/{nid}/elements/{kind}/{element_id}", tags=["views"],
            **role_route(Role.VIEWER))
def element(_: Viewer, twin: TwinDep, nid: NetworkId, kind: str, element_id: str,
            history: int = Query(default=120, ge=1, le=600)) -> Element:
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
        "kind": kind, "id": element_id, "attributes": element_document(record),
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
        live_modes = (twin.live.state(nid)["link_modes"] if twin.live.has_state(nid)
                      else {})
        doc["radio"] = {"frequency_ghz": float(radio.f_ghz[r]),
                        "length_km": float(radio.d_km[r]),
                        "profile": radio.profile_ids[r],
                        "modes": list(radio.mode_names[r]),
                        "clear_sky_mode": radio.mode_name(r, int(radio.top_mode[r])),
                        "live_mode": live_modes.get(element_id)}
    return Element.model_validate(json_safe(doc))


@router.post("/api/v1/networks/{nid}/storm", tags=["views"], **role_route(Role.PLANNER))
def storm(_: Planner, twin: TwinDep, nid: NetworkId, body: StormRequest) -> StormDoc:
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
    return StormDoc.model_validate(json_safe({
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
