"""Optional extras: which ``pip install nettwin[...]`` brings a missing package.

``pip install nettwin`` is the library (model, engine, scenarios, radio, io, reports, the
command line); the server stack and the live twin's connectors are extras.
"""

from __future__ import annotations

# top-level import name -> the extra that installs it
EXTRA_OF_MODULE: dict[str, str] = {
    "fastapi": "api",
    "starlette": "api",
    "uvicorn": "api",
    "multipart": "api",
    "python_multipart": "api",
    "pydantic_settings": "api",
    "prometheus_client": "api",
    "jwt": "api",
    "sqlalchemy": "live",
    "psycopg": "live",
    "nats": "live",
    "paho": "live",
    "orjson": "live",
    "httpx": "live",
    "dask": "dask",
    "distributed": "dask",
    "itur": "climate",
    "mcp": "agents",
    "statsmodels": "forecast",
}


def missing_extra_message(exc: ModuleNotFoundError) -> str | None:
    """'... needs pip install nettwin[api]' for a package an extra brings, else None."""
    root = (exc.name or "").partition(".")[0]
    extra = EXTRA_OF_MODULE.get(root)
    if extra is None:
        return None
    return (f"this needs the optional package {root!r}: pip install 'nettwin[{extra}]' "
            "(or nettwin[all])")
