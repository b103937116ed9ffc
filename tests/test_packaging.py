"""`pip install nettwin` is the library: importing it and its engine pulls in no server
stack; the lazy top-level exports agree with __all__."""

from __future__ import annotations

import subprocess
import sys

import nettwin

SERVER = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "psycopg", "nats", "paho",
          "dask", "distributed", "prometheus_client", "jwt", "pydantic_settings")


def test_library_imports_no_server_stack() -> None:
    code = ("import sys, nettwin, nettwin.engine, nettwin.scenarios, nettwin.io, "
            "nettwin.radio, nettwin.report; nettwin.simulate; "
            f"print(sorted(m for m in {SERVER!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_lazy_exports_agree_with_all() -> None:
    assert set(nettwin.__all__) == set(nettwin._EXPORTS) | {"__version__"}
    for name in nettwin.__all__:
        assert getattr(nettwin, name) is not None


def test_missing_extra_says_what_to_install() -> None:
    from nettwin.extras import missing_extra_message

    msg = missing_extra_message(ModuleNotFoundError("No module named 'fastapi'",
                                                    name="fastapi"))
    assert msg is not None and "pip install 'nettwin[api]'" in msg
    assert missing_extra_message(ModuleNotFoundError("x", name="not_an_extra")) is None
