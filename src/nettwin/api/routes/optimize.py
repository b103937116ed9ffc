"""Traffic engineering as jobs: IGP metrics and SR waypoints from ``nettwin.optimize``, with
progress and cancel like sweeps; the result carries the what-if body that applies it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from nettwin.api.auth import Role
from nettwin.api.deps import NetworkId, Planner, Viewer, role_route
from nettwin.api.jobs import JobState
from nettwin.api.routes.jobs import _job
from nettwin.api.schemas import JobStatus
from nettwin.api.service import TwinDep
from nettwin.report import json_safe

router = APIRouter(prefix="/api/v1", tags=["optimise"])

STEPS = 1000  # progress granularity reported to the job


class WeightsRequest(BaseModel):
    objective: Literal["mlu", "delay", "sla"] = "mlu"
    survive: Literal["none", "n-1"] = "none"
    max_changes: int | None = Field(default=None, ge=0, le=10_000, description=(
        "Change the metrics of at most this many links (listed in the order to apply them)"))
    max_metric: int = Field(default=65_535, ge=1, le=65_535, description="OSPF's range")
    symmetric: bool = False
    time_limit_s: float = Field(default=30.0, ge=1.0, le=3600.0)
    seed: int = Field(default=0, ge=0, le=2**31)


class PathsRequest(BaseModel):
    segments: Literal[2, 3] = 2
    optimize_metrics: bool = Field(default=True, description=(
        "Optimise the metrics first (half the time), then the waypoints on top"))
    max_metric: int = Field(default=65_535, ge=1, le=65_535)
    symmetric: bool = False
    time_limit_s: float = Field(default=30.0, ge=1.0, le=3600.0)
    seed: int = Field(default=0, ge=0, le=2**31)


def whatif_changes(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The metric steps as scenario changes, in the order to apply them (direction ab is the
    link's a-to-b arc)."""
    changes: list[dict[str, Any]] = []
    for s in steps:
        if s["metric_ab"] == s["metric_ba"]:
            changes.append({"set_metric": {"link": s["link"], "metric": s["metric_ab"]}})
        else:
            changes += [{"set_metric": {"link": s["link"], "metric": s["metric_ab"],
                                        "direction": "ab"}},
                        {"set_metric": {"link": s["link"], "metric": s["metric_ba"],
                                        "direction": "ba"}}]
    return changes


def _progress(report: Callable[[int, int], None]) -> Callable[[float, float], None]:
    """The optimiser's (fraction used, best) as the job's (done, total); a cancelled job
    stops the search at its next report."""
    return lambda fraction, _best: report(min(STEPS, int(fraction * STEPS)), STEPS)


@router.post("/networks/{nid}/optimize/weights", status_code=202,
             **role_route(Role.PLANNER))
def optimise_weights(who: Planner, twin: TwinDep, nid: NetworkId, body: WeightsRequest
                     ) -> JobStatus:
    """Integer IGP metrics minimising the objective, beside the multicommodity-flow bound
    (a job: poll it, then GET its result; ``whatif`` in the result applies it)."""
    from nettwin.optimize import Objective, Survive, optimize_weights

    network, compiled = twin.get(nid)
    if not len(compiled.demand_rate_bps):
        raise HTTPException(422, detail=f"network {nid!r} has no traffic to optimise for")

    def work(report: Callable[[int, int], None]) -> dict[str, Any]:
        result = optimize_weights(
            network, objective=Objective(body.objective), survive=Survive(body.survive),
            max_changes=body.max_changes, max_metric=body.max_metric,
            symmetric=body.symmetric, time_limit_s=body.time_limit_s, seed=body.seed,
            progress=_progress(report), compiled=compiled)
        doc = json_safe(result.to_document())
        return {"document": doc, "whatif": {"name": f"optimised metrics (seed {body.seed})",
                                            "changes": whatif_changes(doc["steps"])}}

    job = twin.jobs.submit("optimize-weights", nid, who.name, work)
    return JobStatus.model_validate(job.status(twin.settings.job_ttl_s))


@router.post("/networks/{nid}/optimize/paths", status_code=202, **role_route(Role.PLANNER))
def optimise_paths(who: Planner, twin: TwinDep, nid: NetworkId, body: PathsRequest
                   ) -> JobStatus:
    """Segment-routing waypoints (and optionally metrics first): the result's ``paths`` is
    the explicit-paths document ``POST .../qos`` takes, ``whatif`` applies the metrics."""
    from nettwin.optimize import optimize_paths

    network, compiled = twin.get(nid)
    if not len(compiled.demand_rate_bps):
        raise HTTPException(422, detail=f"network {nid!r} has no traffic to optimise for")

    def work(report: Callable[[int, int], None]) -> dict[str, Any]:
        result = optimize_paths(
            network, segments=body.segments, optimize_metrics=body.optimize_metrics,
            max_metric=body.max_metric, symmetric=body.symmetric,
            time_limit_s=body.time_limit_s, seed=body.seed, progress=_progress(report),
            compiled=compiled)
        doc = json_safe(result.to_document())
        return {"document": doc, "paths": result.paths_document(),
                "whatif": {"name": f"optimised metrics under the waypoints (seed {body.seed})",
                           "changes": whatif_changes(doc["steps"])}}

    job = twin.jobs.submit("optimize-paths", nid, who.name, work)
    return JobStatus.model_validate(job.status(twin.settings.job_ttl_s))


class OptimisationResult(BaseModel):
    document: dict[str, Any] = Field(description=(
        "mlu, mlu_before, mlu_lower_bound, ratio, weights, changed_links, steps, seconds, "
        "evaluations (and worst_failure, worst_mlu with n-1; paths with waypoints)"))
    whatif: dict[str, Any] = Field(description="The body of POST .../whatif that applies it")
    paths: dict[str, Any] | None = Field(default=None, description=(
        "Explicit paths (the document POST .../qos and 'qos-simulate --paths' take)"))


@router.get("/jobs/{job_id}/result", **role_route(Role.VIEWER))
def optimisation_result(_: Viewer, twin: TwinDep, job_id: str) -> OptimisationResult:
    """The whole result of an optimisation job: ``document`` (mlu, mlu_before,
    mlu_lower_bound, ratio, weights, changed_links, steps, ...), ``whatif`` (the body of
    ``POST .../whatif`` that applies it) and, for paths, ``paths``."""
    job = _job(twin, job_id)
    if not job.kind.startswith("optimize"):
        raise HTTPException(409, detail=f"job {job_id!r} is a {job.kind}: page its tables "
                                        "with GET .../results")
    if job.state is not JobState.DONE or job.result is None:
        raise HTTPException(409, detail=f"job is {job.state.value}, no result yet")
    return OptimisationResult.model_validate(job.result)
