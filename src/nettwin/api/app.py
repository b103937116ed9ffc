"""The twin as a service: ``create_app(settings)`` builds the FastAPI application.

Nothing happens at import time; state (networks, jobs, tokens, audit log) belongs to the app
instance. Every route but the health checks needs a bearer token whose role is at least the
route's ``x-required-role`` (published in the OpenAPI document).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import yaml
from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, Field

from nettwin import __version__
from nettwin.api.auth import Role, TokenStore
from nettwin.api.basis import BasisKind, add_basis_routes, resolve_basis
from nettwin.api.deps import Admin, NetworkId, Planner, Viewer, role_route
from nettwin.api.docs import add_offline_docs
from nettwin.api.jobs import JobManager, JobState
from nettwin.api.live import LiveState, diurnal_scale
from nettwin.api.live_routes import add_live_routes
from nettwin.api.oidc import OidcConfig, OidcVerifier
from nettwin.api.qos_routes import add_qos_routes
from nettwin.api.settings import Settings
from nettwin.api.twin_routes import add_twin_routes, live_twin
from nettwin.api.views import add_view_routes, radio_of
from nettwin.api.warmup import add_warmup_routes, start_warmup
from nettwin.api.weather import LiveWeather
from nettwin.engine import (
    CompiledNetwork,
    QueueModel,
    SimulationOptions,
    SimulationResult,
    compile_network,
)
from nettwin.engine import simulate as run_simulation
from nettwin.errors import ImportFormatError, NettwinError, ValidationError
from nettwin.examples import example_path
from nettwin.io import NetworkFormat, load_network, save_network
from nettwin.live import Message
from nettwin.live.simulated import CounterFeed
from nettwin.model import Network
from nettwin.radio.acm import AcmProfile, load_acm_profiles
from nettwin.radio.budget import RadioArrays
from nettwin.radio.storm import Storm, parse_storm
from nettwin.report import arc_records, json_safe, service_records
from nettwin.scenarios import parse_scenario, run_sweep, run_whatif
from nettwin.scenarios.whatif import diff_document

API = "/api/v1"


class SimulateRequest(BaseModel):
    queue_model: QueueModel = QueueModel.MM1
    scale: float = Field(default=1.0, ge=0.0, le=1e6)


class ScenarioRequest(BaseModel):
    name: str = Field(default="api scenario", max_length=200)
    changes: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)
    basis: BasisKind = BasisKind.PLAN  # live: measured traffic level and link states


class SweepRequest(BaseModel):
    links: bool = True
    nodes: bool = False
    srlgs: bool = False
    link_pairs: bool = False
    max_pairs: int = Field(default=20_000, ge=1, le=1_000_000)
    basis: BasisKind = BasisKind.PLAN  # live: measured traffic level and link states


class Twin:
    """State of one service instance: networks by id, their compiled arrays, jobs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.networks: dict[str, Network] = {}
        self.compiled: dict[str, CompiledNetwork] = {}
        self.baselines: dict[str, SimulationResult] = {}
        self.profiles: dict[str, dict[str, AcmProfile]] = {}  # extra ACM ladders per network
        self.storms: dict[str, Storm] = {}  # the storm a network's dashboard offers first
        self.live_ids: list[str] = []  # networks fed simulated telemetry
        self._cache: dict[tuple[str, str], Any] = {}
        self.tokens = TokenStore(settings.tokens_file)
        self.oidc = OidcVerifier(OidcConfig(
            issuer=settings.oidc_issuer,
            jwks_url=settings.oidc_jwks_url
            or f"{settings.oidc_issuer.rstrip('/')}/protocol/openid-connect/certs",
            audience=settings.oidc_audience, roles_claim=settings.oidc_roles_claim,
            role_prefix=settings.oidc_role_prefix, leeway_s=settings.oidc_leeway_s,
            refresh_cooldown_s=settings.oidc_refresh_cooldown_s,
            jwks_cache_s=settings.oidc_jwks_cache_s,
        )) if settings.oidc_issuer else None
        self.jobs = JobManager(settings.job_workers)
        self.live = LiveState()
        self.registry = CollectorRegistry()
        self.requests = Counter("nettwin_http_requests", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("nettwin_http_request_seconds", "Request latency",
                                 ["route"], registry=self.registry)

    def add(self, network: Network) -> str:
        nid = uuid.uuid4().hex[:12]
        self.networks[nid] = network
        return nid

    def baseline(self, nid: str) -> SimulationResult:
        """The no-change run of a network, computed once and reused by what-ifs."""
        _network, compiled = self.get(nid)
        if nid not in self.baselines:
            self.baselines[nid] = run_simulation(compiled)
        return self.baselines[nid]

    def cached(self, nid: str, key: str, make: Callable[[], Any]) -> Any:
        """Something derived from a network, computed on first use (dropped on delete)."""
        if (nid, key) not in self._cache:
            self._cache[nid, key] = make()
        return self._cache[nid, key]

    def radio(self, nid: str) -> RadioArrays | None:
        """The network's microwave links as arrays (None: it has none that can be modelled)."""
        network, _c = self.get(nid)
        radio: RadioArrays | None = self.cached(
            nid, "radio", lambda: radio_of(network, self.profiles.get(nid, {})))
        return radio

    def default_storm(self, nid: str) -> Storm | None:
        return self.storms.get(nid)

    def forget(self, nid: str) -> None:
        for store in (self.networks, self.compiled, self.baselines, self.profiles, self.storms):
            store.pop(nid, None)
        self._cache = {k: v for k, v in self._cache.items() if k[0] != nid}
        if nid in self.live_ids:
            self.live_ids.remove(nid)

    def load_examples(self) -> None:
        """The embedded default: Abilene (IP core) as 'example' and the Munich microwave
        backhaul as 'munich', with its vendor ACM table and the bundled squall line; both
        fed simulated telemetry. Examples already present are left alone."""
        if "example" not in self.networks:
            self.networks["example"] = load_network(example_path())
        if "munich" not in self.networks:
            munich = example_path("munich-backhaul")
            self.networks["munich"] = load_network(munich)
            self.profiles["munich"] = load_acm_profiles(
                munich.with_name("munich-acm-38ghz.txt"))
            self.storms["munich"] = parse_storm(
                yaml.safe_load(example_path("munich-storm").read_text(encoding="utf-8")),
                "munich-storm.yaml")
        self.live_ids.extend(n for n in ("example", "munich") if n not in self.live_ids)

    def get(self, nid: str) -> tuple[Network, CompiledNetwork]:
        if nid not in self.networks:
            raise HTTPException(404, detail=f"no network {nid!r}")
        if nid not in self.compiled:
            self.compiled[nid] = compile_network(self.networks[nid])
        return self.networks[nid], self.compiled[nid]

    def audit(self, who: str, method: str, path: str, status: int) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        with self.settings.audit_file.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"when": datetime.now(UTC).isoformat(), "who": who,
                                 "what": f"{method} {path}", "status": status}) + "\n")


