"""Failure-sweep benchmark: exact incremental sweeps against full recomputation (this engine
and networkx) in the same run, and against the Python peers pyNTM and ngraph.

Workloads
  * synthetic backbone, 1,000 nodes / 4,000 links (8,000 arcs), full gravity matrix (~1M
    demands): every single-arc failure, every link + every node failure, a double failure;
  * real networks (Abilene/REPETITA, GEANT with a measured matrix, Rocketfuel 1755/REPETITA):
    one converged scenario and all link failures, nettwin vs pyNTM vs ngraph;
  * with --large (alone): 5,000 nodes / 20,000 arcs / 25M demands: build, baseline time and
    peak memory, arc failures (a random sample, extrapolated, unless --large-sample 0);
  * with --scaling (alone): one scenario at 500-3,000 nodes, the exponent in nodes.

Peers run in their own virtualenv (pyNTM pins an old networkx): ``make bench-peers-setup``.
Run: ``make bench-sweep`` or ``python benchmarks/bench_sweep.py [--large] [--no-peers]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nettwin import compile_network, simulate
from nettwin.engine.failure_sets import evaluate_failure_sets
from nettwin.engine.incremental import failure_loads, prepare_baseline
from nettwin.engine.threads import engine_threads, set_engine_threads
from nettwin.io import load_network, load_traffic
from nettwin.model import Network
from nettwin.reference import reference_ecmp

sys.path.insert(0, str(Path(__file__).parent))
from bench_engine import make_network

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PEERS = ROOT / ".venv-peers" / "bin" / "python"


def _timed(fn, repeats: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic(n: int, m: int, networkx_samples: int, arc_sample: int = 0) -> None:
    t = time.perf_counter()
    net = make_network(n, m)
    c = compile_network(net)
    print(f"\n== synthetic backbone: {n} nodes, {m} links ({c.n_arcs} arcs), "
          f"{c.n_demands:,} demands; build + compile {time.perf_counter() - t:.1f} s, "
          f"peak RSS so far {_rss_mib():.0f} MiB")
    t, cpu = time.perf_counter(), time.process_time()
    base = prepare_baseline(c)
    print(f"baseline (routing + per-destination state): {time.perf_counter() - t:.2f} s "
          f"({time.process_time() - cpu:.2f} s CPU, {engine_threads()} threads), "
          f"state {base.memory_bytes / 2**20:.0f} MiB, peak RSS {_rss_mib():.0f} MiB")
    evaluate_failure_sets(base, [np.array([0])])  # kernels loaded
    arcs = [np.array([a]) for a in range(c.n_arcs)]
    if arc_sample and arc_sample < len(arcs):
        pick = np.random.default_rng(0).choice(len(arcs), arc_sample, replace=False)
        arcs = [arcs[i] for i in np.sort(pick)]
    t, cpu = time.perf_counter(), time.process_time()
    evaluate_failure_sets(base, arcs)
    all_arcs = (time.perf_counter() - t) * c.n_arcs / len(arcs)
    note = "" if len(arcs) == c.n_arcs else (
        f" (extrapolated from a random {len(arcs):,}: {time.perf_counter() - t:.1f} s)")
    print(f"all {c.n_arcs} single-arc failures: {all_arcs:.2f} s{note} "
          f"({1e3 * all_arcs / c.n_arcs:.3f} ms each, {engine_threads()} threads, "
          f"{(time.process_time() - cpu) * c.n_arcs / len(arcs):.1f} s CPU); peak RSS "
          f"{_rss_mib():.0f} MiB", flush=True)
    if len(arcs) != c.n_arcs:
        return
    links = [np.array([2 * i, 2 * i + 1]) for i in range(m)]
    nodes = [np.flatnonzero((c.arc_src == v) | (c.arc_dst == v)) for v in range(n)]
    t = time.perf_counter()
    evaluate_failure_sets(base, links + nodes)
    ln = time.perf_counter() - t
    print(f"all {m} link + {n} node failures: {ln:.2f} s")
    rng = np.random.default_rng(0)
    pairs = [np.concatenate([links[i], links[j]]) for i, j in rng.choice(m, size=(200, 2))]
    t = time.perf_counter()
    for p in pairs:
        failure_loads(base, p)
    double = (time.perf_counter() - t) / len(pairs)
    print(f"one double link failure (full loads): {1e3 * double:.2f} ms "
          f"(mean of {len(pairs)})")
    per_failure = all_arcs / c.n_arcs
    full = _timed(lambda: simulate(c, arc_up=np.where(np.arange(c.n_arcs) == 5, False,
                                                       c.arc_up)))
    print(f"engine full recomputation of one failure: {1e3 * full:.1f} ms -> incremental is "
          f"{full / per_failure:.0f}x faster")
    if networkx_samples:
        t = time.perf_counter()
        for a in range(networkx_samples):
            up = c.arc_up.copy()
            up[a] = False
            reference_ecmp(net, up)
        nx_s = (time.perf_counter() - t) / networkx_samples
        print(f"networkx full recomputation of one failure: {nx_s:.1f} s (mean of "
              f"{networkx_samples}) -> incremental is {nx_s / per_failure:,.0f}x faster")


def _real_networks() -> list[tuple[str, Network]]:
    out = []
    rep = DATA / "repetita" / "2016TopologyZooUCL_inverseCapacity"
    if rep.exists():
        from nettwin.io.repetita import import_repetita

        out.append(("Abilene (REPETITA)", import_repetita(rep / "Abilene.graph",
                                                          rep / "Abilene.0000.demands")))
        rf = DATA / "repetita" / "2016RocketFuelUCL"
        out.append(("Rocketfuel 1755 (REPETITA)", import_repetita(
            rf / "rf1755_real_hard.graph", rf / "rf1755_real_hard.0000.demands")))
    geant = DATA / "sndlib" / "xml" / "geant.xml"
    if geant.exists():
        out.append(("GEANT (SNDlib, measured TM)", load_traffic(load_network(geant), DATA / (
            "traffic/geant-uhlig-15min/demandMatrix-geant-uhlig-15min-20050505-1400.xml"))))
    return out


def _peer(script: str, work: Path) -> dict[str, float] | None:
    if not PEERS.exists():
        return None
    res = subprocess.run([str(PEERS), str(ROOT / "benchmarks" / "peers" / script), str(work)],
                         capture_output=True, text=True, timeout=1800, check=False)
    if res.returncode != 0:
        print(f"  {script} failed: {res.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def peers(sweep_limit: int) -> None:
    print("\n== real networks: nettwin vs pyNTM vs ngraph (same topology, metrics, traffic)")
    if not PEERS.exists():
        print("peers not installed: run `make bench-peers-setup` (a separate virtualenv)")
    for name, net in _real_networks():
        c = compile_network(net)
        rate = np.round(c.demand_rate_bps)  # pyNTM takes whole numbers
        simulate(c, demand_rate_bps=rate)
        ours = _timed(lambda: simulate(c, demand_rate_bps=rate), 5)  # noqa: B023
        t = time.perf_counter()
        base = prepare_baseline(c, demand_rate_bps=rate)
        evaluate_failure_sets(base, [np.array([2 * i, 2 * i + 1]) for i in range(len(net.links))])
        ours_sweep = time.perf_counter() - t
        symmetric = bool((c.arc_metric[0::2] == c.arc_metric[1::2]).all()
                         and (c.arc_capacity_bps[0::2] == c.arc_capacity_bps[1::2]).all())
        print(f"{name}: {len(net.nodes)} nodes, {len(net.links)} links, {c.n_demands} demands")
        print(f"  nettwin: one scenario {1e3 * ours:.2f} ms (routing, loads, queueing, "
              f"per-demand delay); all {len(net.links)} link failures {1e3 * ours_sweep:.1f} ms")
        work = {"nodes": list(net.node_ids), "sweep": True, "sweep_limit": sweep_limit,
                "arcs": [[net.node_ids[c.arc_src[a]], net.node_ids[c.arc_dst[a]],
                          int(c.arc_metric[a]), float(c.arc_capacity_bps[a]), a // 2]
                         for a in range(c.n_arcs)],
                "demands": [[net.node_ids[s], net.node_ids[d], float(r)] for s, d, r in
                            zip(c.demand_src, c.demand_dst, rate, strict=True)]}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump(work, fh)
        path = Path(fh.name)
        for peer, script in (("pyNTM", "pyntm_run.py"), ("ngraph", "ngraph_run.py")):
            if peer == "ngraph" and not symmetric:
                print("  ngraph: skipped (its links are undirected; this network has "
                      "asymmetric metrics or capacities)")
                continue
            res = _peer(script, path)
            if res is None:
                continue
            per_link = res["sweep_s"] / max(1, res["swept"])
            sweep_all = per_link * len(net.links)
            extra = ""
            if "loads" in res:
                ref = simulate(c, demand_rate_bps=rate).arc_load_bps
                diff = np.abs(np.array(res["loads"]) - ref).max() / max(1.0, ref.max())
                extra = f"; its loads differ from nettwin's by {diff:.1e} (relative)"
            note = "" if res["swept"] >= len(net.links) else (
                f" (extrapolated from {res['swept']} failures)")
            print(f"  {peer}: one scenario {1e3 * res['converge_s']:.1f} ms "
                  f"({res['converge_s'] / ours:.0f}x nettwin); all link failures "
                  f"{sweep_all:.2f} s{note} ({sweep_all / ours_sweep:.0f}x nettwin){extra}")
        path.unlink()


def scaling(sizes: tuple[int, ...]) -> None:
    """One scenario's CPU time (one thread) against nodes: the exponent and its main term."""
    print("\n== one scenario against network size (4 links per node, full gravity matrix; "
          "CPU on one thread)")
    set_engine_threads(1)
    rows = []
    for n in sizes:
        c = compile_network(make_network(n, 4 * n))
        simulate(c).paths.get()
        best, parts = float("inf"), {}
        for _ in range(2):
            cpu = time.process_time()
            r = simulate(c)
            r.paths.get()  # with every demand's delay, loss and hops
            if time.process_time() - cpu < best:
                best, parts = time.process_time() - cpu, r.timings_s
        rows.append((n, best))
        print(f"  {n:5d} nodes, {c.n_demands:>11,} demands: {1e3 * best:8.1f} ms (routing + "
              f"loads {1e3 * parts['routing_s']:.0f}, per-demand path metrics "
              f"{1e3 * parts['path_metrics_s']:.0f})", flush=True)
    set_engine_threads(None)
    x, y = np.log([r[0] for r in rows]), np.log([r[1] for r in rows])
    slope = float(np.polyfit(x, y, 1)[0])
    print(f"  exponent: time ~ nodes^{slope:.2f} (routing is n Dijkstras on O(n) arcs: "
          "n^2 log n, n (m + D) with the bucket queue; the path metrics write n^2 demands)")


def main() -> None:
    parser = argparse.ArgumentParser(description="failure-sweep benchmark")
    parser.add_argument("--large", action="store_true", help="also 5,000 nodes / 20,000 arcs")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--large-sample", type=int, default=2000,
                        help="arc failures evaluated at 5,000 nodes (0: all 20,000)")
    parser.add_argument("--scaling", action="store_true",
                        help="one scenario at 500-3,000 nodes: the exponent in nodes")
    parser.add_argument("--networkx-samples", type=int, default=2)
    parser.add_argument("--peer-sweep-limit", type=int, default=40,
                        help="failures a peer evaluates before its sweep time is extrapolated")
    args = parser.parse_args()
    if args.scaling:
        scaling((500, 1000, 2000, 3000))
        return
    if args.large:
        synthetic(5000, 10000, 0, args.large_sample)
        return
    synthetic(1000, 4000, args.networkx_samples)
    if not args.no_peers:
        peers(args.peer_sweep_limit)


if __name__ == "__main__":
    main()
