"""A typed Python client for the twin's REST API (httpx underneath, sync and async).

    from nettwin.client import Client
    with Client("http://127.0.0.1:8080", token) as twin:
        doc = twin.whatif("example", [{"fail_link": "Denver--Kansas-City"}])
        doc.max_utilisation_after

Methods return the server's own response models (``nettwin.api.schemas``). Errors are
``ClientError`` subclasses of ``NettwinError`` (the tree is drawn in ``nettwin.errors``):
``UnauthorizedError`` 401, ``ForbiddenError`` 403, ``NotFoundError`` 404, ``ConflictError`` 409,
``InvalidRequestError`` 400/413/422 (with the server's ``problems``), ``ServerError`` 5xx,
``TwinUnreachableError``; a job that fails raises ``JobError``, one that outlasts the wait
``JobTimeoutError``.
"""

from nettwin.client._client import AsyncClient, Client
from nettwin.errors import (
    ClientError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    JobError,
    JobTimeoutError,
    NotFoundError,
    ServerError,
    TwinUnreachableError,
    UnauthorizedError,
)

__all__ = ["AsyncClient", "Client", "ClientError", "ConflictError", "ForbiddenError",
           "InvalidRequestError", "JobError", "JobTimeoutError", "NotFoundError", "ServerError",
           "TwinUnreachableError", "UnauthorizedError"]
