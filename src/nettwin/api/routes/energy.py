"""Energy saving as a job: which links sleep in each interval of a day (``nettwin.optimize.
energy``), with progress and cancel like the other optimisation jobs; the result's
``whatif`` puts the busiest sleep set to sleep on the twin (``GET .../jobs/{id}/result``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from nettwin.api.auth import Role
from nettwin.api.deps import NetworkId, Planner, role_route
from nettwin.api.schemas import EnergySchedule, JobStatus
from nettwin.api.service import TwinDep
from nettwin.report import json_safe

router = APIRouter(prefix="/api/v1", tags=["optimise"])

MAX_INTERVALS = 2016  # a week of 5-minute matrices
MAX_ENTRIES = 2_000_000  # matrix entries over the whole series
STEPS = 1000


class MatrixEntry(BaseModel):
    src: str
    dst: str
    rate_bps: float = Field(ge=0)


class EnergyRequest(BaseModel):
    interval_s: float = Field(default=3600.0, ge=60.0, le=86_400, description=(
        "Seconds per interval (1 minute to 1 day)"))
    profile: list[float] | None = Field(default=None, min_length=2, max_length=MAX_INTERVALS,
                                        description=(
        "Multipliers of the network's own matrix, one per interval (e.g. 24 hourly "
        "levels); with neither profile nor matrices: a synthetic diurnal day, said so"))
    matrices: list[list[MatrixEntry]] | None = Field(
        default=None, min_length=2, max_length=MAX_INTERVALS,
        description="Measured matrices, one list of {src, dst, rate_bps} per interval")
    max_utilisation: float = Field(default=0.8, gt=0, le=10)
    survive: Literal["none", "n-1"] = "none"
    sla: bool = False
    wake_time_s: float = Field(default=60.0, ge=0, le=86_400)
    min_dwell: int = Field(default=3, ge=1, le=MAX_INTERVALS)
    sleep_fraction: float = Field(default=0.0, ge=0, lt=1)


def _series(body: EnergyRequest, network: Any, compiled: Any) -> tuple[Any, np.ndarray, str]:
    """The network (with one demand per pair the matrices name) and the rates per interval;
    unknown nodes answer 422 naming them."""
    from nettwin.engine import compile_network
    from nettwin.gym.traffic import diurnal_series, series_from_matrices
    from nettwin.model import build_demands_from_columns

    if body.matrices is not None:
        if sum(len(m) for m in body.matrices) > MAX_ENTRIES:
            raise HTTPException(413, detail=f"more than {MAX_ENTRIES} matrix entries")
        index = network.node_index
        unknown = sorted({n for m in body.matrices for e in m for n in (e.src, e.dst)
                          if n not in index})
        if unknown:
            raise HTTPException(422, detail=f"matrices name node(s) the network lacks: "
                                            f"{unknown[:5]}; fix: use the network's node ids")
        pairs = list(dict.fromkeys((e.src, e.dst) for m in body.matrices for e in m
                                   if e.src != e.dst))
        table, problems = build_demands_from_columns(
            [s for s, _ in pairs], [d for _, d in pairs], [0.0] * len(pairs), index)
        if problems:
            raise HTTPException(422, detail="; ".join(str(p) for p in problems[:5]))
        # new demands drop the services: keep those whose demands ('SRC->DST') are given
        ids = set(network.with_demands(table).demand_ids)
        network = network.with_demands(table, services={
            sid: sv for sid, sv in network.services.items() if set(sv.demands) <= ids})
        compiled = compile_network(network)
        series = series_from_matrices(
            compiled, [np.array([index[e.src] for e in m if e.src != e.dst], np.int64)
                       for m in body.matrices],
            [np.array([index[e.dst] for e in m if e.src != e.dst], np.int64)
             for m in body.matrices],
            [np.array([e.rate_bps for e in m if e.src != e.dst]) for m in body.matrices],
            interval_s=body.interval_s)
        return network, series.rate_bps, f"{len(body.matrices)} matrices given"
    if not len(compiled.demand_rate_bps):
        raise HTTPException(422, detail="the network has no traffic: give 'matrices'")
    if body.profile is not None:
        levels = np.asarray(body.profile, np.float64)
        if not np.isfinite(levels).all() or (levels < 0).any():
            raise HTTPException(422, detail="profile: multipliers must be finite and >= 0")
        return network, levels[:, None] * compiled.demand_rate_bps[None, :], \
            f"the network's matrix x {len(levels)} profile levels"
    per_day = max(2, round(86_400 / body.interval_s))
    day = diurnal_series(compiled, days=1, interval_s=86_400 / per_day, noise=0.0)
    return network, day.rate_bps, "synthetic diurnal day over the network's matrix"


def sleep_whatif(doc: dict[str, Any]) -> dict[str, Any]:
    """The interval with the most links asleep, as a what-if (sleeping = link down)."""
    rows = doc["intervals"]
    t = max(range(len(rows)), key=lambda i: len(rows[i]["asleep"]))
    return {"name": f"links asleep at {rows[t]['label']} (energy schedule)",
            "changes": [{"fail_link": lid} for lid in rows[t]["asleep"]]}


@router.post("/networks/{nid}/optimize/energy", status_code=202, **role_route(Role.PLANNER))
def optimise_energy(who: Planner, twin: TwinDep, nid: NetworkId, body: EnergyRequest
                    ) -> JobStatus:
    """Which links (radio carriers, modulation caps) sleep in each interval of a day,
    keeping the utilisation limit, SLAs and optionally n-1, replayed through the engine (a
    job: poll it, then GET its result: ``document`` is the schedule, ``whatif`` the
    deepest sleep)."""
    from nettwin.optimize.energy import optimize_energy

    network, compiled = twin.get(nid)
    network, rates, source = _series(body, network, compiled)

    def work(report: Callable[[int, int], None]) -> dict[str, Any]:
        labels = [f"{(t * body.interval_s) / 3600:05.2f} h" for t in range(rates.shape[0])]
        result = optimize_energy(
            network, rates, interval_s=body.interval_s, labels=labels,
            max_utilisation=body.max_utilisation, survive=body.survive, sla=body.sla,
            wake_time_s=body.wake_time_s, min_dwell=body.min_dwell,
            sleep_fraction=body.sleep_fraction,
            progress=lambda f: report(min(STEPS, int(f * STEPS)), STEPS))
        doc = json_safe(result.to_document() | {"traffic_series": source})
        doc = EnergySchedule.model_validate(doc).model_dump()
        return {"document": doc, "whatif": sleep_whatif(doc)}

    job = twin.jobs.submit("optimize-energy", nid, who.name, work)
    return JobStatus.model_validate(job.status(twin.settings.job_ttl_s))
