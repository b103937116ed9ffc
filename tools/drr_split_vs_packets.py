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
    PYTHONPATH=src python tools/drr_split_vs_packets.py --wfq 200   # WFQ's clocks (about 5 min)

Ports: three classes with GNNet's DRR weights, 300/1,700-bit packets, port loads 0.5-0.97
split at random, no class saturated, quanta of 1, 2.5 and 4 largest packets for the heaviest
weight. Mean relative error of the class waits per quantum, equal / unequal weights, and
per port load (unequal weights). ``--hot N``: instead, N of the DRR ports of the
even-numbered GEANT2 samples (the choice set) on links of 25 kbit/s or more at offered load
0.95 or more with a saturated class, as the data set loads them (Poisson, 32-packet
buffers, the turn beside a saturated class ``io.gnnet.saturated_quantum_bits`` of the link
rate): the model's wait of each class that packet DRR does not drop, against packet DRR's.
``--one-hop``: both against the data set itself, at the one-hop pairs (one port: the port's
own delay, no path) of the same choice set that cross such a port, are not saturated and
lost nothing (``--quantum-scale``: packet DRR's quantum that many times
``saturated_quantum_bits``): whether the model's misses there are the model's (packet DRR
close to the data, the model not) or the reference's (GNNet's DRR waits other than packet
DRR's with the assumed quantum, Poisson arrivals).
``--wfq N``: the same for WFQ: N of the choice set's one-hop pairs at WFQ ports at offered
load 0.8-1.5 that lost nothing, against packet WFQ with each clock (``port_sim``'s
``wfq_clock``: virtual clock, self-clocked, GPS's virtual time) at the rates that reach the
port (the model's upstream losses taken off) and against the model's single-port formula
(Poisson arrivals, with and without WFQ's coarse turns; past capacity it lacks the port's
own losses, which the network model has), per load band and for the pair's class within
(rho_c < phi_c) or beyond its weight.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nettwin.engine.drr import DRR_CONSERVED_LOAD
from nettwin.engine.qos import (
    PathDemands,
    Scheduler,
    evaluate_class_queues,
    path_reach,
    simulate_paths,
)
from nettwin.engine.wfq import water_fill
from nettwin.io.gnnet import (
    DELAY_HORIZON_S,
    DRR_QUANTUM_S,
    GnnetSample,
    iter_gnnet_samples,
    predict,
    saturated_quantum_bits,
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
        quantum = float(saturated_quantum_bits(np.array(cap)))
        run = simulate_port(lam.tolist(), [SIZES] * 3, cap, Scheduler.DRR, weights=w.tolist(),
                            quantum_bits=(quantum * w / w.max()).tolist(),
                            buffer_packets=32, packets=80_000, seed=k)
        q = evaluate_class_queues(
            lam[None], np.full((1, 3), 1000.0 / cap), np.full((1, 3), 1.49e6 / cap**2),
            np.array([Scheduler.DRR]), w[None], np.full((1, 3), 32.0),
            drr_turn_packets=np.array([DRR_QUANTUM_S * cap / 1000.0]),
            drr_saturated_turn_packets=np.array([quantum / 1000.0]))
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
        quantum = scale * float(saturated_quantum_bits(np.array(cap)))
        run = simulate_port(lam.tolist(), [SIZES] * 3, cap, Scheduler.DRR, weights=w.tolist(),
                            quantum_bits=(quantum * w / w.max()).tolist(),
                            buffer_packets=32, packets=80_000, seed=i)
        packet = run.waiting_s[c] + 1000.0 / cap
        err.setdefault(cap, []).append(((model - seen) / seen, (packet - seen) / seen))
    for cap, e in sorted(err.items()):
        m, p = np.array(e).T
        print(f"  {cap / 1e3:5.0f} kbit/s, {m.size:3d} pairs: model bias {100 * m.mean():+5.1f} %,"
              f" mean |error| {100 * np.abs(m).mean():5.1f} %; packet DRR bias "
              f"{100 * p.mean():+5.1f} %, mean |error| {100 * np.abs(p).mean():5.1f} %")


def _reaching_rates(sample: GnnetSample) -> np.ndarray:
    """Packets per second by arc and ToS that reach each arc: the model's upstream losses off."""
    t = sample.topology
    sched = np.array([Scheduler[p] for p in t.policy])[t.src]
    demands = PathDemands(sample.path_ptr, sample.path_arc, sample.tos, sample.packets_per_s,
                          sample.size_mean_bits, sample.size_second_moment)
    res = simulate_paths(demands, t.bandwidth_bps, sched, t.weights[t.src],
                         t.queue_packets[t.src], drr_quantum_bits=DRR_QUANTUM_S * t.bandwidth_bps,
                         drr_saturated_quantum_bits=saturated_quantum_bits(t.bandwidth_bps))
    owner = np.repeat(np.arange(sample.n_flows), np.diff(sample.path_ptr))
    cls = sample.tos[owner]
    reach = path_reach(sample.path_ptr, 1.0 - res.queues.loss[sample.path_arc, cls])
    out = np.zeros((t.src.size, 3))
    np.add.at(out, (sample.path_arc, cls), sample.packets_per_s[owner] * reach)
    return out


def _wfq_one_hop(n: int, seed: int) -> None:
    """The model and packet WFQ (three clocks) against GNNet's hot one-hop WFQ pairs."""
    rows: list[tuple[np.ndarray, np.ndarray, float, int, float, float, float]] = []
    for sample, lengths, pps in _geant2_tuning():
        t = sample.topology
        pred, lam = None, None
        for k in np.nonzero(lengths == 1)[0].tolist():
            a = int(sample.path_arc[sample.path_ptr[k]])
            cap = float(t.bandwidth_bps[a])
            load = pps[a].sum() * 1000.0 / cap
            if (t.policy[t.src[a]] != "WFQ" or not 0.8 <= load < 1.5
                    or sample.drop_fraction[k] > 1e-3):
                continue
            if pred is None:
                pred = predict(sample, delay_horizon_s=DELAY_HORIZON_S)
                lam = _reaching_rates(sample)
            assert lam is not None
            rows.append((lam[a], t.weights[t.src[a]], cap, int(sample.tos[k]), load,
                         float(sample.delay_s[k]), float(pred.delay_s[k])))
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(rows), size=min(n, len(rows)), replace=False).tolist()
    clocks = ("real", "scfq", "gps")
    cols = ("network model", "port formula", "without turns", *clocks)
    cells: dict[tuple[str, str], list[float]] = {}
    for i in pick:
        lam, w, cap, c, load, seen, model = rows[i]
        x = np.full((1, 3), 1000.0 / cap)
        x2 = np.full((1, 3), 1.49e6 / cap**2)
        own = 1000.0 / cap
        formula = [evaluate_class_queues(
            lam[None], x, x2, np.array([Scheduler.WFQ]), w[None], np.full((1, 3), 32.0),
            drr_turn_packets=turn).waiting_s[0, c] + own
            for turn in (np.array([DRR_QUANTUM_S * cap / 1000.0]), None)]
        packet = [simulate_port(lam.tolist(), [SIZES] * 3, cap, Scheduler.WFQ,
                                weights=w.tolist(), buffer_packets=32, packets=80_000, seed=i,
                                wfq_clock=clock).waiting_s[c] + own for clock in clocks]
        band = next(f"{lo:g}-{hi:g}" for lo, hi in ((0.8, 0.95), (0.95, 1.1), (1.1, 1.5))
                    if load < hi)
        kind = "beyond" if lam[c] * 1000.0 / cap >= w[c] else "within"
        for group in (f"load {band}, class {kind}", "all"):
            for name, value in zip(cols, [model, *formula, *packet], strict=True):
                cells.setdefault((group, name), []).append((value - seen) / seen)
    print(f"{len(pick)} of {len(rows)} one-hop pairs at WFQ ports at load 0.8-1.5 that lose "
          "nothing (GEANT2 even): bias / mean |error| against GNNet, %")
    print(f"  {'group':<30}" + "".join(f"{c:>18}" for c in cols))
    for group in sorted({g for g, _ in cells}):
        print(f"  {group:<30}" + "".join(
            f"{100 * np.mean(e):+8.1f} /{100 * np.mean(np.abs(e)):6.1f}  "
            for e in (np.array(cells[(group, c)]) for c in cols)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ports", type=int, default=150)
    parser.add_argument("--hot", type=int, default=0, metavar="N",
                        help="N of GEANT2's hot DRR ports instead of random ones")
    parser.add_argument("--one-hop", action="store_true",
                        help="the model and packet DRR against GNNet's one-hop pairs at hot ports")
    parser.add_argument("--quantum-scale", type=float, default=1.0,
                        help="--one-hop: packet DRR's quantum, times saturated_quantum_bits")
    parser.add_argument("--wfq", type=int, default=0, metavar="N",
                        help="N of GEANT2's hot one-hop WFQ pairs against packet WFQ's clocks")
    args = parser.parse_args()
    if args.wfq:
        _wfq_one_hop(args.wfq, args.seed)
        return
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
