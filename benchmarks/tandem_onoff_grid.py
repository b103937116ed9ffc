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

import itertools

import numpy as np

from tandem_grid import first_port, grid_args, mape, model_ports, on_off, second_port, stream

CAP, K = 1e6, 40


def main() -> None:
    a = grid_args(400.0)
    errors = []
    print("mean peak on_s cross local | u: model packets err | j: model packets err (ms)")
    for mean, cross, local, peak, on_s in itertools.product(
            (0.2, 0.4), (0.0, 0.3), (0.1, 0.3), (0.6, 0.95), (0.02, 0.2)):
        through = on_off(mean * CAP, peak * CAP, on_s, a.exponential)
        pu, _ = first_port(CAP, K, [through, stream(cross * CAP, a.exponential)], a.horizon,
                           a.seeds)
        pj, _ = second_port((CAP, CAP), K, through, stream(local * CAP, a.exponential),
                            stream(cross * CAP, a.exponential), a.horizon,
                            range(1, a.seeds + 1))
        mu, mj, _, _ = model_ports((CAP, CAP), K, mean * CAP, peak * CAP, on_s, cross * CAP,
                                   local * CAP, a.exponential)
        errors.append(mj / pj - 1.0)
        print(f"{mean:.2f} {peak:.2f} {on_s:.2f} {cross:.1f} {local:.1f} | u {1e3 * mu:7.2f} "
              f"{1e3 * pu:7.2f} {100 * (mu / pu - 1):+6.1f} % | j {1e3 * mj:7.2f} "
              f"{1e3 * pj:7.2f} {100 * errors[-1]:+6.1f} %", flush=True)
    e = np.array(errors)
    print(f"j: {mape(e)} ({e.size} points)")


if __name__ == "__main__":
    main()
