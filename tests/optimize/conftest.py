"""Small connected networks for the optimisation tests."""

from __future__ import annotations

import numpy as np

from nettwin.model import Network, build_network


def ring_network(seed: int, n: int, chords: int, *, max_metric: int = 5,
                 uniform: bool = False, demand_fraction: float = 0.8) -> Network:
    """A ring (so every demand has a path) plus random chords, random integer metrics,
    capacities and a random partial traffic matrix."""
    rng = np.random.default_rng(seed)
    pairs = [(i, (i + 1) % n) for i in range(n)]
    while len(pairs) < n + chords:
        a, b = (int(x) for x in rng.choice(n, size=2, replace=False))
        pairs.append((a, b))
    links = []
    for k, (a, b) in enumerate(pairs):
        cap = 10e9 if uniform else float(rng.choice([2.5e9, 10e9, 40e9]))
        links.append({"id": f"l{k}", "a": f"n{a}", "b": f"n{b}", "capacity_bps": cap,
                      "metric_ab": int(rng.integers(1, max_metric + 1)),
                      "metric_ba": int(rng.integers(1, max_metric + 1))})
    demands = [{"src": f"n{s}", "dst": f"n{d}", "rate_bps": float(rng.uniform(1e7, 1e9))}
               for s in range(n) for d in range(n) if s != d and rng.random() < demand_fraction]
    return build_network(f"ring-{seed}", [{"id": f"n{i}"} for i in range(n)], links, demands)
