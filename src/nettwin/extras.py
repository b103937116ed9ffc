"""Optional extras: which ``pip install nettwin[...]`` brings a missing package.

``pip install nettwin`` is the library (model, engine, scenarios, radio, io, reports, the
command line); the server stack, the live twin's connectors and Arrow (result tables,
Parquet files: about 90 MB the service never loads) are extras.
"""

from __future__ import annotations

import importlib
from typing import Any

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
    "pyarrow": "arrow",
}


def missing_extra_message(exc: ModuleNotFoundError) -> str | None:
    """'... needs pip install nettwin[api]' for a package an extra brings, else None."""
    root = (exc.name or "").partition(".")[0]
    extra = EXTRA_OF_MODULE.get(root)
    if extra is None:
        return None
    return (f"this needs the optional package {root!r}: pip install 'nettwin[{extra}]' "
            "(or nettwin[all])")


def naming_extra(exc: ModuleNotFoundError) -> ModuleNotFoundError:
    """``exc``, or, when an extra brings the missing package, the same error (same ``name``,
    so the command line still maps it to exit 3) with a message saying which to install: for
    the library's own call paths, which have no command line to translate the error."""
    message = missing_extra_message(exc)
    return exc if message is None else ModuleNotFoundError(message, name=exc.name)


def require(module: str) -> Any:
    """``module`` imported, or a ModuleNotFoundError naming the extra that brings it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise naming_extra(exc) from None
