"""Run one workload through pyNTM (in its own virtualenv: it pins networkx 3.1).

Input (JSON, argv[1]): nodes, arcs [[src, dst, metric, capacity_bps, link_index]], demands
[[src, dst, rate_bps]], sweep (bool). Output (JSON on stdout): converge time, sweep time,
links swept, and the baseline load per arc for cross-checking.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

from pyNTM import FlexModel


def main() -> None:
    work = json.loads(Path(sys.argv[1]).read_text())
    lines = ["INTERFACES_TABLE",
             "node_object_name\tremote_node_object_name\tname\tcost\tcapacity\tcircuit_id"]
    for k, (s, d, metric, cap, link) in enumerate(work["arcs"]):
        lines.append(f"{s}\t{d}\tif{k}\t{metric}\t{round(cap)}\t{link}")
    lines += ["", "NODES_TABLE", "name\tlon\tlat"]
    lines += [f"{n}\t0\t0" for n in work["nodes"]]
    lines += ["", "DEMANDS_TABLE", "source\tdest\ttraffic\tname"]
    lines += [f"{s}\t{d}\t{round(r)}\td{k}" for k, (s, d, r) in enumerate(work["demands"])]
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as fh:
        fh.write("\n".join(lines) + "\n")
        path = fh.name
    t0 = time.perf_counter()
    model = FlexModel.load_model_file(path)
    model.update_simulation()
    converge = time.perf_counter() - t0
    loads = []
    for k, (s, _d, _m, _c, _l) in enumerate(work["arcs"]):
        loads.append(float(model.get_interface_object(f"if{k}", s).traffic))
    sweep_s, swept = None, 0
    if work.get("sweep"):
        t0 = time.perf_counter()
        limit = work.get("sweep_limit")
        for k, (s, _d, _m, _c, _l) in enumerate(work["arcs"][0::2]):
            if limit is not None and swept >= limit:
                break
            model.fail_interface(f"if{2 * k}", s)
            model.update_simulation()
            model.unfail_interface(f"if{2 * k}", s)
            swept += 1
        sweep_s = time.perf_counter() - t0
    print(json.dumps({"converge_s": converge, "sweep_s": sweep_s, "swept": swept,
                      "loads": loads}))


if __name__ == "__main__":
    main()
