"""Networks: list, upload (any format), validate, get, export, delete; simulate and what-if."""

from __future__ import annotations

import asyncio
import tempfile
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from nettwin.api.auth import Role
from nettwin.api.basis import BasisKind, kept_basis, resolve_basis
from nettwin.api.deps import Admin, NetworkId, Planner, Viewer, role_route
from nettwin.api.payloads import json_response, page_of
from nettwin.api.schemas import (
    NetworkInfo,
    NetworkListItem,
    SimulationDoc,
    ValidationReport,
    WhatIfDoc,
)
from nettwin.api.service import Twin, TwinDep
from nettwin.api.turns import failure_threads
from nettwin.api.uploads import Upload, load_upload
from nettwin.api.whatif import answer_elsewhere, answer_once, only_failures, whatif_answer
from nettwin.engine import CompiledNetwork, QueueModel, SimulationOptions, SimulationResult
from nettwin.engine import simulate as run_simulation
from nettwin.engine.options import ArrivalModel
from nettwin.io import NetworkFormat, save_network
from nettwin.model import Network
from nettwin.report import arc_records, service_records
from nettwin.scenarios import Scenario, parse_scenario

router = APIRouter(prefix="/api/v1", tags=["networks"])

FormatQuery = Annotated[NetworkFormat | None, Query(alias="format")]


class SimulateRequest(BaseModel):
    queue_model: QueueModel = QueueModel.MM1
    arrival_model: ArrivalModel = Field(
        default=ArrivalModel.BURSTY, description="bursty: links carrying demands with an "
        "arrival process (onoff, mmpp, dispersion) are queued as MMPP/G/1/K; poisson: the "
        "textbook model on every link")
    scale: float = Field(default=1.0, ge=0.0, le=1e6)


class ScenarioRequest(BaseModel):
    name: str = Field(default="api scenario", max_length=200)
    changes: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)
    basis: BasisKind = Field(
        default="auto", description="Run on the live state (measured traffic, estimated "
        "into a matrix, link states and capacities of the live twin), on the plan (the "
        "network's traffic matrix), or auto: live when the live twin has measured traffic.")


MetricsPart = Annotated[UploadFile | None, File(description=(
    "The network's real IGP metrics, applied over the file's (the CLI's --metrics FILE): CSV "
    "link,metric or link,metric_ab,metric_ba; CSV src,dst,metric; or 'router_a router_b "
    "metric' lines as Rocketfuel's weights.intra. A bad row is a 422 naming its line, value "
    "and fix."))]


async def _upload(twin: Twin, file: UploadFile, fmt: NetworkFormat | None,
                  metrics: UploadFile | None) -> Upload:
    """Name checked (400), size and element limits (413/422), parsed off the event loop."""
    return await load_upload(file, fmt, twin.settings, metrics)


def _upload_notes(upload: Upload) -> list[str]:
    notes = _notes(upload.network)
    if upload.modules is not None:
        notes.append(f"capacity modules and costs of {len(upload.modules['links'])} link(s) "
                     "kept from the file: a capacity job without 'modules' plans with them")
    return notes


def _notes(network: Network) -> list[str]:
    return [str(n) for n in network.notes]


@router.get("/networks", **role_route(Role.VIEWER))
def list_networks(_: Viewer, twin: TwinDep) -> list[NetworkListItem]:
    return [NetworkListItem(id=nid, **net.summary()) for nid, net in twin.listed().items()]


@router.post("/networks", status_code=201, **role_route(Role.ADMIN))
async def create_network(_: Admin, twin: TwinDep, file: Annotated[UploadFile, File()],
                         fmt: FormatQuery = None, metrics: MetricsPart = None) -> NetworkInfo:
    upload = await _upload(twin, file, fmt, metrics)
    network = upload.network
    return NetworkInfo(id=twin.add(network, modules=upload.modules),
                       notes=_upload_notes(upload), **network.summary())


@router.post("/networks:validate", **role_route(Role.PLANNER))
async def validate_network(_: Planner, twin: TwinDep, file: Annotated[UploadFile, File()],
                           fmt: FormatQuery = None, metrics: MetricsPart = None
                           ) -> ValidationReport:
    upload = await _upload(twin, file, fmt, metrics)
    return ValidationReport(valid=True, notes=_upload_notes(upload),
                            **upload.network.summary())


@router.get("/networks/{nid}", **role_route(Role.VIEWER))
def get_network(_: Viewer, twin: TwinDep, nid: NetworkId) -> NetworkInfo:
    network, _c = twin.get(nid)
    return NetworkInfo(id=nid, notes=_notes(network), **network.summary())


@router.delete("/networks/{nid}", status_code=204, response_class=Response,
               **role_route(Role.ADMIN))
def delete_network(_: Admin, twin: TwinDep, nid: NetworkId) -> Response:
    twin.forget(nid)
    return Response(status_code=204)


@router.get("/networks/{nid}/export", response_class=Response,
            responses={200: {"content": {"application/json": {}},
                             "description": "The network in the native or RFC 8345 format."}},
            **role_route(Role.VIEWER))
def export_network(_: Viewer, twin: TwinDep, nid: NetworkId, fmt: Annotated[
        NetworkFormat, Query(alias="format")] = NetworkFormat.NATIVE) -> Response:
    network, _c = twin.get(nid)
    if fmt not in (NetworkFormat.NATIVE, NetworkFormat.RFC8345):
        raise HTTPException(400, detail="export formats: native, rfc8345")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "network.json"
        save_network(network, path, fmt)
        return Response(path.read_text(encoding="utf-8"), media_type="application/json")


