"""``Client`` and ``AsyncClient``: the same methods, blocking or awaited, over httpx."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio
import httpx

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
from nettwin.client import _calls as calls
from nettwin.client._calls import Basis, Call, Table
from nettwin.errors import JobError, JobTimeoutError, TwinUnreachableError

Progress = Callable[[JobStatus], None]
FINISHED = ("done", "failed", "cancelled")


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _finished(status: JobStatus) -> JobStatus:
    """A finished job's status, or the error it ended in."""
    if status.state != "done":
        raise JobError(status, f"job {status.id} {status.state}: {status.error or ''}".strip())
    return status


def _timeout(status: JobStatus, timeout_s: float) -> JobTimeoutError:
    return JobTimeoutError(status, f"job {status.id} still {status.state} after {timeout_s:g} s "
                              f"({status.done}/{status.total}); it goes on running")


class Client:
    """The twin's REST API from Python, blocking: ``Client(base_url, token)``.

    Every method returns the server's response model (``nettwin.api.schemas``) and raises
    a ``ClientError`` subclass for an error answer (``ForbiddenError``, ``NotFoundError``, ...)."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout_s: float = 60.0,
                 transport: httpx.BaseTransport | None = None, verify: bool | str = True
                 ) -> None:
        self._http = httpx.Client(base_url=base_url, headers=_headers(token),
                                  timeout=timeout_s, transport=transport, verify=verify)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _do(self, call: Call) -> Any:
        try:
            r = self._http.request(call.method, call.path, params=call.query(),
                                   json=call.json, files=call.files())
        except httpx.TransportError as exc:
            raise TwinUnreachableError(None, None, f"{self._http.base_url}: {exc!r}") from exc
        return call.read(r.status_code, r.content)

    # networks
    def list_networks(self) -> list[NetworkListItem]:
        result: list[NetworkListItem] = self._do(calls.list_networks())
        return result

    def get_network(self, network_id: str) -> NetworkInfo:
        result: NetworkInfo = self._do(calls.get_network(network_id))
        return result

    def upload_network(self, path: str | Path, fmt: str | None = None,
                       metrics: str | Path | None = None) -> NetworkInfo:
        """Upload a network file in any format the twin reads (admin); ``metrics``: a file
        of the routers' real IGP metrics, as the CLI's --metrics FILE takes."""
        result: NetworkInfo = self._do(calls.upload_network(path, fmt, metrics))
        return result

    def delete_network(self, network_id: str) -> None:
        self._do(calls.delete_network(network_id))

    def export_network(self, network_id: str, fmt: str = "native") -> dict[str, Any]:
        """The network document (native or rfc8345) as decoded JSON."""
        result: dict[str, Any] = self._do(calls.export_network(network_id, fmt))
        return result

    def simulate(self, network_id: str, queue_model: str = "mm1", scale: float = 1.0,
                 arrival_model: str = "bursty") -> SimulationDoc:
        """One run (``arrival_model`` "poisson": the textbook queues everywhere)."""
        result: SimulationDoc = self._do(calls.simulate(network_id, queue_model, scale,
                                                        arrival_model))
        return result

    def whatif(self, network_id: str, changes: list[dict[str, Any]], *,
               name: str = "client scenario", basis: Basis = "auto", limit: int = 50
               ) -> WhatIfDoc:
        """A change list (scenario-file format) against the no-change run."""
        result: WhatIfDoc = self._do(calls.whatif(network_id, changes, name, basis, limit))
        return result

    # jobs
    def submit_sweep(self, network_id: str, *, links: bool = True, nodes: bool = False,
                     srlgs: bool = False, link_pairs: bool = False, max_pairs: int = 20_000,
                     basis: Basis = "auto") -> JobStatus:
        result: JobStatus = self._do(calls.submit_sweep(network_id, links, nodes, srlgs,
                                                        link_pairs, max_pairs, basis))
        return result

    def job(self, job_id: str) -> JobStatus:
        result: JobStatus = self._do(calls.job(job_id))
        return result

    def cancel_job(self, job_id: str) -> JobStatus:
        result: JobStatus = self._do(calls.cancel_job(job_id))
        return result

    def wait_for_job(self, job_id: str, *, progress: Progress | None = None,
                     timeout_s: float = 600.0, poll_s: float = 0.25) -> JobStatus:
        """Poll until the job is done (``progress`` hears every status); ``JobError`` if
        it failed or was cancelled, ``JobTimeoutError`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.job(job_id)
            if progress is not None:
                progress(status)
            if status.state in FINISHED:
                return _finished(status)
            if time.monotonic() >= deadline:
                raise _timeout(status, timeout_s)
            time.sleep(poll_s)

    def job_results(self, job_id: str, table: Table = "failures", *, offset: int = 0,
                    limit: int = 100) -> Page:
        result: Page = self._do(calls.job_results(job_id, table, offset, limit))
        return result

    def iter_job_results(self, job_id: str, table: Table = "failures", *,
                         page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Every row of a job's table, page by page."""
        offset = 0
        while True:
            page = self.job_results(job_id, table, offset=offset, limit=page_size)
            yield from page.items
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return

    # live
    def state(self, network_id: str, at: float | None = None) -> LiveState:
        result: LiveState = self._do(calls.state(network_id, at))
        return result

    def history(self, network_id: str, at: float, to: float | None = None
                ) -> PastState | StateDiff:
        result: PastState | StateDiff = self._do(calls.history(network_id, at, to))
        return result

    def feed_telemetry(self, network_id: str, scale: float) -> LiveHeader:
        result: LiveHeader = self._do(calls.feed_telemetry(network_id, scale))
        return result

    def traffic_matrix(self, network_id: str, limit: int = 100) -> TrafficMatrix:
        result: TrafficMatrix = self._do(calls.traffic_matrix(network_id, limit))
        return result

    # alarms
    def alarms(self, *, state: str | None = None, severity: str | None = None,
               ack_state: str | None = None, offset: int = 0, limit: int = 100
               ) -> list[TmfAlarm]:
        result: list[TmfAlarm] = self._do(calls.alarms(state, severity, ack_state, offset,
                                                       limit))
        return result

    def acknowledge_alarm(self, alarm_id: str) -> TmfAlarm:
        result: TmfAlarm = self._do(calls.patch_alarm(alarm_id, {"ackState": "acknowledged"}))
        return result

    def clear_alarm(self, alarm_id: str) -> TmfAlarm:
        result: TmfAlarm = self._do(calls.patch_alarm(alarm_id, {"state": "cleared"}))
        return result


class AsyncClient:
    """The same as ``Client``, awaited: ``async with AsyncClient(base_url, token) as c``."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout_s: float = 60.0,
                 transport: httpx.AsyncBaseTransport | None = None, verify: bool | str = True
                 ) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, headers=_headers(token),
                                       timeout=timeout_s, transport=transport, verify=verify)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _do(self, call: Call) -> Any:
        try:
            r = await self._http.request(call.method, call.path, params=call.query(),
                                         json=call.json, files=call.files())
        except httpx.TransportError as exc:
            raise TwinUnreachableError(None, None, f"{self._http.base_url}: {exc!r}") from exc
        return call.read(r.status_code, r.content)

    # networks
    async def list_networks(self) -> list[NetworkListItem]:
        result: list[NetworkListItem] = await self._do(calls.list_networks())
        return result

    async def get_network(self, network_id: str) -> NetworkInfo:
        result: NetworkInfo = await self._do(calls.get_network(network_id))
        return result

    async def upload_network(self, path: str | Path, fmt: str | None = None,
                             metrics: str | Path | None = None) -> NetworkInfo:
        result: NetworkInfo = await self._do(calls.upload_network(path, fmt, metrics))
        return result

    async def delete_network(self, network_id: str) -> None:
        await self._do(calls.delete_network(network_id))

    async def export_network(self, network_id: str, fmt: str = "native") -> dict[str, Any]:
        result: dict[str, Any] = await self._do(calls.export_network(network_id, fmt))
        return result

    async def simulate(self, network_id: str, queue_model: str = "mm1", scale: float = 1.0,
                       arrival_model: str = "bursty") -> SimulationDoc:
        """One run (``arrival_model`` "poisson": the textbook queues everywhere)."""
        result: SimulationDoc = await self._do(calls.simulate(network_id, queue_model, scale,
                                                              arrival_model))
        return result

    async def whatif(self, network_id: str, changes: list[dict[str, Any]], *,
                     name: str = "client scenario", basis: Basis = "auto", limit: int = 50
                     ) -> WhatIfDoc:
        result: WhatIfDoc = await self._do(calls.whatif(network_id, changes, name, basis,
                                                        limit))
        return result

    # jobs
    async def submit_sweep(self, network_id: str, *, links: bool = True, nodes: bool = False,
                           srlgs: bool = False, link_pairs: bool = False,
                           max_pairs: int = 20_000, basis: Basis = "auto") -> JobStatus:
        result: JobStatus = await self._do(calls.submit_sweep(
            network_id, links, nodes, srlgs, link_pairs, max_pairs, basis))
        return result

    async def job(self, job_id: str) -> JobStatus:
        result: JobStatus = await self._do(calls.job(job_id))
        return result

    async def cancel_job(self, job_id: str) -> JobStatus:
        result: JobStatus = await self._do(calls.cancel_job(job_id))
        return result

    async def wait_for_job(self, job_id: str, *, progress: Progress | None = None,
                           timeout_s: float = 600.0, poll_s: float = 0.25) -> JobStatus:
        deadline = time.monotonic() + timeout_s
        while True:
            status = await self.job(job_id)
            if progress is not None:
                progress(status)
            if status.state in FINISHED:
                return _finished(status)
            if time.monotonic() >= deadline:
                raise _timeout(status, timeout_s)
            await anyio.sleep(poll_s)

    async def job_results(self, job_id: str, table: Table = "failures", *, offset: int = 0,
                          limit: int = 100) -> Page:
        result: Page = await self._do(calls.job_results(job_id, table, offset, limit))
        return result

    async def iter_job_results(self, job_id: str, table: Table = "failures", *,
                               page_size: int = 1000) -> AsyncIterator[dict[str, Any]]:
        offset = 0
        while True:
            page = await self.job_results(job_id, table, offset=offset, limit=page_size)
            for item in page.items:
                yield item
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return

    # live
    async def state(self, network_id: str, at: float | None = None) -> LiveState:
        result: LiveState = await self._do(calls.state(network_id, at))
        return result

    async def history(self, network_id: str, at: float, to: float | None = None
                      ) -> PastState | StateDiff:
        result: PastState | StateDiff = await self._do(calls.history(network_id, at, to))
        return result

    async def feed_telemetry(self, network_id: str, scale: float) -> LiveHeader:
        result: LiveHeader = await self._do(calls.feed_telemetry(network_id, scale))
        return result

    async def traffic_matrix(self, network_id: str, limit: int = 100) -> TrafficMatrix:
        result: TrafficMatrix = await self._do(calls.traffic_matrix(network_id, limit))
        return result

    # alarms
    async def alarms(self, *, state: str | None = None, severity: str | None = None,
                     ack_state: str | None = None, offset: int = 0, limit: int = 100
                     ) -> list[TmfAlarm]:
        result: list[TmfAlarm] = await self._do(calls.alarms(state, severity, ack_state,
                                                             offset, limit))
        return result

    async def acknowledge_alarm(self, alarm_id: str) -> TmfAlarm:
        result: TmfAlarm = await self._do(calls.patch_alarm(alarm_id,
                                                            {"ackState": "acknowledged"}))
        return result

    async def clear_alarm(self, alarm_id: str) -> TmfAlarm:
        result: TmfAlarm = await self._do(calls.patch_alarm(alarm_id, {"state": "cleared"}))
        return result
