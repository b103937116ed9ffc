"""One router per resource; ``create_app`` includes them all (``ROUTERS``)."""

from fastapi import APIRouter

from nettwin.api.routes import health, jobs, live, networks, qos, tmf, views

ROUTERS: tuple[APIRouter, ...] = (health.router, networks.router, jobs.router, live.router,
                                  tmf.router, qos.router, views.router)

__all__ = ["ROUTERS"]
