"""Capacity planning as a job: the cheapest modules (and new links) keeping every link under
the threshold normally and under every failure (``nettwin.optimize.capacity``); the result
carries the plan and the what-if body that applies it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from nettwin.api.auth import Role
from nettwin.api.deps import NetworkId, Planner, Viewer, role_route
from nettwin.api.jobs import JobState
from nettwin.api.routes.jobs import _job
from nettwin.api.schemas import CapacityPlanResult, JobStatus
from nettwin.api.service import TwinDep
from nettwin.errors import NettwinError
from nettwin.report import json_safe

router = APIRouter(prefix="/api/v1", tags=["optimise"])

STEPS = 1000
KIND = "optimize-capacity"


class CapacityRequest(BaseModel):
    modules: dict[str, Any] | None = Field(default=None, description=(
        "The module catalogue, as modules.yaml: {default: {modules: [{capacity_bps, cost, "
        "cost_per_km?, name?}], max_modules?}, links: {LINK: {...}}}. Default: the modules "
        "and costs of the uploaded SNDlib file"))
    candidates: list[dict[str, Any]] = Field(default_factory=list, max_length=64, description=(
        "Links that may be built: [{id, a, b, metric, setup_cost?, length_km?, modules?, "
        "max_modules?}] (they change routing)"))
    threshold: float = Field(default=0.8, gt=0.0, le=1.0)
    survive: Literal["none", "n-1", "srlg"] = "n-1"
    growth: float = Field(default=1.0, gt=0.0, le=100.0)
    years: int = Field(default=1, ge=1, le=30)
    discount_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    time_limit_s: float = Field(default=60.0, ge=1.0, le=3600.0)


@router.post("/networks/{nid}/optimize/capacity", status_code=202,
             **role_route(Role.PLANNER))
def optimise_capacity(who: Planner, twin: TwinDep, nid: NetworkId, body: CapacityRequest
                      ) -> JobStatus:
    """The cheapest capacity modules and new links such that no link exceeds the threshold
    normally and under every failure, year by year (a job: poll it, then GET
    ``/jobs/{id}/capacity-plan``; ``whatif`` applies the plan)."""
    from nettwin.io.capacity_files import parse_candidates, parse_module_catalogue
    from nettwin.optimize.capacity import (
        InfeasiblePlanError,
        Resilience,
        plan_capacity,
        plan_changes,
    )

    network, _ = twin.get(nid)
    if not len(network.demands):
        raise HTTPException(422, detail=f"network {nid!r} has no traffic to plan for")
    modules = body.modules if body.modules is not None else twin.modules.get(nid)
    if modules is None:
        raise HTTPException(422, detail=f"network {nid!r} was not uploaded with capacity "
                                        "modules (an SNDlib file's): give 'modules', as "
                                        "modules.yaml: {default: {modules: [{capacity_bps, "
                                        "cost}]}}")
    try:
        catalogue = parse_module_catalogue(modules, network, "modules")
        candidates, catalogue = parse_candidates(body.candidates, network, catalogue,
                                                 "candidates")
    except NettwinError as exc:
        raise HTTPException(422, detail=str(exc)) from None

    def work(report: Callable[[int, int], None]) -> dict[str, Any]:
        def progress(fraction: float, _message: str) -> None:
            report(min(STEPS, int(fraction * STEPS)), STEPS)

        try:
            plan = plan_capacity(network, catalogue, threshold=body.threshold,
                                 resilience=Resilience(body.survive), candidates=candidates,
                                 growth=body.growth, years=body.years,
                                 discount_rate=body.discount_rate,
                                 time_limit_s=body.time_limit_s, progress=progress)
        except InfeasiblePlanError as exc:
            return {"document": {"feasible": False, "explanation": str(exc),
                                 "binding": json_safe(exc.binding)},
                    "whatif": {"name": "no capacity plan", "changes": []}}
        doc = json_safe(plan.to_document()) | {"feasible": True}
        return {"document": doc,
                "whatif": {"name": f"capacity plan (cost {plan.cost:,.0f})",
                           "changes": plan_changes(network, plan)}}

    job = twin.jobs.submit(KIND, nid, who.name, work)
    return JobStatus.model_validate(job.status(twin.settings.job_ttl_s))


@router.get("/jobs/{job_id}/capacity-plan", **role_route(Role.VIEWER))
def capacity_plan(_: Viewer, twin: TwinDep, job_id: str) -> CapacityPlanResult:
    """A capacity-planning job's plan: cost beside the LP and best bounds, the upgrades and
    new links, the final sweep's worst cases (or, if no plan exists, why)."""
    job = _job(twin, job_id)
    if job.kind != KIND:
        raise HTTPException(409, detail=f"job {job_id!r} is a {job.kind}, not a capacity plan")
    if job.state is not JobState.DONE or job.result is None:
        raise HTTPException(409, detail=f"job is {job.state.value}, no result yet")
    return CapacityPlanResult.model_validate(job.result["document"] |
                                             {"whatif": job.result["whatif"]})
