"""Shared fixtures: the real data sets in ../shared/data and random networks.

A test that needs the shared data fails when it is missing: CI has it, and a silent skip
would hide thirty tests (``NETTWIN_DATA`` points elsewhere than ../shared/data). Where the
data is knowingly unavailable, set ``NETTWIN_ALLOW_MISSING_DATA=1`` to skip those tests
instead; every run ends with the count of skipped tests and why."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st

from nettwin.kernel_cache import drop_stale_kernels
from nettwin.model import Network, build_network

# a kernel edited since the cache was made must not run from it inlined in its callers
# (numba checks the caller's file only): the exactness tests would pass on old code
drop_stale_kernels()

DATA = Path(os.environ.get("NETTWIN_DATA")
            or Path(__file__).resolve().parents[2] / "shared" / "data")
ALLOW_MISSING_DATA = os.environ.get("NETTWIN_ALLOW_MISSING_DATA", "") == "1"

# CI draws the same examples every run (a red build must be reproducible); locally,
# HYPOTHESIS_PROFILE=thorough searches ten times harder.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("thorough", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI")
                                     else "default"))


def data_path(*parts: str) -> Path:
    """A file of the shared data sets; a missing one fails the test (skips it only under
    NETTWIN_ALLOW_MISSING_DATA=1)."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        msg = f"shared data not found at {path}"
        if ALLOW_MISSING_DATA:
            pytest.skip(msg)
        pytest.fail(f"{msg}: put the data sets in ../shared/data (see its README.md), or set "
                    "NETTWIN_ALLOW_MISSING_DATA=1 to skip the tests that need them",
                    pytrace=False)
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The number of skipped tests and why, so that a skip never passes unseen."""
    skipped = terminalreporter.stats.get("skipped", [])
    reasons: Counter[str] = Counter()
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    terminalreporter.write_sep("=", f"{len(skipped)} skipped")
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"{count:4d}  {reason}")


def random_metrics_csv(net: Network, path: Path, seed: int, high: int = 50) -> Path:
    """A metrics file (``link,metric_ab,metric_ba``) of random metrics 1..high-1 for every
    link of ``net``: the layout --metrics and the upload's ``metrics`` part read."""
    rng = np.random.default_rng(seed)
    path.write_text("link,metric_ab,metric_ba\n" + "".join(
        f"{k},{int(rng.integers(1, high))},{int(rng.integers(1, high))}\n" for k in net.links))
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


def february_days(network: Network, seed: int, days: int = 14) -> list[np.ndarray]:
    """Daily traffic matrices from Tuesday 1 February 2005 (matrix k is day k + 1), per pair
    of ``routing_matrix``: weekdays noisy copies of the network's own matrix, weekends
    (the 5th, 6th, 12th, 13th: the calendar) noisy copies of one shuffle of it, so that a
    prior must tell the day types apart."""
    from nettwin.engine import compile_network
    from nettwin.estimate import pair_rates, routing_matrix

    c = compile_network(network)
    truth = pair_rates(c, routing_matrix(c))
    rng = np.random.default_rng(seed)
    weekend = rng.permutation(truth)
    return [(weekend if day % 7 in (5, 6) else truth) * rng.uniform(0.9, 1.1, truth.size)
            for day in range(1, days + 1)]


def onoff_ring(max_delay_s: float = 0.005, *, capacity_bps: float = 1e7,
               by_peak: bool = False) -> Network:
    """Four routers in a ring of 10 Mbit/s links; service s1 rides an on-off demand a -> b
    (6 Mbit/s, peak twice that, 50-ms bursts): queued as bursts (IPP/M/1, ~14 ms) it breaks
    a 5-ms SLA that Poisson queues (~0.7 ms) keep. ``by_peak``: the same source given by
    its on time and peak rate (12 Mbit/s) rather than its on and off times."""
    ring = ["a", "b", "c", "d"]
    source = {"peak_rate_bps": 1.2e7} if by_peak else {"off_mean_s": 0.05}
    return build_network(
        "ring", [{"id": v} for v in ring],
        [{"id": f"{u}{v}", "a": u, "b": v, "capacity_ab_bps": capacity_bps,
          "capacity_ba_bps": capacity_bps}
         for u, v in zip(ring, ring[1:] + ring[:1], strict=True)],
        [{"id": "d1", "src": "a", "dst": "b", "rate_bps": 6e6, "arrival": "onoff",
          "on_mean_s": 0.05, **source},
         {"id": "d2", "src": "c", "dst": "d", "rate_bps": 2e6}],
        services=[{"id": "s1", "demands": ["d1"], "max_delay_s": max_delay_s}])


def pair_rows(network: Network, rate_bps: np.ndarray) -> list[dict[str, Any]]:
    """A matrix per pair of ``routing_matrix`` (as ``february_days`` gives) as demand rows
    ``{src, dst, rate_bps}``: the body of a traffic-history upload."""
    from nettwin.engine import compile_network
    from nettwin.estimate import routing_matrix

    rm = routing_matrix(compile_network(network))
    ids = network.node_ids
    return [{"src": ids[s], "dst": ids[d], "rate_bps": float(r)}
            for s, d, r in zip(rm.src, rm.dst, rate_bps, strict=True)]


def write_dated_matrix(path: Path, network: Network, rate_bps: np.ndarray) -> Path:
    """``pair_rows`` as a CSV file (``src,dst,rate_bps``): name the file with its date, as
    an operator's export does (``m-20050201.csv``)."""
    path.write_text("src,dst,rate_bps\n" + "".join(
        f"{r['src']},{r['dst']},{r['rate_bps']!r}\n" for r in pair_rows(network, rate_bps)))
    return path


@st.composite
def networks(draw: st.DrawFn) -> Network:
    n = draw(st.integers(2, 14))
    m = draw(st.integers(1, 3 * n))
    seed = draw(st.integers(0, 2**32 - 1))
    max_metric = draw(st.sampled_from([1, 2, 3, 10]))
    return random_network(seed, n, m, max_metric=max_metric)


@pytest.fixture
def role_api(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A service on a fresh data folder with the bundled examples, and request headers with
    a token of each role: ``client, headers[Role.PLANNER]``."""
    from fastapi.testclient import TestClient

    from nettwin.api import Role, Settings, TokenStore, create_app

    settings = Settings(data_dir=tmp_path, load_example=True)
    store = TokenStore(settings.tokens_file)
    tokens = {r: store.create(r.name.lower(), r) for r in Role}
    with TestClient(create_app(settings)) as client:
        yield client, {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()}


def wait_job(client: Any, job_id: str, headers: dict[str, str],
             timeout_s: float = 120.0) -> dict[str, Any]:
    """Poll a job until it is done, failed or cancelled; its last status."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if status["state"] in ("done", "failed", "cancelled"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still running")
