"""The live twin over the API: observations in (any source can POST them), simulated
telemetry, the mirrored state now and its event stream, history at an instant or between
two, and the traffic matrix estimated from the counters. One ``LiveTwin`` per network
underneath all of them (``nettwin.api.live.LiveHub``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from nettwin.api.auth import Role
from nettwin.api.deps import NetworkId, Operator, Viewer, role_route
from nettwin.api.payloads import accepts_gzip, json_bytes
from nettwin.api.schemas import (
    LiveHeader,
    LiveState,
    LiveWithSummary,
    ObservationReport,
    PastState,
    StateDiff,
    TrafficMatrix,
    TrafficPrior,
)
from nettwin.api.service import Twin, TwinDep
from nettwin.live import LiveTwin, Message, diff_states
from nettwin.report import json_safe

router = APIRouter(prefix="/api/v1/networks/{nid}", tags=["live"])


class TelemetryRequest(BaseModel):
    """A measured traffic level: every demand at ``scale`` x its modelled rate."""

    scale: float = Field(ge=0.0, le=1e6)


class MatrixEntry(BaseModel):
    src: str = Field(min_length=1, max_length=200)
    dst: str = Field(min_length=1, max_length=200)
    rate_bps: float = Field(ge=0.0, allow_inf_nan=False)


class MeasuredMatrixBody(BaseModel):
    """One measured matrix (a flow export's aggregate, an operator's matrix)."""

    time: datetime | None = Field(default=None, description="When it was measured (ISO 8601 "
                                  "or epoch seconds): its time of day picks the prior's bin, "
                                  "its date the day type; with an offset it is read in the "
                                  "service's time zone, without one as written")
    label: str | None = Field(default=None, max_length=200)
    demands: list[MatrixEntry] = Field(max_length=1_000_000)


class TrafficHistory(BaseModel):
    """Measured past matrices, oldest first, to learn the traffic-matrix prior from."""

    matrices: list[MeasuredMatrixBody] = Field(min_length=1, max_length=10_000)


class Observations(BaseModel):
    """Observations as documented in nettwin.live.observations (counter, radio, event, or a
    gNMI notification); each is validated on its own."""

    items: list[Any] = Field(min_length=1, max_length=100_000)  # each judged on its own


def live_twin(twin: Twin, nid: str) -> LiveTwin:
    """The network's live twin, created on first use with the service's history store."""
    network, _c = twin.get(nid)
    return twin.live.twin(nid, network)


@router.post("/telemetry", **role_route(Role.OPERATOR))
def telemetry(_: Operator, twin: TwinDep, nid: NetworkId, body: TelemetryRequest
              ) -> LiveHeader:
    """A simulated instant at ``scale`` x the modelled traffic, fed to the live twin as
    router counters (the same path as any telemetry source)."""
    network, _c = twin.get(nid)
    twin.live.feed_simulated(nid, network, body.scale, radio=twin.radio(nid),
                             storm=twin.default_storm(nid))
    return LiveHeader.model_validate(json_safe(twin.live.state(nid)))


@router.get("/state", response_model=LiveState, **role_route(Role.VIEWER))
async def live_state(_: Viewer, twin: TwinDep, nid: NetworkId, request: Request,
                     at: float | None = Query(default=None, ge=0, le=1e11, description=(
                         "Epoch seconds: the state then, rebuilt from the history (time "
                         "travel)"))) -> Response:
    """The live twin's state now (the same snapshot as the stream's state events), or at
    an earlier instant. The current state is encoded once per tick and served on the event
    loop (gzipped when the client accepts it): readers never wait for the worker pool."""
    if at is not None:
        def past() -> bytes:
            return json_bytes(live_state_document(twin, nid, at).model_dump(mode="json"))
        return Response(await run_in_threadpool(past), media_type="application/json")
    if not twin.has(nid):
        raise HTTPException(404, detail=f"no network {nid!r}")
    if not twin.live.has_state(nid):
        raise HTTPException(404, detail="no live state yet: POST telemetry or observations "
                                        "first")
    gz = accepts_gzip(request.headers.get("accept-encoding"))
    body = twin.live.encoded.get(nid, twin.live.state(nid), gz)
    return Response(body, media_type="application/json",
                    headers={"Vary": "Accept-Encoding"} | ({"Content-Encoding": "gzip"}
                                                           if gz else {}))


def live_state_document(twin: Twin, nid: str, at: float | None = None) -> LiveState:
    """The live state now, or at ``at`` rebuilt from the history (404 before any data)."""
    if at is not None:
        live_twin(twin, nid)
        return LiveState.model_validate(json_safe(twin.live.state_at(nid, at)))
    twin.get(nid)
    if not twin.live.has_state(nid):
        raise HTTPException(404, detail="no live state yet: POST telemetry or observations "
                                        "first")
    return LiveState.model_validate(json_safe(twin.live.state(nid)))


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "Server-Sent Events: 'state' (as GET .../state) "
                                            "and 'alarm' (TMF642 Alarm)."}},
            **role_route(Role.VIEWER))
async def stream(_: Viewer, twin: TwinDep, nid: NetworkId, request: Request,
                 max_events: int | None = Query(default=None, ge=1, le=100_000)
                 ) -> StreamingResponse:
    """Server-Sent Events: what the live twins' listeners hear, as it happens."""
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
                raw = (twin.live.encoded.get(nid, data) if event == "state"
                       else json_bytes(json_safe(data)))
                yield b"event: " + event.encode() + b"\ndata: " + raw + b"\n\n"
                sent += 1
        finally:
            twin.live.unsubscribe(queue)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


