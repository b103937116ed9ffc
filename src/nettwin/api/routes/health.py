"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from nettwin.api.auth import Role
from nettwin.api.deps import Viewer, role_route
from nettwin.api.schemas import Health, Ready
from nettwin.api.service import TwinDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> Health:
    return Health(status="ok")  # on the event loop: answers while the pool is busy


@router.get("/readyz")
async def readyz(twin: TwinDep) -> Ready:
    return Ready(status="ready", networks=len(twin.networks))


@router.get("/metrics", response_class=PlainTextResponse, **role_route(Role.VIEWER))
def metrics(_: Viewer, twin: TwinDep) -> Response:
    """Prometheus exposition format."""
    return Response(generate_latest(twin.registry), media_type=CONTENT_TYPE_LATEST)
