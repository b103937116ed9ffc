"""The image's kernel cache: the seed lands in the writable cache whole and never over what a
process compiled, numba uses a cache compiled for the portable CPU target on this CPU (and
ignores one made for another target: the reason the image names ``generic``), and the
compiled / loaded counts the warm-up prints are numba's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nettwin.kernel_cache import SEED_ENV, cached_kernel_count, seed_kernel_cache

KERNEL = """
from numba import njit

@njit(cache=True)
def plus_one(x):
    return x + 1
"""

# import the kernel, seed (when asked), call it, report numba's cache hits and misses for it
PROBE = """
import json, sys
from nettwin.kernel_cache import seed_kernel_cache
sys.path.insert(0, sys.argv[1])
from kern import plus_one  # numba makes the kernel's cache folder here, as nettwin's do
copied = seed_kernel_cache()
assert plus_one(41) == 42
s = plus_one.stats
print(json.dumps({"copied": copied, "hits": len(s.cache_hits), "misses": len(s.cache_misses)}))
"""


def _env(**values: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"NUMBA_CACHE_DIR", "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", SEED_ENV}}
    env.update({k: v for k, v in values.items() if v is not None})
    return env


def _probe(code_dir: Path, **env: str | None) -> dict[str, int]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    run = subprocess.run([sys.executable, "-c", PROBE, str(code_dir)], check=True,
                         capture_output=True, text=True,
                         env=_env(PYTHONPATH=src, PYTHONDONTWRITEBYTECODE="1", **env))
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _seed(root: Path) -> Path:
    """Two source folders, three kernels (numba's names: index, then one data file each)."""
    for folder, kernels in (("engine_abc", ("routing.a-10", "routing.b-20")),
                            ("radio_def", ("storm.c-30",))):
        (root / folder).mkdir(parents=True)
        for kernel in kernels:
            (root / folder / f"{kernel}.py311.nbi").write_bytes(f"index {kernel}".encode())
            (root / folder / f"{kernel}.py311.1.nbc").write_bytes(f"code {kernel}".encode())
    return root


def test_seed_is_copied_once_and_never_over_a_process_s_own(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    seed, target = _seed(tmp_path / "seed"), tmp_path / "cache" / "numba"
    monkeypatch.setenv(SEED_ENV, str(seed))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(target))
    (target / "engine_abc").mkdir(parents=True)  # as importing the kernels leaves it
    assert cached_kernel_count() == 0
    assert seed_kernel_cache() == 6
    assert _tree(target) == _tree(seed)
    assert cached_kernel_count() == 3
    assert seed_kernel_cache() == 0
    # a process compiled kernel a itself (its data file not written yet); a newer seed adds d:
    # a stays the process's own (no seed file mixed in), b is there already, d is copied
    (target / "engine_abc" / "routing.a-10.py311.nbi").write_bytes(b"recompiled")
    (target / "engine_abc" / "routing.a-10.py311.1.nbc").unlink()
    (seed / "engine_abc" / "routing.d-40.py311.nbi").write_bytes(b"index d")
    (seed / "engine_abc" / "routing.d-40.py311.1.nbc").write_bytes(b"code d")
    assert seed_kernel_cache() == 2
    assert (target / "engine_abc" / "routing.a-10.py311.nbi").read_bytes() == b"recompiled"
    assert not (target / "engine_abc" / "routing.a-10.py311.1.nbc").exists()
    assert (target / "engine_abc" / "routing.d-40.py311.1.nbc").read_bytes() == b"code d"
    assert not list(target.rglob(".*"))  # no staging file left


def test_no_seed_without_both_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed, target = _seed(tmp_path / "seed"), tmp_path / "cache"
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv(SEED_ENV, str(seed))
    assert seed_kernel_cache() == 0
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(target))
    monkeypatch.delenv(SEED_ENV)
    assert seed_kernel_cache() == 0
    monkeypatch.setenv(SEED_ENV, str(tmp_path / "absent"))
    assert seed_kernel_cache() == 0
    assert not target.exists()


