"""Validation benchmark: one change (an OSPF cost raised on the busiest link) through
``validate_change`` with N-1 (every link and SRLG), on Abilene, GEANT (measured matrix) and
the 1,000-node network of ``bench_engine``; and the same N-1 verdict recomputed naively (a
full simulation per failure on both networks) as the reference in the same process.

Prints wall and CPU time per stage. Run: ``make bench-validate`` or
``python benchmarks/bench_validate.py [--nodes 1000 --links 4000 --red-team 100]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np

from bench_engine import make_network
from nettwin import compile_network, simulate
from nettwin.examples import example_path
from nettwin.io import load_network, load_traffic
from nettwin.model import Network
from nettwin.scenarios.changes import Direction, Scenario, SetMetric
from nettwin.validate import ChangeSet, Survive, Verdict, validate_change
from nettwin.validate.verdict import SERIAL_BELOW_NODES

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _timed(fn: Callable[[], object], repeat: int = 3) -> tuple[float, float, object]:
    """Best wall and CPU seconds of ``repeat`` runs, and the last result."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = fn()
        wall = min(wall, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return wall, cpu, result


def _change(network: Network) -> ChangeSet:
    """Double the cost of the busiest link's busiest direction: traffic moves."""
    c = compile_network(network)
    busiest = int(np.argmax(simulate(c).arc_utilisation))
    link = c.link_ids[busiest // 2]
    metric = int(min(65_535, 2 * c.arc_metric[busiest] + 1))
    d = Direction.AB if busiest % 2 == 0 else Direction.BA
    return ChangeSet(f"cost {metric} on {link}", Scenario("bench", (SetMetric(link, metric, d),)))


def _naive_n1(network: Network, change: ChangeSet) -> int:
    """The reference: every single-link failure simulated from scratch on both networks."""
    from nettwin.scenarios.apply import apply_scenario

    c = compile_network(network)
    applied = apply_scenario(network, c, change.scenario)
    worse = 0
    for i in range(len(network.links)):
        up_b, up_a = c.arc_up.copy(), applied.arc_up.copy()
        up_b[2 * i] = up_b[2 * i + 1] = up_a[2 * i] = up_a[2 * i + 1] = False
        before = simulate(c, arc_up=up_b).kpis()
        after = simulate(applied.compiled, arc_up=up_a).kpis()
        worse += after["max_utilisation"] > 1.0 >= before["max_utilisation"]
    return worse


def bench(name: str, network: Network, red_team: int, naive: bool) -> None:
    change = _change(network)
    c = compile_network(network)
    print(f"\n== {name}: {len(network.nodes)} nodes, {len(network.links)} links, "
          f"{c.n_demands} demands; change: {change.name}")
    validate_change(network, change, survive=Survive.NONE)  # kernels compiled / loaded
    for label, kwargs in (("forwarding + before/after (no failures)", {"survive": Survive.NONE}),
                          ("with N-1", {"survive": Survive.N1}),
                          (f"with N-1 and red team ({red_team} evaluations x 2 networks)",
                           {"survive": Survive.N1, "red_team": red_team})):
        if "red_team" in kwargs and not red_team:
            continue
        repeat = 1 if len(network.nodes) >= SERIAL_BELOW_NODES else 3
        wall, cpu, v = _timed(lambda kw=kwargs: validate_change(network, change, **kw),  # type: ignore[arg-type]
                              repeat)
        assert isinstance(v, Verdict)
        stages = ", ".join(f"{k.removesuffix('_s')} {1e3 * x:.0f}" for k, x in
                           v.timings_s.items() if k != "total_s")
        print(f"{label}: {1e3 * wall:.0f} ms wall, {1e3 * cpu:.0f} ms CPU  [{stages} ms]"
              f" -> {v.grade.value}")
        if v.survival.failures:
            print(f"  N-1: {v.survival.note}")
    if naive:
        # the reference runs on the same threads as validate (one for small networks)
        threads = numba.get_num_threads()
        numba.set_num_threads(1 if len(network.nodes) < SERIAL_BELOW_NODES else threads)
        wall_ref, cpu_ref, _ = _timed(lambda: _naive_n1(network, change), 1)
        numba.set_num_threads(threads)
        _, _, ours = _timed(lambda: validate_change(network, change, survive=Survive.N1), 3)
        assert isinstance(ours, Verdict)
        sweep = ours.timings_s["survival_s"]
        print(f"reference (a full simulation per single-link failure, both networks): "
              f"{1e3 * wall_ref:.1f} ms wall, {1e3 * cpu_ref:.1f} ms CPU; validate's N-1 stage "
              f"(links and SRLGs, with SLA checks): {1e3 * sweep:.1f} ms -> ratio "
              f"{wall_ref / sweep:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--links", type=int, default=4000)
    parser.add_argument("--red-team", type=int, default=100)
    args = parser.parse_args()
    bench("Abilene (bundled)", load_network(example_path()), args.red_team, True)
    geant = DATA / "sndlib" / "xml" / "geant.xml"
    if geant.exists():
        tm = DATA / "traffic/geant-uhlig-15min/demandMatrix-geant-uhlig-15min-20050505-1400.xml"
        bench("GEANT (SNDlib, measured TM)", load_traffic(load_network(geant), tm),
              args.red_team, True)
    big = make_network(args.nodes, args.links)
    bench(f"generated {args.nodes}-node backbone (bench_engine)", big, 0, False)


if __name__ == "__main__":
    main()
