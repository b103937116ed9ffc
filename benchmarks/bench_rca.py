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

Anomaly detection (--anomaly N per network, Abilene and Munich): bands learned from 4
fault-free episodes, then every episode's alarms scored against its label: recall (an alarm
of the class the label's kind shows up as, traffic / topology / physics, from the onset on),
on the element, precision (alarms of the right class from the onset on over all alarms; on
"none" every alarm is false) and detection delay.

Radio predictive maintenance (--radio N histories of 14 days at 15 min on Munich, thirds
without degradation, with a slow decline, with a misalignment, rain cells passing at
0.6 a day): degradation recall/precision by kind, lead time of the slow-decline warning
before the fade margin is exhausted, rain fades of 3 dB or more reported as rain.

Run: ``make bench-rca`` or ``python benchmarks/bench_rca.py [--episodes N --geant N --lab N
--anomaly N --radio N]``.
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
from nettwin.diagnose.anomaly import AnomalyDetector, Score, score_episode
from nettwin.diagnose.baseline import correlate
from nettwin.examples import example_path
from nettwin.forecast.radio_health import HealthKind, RadioHealth
from nettwin.io import load_network
from nettwin.io.traffic_series import read_traffic_series, traffic_files
from nettwin.synth import Label, SynthConfig, Synthesizer
from nettwin.synth.faults import FaultKind
from nettwin.synth.radio_history import Degradation, synth_radio_history

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


def run_anomaly(name: str, path: Path, episodes: int, seed: int) -> None:
    """Alarms of every episode against its label, per scenario."""
    net = load_network(path)
    synth = Synthesizer(net, SynthConfig(steps=60), radio_arrays(net, path, None), seed)
    det = AnomalyDetector(net, synth.compiled)
    det.fit([observe(net, synth.episode("none").records) for _ in range(4)])
    scores: dict[str, Score] = defaultdict(Score)
    cpu = 0.0
    for ep in synth.episodes(episodes):
        lab = ep.label
        obs = observe(net, ep.records)
        c0 = time.process_time()
        alarms = det.detect(obs)
        cpu += time.process_time() - c0
        for key in (lab.scenario, "ALL"):
            score_episode(scores[key], lab.kind, lab.element, lab.elements, lab.start,
                          lab.end, alarms, synth.config.interval_s)
    print(f"\nanomaly detection on {name} ({episodes} episodes, bands from 4 fault-free "
          f"ones; {1e3 * cpu / max(episodes, 1):.0f} ms CPU per 60-sample window)")
    print(f"{'scenario':20} {'n':>4} {'recall':>7} {'on elem':>8} {'precision':>9} "
          f"{'false':>6} {'delay p50 s':>11} {'p95 s':>6}")
    for scen, sc in sorted(scores.items(), key=lambda kv: (kv[0] == "ALL", kv[0])):
        if scen == "none":
            print(f"{scen:20} {sc.quiet_episodes:4d} {'-':>7} {'-':>8} {'-':>9} "
                  f"{sc.false_alarms:6d}   (false alarms in fault-free episodes)")
            continue
        d = np.array(sc.delays_s) if sc.delays_s else np.array([np.nan])
        print(f"{scen:20} {sc.episodes:4d} {100 * sc.recall:6.1f}% "
              f"{100 * sc.on_element / max(sc.episodes, 1):7.1f}% {100 * sc.precision:8.1f}% "
              f"{sc.false_alarms:6d} {np.nanmedian(d):11.0f} {np.nanpercentile(d, 95):6.0f}")


def run_radio(histories: int, seed: int) -> None:
    """Rain versus degradation on synthetic RSL histories of the Munich backhaul."""
    path = example_path("munich-backhaul")
    net = load_network(path)
    radio = radio_arrays(net, path, None)
    health = RadioHealth(radio)
    kinds = (None, Degradation.SLOW_DECLINE, Degradation.MISALIGNMENT)
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # kind -> [hits, labelled]
    right_link = false_alarms = rain_seen = rain_hit = 0
    lead_days: list[float] = []
    delay_h: list[float] = []
    cpu = 0.0
    for h_i in range(histories):
        h = synth_radio_history(radio, seed=seed + h_i, degradation=kinds[h_i % 3])
        c0 = time.process_time()
        alarms = health.assess(h.times, h.rsl_dbm, h.clear_sky_dbm, h.margin_db)
        cpu += time.process_time() - c0
        degr = [a for a in alarms if a.kind is not HealthKind.RAIN_FADE]
        lab = h.degradation
        hit = [a for a in degr if lab is not None and a.link == lab.link
               and a.detected_at >= lab.start]
        false_alarms += len(degr) - len(hit)
        if lab is not None:
            found[lab.kind.value][1] += 1
            if hit:
                right_link += 1
                found[lab.kind.value][0] += hit[0].kind.value == lab.kind.value
                if lab.kind is Degradation.SLOW_DECLINE:
                    lead_days.append((lab.exhausted_at - hit[0].detected_at) / 86400)
                else:
                    delay_h.append((hit[0].detected_at - lab.start) / 3600)
        rain = [(a.link, a.start) for a in alarms if a.kind is HealthKind.RAIN_FADE]
        for r in h.rain:
            for lid in r.links:
                rain_seen += 1
                rain_hit += any(link == lid and r.start - 3600 <= t <= r.end + 3600
                                for link, t in rain)
    n_deg = sum(v[1] for v in found.values())
    print(f"\nradio predictive maintenance, Munich backhaul ({histories} histories of 14 days "
          f"at 15 min, {len(radio.link_ids)} radio links; {cpu / max(histories, 1):.2f} s "
          "CPU per history)")
    for kind, (ok, n) in sorted(found.items()):
        print(f"  {kind:14} recall (link and kind) {ok}/{n}")
    print(f"  degradations on the right link {right_link}/{n_deg}; precision "
          f"{right_link / max(right_link + false_alarms, 1):.3f} ({false_alarms} false "
          "degradation alarms, rain included)")
    if lead_days:
        ld = np.array(lead_days)
        print(f"  slow decline warned before the margin is gone: {(ld > 0).sum()}/{ld.size}; "
              f"lead time median {np.median(ld):.1f} d, min {ld.min():.1f} d")
    if delay_h:
        print(f"  misalignment found after median {np.median(delay_h):.1f} h, max "
              f"{max(delay_h):.1f} h")
    print(f"  rain fades >= 3 dB reported as rain: {rain_hit}/{rain_seen}")


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
    ap.add_argument("--anomaly", type=int, default=100,
                    help="episodes per network for anomaly detection (0: skip)")
    ap.add_argument("--radio", type=int, default=30,
                    help="RSL histories for radio predictive maintenance (0: skip)")
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
    if rows:
        report(rows)
    if args.lab:
        from rca_lab import lab_rows

        print("\nFRR lab (Abilene, OSPF, traffic at x1e-4): faults observed through the live "
              "twin's history")
        lab = lab_rows(args.lab, args.seed, args.lab_save)
        report(lab)
        rows += lab
    if args.anomaly:
        run_anomaly("abilene", example_path("abilene"), args.anomaly, args.seed + 10)
        run_anomaly("munich-backhaul", example_path("munich-backhaul"), args.anomaly,
                    args.seed + 11)
    if args.radio:
        run_radio(args.radio, args.seed + 20)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
