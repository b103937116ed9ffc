"""Spread failure sets over a Dask cluster, and merge partial outcomes exactly."""

from __future__ import annotations

import itertools

import numpy as np

from nettwin.engine.failure_sets import SetOutcome, evaluate_failure_sets
from nettwin.engine.incremental import Baseline


def merge_outcomes(parts: list[SetOutcome], baseline: Baseline) -> SetOutcome:
    """One outcome from consecutive batches: set indices are renumbered, worst cases kept."""
    m = baseline.net.n_arcs
    worst = baseline.load_bps / baseline.net.arc_capacity_bps
    worst_set = np.full(m, -1, np.int64)
    offset = 0
    for part in parts:
        better = part.arc_worst_utilisation > worst
        worst = np.where(better, part.arc_worst_utilisation, worst)
        worst_set = np.where(better, part.arc_worst_set + offset, worst_set)
        offset += part.max_utilisation.size

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts]) if parts else np.zeros(0)

    return SetOutcome(cat("max_utilisation"), cat("max_utilisation_arc").astype(np.int64),
                      cat("lost_bps"), cat("overloaded_arcs").astype(np.int64), worst,
                      worst_set)


def _evaluate_chunk(baseline: Baseline, sets: list[np.ndarray]) -> SetOutcome:
    return evaluate_failure_sets(baseline, sets)


def evaluate_sets_distributed(baseline: Baseline, sets: list[np.ndarray], scheduler: str,
                              chunks_per_worker: int = 4) -> SetOutcome:
    """Evaluate failure sets on a Dask cluster (``scheduler``: an address such as
    ``tcp://host:8786``, or ``local`` for a LocalCluster on this machine)."""
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None) if scheduler == "local" else None
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            workers = max(1, len(client.scheduler_info()["workers"]))
            n_chunks = max(1, min(len(sets), workers * chunks_per_worker))
            bounds = np.linspace(0, len(sets), n_chunks + 1).astype(int)
            remote = client.scatter(baseline, broadcast=True)
            futures = [client.submit(_evaluate_chunk, remote, sets[a:b], pure=False)
                       for a, b in itertools.pairwise(bounds) if b > a]
            parts = client.gather(futures)
    finally:
        if cluster is not None:
            cluster.close()
    return merge_outcomes(parts, baseline)
