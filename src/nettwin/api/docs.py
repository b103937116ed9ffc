"""``/docs`` served offline: the Swagger UI assets come from the ``swagger-ui-bundle-v2``
package installed with nettwin (Swagger UI 5, which reads OpenAPI 3.1), never from a CDN:
operations networks often have no internet. The page itself is a route
(``api.routes.service``); ``create_app`` mounts the assets."""

from __future__ import annotations

from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def docs_assets() -> StaticFiles:
    """The bundled Swagger UI files, to mount at ``ASSETS``."""
    import swagger_ui_bundle  # type: ignore[import-untyped]

    return StaticFiles(directory=swagger_ui_bundle.swagger_ui_path)
