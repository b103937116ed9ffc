"""Slice admission benchmark: decisions and time on Abilene (the bundled example with its
slices file, and SNDlib Abilene with a measured matrix) and GEANT (SNDlib, a measured
15-minute matrix), each with an eMBB, a URLLC and an mMTC slice plus one no mapping can
carry (on GEANT also one that fits the cuts but not the paths), without and with n-1.

Per run: the verdict per slice (admitted / rejected / never, with the binding constraint's
kind), the engine runs the plan took, wall and CPU seconds, and the reference measured in the
same process: one per-class engine run of the final mapping (everything up), so the plan's
cost reads as a number of engine runs.

Run: ``make bench-slices`` or ``python benchmarks/bench_slices.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import yaml

from nettwin.examples import abilene, example_path
from nettwin.io import load_network, load_traffic
from nettwin.model import Network
from nettwin.optimize.objective import Survive
from nettwin.optimize.slices import plan_slices, simulate_plan

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

SNDLIB_ABILENE = [
    {"id": "urllc", "endpoints": ["NYCMng", "WASHng", "ATLAng"], "max_delay_s": 0.016,
     "max_loss": 1e-5, "guaranteed_rate_bps": 2e9, "priority": 10},
    {"id": "embb", "endpoints": ["STTLng", "SNVAng", "LOSAng", "DNVRng"],
     "guaranteed_rate_bps": 3e9, "max_delay_s": 0.04, "max_loss": 1e-3, "priority": 5},
    {"id": "mmtc", "endpoints": ["KSCYng", "HSTNng", "IPLSng", "CHINng"], "max_delay_s": 0.1,
     "max_loss": 1e-2, "isolation": False},
    {"id": "holo", "endpoints": ["NYCMng", "LOSAng"], "guaranteed_rate_bps": 45e9,
     "max_delay_s": 0.03},
]
GEANT = [
    {"id": "urllc", "endpoints": ["de1.de", "fr1.fr", "uk1.uk", "nl1.nl", "be1.be"],
     "max_delay_s": 0.015, "max_loss": 1e-5, "guaranteed_rate_bps": 10e9, "priority": 10},
    {"id": "embb", "endpoints": ["it1.it", "es1.es", "pt1.pt", "ch1.ch", "at1.at"],
     "guaranteed_rate_bps": 20e9, "max_delay_s": 0.05, "max_loss": 1e-3, "priority": 5},
    {"id": "mmtc", "endpoints": ["pl1.pl", "cz1.cz", "sk1.sk", "hu1.hu", "se1.se"],
     "max_delay_s": 0.1, "max_loss": 1e-2, "isolation": False},
    {"id": "tactile", "endpoints": ["pt1.pt", "gr1.gr"], "max_delay_s": 0.008},
    {"id": "backup", "endpoints": ["de1.de", "it1.it"], "guaranteed_rate_bps": 90e9,
     "max_loss": 1e-3, "priority": -1},
]


def workloads(quick: bool) -> list[tuple[str, Network]]:
    doc = yaml.safe_load(example_path("abilene-slices").read_text(encoding="utf-8"))
    out = [("abilene (bundled)", abilene().with_slices(doc["slices"]))]
    if quick:
        return out
    ab = sorted((DATA / "traffic" / "abilene-zhang-5min").glob("*.xml"))
    ge = sorted((DATA / "traffic" / "geant-uhlig-15min").glob("*.xml"))
    if ab:
        net = load_traffic(load_network(DATA / "sndlib" / "xml" / "abilene.xml"), ab[100])
        out.append((f"abilene (SNDlib, {ab[100].stem[-13:]})", net.with_slices(SNDLIB_ABILENE)))
    if ge:
        net = load_traffic(load_network(DATA / "sndlib" / "xml" / "geant.xml"), ge[40])
        out.append((f"geant (SNDlib, {ge[40].stem[-13:]})", net.with_slices(GEANT)))
    return out


def run(name: str, network: Network, survive: Survive) -> dict[str, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    plan = plan_slices(network, survive=survive)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    runs = 5
    simulate_plan(plan)  # warm: the first run of a mapping may compile a kernel variant
    ref_wall, ref_cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        simulate_plan(plan)
    ref_wall = (time.perf_counter() - ref_wall) / runs
    ref_cpu = (time.process_time() - ref_cpu) / runs
    print(f"\n{name}, survive {survive.value}: {len(network.nodes)} nodes, "
          f"{len(network.links)} links, {len(network.demands)} demands, "
          f"{len(plan.states) - 1} failures swept")
    for v in plan.verdicts:
        verdict = "admitted" if v.admitted else "never" if v.never_admissible else "rejected"
        extra = (f"{v.steering.value}, delay {1e3 * v.normal.worst_delay_s:.2f} ms, worst "
                 f"failure {1e3 * v.worst_failure_check.worst_delay_s:.2f} ms, availability "
                 f"{v.availability:.6f}, isolated {v.isolated}"
                 if v.admitted and v.normal and v.worst_failure_check and v.availability
                 else f"{v.binding.kind if v.binding else '?'}: {v.reason}")
        print(f"  {v.slice:>8} {verdict:>9}  {extra}")
    print(f"  plan: {plan.evaluations} engine runs, {wall:.2f} s wall, {cpu:.2f} s CPU; "
          f"reference (one engine run of the mapping): {1e3 * ref_wall:.1f} ms wall, "
          f"{1e3 * ref_cpu:.1f} ms CPU -> plan = {cpu / max(ref_cpu, 1e-9):.0f} x reference "
          f"(CPU)")
    return {"network": name, "survive": survive.value, "admitted": plan.admitted,
            "wall_s": wall, "cpu_s": cpu, "runs": plan.evaluations}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the bundled Abilene only")
    args = parser.parse_args()
    # the first plan compiles the kernels: warm them on a small run, outside the timing
    doc = yaml.safe_load(example_path("abilene-slices").read_text(encoding="utf-8"))
    plan_slices(abilene().with_slices(doc["slices"][:1]))
    for name, network in workloads(args.quick):
        for survive in (Survive.NONE, Survive.N1):
            run(name, network, survive)


if __name__ == "__main__":
    main()
