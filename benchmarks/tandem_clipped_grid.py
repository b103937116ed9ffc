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

import itertools

import numpy as np

from tandem_grid import (
    first_port,
    grid_args,
    mape,
    model_ports,
    on_off,
    second_port,
    stream,
)

CJ, K = 1e6, 21


def main() -> None:
    a = grid_args(300.0)
    errors, ratios = [], []
    print("Cu/Cj peak/Cu on_s cross local | u: model packets err | j: model packets err (ms)"
          " | loss u, j: model/packets (%)")
    for r, pk, on_s, cross, local in itertools.product(
            (0.5, 1.0, 2.0), (1.5, 3.0), (0.02, 0.2), (0.0, 0.3), (0.1, 0.3)):
        cu = r * CJ
        mean, peak = 0.3 * cu, pk * cu
        through = on_off(mean, peak, on_s, a.exponential)
        pu, lu = first_port(cu, K, [through, stream(cross * cu, a.exponential)], a.horizon,
                            a.seeds)
        pj, lj = second_port((cu, CJ), K, through, stream(local * CJ, a.exponential),
                             stream(cross * cu, a.exponential), a.horizon,
                             range(1, a.seeds + 1))
        mu, mj, mlu, mlj = model_ports((cu, CJ), K, mean, peak, on_s, cross * cu, local * CJ,
                                       a.exponential)
        errors.append(mj / pj - 1.0)
        ratios.append(r)
        print(f"{r:.1f} {pk:.1f} {on_s:.2f} {cross:.1f} {local:.1f} | u {1e3 * mu:7.2f} "
              f"{1e3 * pu:7.2f} {100 * (mu / pu - 1):+6.1f} % | j {1e3 * mj:7.2f} "
              f"{1e3 * pj:7.2f} {100 * errors[-1]:+6.1f} % | {100 * mlu:.1f}/{100 * lu:.1f}, "
              f"{100 * mlj:.2f}/{100 * lj:.2f}", flush=True)
    e, rr = np.array(errors), np.array(ratios)
    for v in (0.5, 1.0, 2.0):
        print(f"C_u / C_j {v}: j {mape(e[rr == v])}")
    print(f"j: {mape(e)} ({e.size} points)")


if __name__ == "__main__":
    main()
