"""Request bodies that fail validation: answered 422 with each problem's place and a short,
JSON-safe echo of the bad value (``detail``, FastAPI's list), and the one-line ``message``
and ``error`` kind every other refused request carries.

FastAPI's default answer echoes every bad input in full: a NaN (``{"name": NaN}``) cannot be
written as JSON, so the client got a 500; a megabyte of bad input came back as a megabyte.
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

ECHO_CHARS = 200


def echo_value(value: Any) -> Any:
    """A bad input as it may be shown back: finite numbers, short strings, else a cut repr."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, int):
        return value if value.bit_length() <= 64 else f"<integer of {value.bit_length()} bits>"
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "..."


async def request_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 naming where each problem is (``loc``), what is wrong and the value, shortened."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    detail = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
               "type": str(e.get("type", "")), "input": echo_value(e.get("input"))}
              for e in errors[:50]]
    # the same one-line ``message`` (and ``error``) as every other refused request
    lines = [f"{' > '.join(d['loc'])}: {d['msg']}"
             + (f" (got {d['input']!r})" if d["input"] is not None else "") for d in detail[:5]]
    more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
    return JSONResponse({"error": "RequestValidationError",
                         "message": "; ".join(lines) + more, "detail": detail},
                        status_code=422)


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    """A route's refusal (404 no such network, 409 too early, 403 ...): FastAPI's
    ``detail``, and the ``error`` kind and ``message`` every other refusal carries."""
    assert isinstance(exc, HTTPException)
    try:
        kind = HTTPStatus(exc.status_code).phrase.title().replace(" ", "").replace("-", "")
    except ValueError:
        kind = f"Http{exc.status_code}"
    detail = exc.detail
    return JSONResponse({"error": kind, "message": str(detail), "detail": detail},
                        status_code=exc.status_code, headers=exc.headers)
