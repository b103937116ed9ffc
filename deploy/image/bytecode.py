"""Bytecode for what the image's processes load, run inside the image by build.sh.

buildah's ``--timestamp`` gives every file of the image the commit's time, so the ``.pyc``
files pip writes at install (which record each source's install-time mtime) are all stale:
Python recompiled every module at each start and, the root file system being read-only,
threw the result away. build.sh deletes them; this script loads what the API, ingest and
Dask pods load (their commands, the app and its routes, uvicorn's loop and protocol, Dask's
scheduler and worker, one what-if through the engine) and writes
checked-hash ``.pyc`` for exactly those modules: valid whatever the file dates, as Debian
compiles the standard library. A module loaded later compiles in memory, as all did before.
"""

from __future__ import annotations

import importlib
import py_compile
import sys
from pathlib import Path

VENV = Path(sys.prefix)
ENTRY = ("nettwin.cli.app", "nettwin.cli.serve", "nettwin.cli.live", "nettwin.api.app",
         "uvicorn.loops.uvloop", "uvicorn.protocols.http.httptools_impl", "uvicorn.lifespan.on",
         "dask.cli", "distributed.cli.dask_scheduler", "distributed.cli.dask_worker")


def load() -> None:
    """Import what the pods run (``nettwin serve`` and ``token``, ``nettwin ingest``, ``dask
    scheduler`` and ``worker``; the other commands are left to compile when used), then the
    smoke test's what-if through the engine."""
    for name in ENTRY:
        importlib.import_module(name)
    from nettwin.examples import example_path
    from nettwin.io import load_network
    from nettwin.scenarios import parse_scenario, run_whatif

    scenario = parse_scenario({"name": "warm", "changes": [{"fail_node": "Houston"}]}, "warm")
    run_whatif(load_network(example_path()), scenario)


def main() -> None:
    load()
    sources = sorted({Path(m.__file__) for m in list(sys.modules.values())
                      if getattr(m, "__file__", None) and str(m.__file__).endswith(".py")
                      and Path(m.__file__).is_relative_to(VENV)})
    for source in sources:
        py_compile.compile(str(source), doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    print(f"bytecode: {len(sources)} modules compiled (checked-hash)")


if __name__ == "__main__":
    main()
