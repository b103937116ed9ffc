"""Root-cause benchmark: faults injected by ``nettwin synth`` (balanced over every scenario
the network supports, noise on: counter jitter, burstiness, lost samples, delayed and lost
events, counter resets), diagnosed by the counterfactual ranking and by the correlation
baseline (most/earliest alarms) on the same observations in the same process.

Networks: Abilene (bundled, fibre, with an SRLG), the Munich microwave backhaul (bundled,
rain storms and misalignment) and, for the time per diagnosis at GEANT size, SNDlib GEANT
(22 nodes, 36 links) from ../shared/data; with --measured N, SNDlib Abilene replaying the
measured 5-minute matrices (Zhang) while the diagnosis knows only the first matrix: the
traffic mix drifts away from the twin's, as it does in operation.

A diagnosis is a top-k hit when one of its first k causes has the labelled kind and element
(for a rain storm: any link the storm faded by 3 dB or more; for "none": the kind alone).
"top1~" also counts the first cause's equivalents: elements whose counterfactual explains
the observations exactly as well (the data cannot tell them apart).

The FRR lab section (``rca_lab.py``): faults injected into real routers, observed through the
live twin; run live when root and frr are there, else the stored lab episodes.

Run: ``make bench-rca`` or ``python benchmarks/bench_rca.py [--episodes N --geant N --lab N]``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numba
import numpy as np

from nettwin.cli.synth import radio_arrays
from nettwin.diagnose import Diagnoser, observe
from nettwin.diagnose.baseline import correlate
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.io.traffic_series import read_traffic_series, traffic_files
from nettwin.synth import Label, SynthConfig, Synthesizer
from nettwin.synth.faults import FaultKind

DATA = Path(__file__).resolve().parents[1] / "../shared/data"
GEANT = DATA / "sndlib/native/geant.txt"
ABILENE_SNDLIB = DATA / "sndlib/native/abilene.txt"
ABILENE_TMS = DATA / "traffic/abilene-zhang-5min"


def _hit(label: Label, kind: FaultKind, element: str) -> bool:
    if kind is not label.kind:
        return False
    if label.kind is FaultKind.NONE:
        return True
    if label.kind is FaultKind.RAIN_FADE:
        return element in label.elements
    return element == label.element


def run(name: str, path: Path, episodes: int, steps: int, seed: int,
        traffic: Path | None = None) -> list[dict[str, Any]]:
    net = load_network(path)
    measured, interval = None, 300.0
    if traffic is not None:  # the twin knows the first interval's matrix, not the others
        net, series = read_traffic_series(net, traffic_files(traffic))
        measured, interval = series.rate_bps, series.interval_s
    synth = Synthesizer(net, SynthConfig(steps=steps), radio_arrays(net, path, None), seed,
                        measured, interval)
    diag = Diagnoser(net)
    warm = synth.episode("fibre_cut_peak")  # compile the kernels outside the timings
    diag.diagnose(observe(net, warm.records))
    rows = []
    for ep in synth.episodes(episodes):
        obs = observe(net, ep.records)
        w0, c0 = time.perf_counter(), time.process_time()
        result = diag.diagnose(obs, top=3)
        w1, c1 = time.perf_counter(), time.process_time()
        base = correlate(net, obs, top=3)
        w2 = time.perf_counter()
        hits = [_hit(ep.label, c.kind, c.element) for c in result.causes]
        bhits = [_hit(ep.label, k, e) for k, e in base]
        first = result.causes[0]
        tied = any(_hit(ep.label, first.kind, e) for e in (first.element, *first.equivalent))
        rows.append({"network": name, "scenario": ep.label.scenario, "top1_tied": tied,
                     "kind": ep.label.kind.value, "element": ep.label.element,
                     "top1": bool(hits[:1] and hits[0]), "top3": any(hits[:3]),
                     "base_top1": bool(bhits[:1] and bhits[0]), "base_top3": any(bhits[:3]),
                     "got": f"{result.causes[0].kind.value} {result.causes[0].element}",
                     "wall_s": w1 - w0, "cpu_s": c1 - c0, "base_wall_s": w2 - w1,
                     "candidates": result.candidates})
    return rows


def report(rows: list[dict[str, Any]]) -> None:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["network"], r["scenario"])].append(r)
        groups[(r["network"], "ALL")].append(r)
        groups[("ALL", "ALL")].append(r)
    print(f"{'network':16} {'scenario':20} {'n':>4} {'top1':>6} {'top3':>6} "
          f"{'top1~':>6} {'corr1':>6} {'corr3':>6} {'ms/diag':>8} {'p95 ms':>7} {'cpu ms':>7}")
    for (net, scen), rs in sorted(groups.items(), key=lambda kv: (kv[0][0] == "ALL",
                                                                  kv[0][0], kv[0][1] == "ALL",
                                                                  kv[0][1])):
        wall = np.array([r["wall_s"] for r in rs]) * 1e3
        print(f"{net:16} {scen:20} {len(rs):4d} "
              f"{100 * np.mean([r['top1'] for r in rs]):5.1f}% "
              f"{100 * np.mean([r['top3'] for r in rs]):5.1f}% "
              f"{100 * np.mean([r['top1_tied'] for r in rs]):5.1f}% "
              f"{100 * np.mean([r['base_top1'] for r in rs]):5.1f}% "
              f"{100 * np.mean([r['base_top3'] for r in rs]):5.1f}% "
              f"{wall.mean():8.1f} {np.percentile(wall, 95):7.1f} "
              f"{1e3 * np.mean([r['cpu_s'] for r in rs]):7.1f}")
    base = np.mean([r["base_wall_s"] for r in rows])
    mine = np.mean([r["wall_s"] for r in rows])
    print(f"time per diagnosis vs the correlation baseline (same process): "
          f"{mine * 1e3:.1f} ms vs {base * 1e3:.2f} ms (x{mine / max(base, 1e-9):.0f})")
    misses = [r for r in rows if not r["top1"]]
    for r in misses[:30]:
        print(f"  miss: {r['network']} {r['scenario']} {r['element']!r} -> {r['got']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--episodes", type=int, default=250, help="per network (Abilene, Munich)")
    ap.add_argument("--geant", type=int, default=40, help="episodes on GEANT (0: skip)")
    ap.add_argument("--steps", type=int, default=60, help="samples per episode (1 min)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--json", type=Path, help="write every row here")
    ap.add_argument("--measured", type=int, default=60,
                    help="episodes on SNDlib Abilene replaying Zhang's measured 5-minute "
                         "matrices (the diagnosis knows only the first one)")
    ap.add_argument("--networks", default="abilene,munich-backhaul,geant,measured")
    ap.add_argument("--lab", type=int, default=6,
                    help="faults per kind injected in the FRR lab (link down, cost change, "
                         "capacity shaped down, router lost; root and frr, else the stored "
                         "lab episodes are re-diagnosed; 0: skip)")
    ap.add_argument("--lab-save", type=Path, help="keep the lab episodes (gzip JSON lines)")
    ap.add_argument("--threads", type=int, default=1,
                    help="numba threads per diagnosis (windows are independent: parallelise "
                         "across them)")
    args = ap.parse_args()
    numba.set_num_threads(args.threads)
    which = set(args.networks.split(","))
    rows: list[dict[str, Any]] = []
    if "abilene" in which:
        rows += run("abilene", example_path("abilene"), args.episodes, args.steps, args.seed)
    if "munich-backhaul" in which:
        rows += run("munich-backhaul", example_path("munich-backhaul"), args.episodes,
                    args.steps, args.seed + 1)
    if "geant" in which and args.geant and GEANT.exists():
        rows += run("geant", GEANT.resolve(), args.geant, args.steps, args.seed + 2)
    if "measured" in which and args.measured and ABILENE_TMS.exists():
        rows += run("abilene-measured", ABILENE_SNDLIB.resolve(), args.measured, args.steps,
                    args.seed + 3, ABILENE_TMS.resolve())
    report(rows)
    if args.lab:
        from rca_lab import lab_rows

        print("\nFRR lab (Abilene, OSPF, traffic at x1e-4): faults observed through the live "
              "twin's history")
        lab = lab_rows(args.lab, args.seed, args.lab_save)
        report(lab)
        rows += lab
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
