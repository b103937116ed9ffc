"""The client is light: importing it (and the shared response models) pulls in httpx and
pydantic, not the server stack; its public names are pinned."""

from __future__ import annotations

import subprocess
import sys

import nettwin.client
from tests.test_packaging import SERVER


def test_client_imports_no_server_stack() -> None:
    code = ("import sys, nettwin.client; "
            f"print(sorted(m for m in {SERVER!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_public_names() -> None:
    assert set(nettwin.client.__all__) == {
        "AsyncClient", "Client", "ClientError", "ConflictError", "ForbiddenError",
        "InvalidRequestError", "JobError", "JobTimeoutError", "NotFoundError", "ServerError",
        "TwinUnreachableError", "UnauthorizedError"}
    for name in nettwin.client.__all__:
        assert getattr(nettwin.client, name) is not None
