"""A Poisson stream through two ports as fast whose neighbours are on-off, against packets
(``docs/bursty-calibration.md``, twelfth session): where the exact tandem's sample path
(``engine.tandem_exact``) drew u's and j's other traffic as Poisson.

The through stream (load 0.3 or 0.5, Poisson) shares u with cross traffic (none, Poisson
0.3, or on-off 0.3 at peak 0.9) that leaves there and meets local traffic at j (Poisson or
on-off 0.2 at peak 0.6), bursts 0.02 or 0.2 s, K = 40 at both, packets of 8,000 bits
(fixed or exponential, kept from port to port). Prints per point the model's and the
packets' wait at j (``simulate_tandem_ports``, mean of ``--seeds`` runs of ``--horizon``
s) and the relative error; then the MAPE. A CPU minute or two.

    PYTHONPATH=src python benchmarks/tandem_neighbours_grid.py [--exponential]
"""

from __future__ import annotations

import itertools

import numpy as np

from nettwin.engine.arrivals import evaluate_paths
from nettwin.engine.bursts import Bursts
from nettwin.engine.mg1k import SizeLaw
from nettwin.reference.port_sim import Stream
from tandem_grid import BITS, MIN_BPS, grid_args, mape, second_port, stream

CAP, K = 1e6, 40


def model_j(through: float, cross: float, cross_peak: float, local: float, local_peak: float,
            on_s: float, exponential: bool) -> float:
    """The model's wait at j: through on u then j (Poisson), cross on u, local on j, each
    on-off where its peak is above its mean (``on_s`` bursts)."""
    law = SizeLaw(np.arange(4), np.ones(3), np.zeros(3) if exponential else np.full(3, BITS),
                  np.full(3, BITS) if exponential else np.zeros(3))
    ratio = np.array([1.0, cross_peak / max(cross, 1e-12), local_peak / max(local, 1e-12)])
    onoff = ratio > 1.0 + 1e-9
    b = Bursts(np.where(onoff, ratio, 1.0), np.where(onoff, 0.0, 1.0),
               np.where(onoff, on_s, 1.0), np.where(onoff, on_s * (ratio - 1.0), 1.0))
    pps = np.maximum(np.array([through, cross, local]) * CAP, MIN_BPS) / BITS
    out = evaluate_paths(np.array([0, 2, 3, 4]), np.array([0, 1, 0, 1]), pps, law.mean_bits,
                         law.second_moment_bits2, b, np.full(2, CAP), np.full(2, float(K)),
                         size_law=law)
    return float(out.port_waiting_s[1])


def source(mean: float, peak: float, on_s: float, exponential: bool) -> Stream:
    """Poisson at ``mean`` (load), or on-off at ``peak`` in bursts of ``on_s``."""
    if peak <= mean:
        return stream(mean * CAP, exponential)
    return stream(mean * CAP, exponential, on_s, on_s * (peak / mean - 1.0))


def main() -> None:
    a = grid_args(400.0)
    errors = []
    print("through cross(peak) local(peak) on_s | j: model packets err (ms)")
    for through, (cross, cp), (local, lp), on_s in itertools.product(
            (0.3, 0.5), ((0.0, 0.0), (0.3, 0.3), (0.3, 0.9)), ((0.2, 0.2), (0.2, 0.6)),
            (0.02, 0.2)):
        if cp == cross and lp == local and on_s == 0.2:
            continue  # all Poisson: once
        pj, _ = second_port((CAP, CAP), K, stream(through * CAP, a.exponential),
                            source(local, lp, on_s, a.exponential),
                            source(cross, cp, on_s, a.exponential) if cross else None,
                            a.horizon, range(1, a.seeds + 1))
        mj = model_j(through, cross, cp, local, lp, on_s, a.exponential)
        errors.append(mj / pj - 1.0)
        print(f"{through:.1f} {cross:.1f}({cp:.1f}) {local:.1f}({lp:.1f}) {on_s:.2f} | j "
              f"{1e3 * mj:7.2f} {1e3 * pj:7.2f} {100 * errors[-1]:+6.1f} %", flush=True)
    e = np.array(errors)
    print(f"j: {mape(e)} ({e.size} points)")


if __name__ == "__main__":
    main()
