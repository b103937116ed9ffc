"""Engine benchmark: one full scenario on a 1,000-node / 4,000-link network with a full
gravity traffic matrix (~1M demands), against the networkx reference in the same run.

Prints the workload, compile time, numba compile and cache-load cost (fresh processes), one
full scenario (routing + loads + queueing + per-demand delays), and the ratio to networkx.
Run: ``make bench`` or ``python benchmarks/bench_engine.py [--nodes N --links M]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from nettwin import build_network, compile_network, simulate
from nettwin.engine.threads import engine_threads, set_engine_threads
from nettwin.model import Network
from nettwin.model.gravity import gravity_demands
from nettwin.reference import reference_ecmp


def make_network(n: int, m: int, seed: int = 1) -> Network:
    """A connected, planar-ish backbone: a ring plus short chords, OSPF-like metrics."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 3000, size=(n, 2))  # km
    order = np.argsort(np.arctan2(xy[:, 1] - 1500, xy[:, 0] - 1500))
    pairs = {tuple(sorted((int(order[i]), int(order[(i + 1) % n])))) for i in range(n)}
    while len(pairs) < m:
        a = int(rng.integers(n))
        dist = np.hypot(*(xy - xy[a]).T)
        b = int(rng.choice(np.argsort(dist)[1:12]))
        pairs.add((min(a, b), max(a, b)))
    nodes = [{"id": f"r{i}"} for i in range(n)]
    links = []
    for k, (a, b) in enumerate(sorted(pairs)):
        cap = float(rng.choice([10e9, 40e9, 100e9]))
        length = float(np.hypot(*(xy[a] - xy[b])))
        links.append({"id": f"l{k}", "a": f"r{a}", "b": f"r{b}", "capacity_bps": cap,
                      "metric": max(1, round(length / 10)), "length_km": length})
    weights = rng.lognormal(0, 1, size=n)
    return build_network("bench", nodes, links, gravity_demands(weights, 0.3e12))


def _cold_and_warm_start() -> tuple[float, float]:
    """Seconds for a fresh process to run one small scenario: empty cache, then warm cache."""
    code = ("import time; t=time.perf_counter(); import nettwin; from nettwin.examples import "
            "example_path; from nettwin.io import load_network; "
            "nettwin.simulate(nettwin.compile_network(load_network(example_path()))); "
            "print(time.perf_counter()-t)")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        runs = [float(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                     capture_output=True, text=True).stdout)
                for _ in range(2)]
    return runs[0], runs[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--links", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()

    cold, warm = _cold_and_warm_start()
    print(f"numba: cold start (compile kernels) {cold:.2f} s, warm start (cached) {warm:.2f} s"
          " - fresh process, import + one Abilene scenario")

    t0 = time.perf_counter()
    net = make_network(args.nodes, args.links)
    t1 = time.perf_counter()
    compiled = compile_network(net)
    t2 = time.perf_counter()
    print(f"workload: {len(net.nodes)} nodes, {len(net.links)} links ({compiled.n_arcs} arcs), "
          f"{len(net.demands):,} demands, {net.demands.total_rate_bps / 1e12:.1f} Tbit/s")
    print(f"build network {t1 - t0:.2f} s, compile to arrays {1e3 * (t2 - t1):.1f} ms")

    simulate(compiled).paths.get()  # first call in this process loads the cached kernels
    times, cpus, parts = [], [], []
    for _ in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        result = simulate(compiled)
        result.paths.get()  # per-demand delay, loss, hops (computed on first read)
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        parts.append(result.timings_s)
    best = min(times)
    med = float(np.median(times))
    split = {k: np.median([p[k] for p in parts]) for k in parts[0]}
    print(f"one full scenario: median {1e3 * med:.1f} ms, best {1e3 * best:.1f} ms wall, "
          f"{1e3 * float(np.median(cpus)):.0f} ms CPU on {engine_threads()} threads "
          f"(routing+loads {1e3 * split['routing_s']:.1f}, queueing "
          f"{1e3 * split['queueing_s']:.1f}, per-demand delay/loss "
          f"{1e3 * split['path_metrics_s']:.1f} ms)")
    set_engine_threads(1)
    cpu1 = []
    for _ in range(3):
        c = time.process_time()
        simulate(compiled).paths.get()
        cpu1.append(time.process_time() - c)
    set_engine_threads(None)
    print(f"one thread: {1e3 * min(cpu1):.0f} ms CPU (best of 3)")
    print(f"max utilisation {result.kpis()['max_utilisation']:.3f}, "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

    if not args.skip_reference:
        t = time.perf_counter()
        ref = reference_ecmp(net)
        ref_s = time.perf_counter() - t
        err = float(np.abs(ref.arc_load_bps - result.arc_load_bps).max()
                    / max(1.0, ref.arc_load_bps.max()))
        print(f"networkx reference (loads only): {ref_s:.2f} s; max relative load difference "
              f"{err:.1e}")
        print(f"ratio: engine full scenario is {ref_s / med:.0f}x faster than the networkx "
              f"reference computing loads alone")


if __name__ == "__main__":
    main()
