"""What the tandem grids (``tandem_*_grid.py``) share: a stream through two ports, u then j,
with cross traffic leaving at u and local traffic joining at j, as the model sees it
(``evaluate_paths``) and as packets do (``simulate_fifo_port`` at u alone,
``simulate_tandem_ports`` through both, mean over seeds); the command line and the error
summary. Not a benchmark itself."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from nettwin.engine.arrivals import evaluate_paths
from nettwin.engine.bursts import Bursts
from nettwin.engine.mg1k import SizeLaw
from nettwin.reference.port_sim import Stream, simulate_fifo_port, simulate_tandem_ports

BITS = 8000.0  # packets of 1,000 bytes, fixed or exponential
MIN_BPS = 1e-3  # an absent stream: a rate that sends nothing in any horizon


def grid_args(horizon_s: float) -> argparse.Namespace:
    """--exponential (packet sizes), --horizon (s per packet run), --seeds (runs per point)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--exponential", action="store_true")
    ap.add_argument("--horizon", type=float, default=horizon_s)
    ap.add_argument("--seeds", type=int, default=2)
    return ap.parse_args()


def stream(bps: float, exponential: bool, on_s: float = 0.0, off_s: float = 0.0) -> Stream:
    """Packets of ``BITS`` at ``bps`` on average: Poisson, or on-off with ``on_s``/``off_s``."""
    return Stream(max(bps, MIN_BPS) / BITS, (BITS,), on_s=on_s, off_s=off_s,
                  exponential_bits=BITS if exponential else 0.0)


def on_off(mean_bps: float, peak_bps: float, on_s: float, exponential: bool) -> Stream:
    """The through stream: bursts of ``on_s`` at ``peak_bps``, silences to make ``mean_bps``."""
    return stream(mean_bps, exponential, on_s, on_s * (peak_bps / mean_bps - 1.0))


def model_ports(caps_bps: tuple[float, float], k: int, mean_bps: float, peak_bps: float,
                on_s: float, cross_bps: float, local_bps: float,
                exponential: bool) -> tuple[float, float, float, float]:
    """The model's waits and losses at u and j: through on u then j, cross on u, local on j,
    ``k`` packets in the system at both."""
    law = SizeLaw(np.arange(4), np.ones(3), np.zeros(3) if exponential else np.full(3, BITS),
                  np.full(3, BITS) if exponential else np.zeros(3))
    ratio = peak_bps / mean_bps
    b = Bursts(np.array([ratio, 1.0, 1.0]), np.array([0.0, 1.0, 1.0]),
               np.array([on_s, 1.0, 1.0]), np.array([on_s * (ratio - 1.0), 1.0, 1.0]))
    pps = np.maximum(np.array([mean_bps, cross_bps, local_bps]), MIN_BPS) / BITS
    out = evaluate_paths(np.array([0, 2, 3, 4]), np.array([0, 1, 0, 1]), pps, law.mean_bits,
                         law.second_moment_bits2, b, np.array(caps_bps), np.full(2, float(k)),
                         size_law=law)
    w, loss = out.port_waiting_s, out.port_loss
    return float(w[0]), float(w[1]), float(loss[0]), float(loss[1])


def first_port(cap_bps: float, k: int, streams: list[Stream], horizon_s: float,
               seeds: int) -> tuple[float, float]:
    """Packets' mean wait and loss at u alone, over ``seeds`` runs."""
    runs = [simulate_fifo_port(streams, cap_bps, k, horizon_s, seed=s)
            for s in range(1, seeds + 1)]
    return float(np.mean([r.waiting_s for r in runs])), float(np.mean([r.loss for r in runs]))


def second_port(caps_bps: tuple[float, float], k: int, through: Stream, local: Stream,
                cross: Stream | None, horizon_s: float, seeds: Sequence[int]
                ) -> tuple[float, float]:
    """Packets' mean wait and loss at j (through u first), over the ``seeds`` runs."""
    runs = [simulate_tandem_ports(caps_bps, through, local, k, horizon_s, seed=s, cross=cross,
                                  first_system_packets=k) for s in seeds]
    return float(np.mean([r.waiting_s for r in runs])), float(np.mean([r.loss for r in runs]))


def mape(errors: np.ndarray) -> str:
    """Relative errors (model / packets - 1) as 'MAPE x %, bias y %'."""
    return f"MAPE {100 * np.abs(errors).mean():.1f} %, bias {100 * errors.mean():+.1f} %"