@router.post("/observations", **role_route(Role.OPERATOR))
def observe(_: Operator, twin: TwinDep, nid: NetworkId, body: Observations
            ) -> ObservationReport:
    """Ingest a batch: applied and committed together; bad items are dead letters."""
    lt = live_twin(twin, nid)
    dead_before = lt.dead
    changes = lt.process([Message(item) for item in body.items], "api")
    dead = lt.store.dead_letters(lt.name, lt.dead - dead_before) if lt.store else []
    return ObservationReport.model_validate({
        "received": len(body.items), "dead_letters": len(dead),
        "duplicates": changes.duplicates, "rates": len(changes.rates),
        "link_changes": [{"link": lk, "up": up} for _t, lk, up in changes.link_status],
        "problems": [{"reason": d["reason"], "payload": d["payload"][:500]}
                     for d in dead[:20]]})


@router.get("/live", **role_route(Role.VIEWER))
def live(_: Viewer, twin: TwinDep, nid: NetworkId) -> LiveWithSummary:
    """The mirrored state now (measured rates, link status, modulation, alarms)."""
    lt = live_twin(twin, nid)
    return LiveWithSummary.model_validate(json_safe(twin.live.state(nid)
                                                    | {"summary": lt.summary()}))


@router.get("/history", **role_route(Role.VIEWER))
def history(_: Viewer, twin: TwinDep, nid: NetworkId,
            at: float = Query(ge=0, description="Epoch seconds"),
            to: float | None = Query(default=None, ge=0,
                                     description="Compare with this instant")
            ) -> PastState | StateDiff:
    """The state at ``at`` rebuilt from the history, or what changed from ``at`` to
    ``to``."""
    lt = live_twin(twin, nid)
    c = lt.state.compiled
    labels = [c.arc_label(a) for a in range(c.n_arcs)]
    past = lt.state_at(at)
    if to is not None:
        return StateDiff.model_validate(json_safe(diff_states(
            past, lt.state_at(to), labels, c.arc_capacity_bps)))
    snap = past.snapshot(labels, c.arc_capacity_bps)
    snap["arcs"] = [a for a in snap["arcs"] if a["rate_bps"] is not None]
    return PastState.model_validate(json_safe(snap | {"time": at}))


