"""What a candidate fault predicts for the observed window: per post-onset step and arc the
carried and dropped rate (engine routing of the faulted state, the traffic level fitted per
step, the engine's queueing model), which arcs are down and which ports fall silent."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationOptions
from nettwin.engine.incremental import Baseline, failure_loads, prepare_baseline
from nettwin.engine.queueing import evaluate_queues
from nettwin.engine.simulate import route
from nettwin.synth.faults import Fault, FaultKind, FaultModel

REL_NOISE = 0.03  # relative spread of a measured rate (burstiness + polling jitter)
ABS_NOISE = 0.002  # absolute floor, as a fraction of the arc's capacity
MAX_Z2 = 400.0  # one cell never costs more than a 20-sigma miss (robust to glitches)
LEVEL_GRID = 13  # traffic levels tried per step around the least-squares fit
_OPTIONS = SimulationOptions()


@dataclass(frozen=True, eq=False)
class Prediction:
    carried_bps: np.ndarray  # [post steps, m]
    dropped_bps: np.ndarray
    arc_up: np.ndarray  # [m] state after the fault (radio state of the first post step)
    silent: np.ndarray  # [m] ports that stop reporting (a dead node's)
    level: np.ndarray  # [post steps] fitted traffic level (x the modelled demands)
    cost: np.ndarray  # [m] counter misfit per arc (sum over steps of z^2)
    down_links: tuple[str, ...]


class Predictor:
    """Counterfactual loads of one network, with its radio state per step known."""

    def __init__(self, compiled: CompiledNetwork, model: FaultModel) -> None:
        self.c = compiled
        self.model = model
        self._baseline: Baseline | None = None
        self._sinks: dict[int, np.ndarray] = {}
        self._buffers = np.where(compiled.arc_buffer_packets > 0, compiled.arc_buffer_packets,
                                 _OPTIONS.default_buffer_packets)

    def baseline(self) -> Baseline:
        if self._baseline is None:
            self._baseline = prepare_baseline(self.c)
        return self._baseline

    def unit_loads(self, faults: tuple[Fault, ...], radio_up: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Offered load per arc at the modelled demand rates, arc states, capacity ratio."""
        c = self.c
        state = self.model.apply(faults, None, radio_up)
        ratio = state.compiled.arc_capacity_bps / c.arc_capacity_bps
        pure_failure = all(f.kind in (FaultKind.LINK_DOWN, FaultKind.NODE_DOWN,
                                      FaultKind.SRLG_DOWN, FaultKind.CAPACITY_DEGRADED,
                                      FaultKind.NONE, FaultKind.RAIN_FADE,
                                      FaultKind.MISALIGNMENT) for f in faults)
        if pure_failure and (radio_up == c.arc_up).all():  # exact incremental update
            failed = np.flatnonzero(~state.arc_up)
            load = failure_loads(self.baseline(), failed)[0] if failed.size else \
                self.baseline().load_bps
        else:
            load = route(state.compiled, state.arc_up,
                         c.demand_rate_bps * state.demand_factor).load_bps
        return np.asarray(load), state.arc_up, ratio

    def sink_loads(self, node: int) -> np.ndarray:
        """Offered load per arc of the demands toward ``node`` alone (no fault)."""
        if node not in self._sinks:
            rate = np.where(self.c.demand_dst == node, self.c.demand_rate_bps, 0.0)
            self._sinks[node] = route(self.c, self.c.arc_up, rate).load_bps
        return self._sinks[node]

    def predict(self, unit_load: np.ndarray, arc_up: np.ndarray, cap: np.ndarray,
                carried: np.ndarray, dropped: np.ndarray, noise_cap: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Fit the traffic level per step, then carried/dropped and the misfit.

        ``cap``, ``carried``, ``dropped``: [steps, m] (capacities in force, observations).
        ``noise_cap``: the capacities the absolute noise floor scales with (default
        ``cap``): the observed state's, not the candidate's, so that a candidate that
        lowers a capacity is not judged with a tighter floor than its rivals.
        Returns (carried, dropped, level, cost per arc)."""
        load = np.where(arc_up, unit_load, 0.0)[None, :]
        meas = np.isfinite(carried)
        floor = ABS_NOISE * (cap if noise_cap is None else noise_cap)
        sigma = REL_NOISE * np.nan_to_num(carried) + floor
        w = np.where(meas & (load > 0), 1.0 / sigma**2, 0.0)
        r = np.nan_to_num(carried)
        level = _robust_ratio(w, r, load)
        for _ in range(2):  # saturated arcs carry their capacity: they don't tell the level;
            # arcs 20 % off the level are what the candidate fails to explain, not the level
            pred = level[:, None] * load
            inlier = (pred < 0.95 * cap) & (np.abs(r - pred) <= 0.2 * pred + floor)
            level = _weighted_ratio(w * inlier, r, load, fallback=level)
        # profile likelihood: per step, the level (within +-15 % of the fit) that minimises
        # the very misfit the candidate is scored with, so that which arcs the fit above
        # kept as inliers does not decide between candidates
        grid = np.exp(np.linspace(-0.15, 0.15, LEVEL_GRID))
        g_level = (grid[:, None] * level[None, :]).reshape(-1)
        steps = level.size
        c_all, d_all, z_all = self._misfit(g_level[:, None] * load, np.tile(cap, (grid.size, 1)),
                                           np.tile(r, (grid.size, 1)),
                                           np.tile(meas, (grid.size, 1)),
                                           np.tile(dropped, (grid.size, 1)),
                                           np.tile(sigma, (grid.size, 1)),
                                           np.tile(floor, (grid.size, 1)))
        pick = z_all.sum(axis=1).reshape(grid.size, steps).argmin(axis=0) * steps \
            + np.arange(steps)
        c_pred, d_pred, z2 = c_all[pick], d_all[pick], z_all[pick]
        level = g_level[pick]
        return c_pred, d_pred, level, z2.sum(axis=0)


    def _misfit(self, offered: np.ndarray, cap: np.ndarray, r: np.ndarray, meas: np.ndarray,
                dropped: np.ndarray, sigma: np.ndarray, floor: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Carried and dropped rates the queueing model gives, and z^2 per cell."""
        q = evaluate_queues(offered.ravel(), cap.ravel(), _OPTIONS.queue_model,
                            _OPTIONS.mean_packet_bytes, _OPTIONS.packet_size_scv,
                            np.tile(self._buffers, offered.shape[0]))
        loss = q.loss.reshape(offered.shape)
        c_pred = offered * (1 - loss)
        d_pred = offered * loss
        z2 = np.where(meas, np.minimum(((r - c_pred) / sigma) ** 2, MAX_Z2), 0.0)
        dmeas = np.isfinite(dropped)
        dsig = REL_NOISE * np.nan_to_num(dropped) + floor
        z2 += np.where(dmeas, np.minimum(((np.nan_to_num(dropped) - d_pred) / dsig) ** 2,
                                         MAX_Z2), 0.0)
        return c_pred, d_pred, z2


def _robust_ratio(w: np.ndarray, r: np.ndarray, load: np.ndarray) -> np.ndarray:
    """Per step the load-weighted median of measured / predicted over measured arcs."""
    use = (w > 0) & (load > 0)
    ratio = np.where(use, r / np.where(load > 0, load, 1.0), np.inf)
    weight = np.where(use, load, 0.0) * np.ones_like(ratio)
    order = np.argsort(ratio, axis=1)
    rs = np.take_along_axis(ratio, order, axis=1)
    ws = np.take_along_axis(weight, order, axis=1)
    cum = np.cumsum(ws, axis=1)
    half = cum[:, -1:] / 2
    idx = np.minimum((cum < half).sum(axis=1), rs.shape[1] - 1)
    out = rs[np.arange(rs.shape[0]), idx]
    return np.asarray(np.where(np.isfinite(out), out, 0.0))


def _weighted_ratio(w: np.ndarray, r: np.ndarray, load: np.ndarray,
                    fallback: np.ndarray | None = None) -> np.ndarray:
    """Per step the level a minimising sum_w (r - a load)^2."""
    num = (w * r * load).sum(axis=1)
    den = (w * load * load).sum(axis=1)
    out = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    if fallback is not None:
        out = np.where(den > 0, out, fallback)
    return np.asarray(np.maximum(out, 0.0))
