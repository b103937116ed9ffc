"""Run one workload through ngraph (NetGraph) in the peers' virtualenv.

Same input as pyntm_run.py. Links are undirected in ngraph, so the workload must have
symmetric metrics and capacities. Demands use the SHORTEST_PATHS_ECMP_LOSSY preset (IGP
ECMP that places the whole volume, like an IGP twin). Output: converge (wall and CPU) and
sweep times.
"""

import json
import re
import sys
import time
from pathlib import Path

from ngraph import Link, Network, Node
from ngraph.analysis.functions import build_demand_placement_inputs, demand_placement_analysis


def main() -> None:
    work = json.loads(Path(sys.argv[1]).read_text())
    t0 = time.perf_counter()
    c0 = time.process_time()
    net = Network()
    for n in work["nodes"]:
        net.add_node(Node(name=n))
    link_ids = []
    for s, d, metric, cap, _link in work["arcs"][0::2]:
        lk = Link(source=s, target=d, capacity=cap / 1e6, cost=float(metric))  # Mbit/s
        net.add_link(lk)
        link_ids.append(lk.id)
    config = [{"source": f"^{re.escape(s)}$", "target": f"^{re.escape(d)}$",
               "volume": r / 1e6, "mode": "pairwise", "flow_policy": "SHORTEST_PATHS_ECMP_LOSSY"}
              for s, d, r in work["demands"]]
    ctx, expansion, ids = build_demand_placement_inputs(net, config)
    result = demand_placement_analysis(net, set(), set(), config, context=ctx,
                                       expansion=expansion, resolved_ids=ids)
    converge = time.perf_counter() - t0
    converge_cpu = time.process_time() - c0
    sweep_s, swept = None, 0
    if work.get("sweep"):
        t0 = time.perf_counter()
        limit = work.get("sweep_limit")
        for lid in link_ids:
            if limit is not None and swept >= limit:
                break
            demand_placement_analysis(net, set(), {lid}, config, context=ctx,
                                      expansion=expansion, resolved_ids=ids)
            swept += 1
        sweep_s = time.perf_counter() - t0
    summary = result.summary
    print(json.dumps({"converge_s": converge, "converge_cpu_s": converge_cpu,
                      "sweep_s": sweep_s, "swept": swept,
                      "placed": float(getattr(summary, "total_placed", 0.0))}))


if __name__ == "__main__":
    main()
