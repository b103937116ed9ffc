"""An on-off stream through two ports as fast, against packets: where the bursty model's
wait at the second port is off (``docs/bursty-calibration.md``, seventh session).

The stream (peak load 0.6 or 0.95 at the first port, mean 0.2 or 0.4, bursts of 0.02 or
0.2 s) shares the first port u with Poisson cross traffic (0 or 0.3) that leaves there and
meets Poisson local traffic (0.1 or 0.3) at the second port j; K = 40 at both, packets of
8,000 bits, fixed or exponential (kept from port to port). Prints, per point, the model's
and the packets' wait at u and at j (``simulate_tandem_ports``, mean of ``--seeds`` runs
of ``--horizon`` s) and the relative errors; then the MAPE at j. A few CPU minutes.

    PYTHONPATH=src python benchmarks/tandem_onoff_grid.py [--exponential]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from nettwin.engine.arrivals import evaluate_paths
from nettwin.engine.bursts import Bursts
from nettwin.engine.mg1k import SizeLaw
from nettwin.reference.port_sim import Stream, simulate_fifo_port, simulate_tandem_ports

CAP, BITS, K = 1e6, 8000.0, 40


def _model(mean: float, peak: float, on_s: float, cross: float, local: float,
           exponential: bool) -> tuple[float, float]:
    """Waits at u and j: through on u then j, cross on u, local on j."""
    law = SizeLaw(np.arange(4), np.ones(3), np.zeros(3) if exponential else np.full(3, BITS),
                  np.full(3, BITS) if exponential else np.zeros(3))
    ratio = peak / mean
    b = Bursts(np.array([ratio, 1.0, 1.0]), np.array([0.0, 1.0, 1.0]),
               np.array([on_s, 1.0, 1.0]), np.array([on_s * (ratio - 1.0), 1.0, 1.0]))
    pps = np.maximum(np.array([mean, cross, local]), 1e-9) * CAP / BITS
    out = evaluate_paths(np.array([0, 2, 3, 4]), np.array([0, 1, 0, 1]), pps, law.mean_bits,
                         law.second_moment_bits2, b, np.full(2, CAP), np.full(2, float(K)),
                         size_law=law)
    return float(out.port_waiting_s[0]), float(out.port_waiting_s[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exponential", action="store_true")
    ap.add_argument("--horizon", type=float, default=400.0)
    ap.add_argument("--seeds", type=int, default=2)
    a = ap.parse_args()
    errors = []
    print("mean peak on_s cross local | u: model packets err | j: model packets err (ms)")
    for mean, cross, local, peak, on_s in itertools.product(
            (0.2, 0.4), (0.0, 0.3), (0.1, 0.3), (0.6, 0.95), (0.02, 0.2)):
        def stream(load: float, on: float = 0.0, off: float = 0.0) -> Stream:
            return Stream(max(load, 1e-9) * CAP / BITS, (BITS,), on_s=on, off_s=off,
                          exponential_bits=BITS if a.exponential else 0.0)
        through = stream(mean, on_s, on_s * (peak / mean - 1.0))
        u_runs = [simulate_fifo_port([through, stream(cross)], CAP, K, a.horizon, seed=s)
                  for s in range(1, a.seeds + 1)]
        j_runs = [simulate_tandem_ports((CAP, CAP), through, stream(local), K, a.horizon,
                                        seed=s, cross=stream(cross), first_system_packets=K)
                  for s in range(1, a.seeds + 1)]
        pu = float(np.mean([r.waiting_s for r in u_runs]))
        pj = float(np.mean([r.waiting_s for r in j_runs]))
        mu, mj = _model(mean, peak, on_s, cross, local, a.exponential)
        errors.append(mj / pj - 1.0)
        print(f"{mean:.2f} {peak:.2f} {on_s:.2f} {cross:.1f} {local:.1f} | u {1e3 * mu:7.2f} "
              f"{1e3 * pu:7.2f} {100 * (mu / pu - 1):+6.1f} % | j {1e3 * mj:7.2f} "
              f"{1e3 * pj:7.2f} {100 * errors[-1]:+6.1f} %", flush=True)
    e = np.array(errors)
    print(f"j: MAPE {100 * np.abs(e).mean():.1f} %, bias {100 * e.mean():+.1f} % "
          f"({e.size} points)")


if __name__ == "__main__":
    main()
