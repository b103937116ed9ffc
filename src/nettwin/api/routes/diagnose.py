"""Root cause over the API: which single fault, replayed by the engine, best explains a
window of observations (posted with the request, or the live twin's own history)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from nettwin.api.auth import Role
from nettwin.api.deps import NetworkId, Planner, role_route
from nettwin.api.routes.live import live_twin
from nettwin.api.service import TwinDep
from nettwin.report import json_safe

router = APIRouter(prefix="/api/v1/networks/{nid}", tags=["diagnose"])


class DiagnoseRequest(BaseModel):
    observations: list[dict[str, Any]] | None = Field(
        default=None, max_length=500_000, description=(
            "Observation records (counters, radio readings, events; the live format). "
            "Without them the live twin's history from 'since' is read."))
    since: float | None = Field(default=None, ge=0, le=1e11,
                                description="Window start (epoch seconds)")
    until: float | None = Field(default=None, ge=0, le=1e11,
                                description="Window end (epoch seconds; default: all)")
    top: int = Field(default=5, ge=1, le=50, description="Causes returned")


class CauseDoc(BaseModel):
    kind: str = Field(description="link_down, node_down, srlg_down, capacity_degraded, "
                                  "metric_changed, traffic_surge, rain_fade, misalignment, "
                                  "none")
    element: str
    score: float
    confidence: float
    equivalent: list[str] = Field(description="Elements whose replay explains it equally")
    explains: list[Any]
    unexplained: list[Any]
    chain: list[str]
    params: dict[str, Any]


class DiagnosisDoc(BaseModel):
    onset: float | None
    candidates: int
    elapsed_s: float
    dead_letters: int = Field(description="Observations refused (unknown ports, malformed)")
    causes: list[CauseDoc]


@router.post("/diagnose", **role_route(Role.PLANNER))
def diagnose(_: Planner, twin: TwinDep, nid: NetworkId, body: DiagnoseRequest
             ) -> DiagnosisDoc:
    """Ranked causes with the symptoms each explains and does not, and the fault chain."""
    from nettwin.diagnose import Diagnoser, history_window, observe

    network, _c = twin.get(nid)
    if body.observations is not None:
        obs = observe(network, body.observations, body.since, body.until)
    else:
        if body.since is None:
            raise HTTPException(422, detail="give 'observations', or 'since' to read the "
                                            "live twin's history")
        lt = live_twin(twin, nid)
        obs = history_window(network, twin.settings.history_url, body.since, body.until,
                             name=lt.name)
    result = Diagnoser(network).diagnose(obs, top=body.top)
    return DiagnosisDoc.model_validate(json_safe(result.to_json()
                                                 | {"dead_letters": obs.dead_letters}))