@router.post("/networks/{nid}/simulate", response_model=SimulationDoc,
             **role_route(Role.PLANNER))
def simulate(_: Planner, twin: TwinDep, nid: NetworkId, body: SimulateRequest,
             limit: Annotated[int | None, Query(ge=1, le=1_000_000, description=(
                 "Rows per page (default 1,000; at most NETTWIN_PAGE_MAX)"))] = None,
             cursor: Annotated[str | None, Query(max_length=20, description=(
                 "next_cursor of the previous page"))] = None) -> Response:
    """KPIs, services and arcs of one run, paged (the run is kept for the next pages): a
    50,000-node network does not become one 30 MB answer."""
    if limit is None:
        limit = min(1000, twin.settings.page_max)
    if limit > twin.settings.page_max:
        raise HTTPException(422, detail=f"limit {limit} is above the page size limit "
                                        f"{twin.settings.page_max}: page with 'cursor', or "
                                        "raise NETTWIN_PAGE_MAX")
    network, compiled = twin.get(nid)
    result = simulation_result(twin, nid, body)
    longest = max(compiled.n_arcs, len(result.services.ids))
    arcs = page_of(compiled.n_arcs, cursor, limit, longest)
    services = page_of(len(result.services.ids), cursor, limit, longest)
    return json_response(simulation_document(network, compiled, result, arcs.rows,
                                             services.rows) | {
        "page": {"limit": limit, "arcs_total": arcs.total, "services_total": services.total,
                 "next_cursor": arcs.next_cursor or services.next_cursor}})


def simulation_result(twin: Twin, nid: str, body: SimulateRequest) -> SimulationResult:
    """One run of a network, kept among the service's recent runs (pages reuse it)."""
    network, compiled = twin.get(nid)
    result: SimulationResult = twin.recent.get(
        (nid, id(network), body.queue_model, body.arrival_model, body.scale),
        lambda: run_simulation(
            compiled, SimulationOptions(queue_model=body.queue_model,
                                        arrival_model=body.arrival_model),
            demand_rate_bps=compiled.demand_rate_bps * body.scale))
    return result


def simulation_document(network: Network, compiled: CompiledNetwork, result: SimulationResult,
                        arc_rows: range | None = None,
                        service_rows: range | None = None) -> dict[str, Any]:
    """KPIs, services and arcs of a run (the rows given, or all of them)."""
    return {"kpis": result.kpis(), "services": service_records(network, result, service_rows),
            "arcs": arc_records(compiled, result, arc_rows)}


@router.post("/networks/{nid}/whatif", response_model=WhatIfDoc, **role_route(Role.PLANNER))
async def whatif(_: Planner, twin: TwinDep, nid: NetworkId, body: ScenarioRequest,
                 limit: Annotated[int, Query(ge=1, le=1_000_000, description=(
                     "Entries kept in each list (counts stay whole)"))] = 50) -> Response:
    """The scenario's changes against the no-change run, on the live state or the plan.
    An answer kept for an equal request, or being made for one now, is served from the
    event loop (``answer_once``: a dashboard's 50 equal what-ifs take one thread); the
    others are computed in the thread pool, failure what-ifs by the worker processes holding
    the basis (``api.processes``), else in threads of their own
    (``api.turns.failure_threads``). Each answer is checked against ``WhatIfDoc`` once, when
    made, and kept as the bytes served."""
    small = len(body.changes) <= KEPT_LOOKUP_CHANGES
    b = kept_basis(twin, nid, body.basis) if small else None

    async def make() -> bytes:
        if not small:
            return await run_in_threadpool(whatif_answer_of, twin, nid, body, limit)
        twin.require(nid)  # an unknown network is a 404 before a bad scenario is a 422
        scenario = parse_scenario({"name": body.name, "changes": body.changes}, "body")
        if only_failures(scenario):
            if b is not None:  # a worker process's answer, where one holds the basis
                made = await answer_elsewhere(b, body.changes, scenario, limit,
                                              twin.processes)
                if made is not None:
                    return made
            made = await asyncio.get_running_loop().run_in_executor(
                failure_threads(), partial(whatif_answer_of, twin, nid, body, limit,
                                           scenario))
            kept = kept_basis(twin, nid, body.basis)
            if kept is not None:  # the next ones on it answered by the worker processes
                twin.processes.send_later(kept)
            return made
        return await run_in_threadpool(whatif_answer_of, twin, nid, body, limit, scenario)

    answer = await (make() if b is None else answer_once(b, body.changes, limit, make))
    return Response(answer, media_type="application/json")


# the most changes a request may have to be looked up among the kept answers on the event
# loop (the look-up's key is their JSON): more is no dashboard's what-if, and goes to a thread
KEPT_LOOKUP_CHANGES = 100


def whatif_answer_of(twin: Twin, nid: str, body: ScenarioRequest, limit: int,
                     scenario: Scenario | None = None) -> bytes:
    """The what-if answer as checked JSON bytes (made, or kept from an equal request);
    ``scenario``: the body's, parsed already."""
    b = resolve_basis(twin, nid, body.basis)
    if scenario is None:
        scenario = parse_scenario({"name": body.name, "changes": body.changes}, "body")
    return whatif_answer(b, body.changes, scenario, limit)


def whatif_doc(twin: Twin, nid: str, body: ScenarioRequest, limit: int) -> WhatIfDoc:
    """The what-if answer as the model (the MCP tool's)."""
    return WhatIfDoc.model_validate_json(whatif_answer_of(twin, nid, body, limit))
