"""Build the sample files the README uses (examples/observations.jsonl) from the bundled
Abilene network: counters of every router port every 30 s for ten minutes at the planned
load times 0.8 (1 % noise); at minute 6 Denver--Kansas-City goes down (an event and the
ports' oper status) and the traffic reroutes.

    PYTHONPATH=src python tools/build_example_files.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nettwin.engine import compile_network, simulate
from nettwin.examples import abilene
from nettwin.live.simulated import CounterFeed

ROOT = Path(__file__).resolve().parents[1]
START = 1_764_576_000.0  # 2025-12-01T08:00:00Z
LEVEL = 0.8
CUT = "Denver--Kansas-City"
STEP_S, STEPS, CUT_STEP = 30.0, 20, 12


def main() -> None:
    net = abilene()
    compiled = compile_network(net)
    rate = compiled.demand_rate_bps * LEVEL
    up = compiled.arc_up.copy()
    i = list(net.links).index(CUT)
    up[[2 * i, 2 * i + 1]] = False
    loads = {True: simulate(compiled, demand_rate_bps=rate).arc_load_bps,
             False: simulate(compiled, arc_up=up, demand_rate_bps=rate).arc_load_bps}
    rng = np.random.default_rng(1)
    feed = CounterFeed(net)
    lines: list[dict[str, object]] = []
    for k in range(STEPS + 1):
        intact = k <= CUT_STEP
        noisy = loads[intact] * (1.0 + 0.01 * rng.standard_normal(compiled.n_arcs))
        t = START + k * STEP_S
        if k == CUT_STEP + 1:
            lines.append({"kind": "event", "time": t - 20, "object": CUT, "event": "link_down",
                          "severity": "critical", "message": "loss of signal (fibre cut)"})
        lines += feed.step(t, noisy if k else loads[True], STEP_S if k else 0.0,
                           arc_up=None if intact else up)
    path = ROOT / "examples" / "observations.jsonl"
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in lines),
                    encoding="utf-8")
    print(f"wrote {path} ({len(lines)} observations)")


if __name__ == "__main__":
    main()
