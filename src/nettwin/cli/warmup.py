"""``nettwin warmup``: compile the engine's kernels once, into numba's on-disk cache."""

from __future__ import annotations

import os
import time
from pathlib import Path

import typer

from nettwin.cli.common import alert, err

EXIT_SIMULATION_ERROR = 4


commands = typer.Typer()


@commands.command()
def warmup() -> None:
    """Compile the numba kernels once into their on-disk cache (run by `make setup`), so the
    first simulation, what-if, sweep or validation of every later run need not wait.

    A cold machine compiles for ~20-30 s; with the cache warm this takes a second or two
    (the kernels are only loaded). ``nettwin serve`` also warms in the background."""
    from nettwin.api.warmup import STEPS, run_warmup

    where = os.environ.get("NUMBA_CACHE_DIR") or f"{Path(__file__).parents[1]}/*/__pycache__"
    err.print(f"warming the engine's kernels ({', '.join(STEPS)}): the first time after an "
              f"install compiles them (~20-30 s), cached in {where}")
    start = time.perf_counter()
    w = run_warmup(lambda name: err.print(f"  {name} ..."))
    if w.error:
        alert.print(f"warm-up failed: {w.error} (the first runs compile what they need "
                    "instead)")
        raise typer.Exit(EXIT_SIMULATION_ERROR)
    err.print(f"kernels ready in {time.perf_counter() - start:.1f} s: later runs load them "
              "from the cache")
