"""Model fidelity: how well the twin's traffic matrix, routed as the twin believes the
network routes, reproduces the measured counters, and the drift alarms that follow.

A matrix estimated from the same counters explains them by construction, so drift shows
against an earlier estimate: when the network changes in a way the twin was not told (a
silent failure, a metric change), the prediction and the counters part."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nettwin.engine import CompiledNetwork
from nettwin.live.state import Changes, TwinState

NETWORK_OBJECT = "network"  # the alarm object of whole-network conditions


@dataclass(frozen=True)
class Fidelity:
    """Measured vs predicted rate per arc, from the estimated matrix routed by the twin."""

    arc_error: np.ndarray  # |predicted - measured| / max(measured, 1 % capacity); nan: none
    score: float  # 1 - traffic-weighted mean relative error, in [0, 1]
    drifting: list[str]  # arcs whose error exceeds the threshold


def fit_level(planned_bps: np.ndarray, measured_bps: np.ndarray) -> float | None:
    """The factor s minimising sum (s * planned - measured)^2 over the arcs where both are
    known (None: no such arc, or nothing planned there)."""
    ok = np.isfinite(measured_bps) & np.isfinite(planned_bps)
    p, m = planned_bps[ok], measured_bps[ok]
    denom = float(p @ p)
    return float(p @ m) / denom if denom > 0 else None


def compare_rates(predicted_bps: np.ndarray, measured_bps: np.ndarray, c: CompiledNetwork,
                  threshold: float) -> Fidelity:
    """The fidelity of a prediction per arc: its level fitted to the counters first (traffic
    rising or falling everywhere, the daily cycle, is not drift; a different routing is),
    errors relative to the measured rate (at least 1 % of capacity), arcs over
    ``threshold`` drifting."""
    level = fit_level(predicted_bps, measured_bps)
    if level is not None:
        predicted_bps = predicted_bps * max(level, 0.0)
    floor = 0.01 * c.arc_capacity_bps
    err = np.abs(predicted_bps - measured_bps) / np.maximum(measured_bps, floor)
    ok = np.isfinite(err)
    weights = np.where(ok, np.nan_to_num(measured_bps), 0.0)
    score = (1.0 - float(np.average(np.where(ok, err, 0.0), weights=weights))
             if weights.sum() > 0 else 1.0)
    drifting = [c.arc_label(int(a)) for a in np.flatnonzero(ok & (err > threshold))]
    return Fidelity(np.where(ok, err, np.nan), max(0.0, min(1.0, score)), drifting)


def drift_alarms(state: TwinState, fid: Fidelity, threshold: float,
                 network_problem: str | None) -> Changes:
    """Bring the state's drift alarms in line with ``fid`` (a major alarm on each drifting
    arc) and, when ``network_problem`` says why, on the whole network; clear the others.
    The raised and cleared alarms are returned, for the caller to commit."""
    ch = Changes(time=state.time)
    want = {(arc, "modelDrift"): "major" for arc in fid.drifting}
    problems = dict.fromkeys(want, f"predicted rate off the measured one by more than "
                                   f"{threshold:.0%} (the twin's matrix, routed as it "
                                   "believes the network routes)")
    if network_problem is not None:
        key = (NETWORK_OBJECT, "modelDrift")
        want[key] = "major"
        problems[key] = network_problem
    have = {k: v for k, v in state.alarms.items() if k[1] == "modelDrift"}
    for key, sev in want.items():
        if key not in have:
            ch.alarms_raised.append((key[0], key[1], sev))
    for key in set(have) - set(want):
        ch.alarms_cleared.append(key)
    state.alarms = {k: v for k, v in state.alarms.items() if k[1] != "modelDrift"} | want
    state.alarm_problems = {k: v for k, v in state.alarm_problems.items()
                            if k[1] != "modelDrift"} | problems
    return ch
