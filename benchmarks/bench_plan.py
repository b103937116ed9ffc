"""Capacity-planning benchmark: SNDlib germany50, GEANT, nobel-eu and janos-us with the
SNDlib module lists and costs, planned to survive every single link failure at 80 %.

Traffic: the measured matrices for germany50 (DFN, 21 daily matrices) and GEANT (Uhlig,
228 15-minute matrices), planned for the peak of each demand over them; the SNDlib demands
for nobel-eu and janos-us. Cases per network: today's traffic (1 year), and 3 years at
x1.3 a year; then, to exercise the coupling the MILP exists for, today's traffic with
``--candidates`` (default 8; ``--candidates-time-limit``, 300 s) new links allowed: the
shortest node pairs not yet linked, same IGP metric as the network's links, SNDlib's
module types priced by length (the network's median cost per km), a setup cost of ten
smallest modules.

Per case: MILP cost, HiGHS's best bound and the optimality gap, the LP relaxation bound
and the gap to it, the greedy baseline (one module on the most utilised link under the
worst failure until all pass; no new links) and the MILP's saving against it, iterations,
wall and CPU seconds. Targets (issue 18): optimality gap <= 5 % within 5 minutes on 2
cores, cheaper than greedy on every network.

Run: ``make bench-plan`` or ``python benchmarks/bench_plan.py --quick`` (2 networks).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
import time
from pathlib import Path

from nettwin.io import load_network
from nettwin.io.capacity_files import catalogue_from_sndlib, load_plan_traffic
from nettwin.model import Network
from nettwin.model.geo import distance_km
from nettwin.optimize.capacity import (
    Candidate,
    CapacityPlan,
    LinkOffer,
    Module,
    ModuleCatalogue,
    Resilience,
    greedy_capacity,
    plan_capacity,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NETWORKS = {"germany50": "germany50-dfn-1day", "geant": "geant-uhlig-15min",
            "nobel-eu": None, "janos-us": None}


def load(name: str) -> tuple[Network, ModuleCatalogue, str]:
    path = DATA / "sndlib" / "native" / f"{name}.txt"
    network = load_network(path)
    used = "SNDlib demands"
    if NETWORKS[name]:
        network, used = load_plan_traffic(network, DATA / "traffic" / str(NETWORKS[name]))
    return network, catalogue_from_sndlib(path, network), used


def candidates(network: Network, catalogue: ModuleCatalogue, count: int
               ) -> tuple[list[Candidate], ModuleCatalogue]:
    """The ``count`` shortest unlinked node pairs, priced like the network's links."""
    linked = {frozenset((lk.a, lk.b)) for lk in network.links.values()}
    nodes = list(network.nodes.values())
    pairs = []
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            if frozenset((a.id, b.id)) not in linked:
                d = distance_km(a.latitude, a.longitude, b.latitude, b.longitude)
                if d is not None:
                    pairs.append((d, a.id, b.id))
    pairs.sort()
    per_km = statistics.median(
        catalogue.offer(lid).modules[0].cost / lk.length_km
        for lid, lk in network.links.items() if lk.length_km and catalogue.offer(lid).modules)
    some = next(iter(network.links))
    ref = catalogue.offer(some)
    metric = int(statistics.median(lk.metric_ab for lk in network.links.values()))
    out, per_link = [], dict(catalogue.per_link)
    for d, a, b in pairs[:count]:
        cid = f"new-{a}-{b}"
        scale = per_km * d / ref.modules[0].cost
        per_link[cid] = LinkOffer(tuple(Module(m.capacity_bps, m.cost * scale)
                                        for m in ref.modules))
        out.append(Candidate(cid, a, b, metric, 10 * min(m.cost for m in per_link[cid].modules),
                             d))
    return out, dataclasses.replace(catalogue, per_link=per_link)


def fmt(x: float | None, pct: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{100 * x:.3f}%" if pct else f"{x:,.0f}"


def row(name: str, case: str, plan: CapacityPlan, greedy: CapacityPlan | None,
        wall: float, cpu: float) -> list[str]:
    saving = None if greedy is None or greedy.cost == 0 else 1 - plan.cost / greedy.cost
    return [name, case, fmt(plan.cost), fmt(plan.best_bound), fmt(plan.gap, True),
            fmt(plan.lp_bound), fmt(plan.lp_gap, True), fmt(greedy.cost if greedy else None),
            fmt(saving, True), str(len(plan.upgrades)), str(len(plan.new_links)),
            str(plan.iterations), f"{wall:.1f}", f"{cpu:.1f}",
            f"{plan.worst_utilisation_failure:.3f}" if plan.worst_utilisation_failure else "-",
            plan.status]


HEAD = ["network", "case", "cost", "best bound", "gap", "LP bound", "LP gap", "greedy",
        "vs greedy", "links up", "new", "iter", "wall s", "cpu s", "worst fail util", "status"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="germany50 and nobel-eu only")
    ap.add_argument("--networks", nargs="+", choices=list(NETWORKS), help="these only")
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--candidates", type=int, default=8)
    ap.add_argument("--candidates-time-limit", type=float, default=300.0)
    args = ap.parse_args()
    names = args.networks or (["germany50", "nobel-eu"] if args.quick else list(NETWORKS))
    rows = []
    for name in names:
        t = time.perf_counter()
        network, catalogue, used = load(name)
        types = sum(len(catalogue.offer(x).modules) for x in network.links) / len(network.links)
        print(f"{name}: {len(network.nodes)} nodes, {len(network.links)} links, "
              f"{len(network.demands)} demands ({used}, "
              f"{network.demands.total_rate_bps / 1e9:.1f} Gbit/s), "
              f"{types:.0f} module types per link; loaded in {time.perf_counter() - t:.1f} s",
              flush=True)
        cases: list[tuple[str, dict[str, object]]] = [
            ("today", {}), ("3y x1.3", {"growth": 1.3, "years": 3})]
        if args.candidates:
            cands, cat2 = candidates(network, catalogue, args.candidates)
            cases.append((f"+{len(cands)} cand.", {"candidates": cands, "catalogue": cat2}))
        for case, extra in cases:
            cat = extra.pop("catalogue", catalogue)
            assert isinstance(cat, ModuleCatalogue)
            w0, c0 = time.perf_counter(), time.process_time()
            limit = args.candidates_time_limit if "candidates" in extra else args.time_limit
            plan = plan_capacity(network, cat, threshold=0.8, resilience=Resilience.N1,
                                 time_limit_s=limit, **extra)  # type: ignore[arg-type]
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            g_extra = {k: v for k, v in extra.items() if k != "candidates"}
            w1 = time.perf_counter()
            greedy = greedy_capacity(network, cat, threshold=0.8, **g_extra)  # type: ignore[arg-type]
            print(f"  {case}: milp {wall:.1f} s wall / {cpu:.1f} s cpu, greedy "
                  f"{time.perf_counter() - w1:.1f} s", flush=True)
            rows.append(row(name, case, plan, greedy, wall, cpu))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEAD)]
    print()
    print("  ".join(h.rjust(w) for h, w in zip(HEAD, widths, strict=True)))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
    print("\ngap: (cost - HiGHS best bound) / cost (optimality gap); LP gap: against the LP "
          "relaxation; vs greedy: MILP saving over the greedy baseline (same traffic; the "
          "greedy may not build new links)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
