#!/usr/bin/env python3
"""The DRR waits below saturation (``engine.drr.conserved_split``) against packet-by-packet
DRR (``reference.port_sim``), beside k-limited polling's split with each class's own
quantum (Boxma & Meister's form, W_c proportional to 1 - rho + rho_c / k_c, k_c the class's
quantum in mean packets, held to the conserved sum): the check that a new split formula
passes on single ports before it is scored on GNNet. For iterating on the model; never run
by the tests (tests/engine/test_qos.py holds the asserted cases).

    PYTHONPATH=src python tools/drr_split_vs_packets.py --seed 1 --ports 150   # about 2 min
    PYTHONPATH=src python tools/drr_split_vs_packets.py --hot 16   # GEANT2's hot ports
    PYTHONPATH=src python tools/drr_split_vs_packets.py --one-hop   # ... against GNNet itself

Ports: three classes with GNNet's DRR weights, 300/1,700-bit packets, port loads 0.5-0.97
split at random, no class saturated, quanta of 1, 2.5 and 4 largest packets for the heaviest
weight. Mean relative error of the class waits per quantum, equal / unequal weights, and
per port load (unequal weights). ``--hot N``: instead, N of the DRR ports of the
even-numbered GEANT2 samples (the choice set) on links of 25 kbit/s or more at offered load
0.95 or more with a saturated class, as the data set loads them (Poisson, 32-packet
buffers, the quantum ``io.gnnet.DRR_QUANTUM_S`` of the link rate): the model's wait of each
class that packet DRR does not drop, against packet DRR's. ``--one-hop``: both against the
data set itself, at the one-hop pairs (one port: the port's own delay, no path) of the same
choice set that cross such a port, are not saturated and lost nothing (``--quantum-scale``:
packet DRR's quantum that many times ``DRR_QUANTUM_S``): whether the model's misses there
are the model's (packet DRR close to the data, the model not) or the reference's (GNNet's
DRR waits other than packet DRR's with the assumed quantum, Poisson arrivals).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nettwin.engine.drr import DRR_CONSERVED_LOAD
from nettwin.engine.qos import Scheduler, evaluate_class_queues
from nettwin.engine.wfq import water_fill
from nettwin.io.gnnet import (
    DELAY_HORIZON_S,
    DRR_QUANTUM_S,
    GnnetSample,
    iter_gnnet_samples,
    predict,
)
from nettwin.reference.port_sim import simulate_port

SIZES = [300.0, 1700.0]
CAP = 1e4
WEIGHTS = np.array([[0.65, 0.25, 0.1], [0.6, 0.3, 0.1], [0.8, 0.1, 0.1], [0.7, 0.2, 0.1],
                    [1 / 3, 1 / 3, 1 / 3]])
MULTIPLES = (1.0, 2.5, 4.0)
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gnnet2020" / "train"


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


def _geant2_tuning() -> Iterator[tuple[GnnetSample, np.ndarray, np.ndarray]]:
    """GEANT2's tuning samples (the even-numbered: first, third...; the others are held out)
    with each path's length in arcs and each arc's packet rate by ToS."""
    geant = 0
    for tar in sorted(DATA.glob("*.tar.gz")):
        for sample in iter_gnnet_samples(tar):
            t = sample.topology
            if t.n_nodes == 14:
                continue
            geant += 1
            if geant % 2 == 0:
                continue
            lengths = np.diff(sample.path_ptr)
            owner = np.repeat(np.arange(lengths.size), lengths)
            pps = np.zeros((t.src.size, 3))
            np.add.at(pps, (sample.path_arc, sample.tos[owner]), sample.packets_per_s[owner])
            yield sample, lengths, pps


def _hot_ports(n: int, seed: int) -> None:
    """The model against packet DRR at GEANT2's overloaded DRR ports (see the notes)."""
    found: list[tuple[np.ndarray, np.ndarray, float, np.ndarray]] = []
    for sample, _lengths, pps in _geant2_tuning():
        t = sample.topology
        for a in range(t.src.size):
            rho = pps[a] * 1000.0 / t.bandwidth_bps[a]
            w = t.weights[t.src[a]]
            if t.policy[t.src[a]] != "DRR" or t.bandwidth_bps[a] < 20e3 or rho.sum() < 0.95:
                continue
            _, sat = water_fill(rho[None], w[None], np.ones((1, 3), bool), np.ones(1))
            if sat.any() and not sat.all():
                found.append((pps[a], w, float(t.bandwidth_bps[a]), sat[0]))
    rng = np.random.default_rng(seed)
    errors: list[list[float]] = [[], [], []]
    for k in rng.choice(len(found), size=min(n, len(found)), replace=False).tolist():
        lam, w, cap, sat = found[k]
        run = simulate_port(lam.tolist(), [SIZES] * 3, cap, Scheduler.DRR, weights=w.tolist(),
                            quantum_bits=(DRR_QUANTUM_S * cap * w / w.max()).tolist(),
                            buffer_packets=32, packets=80_000, seed=k)
        q = evaluate_class_queues(
            lam[None], np.full((1, 3), 1000.0 / cap), np.full((1, 3), 1.49e6 / cap**2),
            np.array([Scheduler.DRR]), w[None], np.full((1, 3), 32.0),
            drr_turn_packets=np.array([DRR_QUANTUM_S * cap / 1000.0]))
        for c in np.nonzero(~sat & (run.loss < 1e-3) & (lam > 0))[0]:
            errors[c].append(float((q.waiting_s[0, c] - run.waiting_s[c]) / run.waiting_s[c]))
    print(f"{len(found)} hot DRR ports with a saturated class in GEANT2's even samples")
    for tos, e in enumerate(errors):
        if e:
            print(f"  ToS {tos}: {len(e)} class waits, bias {100 * np.mean(e):+5.1f} %, "
                  f"mean |error| {100 * np.mean(np.abs(e)):5.1f} %")


