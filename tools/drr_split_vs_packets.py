#!/usr/bin/env python3
"""The DRR waits below saturation (``engine.drr.conserved_split``) against packet-by-packet
DRR (``reference.port_sim``), beside k-limited polling's split with each class's own
quantum (Boxma & Meister's form, W_c proportional to 1 - rho + rho_c / k_c, k_c the class's
quantum in mean packets, held to the conserved sum): the check that a new split formula
passes on single ports before it is scored on GNNet. For iterating on the model; never run
by the tests (tests/engine/test_qos.py holds the asserted cases).

    PYTHONPATH=src python tools/drr_split_vs_packets.py --seed 1 --ports 150   # about 2 min

Ports: three classes with GNNet's DRR weights, 300/1,700-bit packets, port loads 0.5-0.97
split at random, no class saturated, quanta of 1, 2.5 and 4 largest packets for the heaviest
weight. Mean relative error of the class waits per quantum, equal / unequal weights, and
per port load (unequal weights).
"""

from __future__ import annotations

import argparse

import numpy as np

from nettwin.engine.drr import DRR_CONSERVED_LOAD
from nettwin.engine.qos import Scheduler, evaluate_class_queues, water_fill
from nettwin.reference.port_sim import simulate_port

SIZES = [300.0, 1700.0]
CAP = 1e4
WEIGHTS = np.array([[0.65, 0.25, 0.1], [0.6, 0.3, 0.1], [0.8, 0.1, 0.1], [0.7, 0.2, 0.1],
                    [1 / 3, 1 / 3, 1 / 3]])
MULTIPLES = (1.0, 2.5, 4.0)


def _cases(seed: int, n: int) -> np.ndarray:
    """Rows: weights (3), loads (3), quantum in largest packets, packet DRR's waits (3)."""
    rng = np.random.default_rng(seed)
    rows: list[np.ndarray] = []
    while len(rows) < n:
        w = WEIGHTS[rng.integers(len(WEIGHTS))]
        load = rng.uniform(0.5, 0.97)
        rho = rng.dirichlet([1, 1, 1]) * load
        _, saturated = water_fill(rho[None], w[None], np.ones((1, 3), bool), np.ones(1))
        if saturated.any():
            continue
        q = MULTIPLES[rng.integers(len(MULTIPLES))]
        run = simulate_port((rho / 0.1).tolist(), [SIZES] * 3, CAP, Scheduler.DRR,
                            weights=w.tolist(), quantum_bits=(q * 1700 * w / w.max()).tolist(),
                            packets=60_000 if load < 0.85 else 150_000, seed=len(rows))
        rows.append(np.concatenate([w, rho, [q], run.waiting_s]))
    return np.array(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ports", type=int, default=150)
    args = parser.parse_args()
    d = _cases(args.seed, args.ports)
    w, rho, q, seen = d[:, 0:3], d[:, 3:6], d[:, 6], d[:, 7:10]
    x, x2 = 0.1, (300.0**2 + 1700.0**2) / 2 / CAP**2
    lam, k = rho / x, q * 1.7
    model = np.concatenate([evaluate_class_queues(
        lam[i:i + 1], np.full((1, 3), x), np.full((1, 3), x2), np.array([Scheduler.DRR]),
        w[i:i + 1], np.full((1, 3), 1e9), drr_turn_packets=k[i:i + 1]).waiting_s
        for i in range(len(d))])
    total = rho.sum(axis=1, keepdims=True)
    work = total * (lam * x2 / 2).sum(axis=1, keepdims=True) / (1.0 - total)
    k_c = k[:, None] * w / w.max(axis=1, keepdims=True)
    turns = 1.0 - total + rho / k_c
    limited = np.where(total < DRR_CONSERVED_LOAD,
                       turns * work / (rho * turns).sum(axis=1, keepdims=True), model)
    equal = np.ptp(w, axis=1) < 1e-9
    conserved = (rho * seen).sum(axis=1) / work[:, 0]
    print(f"{len(d)} ports; packet DRR's sum rho_c W_c / FIFO's: mean {conserved.mean():.3f}, "
          f"sd {conserved.std():.3f}")
    for name, m in (("as coded", model), ("k-limited split", limited)):
        e = np.abs(m - seen) / seen
        cells = [f"all {100 * e.mean():5.1f}"]
        cells += [f"x{m_:g} eq {100 * e[(q == m_) & equal].mean():5.1f} "
                  f"uneq {100 * e[(q == m_) & ~equal].mean():5.1f}" for m_ in MULTIPLES]
        for lo, hi in ((0.5, 0.8), (0.8, 0.9), (0.9, 1.0)):
            band = (total[:, 0] >= lo) & (total[:, 0] < hi) & ~equal
            cells.append(f"load {lo}-{hi} {100 * e[band].mean():5.1f}")
        print(f"  {name:<16}" + " | ".join(cells))


if __name__ == "__main__":
    main()