def test_a_generic_cpu_seed_is_loaded_and_a_host_cpu_process_compiles(tmp_path: Path) -> None:
    """numba's own verdict: the seed, compiled for ``generic`` into another folder, loads in
    a fresh process with an empty cache; a process compiling for the host's CPU (numba's
    default) finds nothing usable in it."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "kern.py").write_text(KERNEL)
    seed = tmp_path / "seed"
    built = _probe(code, NUMBA_CACHE_DIR=str(seed), NUMBA_CPU_NAME="generic")
    assert built == {"copied": 0, "hits": 0, "misses": 1}
    seed.chmod(0o555)  # as in the image (root, running the tests, is not held to it)
    loaded = _probe(code, NUMBA_CACHE_DIR=str(tmp_path / "pod1"), NUMBA_CPU_NAME="generic",
                    **{SEED_ENV: str(seed)})
    assert loaded["copied"] > 0 and (loaded["hits"], loaded["misses"]) == (1, 0)
    import llvmlite.binding as ll

    if ll.get_host_cpu_name() == "generic":  # LLVM knows not this CPU: its target is generic
        return
    host = _probe(code, NUMBA_CACHE_DIR=str(tmp_path / "pod2"), **{SEED_ENV: str(seed)})
    assert host["copied"] > 0 and (host["hits"], host["misses"]) == (0, 1)


STATS = """
import json
from nettwin.engine import compile_network
from nettwin.examples import abilene
from nettwin.kernel_cache import kernel_stats
compile_network(abilene())
print(json.dumps(kernel_stats()))
"""


def test_kernel_stats_count_compiled_then_loaded(tmp_path: Path) -> None:
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = _env(PYTHONPATH=src, NUMBA_CACHE_DIR=str(tmp_path))

    def stats() -> list[int]:
        out = subprocess.run([sys.executable, "-c", STATS], check=True, capture_output=True,
                             text=True, env=env).stdout
        return list(json.loads(out.strip().splitlines()[-1]))

    compiled, loaded = stats()
    assert compiled >= 1 and loaded == 0
    assert stats() == [0, compiled]  # the same kernels, now from the cache


def test_a_cache_folder_that_cannot_be_entered_copies_nothing_and_does_not_fail(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # as a user the cache volume is closed to (the image run under another uid, where
    # Path.exists raises EACCES on Python 3.11; root passes every permission check, so the
    # error is raised here for paths under the cache): the command goes on and compiles
    seed, target = _seed(tmp_path / "seed"), tmp_path / "cache"
    monkeypatch.setenv(SEED_ENV, str(seed))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(target))
    real_exists = Path.exists

    def closed(self: Path, *args: object, **kwargs: object) -> bool:
        if self.is_relative_to(target):
            raise PermissionError(13, "Permission denied", str(self))
        return real_exists(self)

    monkeypatch.setattr(Path, "exists", closed)
    assert seed_kernel_cache() == 0


def test_a_copy_that_fails_part_way_leaves_no_staging_file(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    import shutil

    seed, target = _seed(tmp_path / "seed"), tmp_path / "cache"
    monkeypatch.setenv(SEED_ENV, str(seed))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(target))
    real = shutil.copyfile

    def half_then_full(src: str, dst: str) -> None:  # a disk that fills mid-file
        Path(dst).write_bytes(Path(src).read_bytes()[:3])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", half_then_full)
    assert seed_kernel_cache() == 0
    assert not [p for p in target.rglob("*") if p.is_file()]
    monkeypatch.setattr(shutil, "copyfile", real)
    assert seed_kernel_cache() == 6


def test_kernels_older_than_a_kernel_source_are_dropped_and_only_nettwin_s(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nettwin.kernel_cache import drop_stale_kernels

    root = tmp_path / "cache"
    ours = _seed(root / "work_nettwin_src_nettwin_engine")  # numba names folders by path
    other = _seed(root / "someone_else")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(root))
    package = Path(__file__).resolve().parents[1] / "src" / "nettwin"
    newest_source = max(p.stat().st_mtime for p in package.rglob("*.py"))
    for p in root.rglob("*.nb[ic]"):  # compiled after every source: kept
        os.utime(p, (newest_source + 3600, newest_source + 3600))
    assert drop_stale_kernels() == 0
    stale = next(ours.rglob("*.nbi"))
    os.utime(stale, (newest_source - 3600, newest_source - 3600))  # made before an edit
    assert drop_stale_kernels() == 6  # every kernel of nettwin's: any may inline the edit
    assert not list(ours.rglob("*.nb[ic]"))
    assert len(list(other.rglob("*.nb[ic]"))) == 6
