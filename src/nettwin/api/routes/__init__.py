"""One router per resource; ``create_app`` includes them all (``ROUTERS``)."""

from fastapi import APIRouter

from nettwin.api.routes import (
    anomalies,
    basis,
    diagnose,
    energy,
    health,
    jobs,
    live,
    networks,
    optimize,
    plan,
    qos,
    service,
    shadow,
    slices,
    tmf,
    views,
)

ROUTERS: tuple[APIRouter, ...] = (health.router, networks.router, basis.router, jobs.router,
                                  live.router, tmf.router, qos.router, views.router,
                                  service.router, optimize.router, plan.router,
                                  diagnose.router, shadow.router, slices.router,
                                  energy.router, anomalies.router)

__all__ = ["ROUTERS"]
