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


def test_every_response_model_is_exported_from_api_schemas() -> None:
    # the models live in one private module per resource; the client and the routes import
    # them from the package (oracle: the classes the private modules define)
    import importlib
    import inspect
    import pkgutil

    from pydantic import BaseModel

    from nettwin.api import schemas

    defined = set()
    for info in pkgutil.iter_modules(schemas.__path__):
        module = importlib.import_module(f"{schemas.__name__}.{info.name}")
        assert info.name.startswith("_"), f"{module.__name__}: import models from the package"
        defined |= {name for name, obj in vars(module).items() if inspect.isclass(obj)
                    and issubclass(obj, BaseModel) and obj.__module__ == module.__name__}
    assert defined == set(schemas.__all__)
    assert all(getattr(schemas, name).__name__ == name for name in defined)