def _one_hop(scale: float) -> None:
    """The model and packet DRR against GNNet's one-hop pairs at hot DRR ports (the notes)."""
    rows: list[tuple[np.ndarray, np.ndarray, float, int, float, float]] = []
    for sample, lengths, pps in _geant2_tuning():
        t = sample.topology
        pred = None
        for k in np.nonzero(lengths == 1)[0].tolist():
            a = int(sample.path_arc[sample.path_ptr[k]])
            cap, w, c = float(t.bandwidth_bps[a]), t.weights[t.src[a]], int(sample.tos[k])
            rho = pps[a] * 1000.0 / cap
            if (t.policy[t.src[a]] != "DRR" or rho.sum() < 0.95
                    or sample.drop_fraction[k] > 1e-3):
                continue
            _, sat = water_fill(rho[None], w[None], np.ones((1, 3), bool), np.ones(1))
            if not sat.any() or sat[0, c]:
                continue
            if pred is None:
                pred = predict(sample, delay_horizon_s=DELAY_HORIZON_S)
            rows.append((pps[a], w, cap, c, float(sample.delay_s[k]), float(pred.delay_s[k])))
    print(f"{len(rows)} one-hop pairs that lose nothing at hot DRR ports (GEANT2 even)")
    err: dict[float, list[tuple[float, float]]] = {}
    for i, (lam, w, cap, c, seen, model) in enumerate(rows):
        run = simulate_port(lam.tolist(), [SIZES] * 3, cap, Scheduler.DRR, weights=w.tolist(),
                            quantum_bits=(scale * DRR_QUANTUM_S * cap * w / w.max()).tolist(),
                            buffer_packets=32, packets=80_000, seed=i)
        packet = run.waiting_s[c] + 1000.0 / cap
        err.setdefault(cap, []).append(((model - seen) / seen, (packet - seen) / seen))
    for cap, e in sorted(err.items()):
        m, p = np.array(e).T
        print(f"  {cap / 1e3:5.0f} kbit/s, {m.size:3d} pairs: model bias {100 * m.mean():+5.1f} %,"
              f" mean |error| {100 * np.abs(m).mean():5.1f} %; packet DRR bias "
              f"{100 * p.mean():+5.1f} %, mean |error| {100 * np.abs(p).mean():5.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ports", type=int, default=150)
    parser.add_argument("--hot", type=int, default=0, metavar="N",
                        help="N of GEANT2's hot DRR ports instead of random ones")
    parser.add_argument("--one-hop", action="store_true",
                        help="the model and packet DRR against GNNet's one-hop pairs at hot ports")
    parser.add_argument("--quantum-scale", type=float, default=1.0,
                        help="--one-hop: packet DRR's quantum, times DRR_QUANTUM_S")
    args = parser.parse_args()
    if args.one_hop:
        _one_hop(args.quantum_scale)
        return
    if args.hot:
        _hot_ports(args.hot, args.seed)
        return
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
