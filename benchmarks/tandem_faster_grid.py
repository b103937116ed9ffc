"""An on-off stream from a faster port that does not clip it (its peak plus the cross
traffic below that port's rate) into a slower port j, against packets: the "from a faster
port" links of the ns-3 tuning networks (``docs/bursty-calibration.md``, ninth session).

The stream (mean 0.3 of C_j, peak 0.9 or 1.6 x C_j, bursts of 0.02 or 0.2 s) shares u
(C_u / C_j = 2 or 4) with Poisson cross traffic (0 or 0.15 of C_u) that leaves there and
meets Poisson local traffic (0.1 or 0.3 of C_j) at j, K = 21 in the system at both,
packets of 8,000 bits, fixed or exponential (kept from port to port). Prints, per point,
the model's and the packets' wait at j (``simulate_tandem_ports``, mean of ``--seeds`` runs
of ``--horizon`` s) and the losses; then the MAPE and bias at j.

    PYTHONPATH=src python benchmarks/tandem_faster_grid.py [--exponential]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from nettwin.reference.port_sim import Stream, simulate_tandem_ports
from tandem_clipped_grid import BITS, CJ, K, _model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exponential", action="store_true")
    ap.add_argument("--horizon", type=float, default=300.0)
    ap.add_argument("--seeds", type=int, default=2)
    a = ap.parse_args()
    errors, keys = [], []
    print("Cu/Cj peak/Cj on_s cross local | j: model packets err (ms) | loss j model/packets (%)")
    for r, pk, on_s, cross, local in itertools.product(
            (2.0, 4.0), (0.9, 1.6), (0.02, 0.2), (0.0, 0.15), (0.1, 0.3)):
        cu = r * CJ
        mean, peak = 0.3 * CJ, pk * CJ

        def stream(bps: float, on: float = 0.0, off: float = 0.0) -> Stream:
            return Stream(max(bps, 1e-3) / BITS, (BITS,), on_s=on, off_s=off,
                          exponential_bits=BITS if a.exponential else 0.0)
        through = stream(mean, on_s, on_s * (peak / mean - 1.0))
        runs = [simulate_tandem_ports((cu, CJ), through, stream(local * CJ), K, a.horizon,
                                      seed=s, cross=stream(cross * cu),
                                      first_system_packets=K) for s in range(1, a.seeds + 1)]
        pj = float(np.mean([x.waiting_s for x in runs]))
        lj = float(np.mean([x.loss for x in runs]))
        _, mj, _, mlj = _model(cu, mean, peak, on_s, cross * cu, local * CJ, a.exponential)
        errors.append(mj / pj - 1.0)
        keys.append((r, pk, on_s))
        print(f"{r:.0f} {pk:.1f} {on_s:.2f} {cross:.2f} {local:.1f} | j {1e3 * mj:7.2f} "
              f"{1e3 * pj:7.2f} {100 * errors[-1]:+6.1f} % | {100 * mlj:.2f}/{100 * lj:.2f}",
              flush=True)
    e = np.array(errors)
    for i, name in ((0, "C_u / C_j"), (1, "peak / C_j"), (2, "on_s")):
        for v in sorted({k[i] for k in keys}):
            m = np.array([k[i] == v for k in keys])
            print(f"{name} {v}: j MAPE {100 * np.abs(e[m]).mean():.1f} %, bias "
                  f"{100 * e[m].mean():+.1f} %")
    print(f"j: MAPE {100 * np.abs(e).mean():.1f} %, bias {100 * e.mean():+.1f} % "
          f"({e.size} points)")


if __name__ == "__main__":
    main()
