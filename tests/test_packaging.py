"""`pip install nettwin` is the library: importing it and its engine pulls in no server
stack; the service loads neither Arrow nor matplotlib (the image leaves Arrow out); without
Arrow, what needs it names the extra; the lazy top-level exports agree with __all__."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nettwin
from nettwin.extras import EXTRA_OF_MODULE

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


def test_service_loads_no_arrow_nor_plotting() -> None:
    code = ("import sys, nettwin.api.app, nettwin.cli.serve; "
            "print(sorted(m for m in ('pyarrow', 'matplotlib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_without_arrow_tables_and_parquet_name_the_extra(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from nettwin.cli import app
    from nettwin.report import write_rows

    extra = f"pip install 'nettwin[{EXTRA_OF_MODULE['pyarrow']}]'"
    res = nettwin.run(nettwin.examples.abilene(), fail_nodes=["Houston"])
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # an import of it now fails
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ModuleNotFoundError, match=re.escape(extra)):
        _ = res.arcs
    with pytest.raises(ModuleNotFoundError, match=re.escape(extra)):
        write_rows([{"link": "a--b", "load_bps": 1.0}], tmp_path / "rows.parquet")
    write_rows([{"link": "a--b", "load_bps": 1.0}], tmp_path / "rows.csv")  # no Arrow needed
    assert "<table>" in res._repr_html_()  # the notebook summary is built from the arrays
    done = CliRunner().invoke(app, ["sweep", "--out", str(tmp_path), "--table-format",
                                    "parquet"])
    assert done.exit_code == 3 and extra in done.output, done.output
    done = CliRunner().invoke(app, ["risk", "-n", "20", "--samples-out",
                                    str(tmp_path / "samples.parquet")])
    assert done.exit_code == 3 and extra in done.output, done.output
    assert "samples in" not in done.output  # said before the Monte Carlo ran, not after
