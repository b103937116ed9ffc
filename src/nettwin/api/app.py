"""The twin as a service: ``create_app(settings)`` builds the FastAPI application.

Nothing happens at import time; state (networks, jobs, tokens, the live twins, audit log)
belongs to the app instance (``api.service.Twin``, which routes get through the ``TwinDep``
dependency). Routes live in ``api.routes``, one router per resource. Every route but the
health checks needs a bearer token whose role is at least the route's ``x-required-role``
(published in the OpenAPI document).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from nettwin import __version__
from nettwin.api.bodies import http_error, request_validation_error
from nettwin.api.docs import ASSETS, docs_assets
from nettwin.api.jobs import JobManager
from nettwin.api.routes import ROUTERS
from nettwin.api.security import install_guard
from nettwin.api.service import Twin
from nettwin.api.settings import Settings
from nettwin.api.shadow_agents import schedule as schedule_shadow_agents
from nettwin.api.turns import failure_threads
from nettwin.api.uploads import BodyLimit
from nettwin.api.warmup import start_warmup
from nettwin.errors import NettwinError, NetworkGoneError, StoreError, ValidationError

log = logging.getLogger(__name__)


def _problem_body(exc: NettwinError) -> dict[str, Any]:
    # ``detail`` as well: the field an HTTP error of FastAPI's carries, so a client may read
    # any refusal's words from it (``message`` for the one-line form everywhere but there)
    body: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc),
                            "detail": str(exc)}
    if isinstance(exc, ValidationError):
        body["problems"] = [{"element": p.element, "field": p.field, "value": repr(p.value)
                             if p.value is not None else None, "message": p.message,
                             "fix": p.fix} for p in exc.problems]
    return body


async def _simulated_telemetry(twin: Twin, interval_s: float) -> None:
    """Embedded default: simulated router telemetry (traffic following a compressed day; on
    networks with a storm, the storm in a loop over the radio links) through each network's
    live twin, like any other source. A tick that fails (the store locked, a bad record) is
    logged and counted, and the next one is fed: the stream never stops on an error. A
    failure is logged with its traceback when it starts or changes, a persistent one once a
    minute in a line with its count (not a traceback every tick), and the recovery too."""
    failing: dict[str, tuple[str, int, float]] = {}  # network -> (error, ticks, last logged)
    while True:
        for nid in list(twin.live_ids):
            if not twin.has(nid):
                failing.pop(nid, None)
                continue
            try:
                network, _c = twin.get(nid)
                await asyncio.to_thread(twin.live.feed_simulated, nid, network, None,
                                        radio=twin.radio(nid), storm=twin.default_storm(nid),
                                        interval_s=interval_s)
            except (NetworkGoneError, HTTPException):
                continue  # deleted meanwhile
            except Exception as exc:  # a transient store failure, a bad record: feed goes on
                twin.telemetry_errors.labels(network=nid).inc()
                _log_tick_failure(failing, nid, exc)
            else:
                if nid in failing:
                    _error, ticks, _at = failing.pop(nid)
                    log.warning("simulated telemetry of network %r: ticking again after %d "
                                "failed tick(s)", nid, ticks)
        await asyncio.sleep(interval_s)


def _log_tick_failure(failing: dict[str, tuple[str, int, float]], nid: str,
                      exc: Exception, every_s: float = 60.0) -> None:
    """Log a failed simulated-telemetry tick: in full when the failure is new or different,
    else a one-line reminder with the count at most every ``every_s`` seconds."""
    error, now = f"{type(exc).__name__}: {exc}", time.monotonic()
    before = failing.get(nid)
    if before is None or before[0] != error:
        failing[nid] = (error, 1, now)
        log.error("simulated telemetry of network %r: tick failed (counted in "
                  "nettwin_simulated_telemetry_errors); the feed goes on", nid, exc_info=exc)
        return
    ticks = before[1] + 1
    if now - before[2] >= every_s:
        log.error("simulated telemetry of network %r: still failing, %d ticks so far: %s",
                  nid, ticks, error)
        failing[nid] = (error, ticks, now)
    else:
        failing[nid] = (error, ticks, before[2])


def freeze_long_lived() -> None:
    """Keep what exists at start-up (the libraries' code, the networks loaded) out of the
    cyclic garbage collector's full passes: it lives as long as the service. Each full
    pass otherwise walked ~250,000 objects with the GIL held, ~100 ms in which no request
    moved (one round in five of the 50-what-if benchmark had its median 100 ms higher).
    Frozen objects are still freed by reference counting; cycles among them (start-up's
    garbage included: no collection first, freezing costs nothing) wait for
    ``gc.unfreeze`` at shutdown (a test process serves many apps one after another)."""
    gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new service instance (tests build as many as they like)."""
    settings = settings or Settings()
    settings.prepare_data_dir()
    twin = Twin(settings)
    audit = twin.audit_log

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        twin.jobs = JobManager.of(settings, twin.saved, audit)  # fresh pool, stored jobs
        twin.networks.update(twin.saved.load_networks())
        twin.modules.update({nid: doc for nid, doc in twin.saved.load_modules().items()
                             if nid in twin.networks})
        if settings.load_example:
            twin.load_examples()
        # the embedded demo compiles the kernels in the background (GET /api/v1/warmup)
        app.state.warmup = start_warmup() if settings.simulate_telemetry_s > 0 else None
        ticker = None
        if settings.simulate_telemetry_s > 0 and twin.live_ids:
            ticker = asyncio.create_task(
                _simulated_telemetry(twin, settings.simulate_telemetry_s))
        for nid in twin.live_ids:  # `serve --shadow POLICY`: agents trusted by no one yet
            for policy in settings.shadow_policies:
                twin.shadow.add(nid, policy, every_s=settings.shadow_every_s,
                                allow_files=True)
        shadows = asyncio.create_task(schedule_shadow_agents(twin))
        failure_threads()  # started before a burst would start them on the loop
        freeze_long_lived()
        yield
        gc.unfreeze()
        shadows.cancel()
        if ticker is not None:
            ticker.cancel()
        twin.jobs.shutdown()
        twin.processes.close()
        twin.saved.close()

    app = FastAPI(title="nettwin", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # /docs offline: api.routes.service
                  description="A network digital twin: networks, simulations, what-ifs, "
                              "failure sweeps. Bearer tokens carry a role: viewer < planner "
                              "< operator < admin. A refused request answers JSON with "
                              "`error` (its kind), `message` (its words) and `detail` (the "
                              "words again; for a malformed request a list of {loc, msg, type,"
                              " input}), and `problems` (element, field, value, message, fix) "
                              "where the model names them.")
    app.state.twin = twin
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    app.add_exception_handler(RequestValidationError, request_validation_error)  # JSON-safe
    app.add_exception_handler(StarletteHTTPException, http_error)  # the one error shape

    @app.exception_handler(NettwinError)
    async def domain_error(request: Request, exc: NettwinError) -> JSONResponse:
        if isinstance(exc, StoreError):  # nothing changed: the client may try again
            return JSONResponse(_problem_body(exc), status_code=503,
                                headers={"Retry-After": "1"})
        gone = isinstance(exc, NetworkGoneError)  # deleted while the request ran
        return JSONResponse(_problem_body(exc), status_code=404 if gone else 422)

    install_guard(app, twin.requests, twin.latency, audit, twin.tokens)

    for router in ROUTERS:
        app.include_router(router)
    static = resources.files("nettwin.api") / "static"
    app.mount("/ui", StaticFiles(directory=str(static), html=True), name="ui")
    app.mount(ASSETS, docs_assets(), name="docs-assets")
    return app
