"""An on-off stream clipped at the first port (its peak above that port's line rate, so its
bursts leave as line-rate trains) through two ports, against packets: where the bursty
model's wait at the second port is off for clipped trains (``docs/bursty-calibration.md``,
eighth session).

The stream (mean 0.3 of the first port's rate C_u, peak 1.5 or 3 x C_u, bursts of 0.02 or
0.2 s) shares u with Poisson cross traffic (0 or 0.3 of C_u) that leaves there and meets
Poisson local traffic (0.1 or 0.3 of C_j) at the second port j; C_u / C_j = 0.5, 1 or 2,
K = 21 in the system at both (ns-3's 20 + 1), packets of 8,000 bits, fixed or exponential
(kept from port to port). Prints, per point, the model's and the packets' wait at u and j
(``simulate_tandem_ports``, mean of ``--seeds`` runs of ``--horizon`` s) and the losses;
then the MAPE at j by C_u / C_j. About a CPU minute per size law.

    PYTHONPATH=src python benchmarks/tandem_clipped_grid.py [--exponential]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from nettwin.engine.arrivals import evaluate_paths
from nettwin.engine.bursts import Bursts
from nettwin.engine.mg1k import SizeLaw
from nettwin.reference.port_sim import Stream, simulate_fifo_port, simulate_tandem_ports

CJ, BITS, K = 1e6, 8000.0, 21


def _model(cu: float, mean: float, peak: float, on_s: float, cross: float, local: float,
           exponential: bool) -> tuple[float, float, float, float]:
    """Waits and losses at u and j (rates in bit/s): through on u then j, cross on u,
    local on j."""
    law = SizeLaw(np.arange(4), np.ones(3), np.zeros(3) if exponential else np.full(3, BITS),
                  np.full(3, BITS) if exponential else np.zeros(3))
    ratio = peak / mean
    b = Bursts(np.array([ratio, 1.0, 1.0]), np.array([0.0, 1.0, 1.0]),
               np.array([on_s, 1.0, 1.0]), np.array([on_s * (ratio - 1.0), 1.0, 1.0]))
    pps = np.maximum(np.array([mean, cross, local]), 1e-3) / BITS
    out = evaluate_paths(np.array([0, 2, 3, 4]), np.array([0, 1, 0, 1]), pps, law.mean_bits,
                         law.second_moment_bits2, b, np.array([cu, CJ]), np.full(2, float(K)),
                         size_law=law)
    w, loss = out.port_waiting_s, out.port_loss
    return float(w[0]), float(w[1]), float(loss[0]), float(loss[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exponential", action="store_true")
    ap.add_argument("--horizon", type=float, default=300.0)
    ap.add_argument("--seeds", type=int, default=2)
    a = ap.parse_args()
    errors, ratios = [], []
    print("Cu/Cj peak/Cu on_s cross local | u: model packets err | j: model packets err (ms)"
          " | loss u, j: model/packets (%)")
    for r, pk, on_s, cross, local in itertools.product(
            (0.5, 1.0, 2.0), (1.5, 3.0), (0.02, 0.2), (0.0, 0.3), (0.1, 0.3)):
        cu = r * CJ
        mean, peak = 0.3 * cu, pk * cu

        def stream(bps: float, on: float = 0.0, off: float = 0.0) -> Stream:
            return Stream(max(bps, 1e-3) / BITS, (BITS,), on_s=on, off_s=off,
                          exponential_bits=BITS if a.exponential else 0.0)
        through = stream(mean, on_s, on_s * (peak / mean - 1.0))
        seeds = range(1, a.seeds + 1)
        u_runs = [simulate_fifo_port([through, stream(cross * cu)], cu, K, a.horizon, seed=s)
                  for s in seeds]
        j_runs = [simulate_tandem_ports((cu, CJ), through, stream(local * CJ), K, a.horizon,
                                        seed=s, cross=stream(cross * cu),
                                        first_system_packets=K) for s in seeds]
        pu = float(np.mean([x.waiting_s for x in u_runs]))
        pj = float(np.mean([x.waiting_s for x in j_runs]))
        lu = float(np.mean([x.loss for x in u_runs]))
        lj = float(np.mean([x.loss for x in j_runs]))
        mu, mj, mlu, mlj = _model(cu, mean, peak, on_s, cross * cu, local * CJ,
                                  a.exponential)
        errors.append(mj / pj - 1.0)
        ratios.append(r)
        print(f"{r:.1f} {pk:.1f} {on_s:.2f} {cross:.1f} {local:.1f} | u {1e3 * mu:7.2f} "
              f"{1e3 * pu:7.2f} {100 * (mu / pu - 1):+6.1f} % | j {1e3 * mj:7.2f} "
              f"{1e3 * pj:7.2f} {100 * errors[-1]:+6.1f} % | {100 * mlu:.1f}/{100 * lu:.1f}, "
              f"{100 * mlj:.2f}/{100 * lj:.2f}", flush=True)
    e, rr = np.array(errors), np.array(ratios)
    for v in (0.5, 1.0, 2.0):
        m = rr == v
        print(f"C_u / C_j {v}: j MAPE {100 * np.abs(e[m]).mean():.1f} %, bias "
              f"{100 * e[m].mean():+.1f} %")
    print(f"j: MAPE {100 * np.abs(e).mean():.1f} %, bias {100 * e.mean():+.1f} % "
          f"({e.size} points)")


if __name__ == "__main__":
    main()
