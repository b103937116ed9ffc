"""numba's on-disk kernel cache: whether it holds kernels, what a run compiled or loaded, and
seeding it from the copy the OCI image ships, and dropping kernels a source edit made stale.

numba keys a cached kernel by the content of its source file, the numba version and the CPU
it was compiled for (LLVM's CPU name and feature list): a cache compiled on the build host's
CPU is ignored on any other. The image therefore compiles its kernels at build time for
LLVM's portable ``generic`` x86-64 target (``NUMBA_CPU_NAME=generic`` in the image's
environment, at build and at run time; the kernels measured as fast there as on the host's
own target) into a read-only folder named by ``NETTWIN_KERNEL_CACHE_SEED``. numba only uses a
cache folder it can write to (else it silently looks elsewhere), so a process copies the seed
into the writable ``NUMBA_CACHE_DIR`` (an emptyDir in Kubernetes) before its first kernel
runs: the ``nettwin`` command line at start, a Dask worker through
``dask worker --preload nettwin.kernel_cache``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
from pathlib import Path

SEED_ENV = "NETTWIN_KERNEL_CACHE_SEED"
KERNEL_MARK = re.compile(r"^\s*@(numba\.)?n?jit\b", re.MULTILINE)  # a module with kernels


def _cache_root() -> Path:
    """``NUMBA_CACHE_DIR``, else nettwin's package folder (numba's default caches each
    module's kernels in the ``__pycache__`` folder beside it)."""
    configured = os.environ.get("NUMBA_CACHE_DIR")
    return Path(configured) if configured else Path(__file__).parent


def kernel_cache_place() -> str:
    """Where this process's kernels are cached, in words."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return str(_cache_root())
    return f"the __pycache__ folders under {_cache_root()}"


def cached_kernel_count() -> int:
    """How many kernels the cache holds an index for (numba's ``.nbi`` files; 0: the next
    run compiles). An index may be stale after an edit of its source; numba then compiles."""
    root = _cache_root()
    if not root.is_dir():
        return 0
    return sum(1 for _ in root.rglob("*.nbi"))


def drop_stale_kernels() -> int:
    """Delete nettwin's cached kernels when any kernel source is newer than the oldest of
    them; returns how many files were deleted.

    numba checks only the caller's own source file before it loads a cached kernel, but a
    kernel inlines the kernels it calls from other modules: after an edit of
    ``destination_repair.py`` alone, the sweep kernels of ``incremental.py`` and
    ``failure_sets.py`` still load the old repair from the cache (a review reproduced a
    broken repair passing the exactness tests that way). A checkout or install whose kernel
    sources are newer than its cache (numba itself keys a kernel by its own file's content
    only) therefore compiles every kernel again; the tests and ``nettwin warmup`` call this
    first. Only nettwin's own folders are looked at (under ``NUMBA_CACHE_DIR``, those whose
    name says nettwin)."""
    package = Path(__file__).parent
    root = _cache_root()
    if not root.is_dir():
        return 0
    cached = [p for p in root.rglob("*.nb[ic]")
              if root == package or "nettwin" in str(p.relative_to(root))]
    if not cached:
        return 0
    try:
        oldest = min(p.stat().st_mtime for p in cached if p.suffix == ".nbi")
    except ValueError:  # data files without an index: left for numba to overwrite
        return 0
    newest = max(src.stat().st_mtime for src in package.rglob("*.py")
                 if KERNEL_MARK.search(src.read_text(encoding="utf-8", errors="replace")))
    if newest <= oldest:
        return 0
    dropped = 0
    for path in cached:
        with contextlib.suppress(OSError):
            path.unlink()
            dropped += 1
    return dropped


def seed_kernel_cache() -> int:
    """Copy the image's kernel cache (``NETTWIN_KERNEL_CACHE_SEED``) into ``NUMBA_CACHE_DIR``;
    returns how many files were copied.

    Kernel by kernel (numba's index file and its data files): one is copied only where the
    target holds none of its files, so a kernel a process compiled is never overwritten, and
    its data files land before its index, each under a temporary name renamed into place, so
    a process reading the cache meanwhile never finds an index without its data. (Importing
    nettwin's kernels already makes numba create their empty cache folders.) Without both
    variables nothing is copied and the kernels compile on first use as before; so too where
    the target cannot be written."""
    seed, target = os.environ.get(SEED_ENV), os.environ.get("NUMBA_CACHE_DIR")
    if not seed or not target or not Path(seed).is_dir():
        return 0
    kernels: dict[tuple[Path, str], list[Path]] = {}
    for path in Path(seed).rglob("*.nb[ic]"):
        # "routing._dial32-240.py311.nbi" and its "routing._dial32-240.py311.1.nbc"
        kernels.setdefault((path.parent, path.name.rpartition(".py")[0]), []).append(path)
    copied = 0
    for (folder, _kernel), files in sorted(kernels.items()):
        dest = Path(target) / folder.relative_to(seed)
        staging: Path | None = None
        try:  # not enterable, not writable, or full: numba compiles what is missing
            if any((dest / f.name).exists() for f in files):
                continue
            dest.mkdir(parents=True, exist_ok=True)
            for f in sorted(files, key=lambda f: f.suffix == ".nbi"):  # the index last
                staging = dest / f".{f.name}.{os.getpid()}.tmp"
                shutil.copyfile(f, staging)
                staging.replace(dest / f.name)
                staging = None
                copied += 1
        except OSError:
            if staging is not None:  # a part-copied file is not left in the volume
                with contextlib.suppress(OSError):
                    staging.unlink(missing_ok=True)
            return copied
    return copied


def kernel_stats() -> tuple[int, int]:
    """(compiled, loaded from the cache): kernel signatures this process has compiled and
    loaded so far, over nettwin's numba functions."""
    if "numba" not in sys.modules:
        return 0, 0
    from numba.core.dispatcher import Dispatcher

    compiled = loaded = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith("nettwin.") or module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, Dispatcher) and value.__module__ == name:
                stats = value.stats
                compiled += len(stats.cache_misses)
                loaded += len(stats.cache_hits)
    return compiled, loaded


def dask_setup(worker: object) -> None:
    """Dask's preload hook (``dask worker --preload nettwin.kernel_cache``): seed the cache
    before the worker runs its first task."""
    seed_kernel_cache()
