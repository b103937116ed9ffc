"""The lab section of ``make bench-rca``: faults injected into the FRR lab (Abilene at the
lab's default scale, with traffic) — links cut, OSPF costs changed on both routers, links'
data rates shaped below their load (the silent fault: no event), routers lost — observed
through the live twin (records -> ``LiveTwin`` -> history store -> window, as ``nettwin
ingest`` then ``nettwin diagnose --since`` do), diagnosed and correlated in the same process.

Needs root and Debian's frr; otherwise it says why and re-diagnoses the episodes kept in
``tests/lab/data`` (collected here, with ``--lab-save``), which is what the non-root test
does too. ``python benchmarks/rca_lab.py [--per-kind N] [--save PATH]`` runs it alone."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.lab.episodes import diagnose_episodes, read_episodes, write_episodes
from nettwin.lab.faults import choose_faults, run_episode
from nettwin.lab.forwarding import await_forwarding, network_of
from nettwin.lab.frr import FRR_DIR, Lab, plan_lab

LAB_DATA = Path(__file__).resolve().parents[1] / "tests/lab/data/abilene-lab-faults.jsonl.gz"


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "the FRR lab needs root"
    if not (FRR_DIR / "ospfd").exists() or shutil.which("vtysh") is None:
        return "the FRR lab needs Debian's frr (make system)"
    return None


def collect(per_kind: int, seed: int) -> tuple[Any, list[dict[str, Any]]]:
    """Run the faults in a fresh lab; (the lab's network as built, episodes)."""
    net = load_network(example_path())
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(plan_lab(net, f"nrc{os.getpid() % 100}x", 1e-4), Path(tmp))
        try:
            lab.up(traffic=True)
            check = await_forwarding(lab, 60)
            print(f"  lab up; kernels matched the twin after {check.matched_s} s")
            time.sleep(3.0)
            episodes = []
            for fault in choose_faults(lab, per_kind, seed):
                ep = run_episode(lab, fault)
                episodes.append({"label": ep.label(), "records": ep.records})
                print(f"  injected {fault.describe()}; back as built after "
                      f"{ep.converged_s if ep.converged_s is None else round(ep.converged_s, 2)}"
                      " s", flush=True)
            return network_of(lab.plan, injected=False), episodes
        finally:
            lab.down()


def lab_rows(per_kind: int, seed: int, save: Path | None = None) -> list[dict[str, Any]]:
    reason = skip_reason()
    if reason is None:
        w0 = time.perf_counter()
        network, episodes = collect(per_kind, seed)
        print(f"  {len(episodes)} faults injected and observed in "
              f"{time.perf_counter() - w0:.0f} s")
        if save is not None:
            write_episodes(save, network, episodes)
            print(f"  wrote {save}")
        name = "frr-lab"
    else:
        network, episodes = read_episodes(LAB_DATA)
        print(f"lab: live run skipped ({reason}); re-diagnosing the {len(episodes)} lab "
              f"episodes stored in {LAB_DATA.relative_to(LAB_DATA.parents[3])}")
        name = "frr-lab (stored)"
    list(diagnose_episodes(network, episodes[:1]))  # compile the kernels outside the timings
    rows = []
    for s in diagnose_episodes(network, episodes):
        rows.append({"network": name, "scenario": s.label["kind"], "kind": s.label["kind"],
                     "element": s.label["element"], "top1": s.hit(1), "top3": s.hit(3),
                     "top1_tied": s.hit(1), "base_top1": s.hit(1, baseline=True),
                     "base_top3": s.hit(3, baseline=True),
                     "got": f"{s.got[0][0].value} {s.got[0][1]}", "wall_s": s.seconds,
                     "cpu_s": s.cpu_s, "base_wall_s": s.baseline_s, "candidates": 0,
                     "dead_letters": s.dead_letters})
    return rows


def main() -> None:
    from bench_rca import report

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-kind", type=int, default=6)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--save", type=Path)
    args = ap.parse_args()
    report(lab_rows(args.per_kind, args.seed, args.save))


if __name__ == "__main__":
    main()
