"""Traffic-engineering benchmark against Parham et al. (CoNEXT 2021), same setting: SNDlib
Abilene, GEANT and germany50 with uniform link capacities, measured demand matrices, MLU as a
ratio to the multicommodity-flow optimum (our LP, HiGHS).

Per network and matrix: unit weights; optimised weights (``--weights-s``, anchor 60 s); weights
then SR waypoints with at most 2 segments (``--paths-s`` in all, half of it on the weights,
anchor 120 s; the weights-only ratio is read at that half); robust weights
(``--survive n-1``) on the first matrix: worst single-failure MLU over the largest
per-failure bound. Then a 1,000-node network (``bench_engine``'s generator): evaluations per
second, incremental against full re-routing in the same process, and the ratio reached.

Run: ``make bench-te`` (10 matrices per network), ``python benchmarks/bench_te.py --matrices 3``
or ``--quick`` (1 matrix, short limits). Wall and CPU seconds are printed for every stage.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from nettwin import compile_network, simulate
from nettwin.engine.simulate import route
from nettwin.io import load_network, load_traffic
from nettwin.model import Network
from nettwin.optimize import Survive, mcf_bound, optimize_paths, optimize_weights
from nettwin.optimize.moves import Move, RoutingTable

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TRAFFIC = {"abilene": "abilene-zhang-5min", "geant": "geant-uhlig-15min",
           "germany50": "germany50-dfn-1day"}
# Parham et al., CoNEXT 2021 (mean MLU / MCF optimum over their matrices; seconds)
ANCHOR = {"abilene": (1.18, 1.008, 1.001, 1_724), "geant": (2.55, 1.308, 1.134, 6_762),
          "germany50": (2.21, 1.037, 1.011, 13_729)}
TARGET = {"abilene": (1.01, 1.001), "geant": (1.25, 1.10), "germany50": (1.03, 1.01)}


def uniform(network: Network, capacity_bps: float = 10e9) -> Network:
    """Every link the same capacity both ways and metric 1 (the paper's setting)."""
    links = {lid: dataclasses.replace(link, capacity_ab_bps=capacity_bps,
                                      capacity_ba_bps=capacity_bps, metric_ab=1, metric_ba=1)
             for lid, link in network.links.items()}
    return dataclasses.replace(network, links=links)


def matrices(name: str, count: int) -> list[Path]:
    """``count`` matrices spread evenly over the folder (empty ones skipped later)."""
    files = sorted((DATA / "traffic" / TRAFFIC[name]).glob("*.xml"))
    picks = np.linspace(0, len(files) - 1, num=min(len(files), 3 * count)).round().astype(int)
    return [files[i] for i in dict.fromkeys(picks.tolist())]


class Clock:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __str__(self) -> str:
        return (f"{time.perf_counter() - self.wall:.1f} s wall, "
                f"{time.process_time() - self.cpu:.1f} s CPU")


def run_network(name: str, count: int, weights_s: float, paths_s: float, robust_s: float
                ) -> dict[str, list[float]]:
    topo = uniform(load_network(DATA / "sndlib" / "xml" / f"{name}.xml"))
    rows: dict[str, list[float]] = {k: [] for k in (
        "unit", "weights", "paths", "w_s", "p_s", "evals_per_s")}
    used = 0
    first: Path | None = None
    for path in matrices(name, count):
        if used == count:
            break
        net = load_traffic(topo, path)
        c = compile_network(net)
        if c.n_demands == 0 or not (c.demand_rate_bps > 0).any():
            continue
        used += 1
        first = first or path
        bound = mcf_bound(c).value
        unit = float(simulate(c).kpis()["max_utilisation"]) / bound
        clock = Clock()
        res = optimize_paths(net, segments=2, time_limit_s=paths_s,
                             weights_share=weights_s / paths_s, seed=used)
        w = res.weights_result
        assert w is not None
        rows["unit"].append(unit)
        rows["weights"].append(w.ratio)
        rows["paths"].append(res.ratio)
        rows["w_s"].append(w.seconds)
        rows["p_s"].append(res.seconds)
        rows["evals_per_s"].append(w.evaluations / w.seconds)
        print(f"  {name} {path.name}: unit {unit:.3f}, weights {w.ratio:.4f} "
              f"({w.seconds:.0f} s, {w.evaluations:,} evaluations), weights+SR "
              f"{res.ratio:.4f} ({res.seconds:.0f} s, {len(res.waypoints)} demands on "
              f"waypoints) [{clock}]", flush=True)
    if robust_s > 0 and first is not None:
        net = load_traffic(topo, first)
        clock = Clock()
        r = optimize_weights(net, survive=Survive.N1, time_limit_s=robust_s)
        assert r.worst_mlu is not None and r.worst_mlu_before is not None
        print(f"  {name} robust (n-1): worst single-failure MLU {r.worst_mlu:.4f} "
              f"(before {r.worst_mlu_before:.4f}, failure {r.worst_failure}); largest "
              f"per-failure bound {r.mlu_lower_bound:.4f}; worst / bound {r.ratio:.4f} "
              f"(target <= 1.10) [{clock}]", flush=True)
    return rows


def bench_large(nodes: int, links: int, seconds: float) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_engine import make_network  # the engine benchmark's generator

    net = make_network(nodes, links)
    c = compile_network(net)
    print(f"\n{nodes}-node network: {c.n_nodes} nodes, {c.n_arcs} arcs, {c.n_demands:,} demands")
    clock = Clock()
    table = RoutingTable(c, c.arc_metric, c.arc_up, c.demand_rate_bps)
    rng = np.random.default_rng(1)
    hot = np.argsort(-(table.load / c.arc_capacity_bps))[:20]
    moves = [Move((int(a),), (int(c.arc_metric[a]) + int(rng.integers(1, 20)),)) for a in hot]
    t = time.perf_counter()
    table.evaluate(moves)
    inc = (time.perf_counter() - t) / len(moves)
    t = time.perf_counter()
    for mv in moves[:5]:
        metric = c.arc_metric.copy()
        metric[list(mv.arcs)] = mv.metrics
        route(dataclasses.replace(c, arc_metric=metric), c.arc_up, c.demand_rate_bps)
    full = (time.perf_counter() - t) / 5
    print(f"  one candidate on the 20 hottest arcs: incremental {1e3 * inc:.1f} ms, full "
          f"re-route {1e3 * full:.1f} ms ({full / inc:.1f}x) [{clock}]")
    clock = Clock()
    res = optimize_weights(net, time_limit_s=seconds, compiled=c)
    print(f"  weights for {seconds:.0f} s: MLU {res.mlu_before:.4f} -> {res.mlu:.4f}, "
          f"{res.evaluations:,} evaluations ({res.evaluations / res.seconds:,.0f}/s), "
          f"{len(res.changed_links)} links changed; bound {res.mlu_lower_bound:.4f} "
          f"({res.bound.method.value}), ratio {res.ratio:.3f} [{clock}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matrices", type=int, default=10)
    parser.add_argument("--weights-s", type=float, default=60.0)
    parser.add_argument("--paths-s", type=float, default=120.0)
    parser.add_argument("--robust-s", type=float, default=60.0)
    parser.add_argument("--large-s", type=float, default=300.0)
    parser.add_argument("--networks", default="abilene,geant,germany50")
    parser.add_argument("--quick", action="store_true", help="1 matrix, short limits")
    args = parser.parse_args()
    if args.quick:
        args.matrices, args.weights_s, args.paths_s = 1, 10.0, 20.0
        args.robust_s, args.large_s = 10.0, 30.0
    if not DATA.exists():
        sys.exit(f"shared data not found at {DATA}")
    print(f"Parham et al. setting: uniform capacities, {args.matrices} measured matrices per "
          f"network; weights {args.weights_s:.0f} s, weights+SR (2 segments) {args.paths_s:.0f}"
          f" s, robust {args.robust_s:.0f} s per matrix")
    summary = []
    for name in args.networks.split(","):
        rows = run_network(name, args.matrices, args.weights_s, args.paths_s, args.robust_s)
        summary.append((name, rows))
    print("\nratio = MLU / MCF optimum, mean (max) over matrices; anchor = Parham et al.")
    print(f"{'network':10} {'n':>2} {'unit':>12} {'anchor':>6} {'weights':>16} {'anchor':>6} "
          f"{'target':>6} {'weights+SR':>16} {'anchor':>6} {'target':>6} {'evals/s':>8}")
    for name, r in summary:
        if not r["unit"]:
            continue
        a, tg = ANCHOR[name], TARGET[name]
        print(f"{name:10} {len(r['unit']):>2} "
              f"{np.mean(r['unit']):6.3f} ({max(r['unit']):.2f}) {a[0]:6.3f} "
              f"{np.mean(r['weights']):7.4f} ({max(r['weights']):.4f}) {a[1]:6.3f} {tg[0]:6.3f} "
              f"{np.mean(r['paths']):7.4f} ({max(r['paths']):.4f}) {a[2]:6.3f} {tg[1]:6.3f} "
              f"{np.mean(r['evals_per_s']):8.0f}")
        print(f"{'':10}    weights {np.mean(r['w_s']):.0f} s per matrix (anchor {a[3]:,} s), "
              f"weights+SR {np.mean(r['p_s']):.0f} s")
    if args.large_s > 0:
        bench_large(1000, 4000, args.large_s)


if __name__ == "__main__":
    main()
