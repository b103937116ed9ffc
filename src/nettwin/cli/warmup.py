"""``nettwin warmup``: compile the engine's kernels once, into numba's on-disk cache."""

from __future__ import annotations

import time

import typer

from nettwin.cli.common import alert, err
from nettwin.kernel_cache import (
    cached_kernel_count,
    drop_stale_kernels,
    kernel_cache_place,
    kernel_stats,
)

EXIT_SIMULATION_ERROR = 4


commands = typer.Typer()


def cache_note() -> str:
    """What warming the kernels will do here: load them from the cache or compile them."""
    where_text = kernel_cache_place()
    count = cached_kernel_count()
    if count:
        return (f"loading the kernels from the cache ({count} indexed in {where_text}): a few "
                "seconds; any not cached there compile")
    return (f"compiling the kernels: nothing cached in {where_text} yet, ~20-30 s once "
            "(cached there for later runs)")


@commands.command()
def warmup() -> None:
    """Compile the numba kernels once into their on-disk cache (run by `make setup`), so the
    first simulation, what-if, sweep or validation of every later run need not wait.

    A cold machine compiles for ~20-30 s; with the cache warm this takes a second or two
    (the kernels are only loaded). `nettwin serve` also warms in the background."""
    from nettwin.api.warmup import STEPS, run_warmup

    dropped = drop_stale_kernels()
    if dropped:
        err.print(f"a kernel source changed since the cache was made: dropped its {dropped} "
                  "files (a kernel inlines the kernels it calls, which numba does not check)")
    err.print(f"warming the engine's kernels ({', '.join(STEPS)}): {cache_note()}")
    start = time.perf_counter()
    w = run_warmup(lambda name: err.print(f"  {name} ..."))
    if w.error:
        alert.print(f"warm-up failed: {w.error} (the first runs compile what they need "
                    "instead)")
        raise typer.Exit(EXIT_SIMULATION_ERROR)
    compiled, loaded = kernel_stats()
    err.print(f"kernels ready in {time.perf_counter() - start:.1f} s: {compiled} compiled, "
              f"{loaded} loaded from {kernel_cache_place()}")
