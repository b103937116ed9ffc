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

import itertools

import numpy as np

from tandem_clipped_grid import CJ, K
from tandem_grid import grid_args, mape, model_ports, on_off, second_port, stream


def main() -> None:
    a = grid_args(300.0)
    errors, keys = [], []
    print("Cu/Cj peak/Cj on_s cross local | j: model packets err (ms) | loss j model/packets (%)")
    for r, pk, on_s, cross, local in itertools.product(
            (2.0, 4.0), (0.9, 1.6), (0.02, 0.2), (0.0, 0.15), (0.1, 0.3)):
        cu = r * CJ
        mean, peak = 0.3 * CJ, pk * CJ
        pj, lj = second_port((cu, CJ), K, on_off(mean, peak, on_s, a.exponential),
                             stream(local * CJ, a.exponential),
                             stream(cross * cu, a.exponential), a.horizon,
                             range(1, a.seeds + 1))
        _, mj, _, mlj = model_ports((cu, CJ), K, mean, peak, on_s, cross * cu, local * CJ,
                                    a.exponential)
        errors.append(mj / pj - 1.0)
        keys.append((r, pk, on_s))
        print(f"{r:.0f} {pk:.1f} {on_s:.2f} {cross:.2f} {local:.1f} | j {1e3 * mj:7.2f} "
              f"{1e3 * pj:7.2f} {100 * errors[-1]:+6.1f} % | {100 * mlj:.2f}/{100 * lj:.2f}",
              flush=True)
    e = np.array(errors)
    for i, name in ((0, "C_u / C_j"), (1, "peak / C_j"), (2, "on_s")):
        for v in sorted({k[i] for k in keys}):
            print(f"{name} {v}: j {mape(e[np.array([k[i] == v for k in keys])])}")
    print(f"j: {mape(e)} ({e.size} points)")


if __name__ == "__main__":
    main()
