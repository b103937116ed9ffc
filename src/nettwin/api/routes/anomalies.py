"""Anomalies over the API: a window of observations judged against the twin's prediction,
on normal bands learned from observations of normal operation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from nettwin.api.auth import Role
from nettwin.api.deps import NetworkId, Planner, role_route
from nettwin.api.service import TwinDep
from nettwin.report import json_safe

router = APIRouter(prefix="/api/v1/networks/{nid}", tags=["anomalies"])


class AnomaliesRequest(BaseModel):
    observations: list[dict[str, Any]] = Field(
        max_length=500_000, description="Observation records to watch (the live format)")
    training: list[dict[str, Any]] | None = Field(
        default=None, max_length=500_000, description=(
            "Observations of normal operation to learn the bands from (default: the "
            "leading 'learn' fraction of the window)"))
    learn: float = Field(default=0.3, ge=0.05, le=0.9)
    threshold: float = Field(default=5.0, ge=1.0, le=100.0,
                             description="Band spreads a residual must leave the band by")
    persist: int = Field(default=2, ge=1, le=100,
                         description="Consecutive samples it must stay out")


class AlarmDoc(BaseModel):
    cls: str = Field(alias="class", description="traffic, topology or physics")
    element: str = Field(description="Link, node or radio link id")
    start: float = Field(description="First sample out of the band (epoch s)")
    raised: float = Field(description="When it had persisted long enough to raise")
    end: float
    score: float = Field(description="Largest excursion, in band spreads")
    evidence: list[str]


class AnomaliesDoc(BaseModel):
    alarms: list[AlarmDoc]
    learned_samples: int
    dead_letters: int


@router.post("/anomalies", **role_route(Role.PLANNER), response_model_by_alias=True)
def anomalies(_: Planner, twin: TwinDep, nid: NetworkId, body: AnomaliesRequest
              ) -> AnomaliesDoc:
    """Alarms (traffic, topology, physics) with their evidence, earliest first."""
    from nettwin.diagnose import observe
    from nettwin.diagnose.anomaly import AnomalyDetector, AnomalyError

    network, compiled = twin.get(nid)
    obs = observe(network, body.observations)
    if body.training is not None:
        history = [observe(network, body.training)]
    else:
        cut = float(obs.times[0] + body.learn * (obs.times[-1] - obs.times[0]))
        history = [observe(network, body.observations, None, cut)]
        obs = observe(network, body.observations, cut, None)
    detector = AnomalyDetector(network, compiled, body.threshold, body.persist)
    try:
        bands = detector.fit(history)
    except AnomalyError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    alarms = detector.detect(obs)
    return AnomaliesDoc.model_validate(json_safe(
        {"alarms": [a.to_json() for a in alarms], "learned_samples": bands.samples,
         "dead_letters": obs.dead_letters}))
