#!/usr/bin/env python3
"""Packet-level ground truth for bursty whole-network queueing (ns-3, ``ns3gt``).

Builds small random networks (6-12 nodes, or a line for pure tandem/merging traffic) with
Poisson, on-off and mixed sources on explicit shortest paths, DropTail buffers of 5-40
packets and per-link loads drawn in 0.3-0.95; runs each once with ns3gt (``nice``, two at a
time) and keeps a compact copy of every result (per link and per flow) under
``tests/validation/data/ns3_bursty/``. The split into tuning and held-out scenarios is fixed
here, before any comparison with the model.

    NS3GT_OUT=build/ns3gt ../shared/tools/ns3gt/build.sh
    python tools/bursty_groundtruth.py make      # scenarios/*.json (pilot runs size them)
    python tools/bursty_groundtruth.py run       # results/*.json (about 15 CPU minutes)
    python tools/bursty_groundtruth.py run --run 2   # results-run2/: ns-3 against itself

``run`` re-simulates the stored scenarios (fixed seeds: the same results); ``make`` draws the
same networks and traffic again but sizes each window from a timed pilot run, so only the
stored scenario files reproduce the stored results exactly. t01-t04 ran with a 150 s CPU
budget, t06-t15 (added later, tuning only) with 40 s, the rest with 45 s (12,000 s at most,
3,150-12,000 s simulated each).

Never run by the test suite: the tests read the stored results.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "validation" / "data" / "ns3_bursty"
BIN = Path(os.environ.get("NS3GT_BIN", ROOT / "build" / "ns3gt"))
LIGHT_SPEED_FIBRE = 2e8

SIZES = [  # (weight, ns3gt size law)
    (0.35, {"type": "exponential", "mean_bytes": 800}),
    (0.25, {"type": "bimodal", "small_bytes": 64, "large_bytes": 1500, "p_small": 0.5}),
    (0.20, {"type": "fixed", "bytes": 1000}),
    (0.20, {"type": "empirical", "values": [64, 576, 1500], "probs": [7, 4, 1]}),
]

# name, topology, nodes, traffic mix (share of on-off flows), split. Fixed before any look at
# the model's errors: tuning scenarios may inform choices, held-out ones only measure them.
SCENARIOS = [
    ("t01", "random", 8, 0.0, "tuning"),
    ("t02", "random", 10, 1.0, "tuning"),
    ("t03", "random", 9, 0.5, "tuning"),
    ("t04", "line", 6, 0.5, "tuning"),
    ("t05", "random", 12, 0.3, "tuning"),
    # added later (session 2026-12-06) to choose among model changes with more than five
    # networks: tuning only, drawn like the others; the held-out set is unchanged
    ("t06", "random", 8, 0.0, "tuning"),
    ("t07", "line", 6, 0.0, "tuning"),
    ("t08", "random", 10, 1.0, "tuning"),
    ("t09", "line", 6, 1.0, "tuning"),
    ("t10", "random", 11, 0.5, "tuning"),
    ("t11", "random", 7, 0.3, "tuning"),
    # added in session 2026-12-07 for more on-off traffic through transit ports (where the
    # model's error lives): tuning only, drawn like the others; the held-out set is unchanged
    ("t12", "random", 9, 1.0, "tuning"),
    ("t13", "random", 10, 0.7, "tuning"),
    ("t14", "line", 7, 1.0, "tuning"),
    ("t15", "random", 8, 1.0, "tuning"),
    ("h01", "random", 7, 0.0, "heldout"),
    ("h02", "random", 11, 0.0, "heldout"),
    ("h03", "random", 8, 1.0, "heldout"),
    ("h04", "random", 12, 1.0, "heldout"),
    ("h05", "random", 10, 0.5, "heldout"),
    ("h06", "random", 6, 0.5, "heldout"),
    ("h07", "line", 5, 1.0, "heldout"),
    ("h08", "random", 9, 0.3, "heldout"),
    # a fresh held-out set (session 2026-12-07, issue 21): h01-h08 had been scored in many
    # sessions; these were drawn once, run once and scored only at the end of the session
    # that added them (same generator, new names: new draws)
    ("h09", "random", 9, 1.0, "heldout"),
    ("h10", "random", 11, 0.5, "heldout"),
    ("h11", "line", 6, 0.7, "heldout"),
    ("h12", "random", 8, 0.3, "heldout"),
]
CPU_BUDGET_S = 150.0  # t01-t04; the others 45 s (the shared 2-core machine was busy)
SHORT_BUDGET_S = 45.0
EXTRA_BUDGET_S = 40.0  # t06-t15
EXTRA = ("t06", "t07", "t08", "t09", "t10", "t11", "t12", "t13", "t14", "t15")


def _topology(rng: random.Random, kind: str, n: int) -> tuple[list[str], dict, list[tuple]]:
    names = [f"n{i:02d}" for i in range(n)]
    if kind == "line":
        pos = {v: (400e3 * i, 0.0) for i, v in enumerate(names)}
        return names, pos, [(names[i], names[i + 1]) for i in range(n - 1)]
    pos = {v: (rng.uniform(0, 2000e3), rng.uniform(0, 1500e3)) for v in names}
    d = lambda a, b: math.dist(pos[a], pos[b])  # noqa: E731
    tree, edges = {names[0]}, set()
    while len(tree) < n:  # Prim: a spanning tree, then short extra edges to degree ~3
        a, b = min(((u, v) for u in tree for v in names if v not in tree), key=lambda e: d(*e))
        tree.add(b)
        edges.add(tuple(sorted((a, b))))
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    while len(edges) < round(1.5 * n):
        a, b = rng.choice(pairs)
        if rng.random() < math.exp(-d(a, b) / 800e3):
            edges.add((a, b))
    return names, pos, sorted(edges)


def _shortest_path(adj: dict, s: str, t: str, rng: random.Random) -> list[str]:
    """A random one among the fewest-hop paths (BFS with shuffled neighbours)."""
    prev = {s: s}
    frontier = [s]
    while t not in prev:
        nxt = []
        for u in frontier:
            nb = sorted(adj[u])
            rng.shuffle(nb)
            for v in nb:
                if v not in prev:
                    prev[v] = u
                    nxt.append(v)
        frontier = nxt
    path = [t]
    while path[-1] != s:
        path.append(prev[path[-1]])
    return path[::-1]


def make_scenario(name: str, kind: str, n: int, onoff_share: float, split: str) -> dict:
    rng = random.Random(f"bursty-{name}")
    names, pos, edges = _topology(rng, kind, n)
    adj: dict[str, set[str]] = {v: set() for v in names}
    for a, b in edges:
        adj[a].add(b)
        adj[b].add(a)
    pairs = [(s, t) for s in names for t in names if s != t]
    rng.shuffle(pairs)
    if kind == "line":  # long tandem flows plus short cross traffic merging on the way
        pairs = sorted(pairs, key=lambda p: -abs(names.index(p[0]) - names.index(p[1])))
    flows = []
    for i, (s, t) in enumerate(sorted(pairs[: int(3.5 * n)])):
        r = rng.random() * sum(w for w, _ in SIZES)
        size = SIZES[-1][1]
        for w, spec in SIZES:
            r -= w
            if r <= 0:
                size = spec
                break
        f: dict = {"id": f"f{i:02d}", "src": s, "dst": t,
                   "rate_bps": rng.lognormvariate(0.0, 0.8), "size": size,
                   "path": _shortest_path(adj, s, t, rng)}
        if rng.random() < onoff_share:
            on = math.exp(rng.uniform(math.log(0.005), math.log(0.2)))
            ratio = rng.uniform(1.5, 6.0)  # peak / mean
            f["arrival"] = {"type": "onoff", "on_mean_s": round(on, 5),
                            "off_mean_s": round(on * (ratio - 1.0), 5)}
        flows.append(f)
    load: dict[tuple[str, str], float] = {}
    for f in flows:
        for a, b in zip(f["path"], f["path"][1:], strict=False):
            load[(a, b)] = load.get((a, b), 0.0) + f["rate_bps"]
    # capacities: each loaded link gets a utilisation drawn in 0.3-0.95, the busiest at 2 Mbit/s
    scale = 2e6 * 0.6 / max(load.values())
    links = []
    for x, y in edges:
        for a, b in ((x, y), (y, x)):
            u = rng.uniform(0.3, 0.95)
            cap = round(load[(a, b)] * scale / u, -3) if (a, b) in load else 2e6
            links.append({"id": f"{a}->{b}", "src": a, "dst": b, "capacity_bps": max(cap, 2e5),
                          "delay_s": round(math.dist(pos[a], pos[b]) / LIGHT_SPEED_FIBRE, 6),
                          "queue_pkts": rng.choice([5, 10, 20, 40])})
    for f in flows:
        f["rate_bps"] = round(f["rate_bps"] * scale, 1)
    return {"name": name, "seed": 4242, "run": 1,
            "sim": {"duration_s": 60.0, "warmup_s": 20.0, "batches": 20},
            "nodes": names, "links": links, "routing": {"mode": "explicit"}, "flows": flows,
            "output": {"delay_quantiles": False},
            "provenance": {"generator": "tools/bursty_groundtruth.py", "topology": kind,
                           "onoff_share": onoff_share, "split": split}}


def _run(scenario: Path, out: Path, extra: tuple[str, ...] = ()) -> dict:
    subprocess.run(["nice", "-n", "10", str(BIN), str(scenario), "-o", str(out), "--quiet",
                    "--no-quantiles", *extra], check=True)
    result: dict = json.loads(out.read_text())
    return result


def _size(sc: dict) -> None:
    """Pick the window so that the run costs about its CPU budget (from a 10 s pilot)."""
    with tempfile.TemporaryDirectory() as td:
        sp, op = Path(td) / "s.json", Path(td) / "o.json"
        pilot = dict(sc, sim={"duration_s": 10.0, "warmup_s": 2.0, "batches": 5})
        sp.write_text(json.dumps(pilot))
        cps = _run(sp, op)["meta"]["cpu_s"] / 12.0
    budget = (CPU_BUDGET_S if sc["name"] in ("t01", "t02", "t03", "t04")
              else EXTRA_BUDGET_S if sc["name"] in EXTRA else SHORT_BUDGET_S)
    sc["sim"]["duration_s"] = float(min(12000, max(100, round(budget / cps - 20, -1))))
    sc["provenance"]["pilot_cpu_per_sim_s"] = round(cps, 4)


def compact(result: dict, scenario: dict) -> dict:
    """What the tests need from an ns3gt result: per link and per flow, no quantiles."""
    link_keys = ("id", "src", "dst", "capacity_bps", "delay_s", "queue_pkts", "routed_rate_bps",
                 "offered_packets", "tx_packets", "drops", "loss_ratio", "utilisation",
                 "utilisation_ci95_halfwidth", "mean_tx_size_bytes", "mean_queue_pkts",
                 "mean_wait_s", "mean_wait_s_ci95_halfwidth")  # ns3gt's key (the copies
    # made before 2026-12-07 asked for another and kept none)
    flow_keys = ("id", "src", "dst", "rate_bps", "size_mean_bytes", "size_m2_bytes2",
                 "arrival", "path_links", "tx_packets", "rx_packets", "loss_ratio",
                 "loss_ratio_ci95_halfwidth", "jitter_s")
    delay_keys = ("mean_s", "mean_ci95_halfwidth_s", "std_s", "mean_queueing_s")
    flows = []
    for f in result["flows"]:
        row = {k: f.get(k) for k in flow_keys}
        row["delay"] = {k: f["delay"].get(k) for k in delay_keys}
        flows.append(row)
    m = result["meta"]
    return {"scenario": scenario["name"], "command": "tools/bursty_groundtruth.py run",
            "meta": {k: m.get(k) for k in ("generator", "seed", "run", "duration_s",
                                            "warmup_s", "cpu_s", "wall_s")},
            "links": [{k: link.get(k) for k in link_keys} for link in result["links"]],
            "flows": flows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("step", choices=["make", "run"])
    ap.add_argument("--only", default="")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--run", type=int, default=1, help=(
        "ns-3's run number (independent random streams, the same scenario and seed): 1 is "
        "results/, another N writes results-run{N}/ (ns-3 against itself: the reference's own "
        "spread)"))
    a = ap.parse_args()
    if a.step == "make" and a.run != 1:
        sys.exit("--run is for 'run' (another run of the stored scenarios); 'make' draws them")
    results = DATA / ("results" if a.run == 1 else f"results-run{a.run}")
    if not BIN.exists():
        sys.exit(f"{BIN} missing: NS3GT_OUT=build/ns3gt ../shared/tools/ns3gt/build.sh")
    todo = [s for s in SCENARIOS if not a.only or s[0] in a.only.split(",")]
    (DATA / "scenarios").mkdir(parents=True, exist_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    if a.step == "make":
        for spec in todo:
            sc = make_scenario(*spec)
            _size(sc)
            (DATA / "scenarios" / f"{spec[0]}.json").write_text(
                json.dumps(sc, separators=(",", ":")) + "\n")
            print(spec[0], sc["sim"]["duration_s"], "s", flush=True)
        return

    def one(spec: tuple) -> None:
        sp = DATA / "scenarios" / f"{spec[0]}.json"
        with tempfile.TemporaryDirectory() as td:
            t0 = time.time()
            res = _run(sp, Path(td) / "o.json", ("--run", str(a.run)) if a.run != 1 else ())
        sc = json.loads(sp.read_text())
        (results / f"{spec[0]}.json").write_text(
            json.dumps(compact(res, sc), separators=(",", ":")) + "\n")
        print(f"{spec[0]}: cpu {res['meta']['cpu_s']:.0f} s, wall {time.time() - t0:.0f} s",
              flush=True)

    with ThreadPoolExecutor(a.workers) as pool:
        list(pool.map(one, todo))


if __name__ == "__main__":
    main()
