"""Each REST operation once, as data: method, path, parameters, body and the response
model (the server's own, from ``nettwin.api.schemas``); the sync and async clients only
send them. Errors are mapped here too, so both clients raise the same exceptions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import TypeAdapter

from nettwin.api.schemas import (
    JobStatus,
    LiveHeader,
    LiveState,
    NetworkInfo,
    NetworkListItem,
    Page,
    PastState,
    SimulationDoc,
    StateDiff,
    TmfAlarm,
    TrafficMatrix,
    WhatIfDoc,
)
from nettwin.errors import (
    ClientError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    ServerError,
    UnauthorizedError,
)

API = "/api/v1"
ALARMS = "/tmf-api/alarmManagement/v4/alarm"
Basis = Literal["auto", "live", "plan"]
Table = Literal["failures", "worst_case"]

_ERRORS: dict[int, type[ClientError]] = {
    400: InvalidRequestError, 401: UnauthorizedError, 403: ForbiddenError, 404: NotFoundError,
    409: ConflictError, 413: InvalidRequestError, 422: InvalidRequestError}


@dataclass(frozen=True)
class Call:
    """One request and how to read its answer (``model`` None: no body; ``text``: JSON
    returned as decoded, unvalidated)."""

    method: str
    path: str
    model: Any = None  # a TypeAdapter, or None
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    file: tuple[str, bytes] | None = None
    metrics: tuple[str, bytes] | None = None  # an upload's 'metrics' part
    text: bool = False

    def query(self) -> dict[str, Any]:
        return {k: v for k, v in self.params.items() if v is not None}

    def files(self) -> dict[str, tuple[str, bytes]] | None:
        parts = {"file": self.file, "metrics": self.metrics}
        return {k: v for k, v in parts.items() if v is not None} or None

    def read(self, status: int, content: bytes) -> Any:
        """The answer as the operation's model, or the error it stands for."""
        if status >= 400:
            raise error_of(status, content)
        if self.text:
            return json.loads(content)
        if self.model is None:
            return None
        return self.model.validate_json(content)


def error_of(status: int, content: bytes) -> ClientError:
    """The exception for an error answer, carrying the server's own words."""
    try:
        body: Any = json.loads(content)
    except ValueError:
        body = content.decode("utf-8", "replace")
    message = str(body)
    if isinstance(body, dict):
        detail = body.get("message", body.get("detail", body))
        message = detail if isinstance(detail, str) else json.dumps(detail)[:2000]
    kind = _ERRORS.get(status, ServerError if status >= 500 else ClientError)
    return kind(status, body, message)


def _id(value: str) -> str:
    return quote(value, safe="")


_NETWORKS = TypeAdapter(list[NetworkListItem])
_ALARMS = TypeAdapter(list[TmfAlarm])
_HISTORY: TypeAdapter[PastState | StateDiff] = TypeAdapter(PastState | StateDiff)


def adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


# --------------------------------------------------------------------------- networks
def list_networks() -> Call:
    return Call("GET", f"{API}/networks", _NETWORKS)


def get_network(nid: str) -> Call:
    return Call("GET", f"{API}/networks/{_id(nid)}", adapter(NetworkInfo))


def upload_network(path: str | Path, fmt: str | None, metrics: str | Path | None = None
                   ) -> Call:
    p = Path(path)
    m = None if metrics is None else (Path(metrics).name, Path(metrics).read_bytes())
    return Call("POST", f"{API}/networks", adapter(NetworkInfo), params={"format": fmt},
                file=(p.name, p.read_bytes()), metrics=m)


def delete_network(nid: str) -> Call:
    return Call("DELETE", f"{API}/networks/{_id(nid)}")


def export_network(nid: str, fmt: str) -> Call:
    return Call("GET", f"{API}/networks/{_id(nid)}/export", params={"format": fmt}, text=True)


def simulate(nid: str, queue_model: str, scale: float, arrival_model: str = "bursty") -> Call:
    return Call("POST", f"{API}/networks/{_id(nid)}/simulate", adapter(SimulationDoc),
                json={"queue_model": queue_model, "scale": scale,
                      "arrival_model": arrival_model})


def whatif(nid: str, changes: list[dict[str, Any]], name: str, basis: Basis,
           limit: int) -> Call:
    return Call("POST", f"{API}/networks/{_id(nid)}/whatif", adapter(WhatIfDoc),
                params={"limit": limit},
                json={"name": name, "changes": changes, "basis": basis})


# --------------------------------------------------------------------------- jobs
def submit_sweep(nid: str, links: bool, nodes: bool, srlgs: bool, link_pairs: bool,
                 max_pairs: int, basis: Basis) -> Call:
    return Call("POST", f"{API}/networks/{_id(nid)}/sweeps", adapter(JobStatus),
                json={"links": links, "nodes": nodes, "srlgs": srlgs,
                      "link_pairs": link_pairs, "max_pairs": max_pairs, "basis": basis})


def job(job_id: str) -> Call:
    return Call("GET", f"{API}/jobs/{_id(job_id)}", adapter(JobStatus))


def cancel_job(job_id: str) -> Call:
    return Call("DELETE", f"{API}/jobs/{_id(job_id)}", adapter(JobStatus))


def job_results(job_id: str, table: Table, offset: int, limit: int) -> Call:
    return Call("GET", f"{API}/jobs/{_id(job_id)}/results", adapter(Page),
                params={"table": table, "offset": offset, "limit": limit})


# --------------------------------------------------------------------------- live
def state(nid: str, at: float | None) -> Call:
    return Call("GET", f"{API}/networks/{_id(nid)}/state", adapter(LiveState),
                params={"at": at})


def history(nid: str, at: float, to: float | None) -> Call:
    return Call("GET", f"{API}/networks/{_id(nid)}/history", _HISTORY,
                params={"at": at, "to": to})


def feed_telemetry(nid: str, scale: float) -> Call:
    return Call("POST", f"{API}/networks/{_id(nid)}/telemetry", adapter(LiveHeader),
                json={"scale": scale})


def traffic_matrix(nid: str, limit: int) -> Call:
    return Call("GET", f"{API}/networks/{_id(nid)}/traffic-matrix", adapter(TrafficMatrix),
                params={"limit": limit})


# --------------------------------------------------------------------------- alarms
def alarms(state: str | None, severity: str | None, ack_state: str | None, offset: int,
           limit: int) -> Call:
    return Call("GET", ALARMS, _ALARMS, params={
        "state": state, "perceivedSeverity": severity, "ackState": ack_state,
        "offset": offset, "limit": limit})


def patch_alarm(alarm_id: str, body: dict[str, str]) -> Call:
    return Call("PATCH", f"{ALARMS}/{_id(alarm_id)}", adapter(TmfAlarm), json=body)
