"""The service itself: kernel warm-up progress and the offline API docs page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

from nettwin.api.auth import Role
from nettwin.api.deps import Viewer, role_route
from nettwin.api.docs import ASSETS
from nettwin.api.schemas import Warmup
from nettwin.api.warmup import warmup_document

router = APIRouter(tags=["service"])


@router.get("/api/v1/warmup", **role_route(Role.VIEWER))
def warmup(_: Viewer, request: Request) -> Warmup:
    """Whether the numba kernels are compiled yet (the first runs wait until they are), and
    the worker processes answering failure what-ifs."""
    doc = warmup_document(getattr(request.app.state, "warmup", None))
    workers = request.app.state.twin.processes.holding()
    doc["whatif_workers"] = [{"pid": pid, "bases": len(held), "answered": answered}
                             for pid, (held, answered) in sorted(workers.items())]
    return Warmup.model_validate(doc)


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    """Swagger UI from the bundled assets (FastAPI's default page loads them from a CDN)."""
    app = request.app
    return get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        oauth2_redirect_url="/docs/oauth2-redirect")


@router.get("/docs/oauth2-redirect", include_in_schema=False)
def oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()
