"""Energy saving benchmark: a measured day of Abilene and GEANT, links asleep per interval.

Workloads
  * SNDlib Abilene (12 nodes, 15 links) with Zhang's measured 5-minute matrices of
    2004-03-01 (288 intervals); SNDlib GEANT (22 nodes, 36 links) with Uhlig's measured
    15-minute matrices of 2005-05-05 (96 intervals). Utilisation limit 0.8, wake time 60 s,
    min dwell 3 intervals; --survive none and n-1.
  * The same days with every matrix scaled so the all-awake busiest interval reaches 90 %
    (the measured days load these backbones to 20-37 %): how the saving shrinks with load.
Reported: link energy saved over the day (replayed through the engine: SLA violations and
arcs over the limit must be 0), kWh, the MILP bound on the saving (any routing, no dwell, no
n-1: :mod:`nettwin.optimize.energy_bound`), the topology bound (links beyond a spanning
tree, the most any connected plan can sleep), seconds wall and CPU, and the plan's cost
against the reference measured in the same run: replaying the day (one full ``simulate``
per interval).

Anchor: GreenTE (Zhang, Yi, Liu, Chen, Wang, "GreenTE: Power-aware traffic engineering",
IEEE ICNP 2010) reports 27-42 % of line-card power saved across the networks it studied
(Abilene and GEANT among them) under MLU and delay limits, with a MILP solved per
traffic matrix (not run here; its power model counts line cards, ours link ports).
Targets (issue 18): >= 30 % of link energy with zero SLA violations; an Abilene day in
<= 60 s.

Run: ``make bench-energy`` or ``python benchmarks/bench_energy.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from nettwin.engine import compile_network, simulate
from nettwin.io import load_network
from nettwin.io.traffic_series import read_traffic_series, traffic_files
from nettwin.optimize.energy import optimize_energy
from nettwin.optimize.weights import kernel_threads

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DAYS = {"abilene": ("abilene-zhang-5min", "*-20040301-*.xml"),
        "geant": ("geant-uhlig-15min", "*-20050505-*.xml")}


def measured_day(name: str, limit: int | None) -> tuple[Any, Any]:
    folder, pattern = DAYS[name]
    net = load_network(DATA / "sndlib" / "xml" / f"{name}.xml")
    files = traffic_files(DATA / "traffic" / folder / pattern)
    return read_traffic_series(net, files[:limit] if limit else files)


def replay_seconds(net: Any, rates: np.ndarray) -> float:
    """The reference: one full simulate per interval, every link awake."""
    compiled = compile_network(net)
    with kernel_threads(compiled, None):
        simulate(compiled, demand_rate_bps=rates[0])
        t0 = time.perf_counter()
        for r in rates:
            simulate(compiled, demand_rate_bps=r)
    return time.perf_counter() - t0


def peak_scale(net: Any, rates: np.ndarray, target: float) -> float:
    compiled = compile_network(net)
    peak = max(float(simulate(compiled, demand_rate_bps=r).arc_utilisation.max())
               for r in rates)
    return target / peak


def run(name: str, net: Any, rates: np.ndarray, interval_s: float, survive: str,
        bound: bool, tag: str) -> dict[str, Any]:
    w0, c0 = time.perf_counter(), time.process_time()
    result = optimize_energy(net, rates, interval_s=interval_s, survive=survive, bound=bound)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    doc = result.to_document()
    row = {"network": name, "traffic": tag, "survive": survive, "intervals": doc["steps"],
           "saved": doc["energy_saved_fraction"], "kwh_saved": doc["kwh_saved"],
           "kwh_all_awake": doc["kwh_all_awake"], "sla_violations": doc["sla_violations"],
           "over_limit": doc["over_limit_arcs"], "mlu_max": doc["mlu_max"],
           "broken_all_awake": len(doc["intervals_broken_all_awake"]),
           "mlu_all_awake": doc["mlu_all_awake_max"], "asleep_mean": doc["asleep_mean"],
           "wall_s": wall, "cpu_s": cpu, "plan_s": doc["seconds"]["plan"],
           "bound": doc.get("bound", {}).get("saving_upper_bound"),
           "bound_s": doc["seconds"]["bound"], "worst_failure_mlu":
           doc.get("worst_failure_mlu"), "cut_failures": doc.get("cut_failures")}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first 48 intervals, no bound")
    args = parser.parse_args()
    limit = 48 if args.quick else None
    rows = []
    for name in DAYS:
        net, series = measured_day(name, limit)
        rates = series.rate_bps
        links, nodes = len(net.links), len(net.nodes)
        tree = (links - (nodes - 1)) / links
        ref = replay_seconds(net, rates)
        print(f"\n{name}: {nodes} nodes, {links} links, {series.steps} intervals of "
              f"{series.interval_s:g} s ({series.source}); topology bound (links beyond a "
              f"spanning tree, equal watts): {tree:.1%}; reference replay "
              f"{ref:.2f} s ({ref / series.steps * 1e3:.1f} ms per interval)")
        scale = peak_scale(net, rates, 0.9)
        for tag, r in (("measured", rates), (f"x{scale:.2f} (busiest 90 %)", rates * scale)):
            for survive in ("none", "n-1"):
                row = run(name, net, r, series.interval_s, survive,
                          bound=not args.quick and survive == "none", tag=tag)
                row["plan_vs_replay"] = row["plan_s"] / ref
                rows.append(row)
                b = f"{row['bound']:.1%}" if row["bound"] is not None else "-"
                n1 = (f" worst failure before waking {row['worst_failure_mlu']:.1%}, "
                      f"cut {row['cut_failures']}" if survive == "n-1" else "")
                print(f"  {tag:<26} survive {survive:<4}: saved {row['saved']:6.1%} "
                      f"({row['kwh_saved']:.2f} of {row['kwh_all_awake']:.2f} kWh), bound {b}, "
                      f"SLA violations {row['sla_violations']}, arcs over the limit "
                      f"{row['over_limit']} (in {row['broken_all_awake']} intervals over it "
                      f"with every link awake), MLU {row['mlu_max']:.1%} (all awake "
                      f"{row['mlu_all_awake']:.1%}), asleep {row['asleep_mean']:.1f}{n1}")
                print(f"  {'':<26}   {row['wall_s']:.1f} s wall, {row['cpu_s']:.1f} s CPU "
                      f"(plan {row['plan_s']:.1f} s = {row['plan_vs_replay']:.1f}x the "
                      f"replay; bound {row['bound_s']:.1f} s)")
    print("\nGreenTE (ICNP 2010, its own figures): 27-42 % of line-card power across its "
          "networks. Target: >= 30 % of link energy, 0 SLA violations, Abilene day <= 60 s.")


if __name__ == "__main__":
    main()
