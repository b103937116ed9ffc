"""Regression benchmark of the engine: small jobs, one 1,000-node scenario, failures.

Every figure is printed beside (a) the networkx reference and NetGraph (ngraph) measured in
the same run and (b) the previous release's figure stored in ``regress_baseline.json`` (the
main branch's code before the issue-19 work), so a slowdown is visible in review.

Workloads
  * GEANT (SNDlib, measured matrix) and Abilene (REPETITA): one scenario, p50/p99 wall over
    many repeats (the small-job latency a user feels on a loaded machine);
  * synthetic backbone, 1,000 nodes / 4,000 links (8,000 arcs) / 999k gravity demands: build
    and compile, one full scenario (wall on all threads, CPU on one thread), a double link
    failure through the incremental engine, all 8,000 single-arc failures;
  * networkx reference on the same 1,000-node network (loads only), ngraph on the real
    networks when the peers' virtualenv exists (``make bench-peers-setup``);
  * bursty queueing: GEANT and Rocketfuel rf1755 with 30 % of their demands on-off (50-ms
    bursts at twice the mean), one scenario's CPU on one thread queued as bursts and as
    Poisson (``--bursty`` alone; run it with PYTHONPATH at an older tree's src for the
    reference in the same minutes).

Run: ``make bench-regress`` (``--write-baseline`` stores this run as the new baseline;
``--quick`` skips networkx and the peers). ``--scenario`` times only the 1,000-node scenario
(CPU per pass on one thread, wall on all threads, medians of ``--repeats``); with
``--save-results DIR`` it stores the results and with ``--same-as DIR`` checks them bit for
bit against a run of other code, e.g. the previous release in a git worktree:
``PYTHONPATH=../old/src python benchmarks/bench_regress.py --scenario --save-results /tmp/r``
then ``--scenario --same-as /tmp/r`` here.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np

from nettwin import compile_network, simulate
from nettwin.engine.failure_sets import evaluate_failure_sets
from nettwin.engine.incremental import failure_loads, prepare_baseline
from nettwin.io import load_network, load_traffic
from nettwin.reference import reference_ecmp

sys.path.insert(0, str(Path(__file__).parent))
from bench_engine import make_network

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PEERS = ROOT / ".venv-peers" / "bin" / "python"
BASELINE = Path(__file__).with_name("regress_baseline.json")


def _walls(fn: Callable[[], Any], repeats: int) -> tuple[np.ndarray, float]:
    """Wall seconds of each call and the CPU seconds per call (process time, all threads)."""
    fn()
    walls = np.empty(repeats)
    c0 = time.process_time()
    for i in range(repeats):
        t = time.perf_counter()
        fn()
        walls[i] = time.perf_counter() - t
    return walls, (time.process_time() - c0) / repeats


def _one_thread_cpu(fn: Callable[[], Any], repeats: int) -> float:
    """Best CPU seconds of one call on one numba thread (the load of other agents cancels)."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        fn()
        best = float("inf")
        for _ in range(repeats):
            c = time.process_time()
            fn()
            best = min(best, time.process_time() - c)
    finally:
        numba.set_num_threads(before)
    return best