@router.get("/traffic-matrix", **role_route(Role.VIEWER))
def traffic_matrix(_: Viewer, twin: TwinDep, nid: NetworkId,
                   limit: int = Query(default=100, ge=1, le=100_000)) -> TrafficMatrix:
    """The matrix estimated from the measured rates, largest pairs first, with a standard
    deviation per pair: from the prior learned from measured matrices when they were given
    (``PUT .../traffic-history``), else tomogravity."""
    lt = live_twin(twin, nid)
    if not np.isfinite(lt.state.arc_rate_bps).any():
        raise HTTPException(409, detail="no measured rates yet: POST observations first")
    if not lt.can_estimate():
        raise HTTPException(409, detail=f"{lt.state.compiled.n_nodes} nodes: too large for "
                                        "the dense traffic-matrix estimate")
    est = lt.estimate_tm()
    ids = lt.network.node_ids
    order = np.argsort(-est.rate_bps)[:limit]
    fid = lt.fidelity(est)
    history = lt.prior is not None
    return TrafficMatrix.model_validate(json_safe({
        "total_bps": float(est.rate_bps.sum()), "fidelity_score": fid.score,
        "prior": "history" if history else "gravity",
        "innovation": est.innovation if history else None,
        "misfit": est.misfit if history else None,
        "drift": lt.prior.drift(est) if lt.prior is not None else None,
        "pairs": [{"src": ids[est.src[p]], "dst": ids[est.dst[p]],
                   "rate_bps": float(est.rate_bps[p]),
                   "std_bps": None if est.std_bps is None else float(est.std_bps[p])}
                  for p in order.tolist() if est.rate_bps[p] > 0]}))


def _prior_doc(lt: LiveTwin) -> TrafficPrior:
    ch = lt.prior_choice
    if lt.prior is None or ch is None:
        return TrafficPrior(prior="gravity", drift_every_s=lt.drift_every_s,
                            timezone=lt.timezone)
    return TrafficPrior.model_validate(json_safe({
        "prior": "history", "matrices": lt.prior_matrices, "time_of_day_bins": ch.bins,
        "half_life_matrices": ch.half_life, "spread_calibration": ch.kappa,
        "validation_error": ch.validation_error, "validation_matrices":
        ch.validation_matrices, "alarm_innovation": lt.prior.alarm_innovation,
        "day_type_weight": ch.day_weight, "timezone": lt.timezone,
        "drift_every_s": lt.drift_every_s, "labels": list(lt.prior_labels),
        "source": "store" if lt.prior_source == "store" else "request"}))


@router.get("/traffic-history", **role_route(Role.VIEWER))
def traffic_prior(_: Viewer, twin: TwinDep, nid: NetworkId) -> TrafficPrior:
    """The live twin's traffic-matrix prior: gravity, or learned from measured matrices."""
    return _prior_doc(live_twin(twin, nid))


@router.put("/traffic-history", **role_route(Role.OPERATOR))
async def put_traffic_history(_: Operator, twin: TwinDep, nid: NetworkId,
                              body: TrafficHistory) -> TrafficPrior:
    """Learn the traffic-matrix prior from measured past matrices (oldest first; three or
    more to choose its options and calibrate its spread on their later third). From then
    on every estimate, the live basis of what-ifs and the drift check use it. Matrices
    naming nodes the network lacks are refused (422, naming the matrix and the nodes).
    A matrix's ``time`` gives its time of day and day of the week in the service's
    time zone (``NETTWIN_TIMEZONE``, ``serve --timezone``; default UTC), as the counters'
    times are read: a time with an offset is converted to that zone, one without is taken
    as written (as a history file's stamp), so a daily matrix stamped at local midnight
    counts as that day when the zone is the operator's."""
    from nettwin.io.tm_history import MeasuredMatrix, tm_history

    lt = live_twin(twin, nid)
    if not lt.can_estimate():
        raise HTTPException(409, detail=f"{lt.state.compiled.n_nodes} nodes: too large for "
                                        "the dense traffic-matrix estimate")
    from nettwin.timezones import wall_clock

    clocks = [wall_clock(m.time, lt.zone) for m in body.matrices]
    records = [MeasuredMatrix(
        m.label or f"#{i}",  # named "matrix #i" in a problem
        tod,
        [d.src for d in m.demands], [d.dst for d in m.demands],
        [d.rate_bps for d in m.demands], day)
        for i, (m, (tod, day)) in enumerate(zip(body.matrices, clocks, strict=True))]

    def learn() -> None:
        lt.use_history(tm_history(records, lt.network.node_ids, lt.routing()))

    await run_in_threadpool(learn)
    return _prior_doc(lt)


@router.delete("/traffic-history", **role_route(Role.OPERATOR))
def delete_traffic_history(_: Operator, twin: TwinDep, nid: NetworkId) -> TrafficPrior:
    """Forget the learned prior: back to tomogravity."""
    lt = live_twin(twin, nid)
    lt.forget_history()
    return _prior_doc(lt)
