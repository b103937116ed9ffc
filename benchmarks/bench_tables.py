"""Result tables: Arrow tables built from the arrays in one step (``report.arc_table`` /
``demand_table``, what ``nettwin.run`` returns) against the row-by-row dict records
(``report.arc_records`` / ``demand_records``) on the same simulation, in the same process.

Run: ``make bench-tables`` or ``python benchmarks/bench_tables.py [--nodes N --links M]``
(default 300 nodes, 1,200 links, a full gravity matrix: ~90,000 demands).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from nettwin import compile_network, simulate
from nettwin.report import arc_records, arc_table, demand_records, demand_table

sys.path.insert(0, str(Path(__file__).parent))
from bench_engine import make_network


def timed(fn, repeat: int = 3) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Best wall and CPU seconds of ``repeat`` calls."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        best_wall = min(best_wall, time.perf_counter() - w)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best_wall, best_cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=300)
    ap.add_argument("--links", type=int, default=1200)
    args = ap.parse_args()
    net = make_network(args.nodes, args.links)
    compiled = compile_network(net)
    result = simulate(compiled)
    print(f"workload: {args.nodes} nodes, {2 * args.links} arcs, {len(net.demands)} demands")
    for name, arrow, rows in (
            ("arcs", lambda: arc_table(compiled, result), lambda: arc_records(compiled, result)),
            ("demands", lambda: demand_table(net, result), lambda: demand_records(net, result))):
        aw, ac = timed(arrow)
        rw, rc = timed(rows)
        print(f"{name:8s} Arrow {1e3 * aw:8.2f} ms wall {1e3 * ac:8.2f} ms CPU | dict rows "
              f"{1e3 * rw:8.2f} ms wall {1e3 * rc:8.2f} ms CPU | rows/Arrow {rw / aw:6.1f}x")


if __name__ == "__main__":
    main()