def _problem_body(exc: NettwinError) -> dict[str, Any]:
    body: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, ValidationError):
        body["problems"] = [{"element": p.element, "field": p.field, "value": repr(p.value)
                             if p.value is not None else None, "message": p.message,
                             "fix": p.fix} for p in exc.problems]
    return body


def _without_prefix(exc: NettwinError, prefix: str) -> NettwinError:
    """The same error, naming the uploaded file rather than the server's temporary copy."""
    if isinstance(exc, ValidationError):
        problems = [dataclasses.replace(p, element=p.element.replace(prefix, ""))
                    for p in exc.problems]
        return ValidationError(problems, (exc.source or "").replace(prefix, "") or None)
    if isinstance(exc, ImportFormatError):
        return type(exc)(exc.path.replace(prefix, ""), exc.message.replace(prefix, ""),
                         exc.line)
    return NettwinError(str(exc).replace(prefix, ""))


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new service instance (tests build as many as they like)."""
    settings = settings or Settings()
    twin = Twin(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        twin.jobs = JobManager(settings.job_workers)  # a restarted app gets a fresh pool
        if settings.load_example:
            twin.load_examples()
        app.state.warmup = start_warmup() if settings.simulate_telemetry_s > 0 else None
        ticker = None
        if settings.simulate_telemetry_s > 0 and twin.live_ids:
            ticker = asyncio.create_task(_simulated_telemetry())
        yield
        if ticker is not None:
            ticker.cancel()
        twin.jobs.shutdown()

    def _feed_counters(nid: str, compiled: CompiledNetwork, state: dict[str, Any],
                       extra: dict[str, Any]) -> None:
        """The same instant as router counters through the in-process bus into the live
        twin and its embedded history store."""
        capacity = extra.get("arc_capacity_bps", compiled.arc_capacity_bps)
        rates = np.array([a["utilisation"] for a in state["arcs"]]) * capacity
        network, _c = twin.get(nid)
        feed = twin.cached(nid, "counter_feed", lambda: CounterFeed(network))
        records = feed.step(time.time(), rates, arc_up=extra.get("arc_up"))
        live_twin(twin, nid).process([Message(r) for r in records], "simulated")

    async def _simulated_telemetry() -> None:
        """Embedded default: traffic follows a compressed day; on networks with a storm,
        the storm replays in a loop over the radio links."""
        start, tick = time.monotonic(), 0
        weather: dict[str, LiveWeather] = {}
        while True:
            scale = diurnal_scale(time.monotonic() - start)
            for nid in list(twin.live_ids):
                if nid not in twin.networks:
                    continue
                _network, compiled = twin.get(nid)
                radio, storm = twin.radio(nid), twin.default_storm(nid)
                if radio is not None and storm is not None and nid not in weather:
                    weather[nid] = LiveWeather(radio, storm)
                extra = weather[nid].at_tick(tick, compiled) if nid in weather else {}
                state = await asyncio.to_thread(twin.live.tick, nid, compiled, scale, **extra)
                await asyncio.to_thread(_feed_counters, nid, compiled, state, extra)
            tick += 1
            await asyncio.sleep(settings.simulate_telemetry_s)

    app = FastAPI(title="nettwin", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # /docs offline: see api/docs.py
                  description="A network digital twin: networks, simulations, what-ifs, "
                              "failure sweeps. Bearer tokens carry a role: viewer < planner "
                              "< operator < admin.")
    app.state.twin = twin

    @app.exception_handler(NettwinError)
    async def domain_error(request: Request, exc: NettwinError) -> JSONResponse:
        return JSONResponse(_problem_body(exc), status_code=422)

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[..., Any]) -> Response:
        start = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        twin.requests.labels(request.method, name, str(response.status_code)).inc()
        twin.latency.labels(name).observe(time.perf_counter() - start)
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            who = getattr(request.state, "principal", None)
            twin.audit(who.name if who else "anonymous", request.method, request.url.path,
                       response.status_code)
        return response

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> dict[str, Any]:
        return {"status": "ready", "networks": len(twin.networks)}

    @app.get("/metrics", response_class=PlainTextResponse, **role_route(Role.VIEWER))
    def metrics(_: Viewer) -> Response:
        return Response(generate_latest(twin.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get(f"{API}/networks", **role_route(Role.VIEWER))
    def list_networks(_: Viewer) -> list[dict[str, Any]]:
        return [{"id": nid} | net.summary() for nid, net in twin.networks.items()]

    async def _upload(file: UploadFile, fmt: NetworkFormat | None) -> Network:
        data = await file.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise HTTPException(413, detail=f"upload larger than {settings.max_upload_bytes} "
                                            "bytes; raise NETTWIN_MAX_UPLOAD_BYTES")
        name = Path(file.filename or "upload").name
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            try:
                return load_network(path, fmt)
            except NettwinError as exc:
                raise _without_prefix(exc, f"{tmp}/") from None

    @app.post(f"{API}/networks", status_code=201, **role_route(Role.ADMIN))
    async def create_network(_: Admin, file: Annotated[UploadFile, File()],
                             fmt: Annotated[NetworkFormat | None, Query(alias="format")] = None
                             ) -> dict[str, Any]:
        network = await _upload(file, fmt)
        nid = twin.add(network)
        return {"id": nid} | network.summary() | {"notes": [str(n) for n in network.notes]}

    @app.post(f"{API}/networks:validate", **role_route(Role.PLANNER))
    async def validate_network(_: Planner, file: Annotated[UploadFile, File()],
                               fmt: Annotated[NetworkFormat | None, Query(alias="format")] = None
                               ) -> dict[str, Any]:
        network = await _upload(file, fmt)
        return {"valid": True} | network.summary() | {"notes": [str(n) for n in network.notes]}

    @app.get(f"{API}/networks/{{nid}}", **role_route(Role.VIEWER))
    def get_network(_: Viewer, nid: NetworkId) -> dict[str, Any]:
        network, _c = twin.get(nid)
        return {"id": nid} | network.summary() | {"notes": [str(n) for n in network.notes]}

    @app.delete(f"{API}/networks/{{nid}}", status_code=204, **role_route(Role.ADMIN))
    def delete_network(_: Admin, nid: NetworkId) -> Response:
        twin.get(nid)
        twin.forget(nid)
        return Response(status_code=204)

    @app.get(f"{API}/networks/{{nid}}/export", **role_route(Role.VIEWER))
    def export_network(_: Viewer, nid: NetworkId, fmt: Annotated[
            NetworkFormat, Query(alias="format")] = NetworkFormat.NATIVE) -> Response:
        network, _c = twin.get(nid)
        if fmt not in (NetworkFormat.NATIVE, NetworkFormat.RFC8345):
            raise HTTPException(400, detail="export formats: native, rfc8345")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "network.json"
            save_network(network, path, fmt)
            return Response(path.read_text(encoding="utf-8"), media_type="application/json")

    @app.post(f"{API}/networks/{{nid}}/simulate", **role_route(Role.PLANNER))
    def simulate(_: Planner, nid: NetworkId, body: SimulateRequest) -> dict[str, Any]:
        network, compiled = twin.get(nid)
        result = run_simulation(compiled, SimulationOptions(queue_model=body.queue_model),
                                demand_rate_bps=compiled.demand_rate_bps * body.scale)
        return {"kpis": json_safe(result.kpis()), "services": service_records(network, result),
                "arcs": arc_records(compiled, result)}

    @app.post(f"{API}/networks/{{nid}}/whatif", **role_route(Role.PLANNER))
    def whatif(_: Planner, nid: NetworkId, body: ScenarioRequest,
               limit: Annotated[int, Query(ge=1, le=1_000_000, description=(
                   "Entries kept in each list (counts stay whole)"))] = 50) -> dict[str, Any]:
        b = resolve_basis(twin, nid, body.basis)
        scenario = parse_scenario({"name": body.name, "changes": body.changes}, "body")
        diff = run_whatif(b.network, scenario, compiled=b.compiled, baseline=b.baseline).diff
        return dict(json_safe(diff_document(diff, limit) | {"basis": b.document()}))

    @app.post(f"{API}/networks/{{nid}}/sweeps", status_code=202, **role_route(Role.PLANNER))
    def submit_sweep(who: Planner, nid: NetworkId, body: SweepRequest) -> dict[str, Any]:
        b = resolve_basis(twin, nid, body.basis)
        network, compiled = b.network, b.compiled

        def work(progress: Callable[[int, int], None]) -> dict[str, Any]:
            result = run_sweep(network, links=body.links, nodes=body.nodes, srlgs=body.srlgs,
                               link_pairs=body.link_pairs, max_pairs=body.max_pairs,
                               compiled=compiled, progress=progress)
            return {"failures": result.failure_rows(), "worst_case": result.worst_case_rows()}

        return twin.jobs.submit("sweep", nid, who.name, work).status() | {"basis": b.document()}

    def _job(job_id: str) -> Any:
        job = twin.jobs.jobs.get(job_id)
        if job is None:
            raise HTTPException(404, detail=f"no job {job_id!r}")
        return job

    @app.get(f"{API}/jobs/{{job_id}}", **role_route(Role.VIEWER))
    def job_status(_: Viewer, job_id: str) -> dict[str, Any]:
        return dict(_job(job_id).status())

    @app.get(f"{API}/jobs/{{job_id}}/results", **role_route(Role.VIEWER))
    def job_results(_: Viewer, job_id: str,
                    table: Annotated[str, Query(pattern="^(failures|worst_case)$")] = "failures",
                    offset: Annotated[int, Query(ge=0)] = 0,
                    limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> dict[str, Any]:
        job = _job(job_id)
        if job.state is not JobState.DONE or job.result is None:
            raise HTTPException(409, detail=f"job is {job.state.value}, no results yet")
        rows = job.result[table]
        return {"total": len(rows), "offset": offset, "items": rows[offset:offset + limit]}

    @app.delete(f"{API}/jobs/{{job_id}}", status_code=202, **role_route(Role.PLANNER))
    def cancel_job(_: Planner, job_id: str) -> dict[str, Any]:
        job = _job(job_id)
        job.cancel.set()
        return dict(job.status())

    add_live_routes(app, twin)
    add_twin_routes(app, twin)
    add_qos_routes(app, twin)
    add_view_routes(app, twin)
    add_basis_routes(app, twin)
    add_warmup_routes(app)
    add_offline_docs(app)
    return app
