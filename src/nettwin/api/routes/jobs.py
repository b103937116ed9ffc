"""Long work as jobs: failure sweeps submitted, polled, paged, cancelled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from nettwin.api.auth import Role
from nettwin.api.basis import BasisKind, resolve_basis
from nettwin.api.deps import NetworkId, Planner, Viewer, role_route
from nettwin.api.jobs import (
    Job,
    JobState,
    check_may_cancel,
    check_sweep_size,
    count_sweep_cases,
)
from nettwin.api.schemas import JobStatus, Page
from nettwin.api.service import Twin, TwinDep
from nettwin.api.whatif import failure_state
from nettwin.scenarios import run_sweep

router = APIRouter(prefix="/api/v1", tags=["jobs"])


class SweepRequest(BaseModel):
    links: bool = True
    nodes: bool = False
    srlgs: bool = False
    link_pairs: bool = False
    max_pairs: int = Field(default=20_000, ge=1, le=1_000_000)
    basis: BasisKind = Field(
        default="auto", description="Sweep the live state (measured traffic and link states "
        "of the live twin), the plan, or auto: live when the live twin has measured traffic.")


def _job(twin: Twin, job_id: str) -> Job:
    job = twin.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, detail=f"no job {job_id!r}")
    return job


@router.post("/networks/{nid}/sweeps", status_code=202, **role_route(Role.PLANNER))
def submit_sweep(who: Planner, twin: TwinDep, nid: NetworkId, body: SweepRequest
                 ) -> JobStatus:
    """Fail every link (and node, SRLG, link pair) in turn, as a job, on the live state or
    the plan (the answer and the results say which)."""
    network, compiled = twin.get(nid)
    check_sweep_size(who, count_sweep_cases(
        network, links=body.links, nodes=body.nodes, srlgs=body.srlgs,
        link_pairs=body.link_pairs, max_pairs=body.max_pairs), compiled.n_arcs, twin.settings)
    b = resolve_basis(twin, nid, body.basis)
    basis = b.document()

    def work(progress: Callable[[int, int], None]) -> dict[str, Any]:
        result = run_sweep(b.network, links=body.links, nodes=body.nodes, srlgs=body.srlgs,
                           link_pairs=body.link_pairs, max_pairs=body.max_pairs,
                           compiled=b.compiled, progress=progress,
                           baseline=failure_state(b).incremental)  # kept with the basis
        return {"failures": result.failure_rows(), "worst_case": result.worst_case_rows(),
                "basis": basis}

    job = twin.jobs.submit("sweep", nid, who.name, work)
    return JobStatus.model_validate(job.status(twin.settings.job_ttl_s) | {"basis": basis})


@router.get("/jobs/{job_id}", **role_route(Role.VIEWER))
def job_status(_: Viewer, twin: TwinDep, job_id: str) -> JobStatus:
    return JobStatus.model_validate(_job(twin, job_id).status(twin.settings.job_ttl_s))


@router.get("/jobs/{job_id}/results", **role_route(Role.VIEWER))
def job_results(_: Viewer, twin: TwinDep, job_id: str,
                table: Annotated[str, Query(pattern="^(failures|worst_case)$")] = "failures",
                offset: Annotated[int, Query(ge=0)] = 0,
                limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Page:
    job = _job(twin, job_id)
    if job.state is not JobState.DONE or job.result is None:
        raise HTTPException(409, detail=f"job is {job.state.value}, no results yet")
    rows = job.result[table]
    return Page(total=len(rows), offset=offset, items=rows[offset:offset + limit],
                basis=job.result.get("basis"))


@router.delete("/jobs/{job_id}", status_code=202, **role_route(Role.PLANNER))
def cancel_job(who: Planner, twin: TwinDep, job_id: str) -> JobStatus:
    """Cancel a job (its owner or an admin): at once when queued, within about 0.2 s of
    sweep work when running."""
    job = check_may_cancel(who, _job(twin, job_id))
    return JobStatus.model_validate(twin.jobs.cancel(job).status(twin.settings.job_ttl_s))
