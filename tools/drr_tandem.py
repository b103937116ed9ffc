#!/usr/bin/env python3
"""The waits at a port fed by a hot DRR port (one with a saturated class), model against
packet simulation (``reference.port_sim.simulate_port_pair``): whether the classes polled
at the hot port reach the next port in turn-sized bursts that the model's smoothed (QNA)
arrivals miss. For iterating on the model; never run by the tests (tests/engine/test_qos.py
holds an asserted case).

    PYTHONPATH=src python tools/drr_tandem.py --cases 30 --seed 2   # about 1 min

Cases: GNNet-like ports (300/1,700-bit packets, its DRR weights, 32-packet buffers), the
first DRR at 40 kbit/s, offered 1.0-1.3 with a saturated class, its quantum
``io.gnnet.saturated_quantum_bits``; a share of each class goes on to a second port (DRR,
WFQ or FIFO, ``--caps`` kbit/s, its DRR/WFQ quantum ``DRR_QUANTUM_S`` of the rate) joined
by Poisson local traffic up to load 0.5-0.9 (``--pure``: the polled classes' local traffic
cut to a twentieth, so they reach the second port almost only from the first). Per class
wait of the second port that packets do not drop: the model's error, the model's with
Poisson arrivals, and the packet wait when the same rates arrive Poisson (``Poisson-fed /
pair``: + where the hot port's departures are smoother than Poisson), by scheduler, class,
second port rate and load (below / from 0.9).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from nettwin.engine.qos import PathDemands, Scheduler, simulate_paths
from nettwin.engine.wfq import water_fill
from nettwin.io.gnnet import DRR_QUANTUM_S, saturated_quantum_bits
from nettwin.reference.port_sim import simulate_port, simulate_port_pair

SIZES = [300.0, 1700.0]
MEAN_BITS = 1000.0
FIRST_BPS = 40e3
WEIGHTS = np.array([[0.65, 0.25, 0.1], [0.6, 0.3, 0.1], [0.8, 0.1, 0.1], [0.7, 0.2, 0.1]])
SECOND = (Scheduler.DRR, Scheduler.WFQ, Scheduler.FIFO)


@dataclass(frozen=True)
class Case:
    w1: np.ndarray  # first port's weights
    rho1: np.ndarray  # offered load per class at the first port
    share: np.ndarray  # of each class's departures that goes on
    cap2: float  # second port's rate, bit/s
    sched2: Scheduler
    w2: np.ndarray
    local_pps: np.ndarray  # Poisson per class joining at the second port
    saturated: np.ndarray  # per class at the first port


def _case(rng: np.random.Generator, caps: list[float], pure: bool) -> Case | None:
    w1 = WEIGHTS[rng.integers(len(WEIGHTS))]
    rho1 = rng.dirichlet([1, 1, 1]) * rng.uniform(1.0, 1.3)
    _, sat = water_fill(rho1[None], w1[None], np.ones((1, 3), bool), np.ones(1))
    if not sat.any() or sat.all():
        return None
    share = np.where(sat[0], rng.uniform(0.0, 0.5, 3), rng.uniform(0.3, 1.0, 3))
    cap2 = float(rng.choice(caps))
    through = (np.where(sat[0], 0.0, rho1) * FIRST_BPS * share).sum() / cap2
    target = rng.uniform(0.5, 0.9)
    if through > target - 0.05:
        return None
    mix = rng.dirichlet([1, 1, 1])
    if pure:
        mix = np.where(sat[0], mix, 0.05 * mix)
    local = mix / mix.sum() * (target - through) * cap2 / MEAN_BITS
    return Case(w1, rho1, share, cap2, SECOND[rng.integers(len(SECOND))],
                WEIGHTS[rng.integers(len(WEIGHTS))], local, sat[0])


def _model(c: Case, smooth: bool) -> np.ndarray:
    """The model's waits at the second port (paths: through, first port only, local)."""
    lam1 = c.rho1 * FIRST_BPS / MEAN_BITS
    ptr, arcs, cls, pps = [0], [], [], []
    for k in range(3):
        for path, rate in (([0, 1], lam1[k] * c.share[k]), ([0], lam1[k] * (1 - c.share[k])),
                           ([1], c.local_pps[k])):
            if rate > 0:
                arcs += path
                ptr.append(len(arcs))
                cls.append(k)
                pps.append(rate)
    m = np.full(len(cls), MEAN_BITS)
    second = (SIZES[0] ** 2 + SIZES[1] ** 2) / 2
    demands = PathDemands(np.array(ptr), np.array(arcs), np.array(cls), np.array(pps), m,
                          np.full(len(cls), second), m ** 3 + 3 * m * (second - m * m))
    cap = np.array([FIRST_BPS, c.cap2])
    res = simulate_paths(demands, cap, np.array([Scheduler.DRR, c.sched2]),
                         np.stack([c.w1, c.w2]), np.full((2, 3), 32.0), smooth_arrivals=smooth,
                         drr_quantum_bits=DRR_QUANTUM_S * cap,
                         drr_saturated_quantum_bits=saturated_quantum_bits(cap))
    return np.asarray(res.queues.waiting_s[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--packets", type=int, default=80_000)
    ap.add_argument("--pure", action="store_true",
                    help="the polled classes reach the second port almost only from the first")
    ap.add_argument("--caps", default="10,25,40,100", help="second port's rates, kbit/s")
    args = ap.parse_args()
    caps = [1e3 * float(v) for v in args.caps.split(",")]
    rng = np.random.default_rng(args.seed)
    rows: dict[str, list[float]] = {}
    done = 0
    while done < args.cases:
        c = _case(rng, caps, args.pure)
        if c is None:
            continue
        done += 1
        q1 = float(saturated_quantum_bits(np.array(FIRST_BPS)))
        q2 = DRR_QUANTUM_S * c.cap2
        quanta2 = (q2 * c.w2 / c.w2.max()).tolist()
        lam1 = c.rho1 * FIRST_BPS / MEAN_BITS
        first, second = simulate_port_pair(
            lam1.tolist(), c.share.tolist(), c.local_pps.tolist(), (FIRST_BPS, c.cap2),
            (Scheduler.DRR, c.sched2), weights=(c.w1.tolist(), c.w2.tolist()),
            quantum_bits=((q1 * c.w1 / c.w1.max()).tolist(), quanta2),
            buffer_packets=(32, 32), packets=args.packets, seed=done)
        reach = lam1 * (1 - first.loss) * c.share + c.local_pps
        plain = simulate_port(reach.tolist(), [SIZES] * 3, c.cap2, c.sched2,
                              weights=c.w2.tolist(), quantum_bits=quanta2, buffer_packets=32,
                              packets=args.packets, seed=done)
        model, poisson = _model(c, True), _model(c, False)
        load = float(reach @ np.full(3, MEAN_BITS)) / c.cap2
        band = "<0.9" if load < 0.9 else ">=0.9"
        for k in range(3):
            if c.saturated[k] or second.loss[k] > 1e-3 or second.delivered[k] < 500:
                continue
            packet = second.waiting_s[k]
            err = float(model[k] / packet - 1)
            fed = float(plain.waiting_s[k] / packet - 1)
            for key in (f"{c.sched2.name} ToS {k} {band}", f"{c.cap2 / 1e3:.0f}k {band}",
                        f"all {band}"):
                rows.setdefault(key, []).append(err)
            rows.setdefault(f"Poisson-fed / pair {band}", []).append(fed)
            print(f"case {done:3d} {c.sched2.name:4s} {c.cap2 / 1e3:4.0f}k load {load:.2f} "
                  f"ToS {k} share {c.share[k]:.2f}: packets {1e3 * packet:7.1f} ms, model "
                  f"{100 * err:+6.1f} % (Poisson {100 * (poisson[k] / packet - 1):+6.1f} %), "
                  f"packets fed Poisson {100 * fed:+6.1f} %", flush=True)
    for key, e in sorted(rows.items()):
        print(f"{key:24s} n={len(e):3d} bias {100 * np.mean(e):+6.1f} % "
              f"mean |error| {100 * np.mean(np.abs(e)):5.1f} %")


if __name__ == "__main__":
    main()
