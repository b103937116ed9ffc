"""A Poisson stream with ns3gt's bimodal or IMIX packet sizes through two ports of the same
speed, against packets: the packet-train terms on each flow's own size law
(``docs/bursty-calibration.md``, ninth session).

The stream (load 0.1, 0.3, 0.5 or 0.7) crosses u (Poisson cross traffic 0 or 0.3 that
leaves there) and j (Poisson local traffic 0 or 0.2 joins), K = 11 at both, every stream
with the same law (bimodal: 64 or 1,500 bytes, even odds; IMIX: 64 / 576 / 1,500 bytes,
7 : 4 : 1), sizes kept from port to port. Prints, per point, the model's and the packets'
wait at j (``simulate_tandem_ports``, mean of two runs of ``--packets``); then the MAPE by
law. About a CPU minute.

    PYTHONPATH=src python benchmarks/tandem_size_law_grid.py
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from nettwin.engine.arrivals import evaluate_paths
from nettwin.engine.bursts import Bursts
from nettwin.engine.mg1k import SizeLaw
from nettwin.reference.port_sim import Stream
from tandem_grid import mape, second_port

CAP, K = 1e6, 11
LAWS = {"bimodal": ((512.0, 12000.0), (0.5, 0.5)),
        "imix": ((512.0, 4608.0, 12000.0), (7 / 12, 4 / 12, 1 / 12))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packets", type=float, default=3e5)
    a = ap.parse_args()
    errors: dict[str, list[float]] = {}
    print("law load cross local | j: model packets err (ms)")
    for name, rho, cross, local in itertools.product(LAWS, (0.1, 0.3, 0.5, 0.7), (0.0, 0.3),
                                                     (0.0, 0.2)):
        if max(rho + local, rho + cross) > 0.95:  # both ports stable
            continue
        vals, probs = LAWS[name]
        mean = float(np.dot(vals, probs))
        n = len(vals)
        law = SizeLaw(np.arange(0, 3 * n + 1, n), np.array(probs * 3), np.array(vals * 3),
                      np.zeros(3 * n))
        pps = np.array([rho, max(local, 1e-6), max(cross, 1e-6)]) * CAP / mean
        out = evaluate_paths(np.array([0, 2, 3, 4]), np.array([0, 1, 1, 0]), pps,
                             law.mean_bits, law.second_moment_bits2, Bursts.poisson(3),
                             np.array([CAP, CAP]), np.full(2, float(K)), size_law=law)
        measured, _ = second_port(
            (CAP, CAP), K, Stream(float(pps[0]), vals, probs),
            Stream(float(pps[1]), vals, probs),
            Stream(float(pps[2]), vals, probs) if cross > 0 else None,
            a.packets / float(pps.sum()), seeds=(1, 2))
        got = float(out.port_waiting_s[1])
        errors.setdefault(name, []).append(got / measured - 1.0)
        print(f"{name:7s} {rho:.1f} {cross:.1f} {local:.1f} | j {1e3 * got:8.3f} "
              f"{1e3 * measured:8.3f} {100 * errors[name][-1]:+6.1f} %", flush=True)
    for name, e in errors.items():
        print(f"{name}: j {mape(np.array(e))} ({len(e)} points)")
    print(f"j: {mape(np.concatenate([np.array(e) for e in errors.values()]))}")


if __name__ == "__main__":
    main()