def _ngraph(net: Any, c: Any) -> tuple[float, float] | None:
    """ngraph's converge time (wall, CPU) of one scenario on the same topology, metrics and
    traffic (ngraph runs on one thread)."""
    if not PEERS.exists():
        return None
    work = {"nodes": list(net.node_ids), "sweep": False,
            "arcs": [[net.node_ids[c.arc_src[a]], net.node_ids[c.arc_dst[a]],
                      int(c.arc_metric[a]), float(c.arc_capacity_bps[a]), a // 2]
                     for a in range(c.n_arcs)],
            "demands": [[net.node_ids[s], net.node_ids[d], float(r)] for s, d, r in
                        zip(c.demand_src, c.demand_dst, c.demand_rate_bps, strict=True)]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(work, fh)
    path = Path(fh.name)
    try:
        res = subprocess.run([str(PEERS), str(ROOT / "benchmarks" / "peers" / "ngraph_run.py"),
                              str(path)], capture_output=True, text=True, timeout=1800,
                             check=False)
    finally:
        path.unlink()
    if res.returncode != 0:
        return None
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return float(out["converge_s"]), float(out["converge_cpu_s"])


@functools.cache
def real_network(name: str) -> Any:
    """GEANT (SNDlib, a measured 15-minute matrix), Abilene (REPETITA) or Rocketfuel rf1755
    (REPETITA), read once per run."""
    from nettwin.io.repetita import import_repetita

    if name == "geant":
        return load_traffic(load_network(DATA / "sndlib" / "xml" / "geant.xml"), DATA / (
            "traffic/geant-uhlig-15min/demandMatrix-geant-uhlig-15min-20050505-1400.xml"))
    rep = DATA / "repetita" / ("2016RocketFuelUCL" if name == "rf1755"
                               else "2016TopologyZooUCL_inverseCapacity")
    stem = {"abilene": "Abilene", "rf1755": "rf1755_real_hard"}[name]
    return import_repetita(rep / f"{stem}.graph", rep / f"{stem}.0000.demands")


def real_networks(figures: dict[str, float], peers: bool) -> None:
    for name in ("geant", "abilene", "rf1755"):
        net = real_network(name)
        c = compile_network(net)
        walls, cpu = _walls(lambda: simulate(c).demand_loss, 300)  # noqa: B023
        figures[f"{name}_scenario_p50_ms"] = 1e3 * float(np.percentile(walls, 50))
        figures[f"{name}_scenario_p99_ms"] = 1e3 * float(np.percentile(walls, 99))
        figures[f"{name}_scenario_cpu_ms"] = 1e3 * cpu
        line = (f"{name}: {c.n_nodes} nodes, {c.n_arcs} arcs, {c.n_demands} demands; one "
                f"scenario p50 {figures[f'{name}_scenario_p50_ms']:.3f} ms, p99 "
                f"{figures[f'{name}_scenario_p99_ms']:.3f} ms wall, {1e3 * cpu:.3f} ms CPU")
        symmetric = bool((c.arc_metric[0::2] == c.arc_metric[1::2]).all()
                         and (c.arc_capacity_bps[0::2] == c.arc_capacity_bps[1::2]).all())
        if peers and symmetric:
            ng = _ngraph(net, c)
            if ng is not None:
                figures[f"{name}_ngraph_ms"] = 1e3 * ng[0]
                figures[f"{name}_ngraph_cpu_ms"] = 1e3 * ng[1]
                line += (f"; ngraph {1e3 * ng[0]:.1f} ms wall, {1e3 * ng[1]:.1f} ms CPU "
                         f"({1e3 * ng[1] / figures[f'{name}_scenario_cpu_ms']:.0f}x our CPU)")
        print(line, flush=True)


def synthetic(figures: dict[str, float], networkx: bool, ngraph: bool) -> None:
    threads = numba.get_num_threads()
    t = time.perf_counter()
    c0 = time.process_time()
    net = make_network(1000, 4000)
    figures["k1_build_s"] = time.perf_counter() - t
    t = time.perf_counter()
    c = compile_network(net)
    figures["k1_compile_s"] = time.perf_counter() - t
    print(f"1k: {c.n_nodes} nodes, {c.n_arcs} arcs, {c.n_demands:,} demands; build "
          f"{figures['k1_build_s']:.2f} s, compile {figures['k1_compile_s']:.2f} s "
          f"({time.process_time() - c0:.2f} s CPU)", flush=True)
    def full() -> Any:  # routing, loads, queueing and every demand's delay/loss/hops
        return simulate(c).demand_loss

    walls, cpu = _walls(full, 7)
    figures["k1_scenario_ms"] = 1e3 * float(np.median(walls))
    figures["k1_scenario_cpu_ms"] = 1e3 * cpu
    figures["k1_scenario_cpu1_ms"] = 1e3 * _one_thread_cpu(full, 3)
    figures["k1_loads_cpu1_ms"] = 1e3 * _one_thread_cpu(lambda: simulate(c).arc_load_bps, 3)
    print(f"1k one scenario with per-demand results: median {figures['k1_scenario_ms']:.1f} ms"
          f" wall ({threads} threads, {1e3 * cpu:.0f} ms CPU); "
          f"{figures['k1_scenario_cpu1_ms']:.1f} ms CPU on one thread; loads and queueing "
          f"only (per-demand results not read): {figures['k1_loads_cpu1_ms']:.1f} ms CPU on "
          "one thread", flush=True)
    base = prepare_baseline(c)
    rng = np.random.default_rng(0)
    m = c.n_arcs // 2
    pairs = [np.array([2 * i, 2 * i + 1, 2 * j, 2 * j + 1]) for i, j in rng.choice(m, (200, 2))]
    failure_loads(base, pairs[0])
    walls = np.empty(len(pairs))
    for k, p in enumerate(pairs):
        t = time.perf_counter()
        failure_loads(base, p)
        walls[k] = time.perf_counter() - t
    figures["k1_double_p50_ms"] = 1e3 * float(np.percentile(walls, 50))
    figures["k1_double_p99_ms"] = 1e3 * float(np.percentile(walls, 99))
    arcs = [np.array([a]) for a in range(c.n_arcs)]
    t, cpu0 = time.perf_counter(), time.process_time()
    evaluate_failure_sets(base, arcs)
    figures["k1_all_arcs_s"] = time.perf_counter() - t
    figures["k1_all_arcs_cpu_s"] = time.process_time() - cpu0
    print(f"1k double link failure: p50 {figures['k1_double_p50_ms']:.2f} ms, p99 "
          f"{figures['k1_double_p99_ms']:.2f} ms wall; all {c.n_arcs} arc failures "
          f"{figures['k1_all_arcs_s']:.2f} s wall, {figures['k1_all_arcs_cpu_s']:.1f} s CPU",
          flush=True)
    if networkx:
        t = time.perf_counter()
        reference_ecmp(net)
        figures["k1_networkx_s"] = time.perf_counter() - t
        print(f"1k networkx reference (loads only): {figures['k1_networkx_s']:.1f} s -> engine "
              f"{1e3 * figures['k1_networkx_s'] / figures['k1_scenario_ms']:.0f}x faster "
              f"(wall), per failure "
              f"{figures['k1_networkx_s'] / (figures['k1_all_arcs_s'] / c.n_arcs):,.0f}x",
              flush=True)
    if ngraph:
        ng = _ngraph(net, c)
        if ng is not None:
            figures["k1_ngraph_s"], figures["k1_ngraph_cpu_s"] = ng
            cpu_ratio = 1e3 * ng[1] / figures["k1_scenario_cpu1_ms"]
            wall_ratio = 1e3 * ng[0] / figures["k1_scenario_ms"]
            print(f"1k ngraph (same topology, metrics, 999k demands): {ng[0]:.1f} s wall, "
                  f"{ng[1]:.1f} s CPU on one thread -> engine {cpu_ratio:.0f}x faster (CPU, "
                  f"one thread each), {wall_ratio:.0f}x (wall, {threads} threads)", flush=True)


RESULT_FIELDS = ("arc_load_bps", "demand_routed", "demand_delay_mean_s", "demand_delay_worst_s",
                 "demand_loss", "demand_hops_mean", "demand_path_signature")


def bursty(figures: dict[str, float]) -> None:
    """One scenario of two real networks with 30 % of their demands on-off, queued as bursts
    (``simulate`` with bursty arrivals: the bursts' moments routed, MMPP2/M/1/K per port)
    and as Poisson, CPU on one thread; the same figures either way checked."""
    import dataclasses

    from nettwin.engine.options import ArrivalModel, SimulationOptions
    from nettwin.model.demands import ARRIVAL_KINDS, DemandArrivals
    from nettwin.model.fields import ArrivalKind

    for name in ("geant", "rf1755"):
        net = real_network(name)
        n = len(net.demands)
        on = np.random.default_rng(1).random(n) < 0.3
        nan = np.full(n, np.nan)
        burst = np.where(on, 0.05, nan)
        arrivals = DemandArrivals(
            np.where(on, ARRIVAL_KINDS.index(ArrivalKind.ONOFF), 0).astype(np.int8), nan,
            burst, burst, nan, nan)
        c = compile_network(dataclasses.replace(net, demands=dataclasses.replace(
            net.demands, arrivals=arrivals)))
        cpu = {}
        for model in (ArrivalModel.BURSTY, ArrivalModel.POISSON):
            options = SimulationOptions(arrival_model=model)
            cpu[model] = 1e3 * _one_thread_cpu(
                lambda o=options, cc=c: simulate(cc, o).demand_loss, 7)  # type: ignore[misc]
            figures[f"{name}_{model.value}_cpu1_ms"] = cpu[model]
        delay = simulate(c, SimulationOptions(arrival_model=ArrivalModel.BURSTY)).kpis()[
            "mean_delay_s"]
        print(f"{name} with 30 % of {n} demands on-off: one scenario {cpu[ArrivalModel.BURSTY]:.1f}"
              f" ms CPU on one thread queued as bursts, {cpu[ArrivalModel.POISSON]:.1f} ms as "
              f"Poisson ({cpu[ArrivalModel.BURSTY] / cpu[ArrivalModel.POISSON]:.1f}x); mean "
              f"delay {delay:.9e} s", flush=True)


def thread_cpu_s() -> dict[int, float]:
    """CPU seconds of each thread of this process so far (Linux /proc; empty elsewhere)."""
    tasks = Path("/proc/self/task")
    if not tasks.exists():
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in tasks.iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def scenario(repeats: int, save: Path | None, same_as: Path | None) -> None:
    """The 1,000-node scenario alone: CPU per pass on one thread and wall on all threads,
    medians of ``repeats`` (the load average printed beside), results saved or compared."""
    c = compile_network(make_network(1000, 4000))
    threads = numba.get_num_threads()
    results = {}
    for label, count in (("one thread", 1), (f"{threads} threads", threads)):
        numba.set_num_threads(count)
        simulate(c).demand_loss  # noqa: B018 (kernels loaded)
        walls, pass1, pass2 = [], [], []
        for _ in range(repeats):
            t, c0 = time.perf_counter(), time.process_time()
            res = simulate(c)
            c1 = time.process_time()
            res.demand_loss  # noqa: B018 (per-demand results computed on first read)
            pass2.append(time.process_time() - c1)
            pass1.append(c1 - c0)
            walls.append(time.perf_counter() - t)
        results[count] = res
        cpu = np.add(pass1, pass2)
        print(f"1k scenario on {label}: wall median {1e3 * np.median(walls):.1f} ms (min "
              f"{1e3 * min(walls):.1f}); CPU median {1e3 * np.median(cpu):.1f} ms (routing, loads"
              f" and queueing {1e3 * np.median(pass1):.1f}, per-demand results "
              f"{1e3 * np.median(pass2):.1f}); load average {os.getloadavg()[0]:.1f}",
              flush=True)
        if count > 1:  # each thread's share: the largest bounds the idle machine's wall
            before = thread_cpu_s()
            for _ in range(repeats):
                simulate(c).demand_loss  # noqa: B018
            shares = sorted((after - before.get(tid, 0.0)) / repeats
                            for tid, after in thread_cpu_s().items())
            busy = [x for x in shares if x > 0]
            if busy:
                print(f"  CPU per scenario by thread (/proc counters, another {repeats} runs): "
                      f"{', '.join(f'{1e3 * x:.1f}' for x in busy)} ms", flush=True)
    numba.set_num_threads(threads)
    for count, res in results.items():
        arrays = {f: getattr(res, f) for f in RESULT_FIELDS}
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            np.savez(save / f"threads{count}.npz", **arrays)
        if same_as is not None:
            before = np.load(same_as / f"threads{count}.npz")
            differ = [f for f in RESULT_FIELDS
                      if not np.array_equal(before[f], arrays[f], equal_nan=True)]
            print(f"results on {count} thread(s) against {same_as}: "
                  + ("bit-identical" if not differ else f"DIFFER in {', '.join(differ)}"))


def crossover() -> None:
    """Serial against parallel kernels by work size (the figure behind
    engine.threads.PARALLEL_ABOVE_WORK): one scenario and one double failure, wall p50/p90."""
    from nettwin.engine import threads

    print("crossover: work = destinations x arcs; wall p50 / p90 in ms, serial vs "
          f"{threads.engine_threads()} threads")
    for n in (20, 50, 100, 150, 200, 300, 500, 1000):
        c = compile_network(make_network(n, 4 * n))
        row = []
        for label, limit in (("serial", float("inf")), ("parallel", 0.0)):
            threads.PARALLEL_ABOVE_WORK = limit
            walls, _ = _walls(lambda: simulate(c), max(5, min(300, 30_000 // n)))  # noqa: B023
            row.append(f"{label} {1e3 * np.percentile(walls, 50):.3f}/"
                       f"{1e3 * np.percentile(walls, 90):.3f}")
        print(f"  n={n:5d} work {c.destinations.size * c.n_arcs:>10,}: " + ", ".join(row),
              flush=True)
    c = compile_network(make_network(1000, 4000))
    base = prepare_baseline(c)
    rng = np.random.default_rng(0)
    pairs = [np.array([2 * i, 2 * i + 1, 2 * j, 2 * j + 1])
             for i, j in rng.choice(4000, (100, 2))]
    from nettwin.engine.incremental import WORK_PER_AFFECTED_DESTINATION
    dag = base.dag_dest
    affected = [len(np.unique(np.concatenate([dag[base.dag_ptr[a]:base.dag_ptr[a + 1]]
                                              for a in p]))) for p in pairs]
    row = []
    for label, limit in (("serial", float("inf")), ("parallel", 0.0)):
        threads.PARALLEL_ABOVE_WORK = limit
        failure_loads(base, pairs[0])
        walls = np.empty(len(pairs))
        for k, p in enumerate(pairs):
            t = time.perf_counter()
            failure_loads(base, p)
            walls[k] = time.perf_counter() - t
        row.append(f"{label} {1e3 * np.percentile(walls, 50):.3f}/"
                   f"{1e3 * np.percentile(walls, 90):.3f}")
    print(f"  1k double failure, {np.mean(affected):.0f} affected destinations (work "
          f"{np.mean(affected) * WORK_PER_AFFECTED_DESTINATION:,.0f}): " + ", ".join(row))


def compare(figures: dict[str, float], previous: dict[str, Any] | None) -> None:
    if previous is None:
        print("\nno previous release's figures (run with --write-baseline to store them)")
        return
    old = previous["figures"]
    print(f"\nagainst the previous release ({previous.get('label', '?')}); ratio = previous / "
          "now, above 1 is faster now, below 0.9 is a slowdown to look at. Wall figures move "
          "with the machine's load (then "
          f"{old.get('load_average_start', float('nan')):.1f}, now "
          f"{figures['load_average_start']:.1f}): judge by the CPU figures")
    for key, now in figures.items():
        if (key in old and now > 0 and "ngraph" not in key and "networkx" not in key
                and key != "load_average_start"):
            ratio = old[key] / now
            flag = "  <-- slower" if ratio < 0.9 else ""
            print(f"  {key:28s} {old[key]:10.3f} -> {now:10.3f}  {ratio:6.2f}x{flag}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-baseline", action="store_true")
    parser.add_argument("--label", default="", help="name of the code measured (baseline)")
    parser.add_argument("--quick", action="store_true", help="skip networkx and ngraph")
    parser.add_argument("--crossover", action="store_true",
                        help="only measure serial vs parallel kernels by work size")
    parser.add_argument("--bursty", action="store_true",
                        help="only the bursty-queueing scenarios (CPU on one thread)")
    parser.add_argument("--scenario", action="store_true",
                        help="only the 1,000-node scenario, CPU per pass and wall")
    parser.add_argument("--repeats", type=int, default=7, help="repeats with --scenario")
    parser.add_argument("--save-results", type=Path, help="with --scenario: store results")
    parser.add_argument("--same-as", type=Path,
                        help="with --scenario: check results bit for bit against a saved run")
    args = parser.parse_args()
    if args.crossover:
        crossover()
        return
    if args.scenario:
        scenario(args.repeats, args.save_results, args.same_as)
        return
    if args.bursty:
        bursty({})
        return
    load = os.getloadavg()[0]
    print(f"numba threads {numba.get_num_threads()}, {platform.processor() or platform.machine()}"
          f", load average {load:.1f} on {os.cpu_count()} cores")
    figures: dict[str, float] = {}
    real_networks(figures, not args.quick)
    synthetic(figures, not args.quick, not args.quick)
    bursty(figures)
    figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["load_average_start"] = load
    print(f"peak RSS {figures['peak_rss_mib']:.0f} MiB")
    previous = json.loads(BASELINE.read_text()) if BASELINE.exists() else None
    compare(figures, previous)
    if args.write_baseline:
        BASELINE.write_text(json.dumps({"label": args.label, "figures": figures}, indent=1)
                            + "\n")
        print(f"wrote {BASELINE.name}")


if __name__ == "__main__":
    main()
