"""The exact tandem term (``engine.tandem_exact``) against packets (issue 21, tenth session).

Two Poisson groups from two upstream ports (one with Poisson cross traffic there) merge at
j with exponential local traffic; packets keep their sizes (exponential, bimodal 64 / 1,500
bytes, fixed); the oracle is the packet simulator's event-by-event FIFO
(``reference.port_sim.fifo_pass``, independent of the engine's running-maximum form).
Prints each stream's wait at j, predicted / packets, and the M/G/1 wait.
``PYTHONPATH=src python benchmarks/tandem_exact_grid.py``.
"""

from __future__ import annotations

import numpy as np

from nettwin.engine.mg1k import SizeLaw
from nettwin.engine.tandem_exact import exact_groups, exact_term
from nettwin.reference.port_sim import fifo_pass

C = 1e6
HORIZON_S = 3000.0
LAWS = {"exp": (8000.0, 2 * 8000.0**2), "bim": (6256.0, 0.5 * (512.0**2 + 12000.0**2)),
        "fix": (8000.0, 8000.0**2)}
UNBOUNDED = 2**62  # buffer: none
POINTS = ((0.25, 0.25, 0.2, 0.0), (0.3, 0.2, 0.1, 0.3), (0.2, 0.2, 0.4, 0.0))


def _draw(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    if kind == "exp":
        return rng.exponential(8000.0, n)
    if kind == "bim":
        return np.where(rng.random(n) < 0.5, 512.0, 12000.0)
    return np.full(n, 8000.0)


def _through(rng: np.random.Generator, kind: str, lam: float, cross_pps: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """A group's departures from its upstream port (with Poisson cross traffic there)."""
    n = rng.poisson(lam * HORIZON_S)
    t, s = np.sort(rng.random(n) * HORIZON_S), _draw(rng, kind, n)
    nc = rng.poisson(cross_pps * HORIZON_S)
    tc, sc = np.sort(rng.random(nc) * HORIZON_S), _draw(rng, kind, nc)
    at = np.concatenate([t, tc])
    o = np.argsort(at, kind="stable")
    size = np.concatenate([s, sc])[o]
    mine = np.concatenate([np.ones(n, bool), np.zeros(nc, bool)])[o]
    return fifo_pass(at[o], size / C, UNBOUNDED)[1][mine], size[mine]


def _packets(kind: str, rates: list[float], cross_pps: float) -> np.ndarray:
    rng = np.random.default_rng(5)
    out = []
    for _ in range(2):
        (ta, sa), (tb, sb) = _through(rng, kind, rates[0], cross_pps), _through(
            rng, kind, rates[1], 0.0)
        n = rng.poisson(rates[2] * HORIZON_S)
        tl, sl = np.sort(rng.random(n) * HORIZON_S), rng.exponential(8000.0, n)
        t = np.concatenate([ta, tb, tl])
        s = np.concatenate([sa, sb, sl])
        label = np.concatenate([np.zeros(ta.size), np.ones(tb.size), np.full(n, 2.0)])
        o = np.argsort(t, kind="stable")
        t, s, label = t[o], s[o] / C, label[o]
        wait, _ = fifo_pass(t, s, UNBOUNDED)
        keep = t > 0.05 * HORIZON_S
        out.append([wait[keep & (label == i)].mean() for i in range(3)])
    return np.mean(out, axis=0)


def _model(kind: str, rates: list[float], cross_pps: float, wait_mg1: float) -> np.ndarray:
    # flows: A over ports 0 -> 2, B over 1 -> 2, local at 2, cross traffic at 0
    arcs = np.array([0, 2, 1, 2, 2, 0])
    first = np.array([1, 0, 1, 0, 1, 1], bool)
    rate = np.array([rates[0], rates[0], rates[1], rates[1], rates[2], cross_pps])
    prob, fixed, expo = [], [], []
    for hop in range(arcs.size):
        if hop == 4 or kind == "exp":
            prob.append([1.0, 0.0]), fixed.append([0.0, 0.0]), expo.append([8000.0, 0.0])
        elif kind == "bim":
            prob.append([0.5, 0.5]), fixed.append([512.0, 12000.0]), expo.append([0.0, 0.0])
        else:
            prob.append([1.0, 0.0]), fixed.append([8000.0, 0.0]), expo.append([0.0, 0.0])
    law = SizeLaw(np.arange(0, 2 * arcs.size + 1, 2), np.ravel(prob), np.ravel(fixed),
                  np.ravel(expo))
    groups = exact_groups(arcs, first, np.ones(arcs.size, bool), rate, np.full(3, C), law)
    _, hop_term = exact_term(groups, arcs, rate, np.array([0.0, 0.0, wait_mg1]), 3)
    return wait_mg1 + hop_term[[1, 3, 4]]


def main() -> None:
    for kind, (m1, m2) in LAWS.items():
        for load_a, load_b, local, cross in POINTS:
            rates = [load_a * C / m1, load_b * C / m1, local * C / 8000.0]
            r = (rates[0] + rates[1]) * m2 / C**2 / 2 + rates[2] * 2 * 8000.0**2 / C**2 / 2
            wait_mg1 = r / (1.0 - load_a - load_b - local)
            truth = _packets(kind, rates, cross * C / m1)
            pred = _model(kind, rates, cross * C / m1, wait_mg1)
            cells = " ".join(f"{1e3 * p:.2f}/{1e3 * t:.2f} ({p / t - 1:+.1%})"
                             for p, t in zip(pred, truth, strict=True))
            print(f"{kind} groups {load_a}/{load_b} local {local} cross at u {cross}: "
                  f"{cells} | M/G/1 {1e3 * wait_mg1:.2f} ms", flush=True)


if __name__ == "__main__":
    main()
