"""Routes for live state, its event stream, and the TM Forum-shaped inventory and alarms."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from nettwin.api.auth import Role
from nettwin.api.deps import NetworkId, Operator, Viewer, role_route
from nettwin.api.payloads import SerialisedStates, accepts_gzip, json_bytes

if TYPE_CHECKING:
    from nettwin.api.app import Twin

ALARMS = "/tmf-api/alarmManagement/v4"
INVENTORY = "/tmf-api/resourceInventoryManagement/v4"


class TelemetryRequest(BaseModel):
    """A measured traffic level: every demand at ``scale`` x its modelled rate."""

    scale: float = Field(ge=0.0, le=1e6)


class AlarmPatch(BaseModel):
    ackState: Literal["acknowledged", "unacknowledged"] | None = None  # noqa: N815 - TMF642
    state: Literal["cleared"] | None = None


def add_live_routes(app: FastAPI, twin: Twin) -> None:
    @app.post("/api/v1/networks/{nid}/telemetry", **role_route(Role.OPERATOR))
    def telemetry(_: Operator, nid: NetworkId, body: TelemetryRequest) -> dict[str, Any]:
        _network, compiled = twin.get(nid)
        state = twin.live.tick(nid, compiled, body.scale)
        return {k: v for k, v in state.items() if k != "arcs"}

    serialised = SerialisedStates()  # one JSON encoding per tick, for every reader

    @app.get("/api/v1/networks/{nid}/state", **role_route(Role.VIEWER))
    async def live_state(_: Viewer, nid: NetworkId, request: Request) -> Response:
        """The latest tick, served from its cached encoding on the event loop (gzipped
        when the client accepts it)."""
        if nid not in twin.networks:
            raise HTTPException(404, detail=f"no network {nid!r}")
        state = twin.live.latest.get(nid)
        if state is None:
            raise HTTPException(404, detail="no live state yet: POST telemetry first")
        gz = accepts_gzip(request.headers.get("accept-encoding"))
        return Response(serialised.get(nid, state, gz), media_type="application/json",
                        headers={"Vary": "Accept-Encoding"}
                        | ({"Content-Encoding": "gzip"} if gz else {}))

    @app.get("/api/v1/networks/{nid}/stream", **role_route(Role.VIEWER))
    async def stream(_: Viewer, nid: NetworkId, request: Request,
                     max_events: int | None = Query(default=None, ge=1, le=100_000)
                     ) -> StreamingResponse:
        """Server-Sent Events: ``state`` (utilisation) and ``alarm`` events as they happen."""
        twin.get(nid)
        queue = twin.live.subscribe()

        async def events() -> AsyncIterator[str | bytes]:
            sent = 0
            try:
                yield ": connected\n\n"
                while max_events is None or sent < max_events:
                    if await request.is_disconnected():
                        break
                    try:
                        event, data = await asyncio.wait_for(queue.get(), timeout=15.0)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    if data.get("network_id", nid) != nid and event == "state":
                        continue
                    # a state is encoded once per tick for every subscriber (orjson)
                    raw = (serialised.get(nid, data) if event == "state"
                           else json_bytes(data))
                    yield b"event: " + event.encode() + b"\ndata: " + raw + b"\n\n"
                    sent += 1
            finally:
                twin.live.unsubscribe(queue)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    @app.get(f"{ALARMS}/alarm", tags=["TMF642"], **role_route(Role.VIEWER))
    def list_alarms(_: Viewer, perceivedSeverity: str | None = None,
                    state: str | None = None, ackState: str | None = None,
                    offset: int = Query(default=0, ge=0),
                    limit: int = Query(default=100, ge=1, le=10_000)) -> list[dict[str, Any]]:
        rows = [a.document(ALARMS) for a in twin.live.alarms.values()
                if (perceivedSeverity is None or a.severity == perceivedSeverity)
                and (state is None or a.state == state)
                and (ackState is None or a.ack_state == ackState)]
        return rows[offset:offset + limit]

    def _alarm(alarm_id: str) -> Any:
        alarm = twin.live.alarms.get(alarm_id)
        if alarm is None:
            raise HTTPException(404, detail=f"no alarm {alarm_id!r}")
        return alarm

    @app.get(f"{ALARMS}/alarm/{{alarm_id}}", tags=["TMF642"], **role_route(Role.VIEWER))
    def get_alarm(_: Viewer, alarm_id: str) -> dict[str, Any]:
        return dict(_alarm(alarm_id).document(ALARMS))

    @app.patch(f"{ALARMS}/alarm/{{alarm_id}}", tags=["TMF642"], **role_route(Role.OPERATOR))
    def patch_alarm(who: Operator, alarm_id: str, body: AlarmPatch) -> dict[str, Any]:
        from nettwin.api.live import _now

        alarm = _alarm(alarm_id)
        if body.ackState is not None:
            alarm.ack_state = body.ackState
            alarm.ack_user = who.name if body.ackState == "acknowledged" else None
        if body.state == "cleared" and alarm.state != "cleared":
            alarm.state, alarm.severity = "cleared", "cleared"
            alarm.cleared = _now()
            twin.live.forget(alarm)
        alarm.changed = _now()
        return dict(alarm.document(ALARMS))

    @app.get(f"{INVENTORY}/resource", tags=["TMF639"], **role_route(Role.VIEWER))
    def list_resources(_: Viewer, networkId: str = "example",
                       offset: int = Query(default=0, ge=0),
                       limit: int = Query(default=100, ge=1, le=10_000)
                       ) -> list[dict[str, Any]]:
        network, _c = twin.get(networkId)
        rows = [_node_resource(networkId, n) for n in network.nodes.values()]
        rows += [_link_resource(networkId, lk) for lk in network.links.values()]
        return rows[offset:offset + limit]

    @app.get(f"{INVENTORY}/resource/{{resource_id}}", tags=["TMF639"], **role_route(Role.VIEWER))
    def get_resource(_: Viewer, resource_id: str) -> dict[str, Any]:
        nid, _sep, rest = resource_id.partition(":")
        kind, _sep, element = rest.partition(":")
        network, _c = twin.get(nid)
        if kind == "node" and element in network.nodes:
            return _node_resource(nid, network.nodes[element])
        if kind == "link" and element in network.links:
            return _link_resource(nid, network.links[element])
        raise HTTPException(404, detail=f"no resource {resource_id!r}")


def _characteristics(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in values.items() if v is not None]


def _node_resource(nid: str, node: Any) -> dict[str, Any]:
    rid = f"{nid}:node:{node.id}"
    doc = {"id": rid, "href": f"{INVENTORY}/resource/{rid}", "@type": "PhysicalResource",
           "name": node.name or node.id, "resourceStatus": "available",
           "resourceCharacteristic": _characteristics({"kind": node.kind.value})}
    if node.has_coordinates:
        doc["place"] = [{"@type": "GeographicLocation", "geometryType": "point",
                         "geometry": [{"x": node.longitude, "y": node.latitude}]}]
    return doc


def _link_resource(nid: str, link: Any) -> dict[str, Any]:
    rid = f"{nid}:link:{link.id}"
    return {
        "id": rid, "href": f"{INVENTORY}/resource/{rid}", "@type": "LogicalResource",
        "name": link.id, "resourceStatus": "available" if link.is_up else "unavailable",
        "operationalState": "enable" if link.oper_up else "disable",
        "administrativeState": "unlocked" if link.admin_up else "locked",
        "resourceCharacteristic": _characteristics({
            "kind": link.kind.value, "capacityAbBps": link.capacity_ab_bps,
            "capacityBaBps": link.capacity_ba_bps, "metricAb": link.metric_ab,
            "metricBa": link.metric_ba, "lengthKm": link.length_km,
            "srlgs": list(link.srlgs) or None}),
        "resourceRelationship": [
            {"relationshipType": "endpoint", "resource": {"id": f"{nid}:node:{end}"}}
            for end in (link.a, link.b)],
    }
