"""Shared fixtures: the real data sets in ../shared/data and random networks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st

from nettwin.model import Network, build_network

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# CI draws the same examples every run (a red build must be reproducible); locally,
# HYPOTHESIS_PROFILE=thorough searches ten times harder.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("thorough", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI")
                                     else "default"))


def data_path(*parts: str) -> Path:
    """A file of the shared data sets, or skip the test when they are not beside the repo."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    return path


def random_network(seed: int, n: int, m: int, *, max_metric: int = 4,
                   demand_fraction: float = 0.7) -> Network:
    """A random multigraph with asymmetric integer metrics and a random partial matrix."""
    rng = np.random.default_rng(seed)
    nodes = [{"id": f"n{i}"} for i in range(n)]
    links = []
    for k in range(m):
        a, b = rng.choice(n, size=2, replace=False)
        links.append({"id": f"l{k}", "a": f"n{a}", "b": f"n{b}",
                      "capacity_ab_bps": float(rng.choice([1e9, 10e9, 2.5e9])),
                      "capacity_ba_bps": float(rng.choice([1e9, 10e9])),
                      "metric_ab": int(rng.integers(1, max_metric + 1)),
                      "metric_ba": int(rng.integers(1, max_metric + 1)),
                      "length_km": float(rng.uniform(1, 2000))})
    demands = [{"src": f"n{s}", "dst": f"n{d}", "rate_bps": float(rng.uniform(0, 1e8))}
               for s in range(n) for d in range(n)
               if s != d and rng.random() < demand_fraction]
    return build_network(f"random-{seed}", nodes, links, demands)


@st.composite
def networks(draw: st.DrawFn) -> Network:
    n = draw(st.integers(2, 14))
    m = draw(st.integers(1, 3 * n))
    seed = draw(st.integers(0, 2**32 - 1))
    max_metric = draw(st.sampled_from([1, 2, 3, 10]))
    return random_network(seed, n, m, max_metric=max_metric)
