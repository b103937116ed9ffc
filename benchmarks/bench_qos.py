"""Per-class QoS speed: one full scenario on the 1,000-node benchmark network with 3 traffic
classes (strict priority and WFQ), next to the single-class engine on the same network.

    .venv/bin/python benchmarks/bench_qos.py [--nodes 1000 --links 4000]

Workload: bench_engine's generated backbone, gravity traffic (n(n-1) demands), classes
drawn at random per demand (voice 20 %, video 30 %, best effort 50 %). Reference run in the
same process: ``simulate`` (one class, M/G/1 per arc).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_engine import make_network
from nettwin import compile_network, simulate
from nettwin.engine import QueueModel, SimulationOptions
from nettwin.engine.classes import simulate_classes, uniform_policy
from nettwin.engine.qos import Scheduler


def best_of(fn, runs: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--links", type=int, default=4000)
    args = parser.parse_args()
    net = make_network(args.nodes, args.links)
    rng = np.random.default_rng(5)
    t = net.demands
    classes = ("voice", "video", "best-effort")
    table = dataclasses.replace(t, class_index=rng.choice(3, len(t), p=[0.2, 0.3, 0.5]).astype(
        np.int16), class_names=classes, ids=None)
    c = compile_network(net.with_demands(table))
    sp = uniform_policy(c, Scheduler.SP, priority=classes)
    wfq = uniform_policy(c, Scheduler.WFQ, priority=classes, weights=(0.5, 0.3, 0.2))
    opts = SimulationOptions(queue_model=QueueModel.MG1)
    simulate(c, opts)  # compile the kernels first
    simulate_classes(c, sp)
    single = best_of(lambda: simulate(c, opts))
    t_sp = best_of(lambda: simulate_classes(c, sp))
    t_wfq = best_of(lambda: simulate_classes(c, wfq))
    res = simulate_classes(c, sp)
    res_wfq = simulate_classes(c, wfq)
    print(f"network: {c.n_nodes} nodes, {c.n_arcs} arcs, {c.n_demands:,} demands in 3 classes")
    print(f"  single class (simulate, M/G/1):  {1e3 * single:7.1f} ms")
    print(f"  3 classes, strict priority:       {1e3 * t_sp:7.1f} ms  ({t_sp / single:.2f}x)  "
          f"{ {k: round(1e3 * v, 1) for k, v in res.timings_s.items() if k != 'threads'} } ms")
    print(f"  3 classes, WFQ 0.5/0.3/0.2:       {1e3 * t_wfq:7.1f} ms  ({t_wfq / single:.2f}x)  "
          f"{ {k: round(1e3 * v, 1) for k, v in res_wfq.timings_s.items() if k != 'threads'} } ms")
    for k, name in enumerate(classes):
        mine = res.demand_class == k
        print(f"  {name:12s} mean delay {1e3 * res.demand_delay_mean_s[mine].mean():.3f} ms, "
              f"jitter {1e3 * res.demand_jitter_s[mine].mean():.3f} ms")


if __name__ == "__main__":
    main()
