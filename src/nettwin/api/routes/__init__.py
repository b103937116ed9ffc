"""One router per resource; ``create_app`` includes them all (``ROUTERS``)."""

from fastapi import APIRouter

from nettwin.api.routes import (
    anomalies,
    basis,
    diagnose,
    health,
    jobs,
    live,
    networks,
    optimize,
    qos,
    service,
    shadow,
    tmf,
    views,
)

ROUTERS: tuple[APIRouter, ...] = (health.router, networks.router, basis.router, jobs.router,
                                  live.router, tmf.router, qos.router, views.router,
                                  service.router, optimize.router,
                                  diagnose.router, shadow.router, anomalies.router)

__all__ = ["ROUTERS"]
