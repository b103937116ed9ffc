"""TM Forum-shaped APIs: alarms (TMF642, from the live twins' alarm book) and the resource
inventory (TMF639)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from nettwin.api.auth import Role
from nettwin.api.deps import Operator, Viewer, role_route
from nettwin.api.live import ALARMS, alarm_document
from nettwin.api.schemas import TmfAlarm, TmfResource
from nettwin.api.service import Twin, TwinDep
from nettwin.live.alarms import Alarm

INVENTORY = "/tmf-api/resourceInventoryManagement/v4"

router = APIRouter()


class AlarmPatch(BaseModel):
    ackState: Literal["acknowledged", "unacknowledged"] | None = None  # noqa: N815 - TMF642
    state: Literal["cleared"] | None = None


def _alarm(twin: Twin, alarm_id: str) -> Alarm:
    alarm = twin.live.book.get(alarm_id)
    if alarm is None:
        raise HTTPException(404, detail=f"no alarm {alarm_id!r}")
    return alarm


@router.get(f"{ALARMS}/alarm", tags=["TMF642"], response_model_exclude_unset=True,
            **role_route(Role.VIEWER))
def list_alarms(_: Viewer, twin: TwinDep, perceivedSeverity: str | None = None,
                state: str | None = None, ackState: str | None = None,
                offset: int = Query(default=0, ge=0),
                limit: int = Query(default=100, ge=1, le=10_000)) -> list[TmfAlarm]:
    rows = [alarm_document(a) for a in list(twin.live.book.alarms.values())
            if (perceivedSeverity is None or a.severity == perceivedSeverity)
            and (state is None or a.state == state)
            and (ackState is None or a.ack_state == ackState)]
    return [TmfAlarm.model_validate(r) for r in rows[offset:offset + limit]]


@router.get(f"{ALARMS}/alarm/{{alarm_id}}", tags=["TMF642"],
            response_model_exclude_unset=True, **role_route(Role.VIEWER))
def get_alarm(_: Viewer, twin: TwinDep, alarm_id: str) -> TmfAlarm:
    return TmfAlarm.model_validate(alarm_document(_alarm(twin, alarm_id)))


@router.patch(f"{ALARMS}/alarm/{{alarm_id}}", tags=["TMF642"],
              response_model_exclude_unset=True, **role_route(Role.OPERATOR))
def patch_alarm(who: Operator, twin: TwinDep, alarm_id: str, body: AlarmPatch) -> TmfAlarm:
    """Acknowledge (or take back), or clear by hand (a persisting condition raises anew)."""
    alarm = _alarm(twin, alarm_id)
    if body.ackState is not None:
        twin.live.book.acknowledge(
            alarm.id, who.name if body.ackState == "acknowledged" else None)
    if body.state == "cleared":
        twin.live.book.clear(alarm.id)
    return TmfAlarm.model_validate(alarm_document(alarm))


@router.get(f"{INVENTORY}/resource", tags=["TMF639"], response_model_exclude_unset=True,
            **role_route(Role.VIEWER))
def list_resources(_: Viewer, twin: TwinDep, networkId: str = "example",
                   offset: int = Query(default=0, ge=0),
                   limit: int = Query(default=100, ge=1, le=10_000)) -> list[TmfResource]:
    network, _c = twin.get(networkId)
    rows = [_node_resource(networkId, n) for n in network.nodes.values()]
    rows += [_link_resource(networkId, lk) for lk in network.links.values()]
    return [TmfResource.model_validate(r) for r in rows[offset:offset + limit]]


@router.get(f"{INVENTORY}/resource/{{resource_id}}", tags=["TMF639"],
            response_model_exclude_unset=True, **role_route(Role.VIEWER))
def get_resource(_: Viewer, twin: TwinDep, resource_id: str) -> TmfResource:
    nid, _sep, rest = resource_id.partition(":")
    kind, _sep, element = rest.partition(":")
    network, _c = twin.get(nid)
    if kind == "node" and element in network.nodes:
        return TmfResource.model_validate(_node_resource(nid, network.nodes[element]))
    if kind == "link" and element in network.links:
        return TmfResource.model_validate(_link_resource(nid, network.links[element]))
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
