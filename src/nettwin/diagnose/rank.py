"""Counterfactual root cause: candidate faults from the symptoms, each replayed through the
engine over the observed window, ranked by how well its predicted symptoms (loads, drops,
oper status, silent ports, events, radio levels) explain the observed ones.

Cost of a candidate (lower is better), a log-likelihood under Gaussian measurement noise
plus penalties: sum over post-onset steps and arcs of z^2 for carried and dropped rates
(z = misfit / (3 % of the rate + 0.2 % of capacity), capped at 20 sigma), 50 per arc whose
oper status or silence the candidate gets wrong, 30 per link_down/node_down event it leaves
unexplained, the radio misfit (z^2 of received level deviations, 0.5 dB noise) and a
complexity term per fitted parameter. Scores are the candidates' posterior weights
exp(-cost / 2T), T the overdispersion of the best fit."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nettwin.diagnose.candidates import symptom_candidates
from nettwin.diagnose.evidence import (
    RSL_SIGNIFICANT_DB,
    Context,
    Scored,
    evidence,
    explained_links,
)
from nettwin.diagnose.observed import ObservedWindow
from nettwin.diagnose.predict import Prediction, Predictor
from nettwin.engine import CompiledNetwork, compile_network, simulate
from nettwin.estimate.tm import RoutingMatrix, estimate_tm, pair_rates, routing_matrix
from nettwin.model import Network
from nettwin.synth.faults import (
    Fault,
    FaultKind,
    FaultModel,
    consequences,
    srlg_members,
)

STATUS_PENALTY = 50.0
EVENT_PENALTY = 30.0
RSL_NOISE_DB = 0.5
TRIP_UTILISATION = 1.0
# complexity of a candidate with a value fitted to the counters (capacity, metric, surge
# factor), in log(cells): well above BIC's 2, as a window's residuals are correlated from one sample
# to the next (a drifting traffic mix), which inflates the gain of any extra parameter
FITTED_PENALTY = 10.0


@dataclass(frozen=True)
class Cause:
    kind: FaultKind
    element: str
    score: float  # posterior weight among the candidates (0..1)
    cost: float
    explains: tuple[str, ...] = ()
    unexplained: tuple[str, ...] = ()
    chain: tuple[str, ...] = ()
    params: dict[str, float] = field(default_factory=dict)
    # elements whose counterfactual of the same kind explains the observations exactly as
    # well: the data cannot tell them apart (e.g. metric changes on links in series)
    equivalent: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "element": self.element, "score": self.score,
                "equivalent": list(self.equivalent),
                "confidence": self.score, "cost": self.cost, "explains": list(self.explains),
                "unexplained": list(self.unexplained), "chain": list(self.chain),
                "params": self.params}


@dataclass(frozen=True)
class Diagnosis:
    causes: tuple[Cause, ...]
    onset: float
    candidates: int
    elapsed_s: float

    def to_json(self) -> dict[str, Any]:
        return {"onset": self.onset, "candidates": self.candidates,
                "elapsed_s": self.elapsed_s, "causes": [c.to_json() for c in self.causes]}


class Diagnoser:
    """Ranks root causes of a window of observations on one network."""

    def __init__(self, network: Network, compiled: CompiledNetwork | None = None) -> None:
        self.network = network
        self.c = compiled or compile_network(network)
        self._routing: RoutingMatrix | None = None
        self.model = FaultModel(self.c, srlg_members(
            {lid: link.srlgs for lid, link in network.links.items()}))
        self.predictor = Predictor(self.c, self.model)

    # ------------------------------------------------------------------ public
    def diagnose(self, obs: ObservedWindow, top: int = 5, exhaustive: bool = False,
                 calibrate: bool = True) -> Diagnosis:
        """Ranked causes. ``calibrate``: first re-estimate the traffic matrix from the
        counters before the onset (tomogravity with the twin's matrix as the prior), as
        the twin's own matrix drifts from the traffic of the moment."""
        t_start = time.perf_counter()
        if calibrate:
            rates = self.calibrated_rates(obs)
            if rates is not None:
                inner = Diagnoser(self.network, dataclasses.replace(
                    self.c, demand_rate_bps=rates))
                result = inner.diagnose(obs, top, exhaustive, calibrate=False)
                return dataclasses.replace(result, elapsed_s=time.perf_counter() - t_start)
        ctx = self.context(obs)
        post, onset = ctx.post, int(ctx.post[0]) - 1
        candidates = symptom_candidates(self.c, self.model, self.predictor, ctx, exhaustive)
        scored = [self._score(f, ctx) for f in candidates]
        costs = np.array([s.cost for s in scored])
        first: dict[str, float] = {}
        for e in obs.events:  # ties (a cascade's trigger and its trips) go to the first alarm
            first[e.object_id] = min(first.get(e.object_id, math.inf), e.time)
        alarm = np.array([min([first.get(x, math.inf) for x in (s.fault.element,
                                                                 *s.fault.links)])
                          for s in scored])
        order = np.lexsort((alarm, np.round(costs, 6)))
        best = scored[order[0]]
        cells = max(1, int(np.isfinite(obs.carried_bps[post]).sum()))
        temp = max(1.0, (best.pred.cost.sum() if best.pred is not None else 0.0) / cells
                   / ctx.dispersion)
        weight = np.exp(-(costs - costs.min()) / (2 * temp))
        weight /= weight.sum()
        causes: list[Cause] = []
        none_pred = next((s.pred for s in scored if s.fault.kind is FaultKind.NONE), None)
        seen: set[tuple[FaultKind, str]] = set()
        for i in order.tolist():  # the best variant of each (kind, element) only
            s = scored[i]
            if (s.fault.kind, s.fault.element) in seen:
                continue
            seen.add((s.fault.kind, s.fault.element))
            rank = len(causes)
            if rank >= top:
                break
            explains, unexplained = evidence(self.c, self.model, s, ctx, none_pred)
            chain = self._chain(s, ctx) if rank < 3 else ()
            tie = 1e-6 * max(1.0, abs(s.cost))
            same = tuple(sorted({o.fault.element for o in scored
                                 if o.fault.kind is s.fault.kind
                                 and o.fault.element != s.fault.element
                                 and abs(o.cost - s.cost) <= tie}))
            causes.append(Cause(s.fault.kind, s.fault.element, float(weight[i]),
                                float(s.cost), explains, unexplained, chain, s.params, same))
        return Diagnosis(tuple(causes), float(obs.times[onset]), len(candidates),
                         time.perf_counter() - t_start)

    # ------------------------------------------------------------------ state
    def context(self, obs: ObservedWindow) -> Context:
        """Radio state, onset, the post-onset steps and the traffic level before it."""
        cap, radio_up, radio_down_links = self._radio_state(obs)
        onset = self._onset(obs, cap, radio_up)
        post = np.arange(onset + 1, obs.n_steps)
        if post.size == 0:
            post = np.array([obs.n_steps - 1])
        load, up, _ = self.predictor.unit_loads((), radio_up[0])
        _, _, level, arc_cost = self.predictor.predict(
            load, up, cap[:onset], obs.carried_bps[:onset], obs.dropped_bps[:onset])
        pre_level = float(np.median(level[-5:])) if level.size else 1.0
        cells = int(np.isfinite(obs.carried_bps[:onset]).sum())
        # quasi-likelihood: where the twin's traffic mix drifts from the network's, the
        # no-fault model already misfits before the onset; counter evidence is worth less
        dispersion = max(1.0, float(arc_cost.sum()) / cells) if cells >= 20 else 1.0
        return Context(obs, post, cap[post], radio_up[post[0]], radio_down_links,
                       self._rsl_deviation(obs), pre_level, dispersion)

    def calibrated_rates(self, obs: ObservedWindow) -> np.ndarray | None:
        """Demand rates re-estimated from the mean counters before the onset (None when
        there are too few samples before it)."""
        c = self.c
        ctx = self.context(obs)
        onset = int(ctx.post[0]) - 1
        pre = obs.carried_bps[1:max(1, onset - 1)]
        if pre.shape[0] < 3:
            return None
        seen = np.isfinite(pre)
        y = np.where(seen.any(axis=0), np.nansum(pre, axis=0)
                     / np.maximum(seen.sum(axis=0), 1), np.nan)
        radio_up = ctx.radio_up if not obs.radio_links else self._radio_state(obs)[1][0]
        rm = self._routing if self._routing is not None and radio_up.all() else \
            routing_matrix(c, radio_up)
        if radio_up.all():
            self._routing = rm
        twin = pair_rates(c, rm)
        cols = np.flatnonzero(twin > 0)  # only the pairs the twin has demands for
        rm = RoutingMatrix(rm.a[:, cols], rm.src[cols], rm.dst[cols], rm.routed[cols])
        twin = twin[cols]
        est = estimate_tm(rm, y, c.arc_src, c.arc_dst, c.n_nodes,
                          prior=twin * ctx.pre_level).rate_bps
        n = c.n_nodes
        keys = rm.src.astype(np.int64) * n + rm.dst
        order = np.argsort(keys)
        pos = order[np.searchsorted(keys[order], c.demand_src.astype(np.int64) * n
                                    + c.demand_dst)]
        share = np.divide(c.demand_rate_bps, twin[pos], out=np.zeros(c.n_demands),
                          where=twin[pos] > 0)
        rates = np.where(c.demand_src != c.demand_dst, est[pos] * share, 0.0)
        if not np.isfinite(rates).all() or rates.sum() <= 0:
            return None
        return np.asarray(rates / max(ctx.pre_level, 1e-12))

    def _radio_state(self, obs: ObservedWindow) -> tuple[np.ndarray, np.ndarray, set[str]]:
        """Capacities and up flags per step and arc as the radio readings give them."""
        c = self.c
        k = obs.n_steps
        cap = np.tile(c.arc_capacity_bps, (k, 1))
        up = np.tile(c.arc_up, (k, 1))
        down_links: set[str] = set()
        if obs.radio_links:
            rc = _fill(obs.radio_capacity_bps)
            for i, lid in enumerate(obs.radio_links):
                li = self.model.link_index[lid]
                col = rc[:, i]
                known = np.isfinite(col)
                arcs = [2 * li, 2 * li + 1]
                cap[:, arcs] = np.where(known & (col > 0), col, cap[:, 2 * li])[:, None]
                is_down = known & (col <= 0)
                up[:, arcs] &= ~is_down[:, None]
                if is_down.any():
                    down_links.add(lid)
        return cap, up, down_links

    def _onset(self, obs: ObservedWindow, cap: np.ndarray, radio_up: np.ndarray) -> int:
        """The step where the no-fault model starts to fail (or the first alarm, if
        earlier): the split maximising the jump of the mean misfit."""
        load, up, _ = self.predictor.unit_loads((), radio_up[0])
        z = self._per_step_misfit(load, up, cap, obs)
        dev = self._rsl_deviation(obs)
        if dev.size:  # significant fades only: reading noise on many links would drown it
            z = z + np.where(dev >= RSL_SIGNIFICANT_DB,
                             np.minimum((dev / RSL_NOISE_DB) ** 2, 400), 0.0).sum(axis=1)
        z = np.log1p(z)  # a few wild steps must not pull the split
        k = z.size
        best, split = -math.inf, max(1, k // 2)
        csum = np.concatenate([[0.0], np.cumsum(z)])
        for s in range(2, k - 1):
            jump = (csum[k] - csum[s]) / (k - s) - csum[s] / s
            if jump > best:
                best, split = jump, s
        drop_onset = _drop_onset(obs)
        if drop_onset is not None and not drop_onset - 3 <= split <= drop_onset - 1:
            # drops cannot start before the fault: a new, persistent stream of drops dates
            # it better than the misfit split, which traffic drift can pull early
            split = drop_onset - 1
        alarms = [e.time for e in obs.events if e.event in ("link_down", "node_down")]
        if alarms:  # a hard failure: its first alarm, late by its delivery delay at most
            alarm = int(np.searchsorted(obs.times, min(alarms)))
            if not alarm - 3 <= split <= alarm:
                split = alarm - 1
        return max(1, int(split))

    def _per_step_misfit(self, load: np.ndarray, up: np.ndarray, cap: np.ndarray,
                         obs: ObservedWindow) -> np.ndarray:
        from nettwin.diagnose.predict import ABS_NOISE, MAX_Z2, REL_NOISE

        c_pred, d_pred, _, _ = self.predictor.predict(load, up, cap, obs.carried_bps,
                                                      obs.dropped_bps)
        z2 = np.zeros_like(c_pred)
        for seen, pred in ((obs.carried_bps, c_pred), (obs.dropped_bps, d_pred)):
            sigma = REL_NOISE * np.nan_to_num(seen) + ABS_NOISE * cap
            z2 += np.where(np.isfinite(seen), np.minimum(
                ((np.nan_to_num(seen) - pred) / sigma) ** 2, MAX_Z2), 0.0)
        n = np.maximum(np.isfinite(obs.carried_bps).sum(axis=1), 1)
        return np.asarray(z2.sum(axis=1) / n)

    @staticmethod
    def _rsl_deviation(obs: ObservedWindow) -> np.ndarray:
        """Fade per step and radio link below its clear-sky level (the 90th percentile of
        the window), 0 where unknown."""
        if not obs.radio_links or np.isnan(obs.rsl_dbm).all():
            return np.zeros((obs.n_steps, 0))
        rsl = np.where(np.isnan(obs.rsl_dbm).all(axis=0)[None, :], 0.0, obs.rsl_dbm)
        ref = np.nanpercentile(rsl, 90, axis=0)
        return np.asarray(np.nan_to_num(ref[None, :] - rsl, nan=0.0))

    # ------------------------------------------------------------------ scoring
    def _score(self, f: Fault, ctx: Context) -> Scored:
        c = self.c
        n_cells = max(2, int(np.isfinite(ctx.carried).sum()))
        best: Scored | None = None
        trips: tuple[Fault, ...] = ()
        for _ in range(5):  # the candidate alone, then with the links it would trip
            faults = (f, *trips)
            load, up, ratio = self.predictor.unit_loads(faults, ctx.radio_up)
            cap = ctx.cap * ratio[None, :]
            c_pred, d_pred, level, arc_cost = self.predictor.predict(
                load, up, cap, ctx.carried, ctx.dropped, noise_cap=ctx.cap)
            down_links = tuple(c.link_ids[li] for li in
                               np.flatnonzero((~up).reshape(-1, 2).any(axis=1)).tolist())
            silent = np.zeros(c.n_arcs, bool)
            if f.kind is FaultKind.NODE_DOWN:
                silent[c.arc_src == self.model.node_index[f.element]] = True
            pred = Prediction(c_pred, d_pred, up, silent, level, arc_cost, down_links)
            cost = float(arc_cost.sum()) / ctx.dispersion + self._status_cost(pred, ctx) \
                + self._event_cost(f, pred, ctx)
            radio_cost, explained = self._radio_cost(f, ctx)
            cost += radio_cost
            if f.kind is not FaultKind.NONE:
                # a value fitted to the counters (which traffic drift also moves) pays
                # FITTED_PENALTY; a misalignment's step is fitted to the radio levels: BIC's 2
                on_counters = f.kind in (FaultKind.CAPACITY_DEGRADED, FaultKind.METRIC_CHANGED,
                                         FaultKind.TRAFFIC_SURGE)
                weight = FITTED_PENALTY if on_counters else \
                    2.0 if f.kind is FaultKind.MISALIGNMENT else 1.0
                cost += weight * math.log(n_cells)
            params = {"capacity_factor": f.capacity_factor} \
                if f.kind is FaultKind.CAPACITY_DEGRADED else \
                {"metric": float(f.metric or 0)} if f.kind is FaultKind.METRIC_CHANGED else \
                {"surge_factor": f.surge_factor} if f.kind is FaultKind.TRAFFIC_SURGE else {}
            params = params | {"traffic_level": float(np.median(level))}
            scored = Scored(f, cost, pred, trips, params, explained)
            if best is None or scored.cost < best.cost:
                best = scored
            if f.kind not in (FaultKind.LINK_DOWN, FaultKind.NODE_DOWN, FaultKind.SRLG_DOWN):
                break
            util = np.where(up[None, :], ctx.pre_level * load[None, :] / cap, 0.0)
            over = np.flatnonzero(util.max(axis=0).reshape(-1, 2).max(axis=1)
                                  > TRIP_UTILISATION)
            new = tuple(self.model.fault(FaultKind.LINK_DOWN, c.link_ids[li])
                        for li in over.tolist())
            if not new:
                break
            trips = trips + new
        assert best is not None
        return best

    def _status_cost(self, pred: Prediction, ctx: Context) -> float:
        radio_down = ~ctx.radio_up
        fault_down = ~pred.arc_up & ~radio_down
        obs_down = ctx.obs_down & ~radio_down
        wrong = int(((fault_down != obs_down) & ctx.reported & ~pred.silent).sum())
        wrong += int((pred.silent != ctx.silent).sum())
        return STATUS_PENALTY * wrong

    def _event_cost(self, f: Fault, pred: Prediction, ctx: Context) -> float:
        links = explained_links(f, pred, ctx)
        missed = len(ctx.link_events - links)
        missed += len(ctx.node_events - ({f.element} if f.kind is FaultKind.NODE_DOWN
                                         else set()))
        return EVENT_PENALTY * missed

    def _radio_cost(self, f: Fault, ctx: Context) -> tuple[float, tuple[str, ...]]:
        """Radio misfit: every fade not explained costs its z^2; a misalignment explains
        one link by a step (fitted time and size), a rain fade explains every faded link
        freely but pays 2K per link (rain must be transient or widespread to win)."""
        dev = ctx.dev
        if dev.size == 0:
            return 0.0, ()
        z2 = np.minimum((dev / RSL_NOISE_DB) ** 2, 400.0)
        per_link = z2.sum(axis=0)
        links = ctx.obs.radio_links
        if f.kind is FaultKind.MISALIGNMENT:
            j = links.index(f.element)
            per_link[j] = _step_misfit(dev[:, j] / RSL_NOISE_DB)
            return float(per_link.sum()), (f.element,)
        if f.kind is FaultKind.RAIN_FADE:
            faded = dev.max(axis=0) >= RSL_SIGNIFICANT_DB
            k = dev.shape[0]
            return float(per_link[~faded].sum() + 2 * k * faded.sum()), \
                tuple(lid for lid, x in zip(links, faded.tolist(), strict=True) if x)
        return float(per_link.sum()), ()

    # ------------------------------------------------------------------ evidence
    def _chain(self, s: Scored, ctx: Context) -> tuple[str, ...]:
        """Engine runs without and with the cause at the fitted traffic level."""
        if s.fault.kind is FaultKind.NONE:
            return ("no fault: the observations match the modelled network",)
        c = self.c
        level = float(s.params.get("traffic_level", 1.0))
        rate = c.demand_rate_bps * level
        base = self.model.apply((), None, ctx.radio_up)
        before = simulate(base.compiled, arc_up=base.arc_up, demand_rate_bps=rate)
        state = self.model.apply((s.fault, *s.extra), None, ctx.radio_up)
        after = simulate(state.compiled, arc_up=state.arc_up,
                         demand_rate_bps=rate * state.demand_factor)
        chain, _ = consequences(c, before, after, s.fault.describe(),
                                [f"{t.element} trips (overload)" for t in s.extra])
        return chain


def _drop_onset(obs: ObservedWindow, quiet: float = 0.1, steady: float = 0.8) -> int | None:
    """The earliest step from which some arc drops in most samples, having (almost) never
    dropped before it (None: no such arc)."""
    d, r = obs.dropped_bps, obs.carried_bps
    seen = np.isfinite(d) & np.isfinite(r)
    dropping = seen & (np.nan_to_num(d) > 1e-3 * np.maximum(np.nan_to_num(r), 1.0))
    k = obs.n_steps
    best: int | None = None
    for a in np.flatnonzero(dropping.any(axis=0)).tolist():
        hit, ok = dropping[:, a], seen[:, a]
        n_hit = np.concatenate([[0], np.cumsum(hit)])
        n_ok = np.concatenate([[0], np.cumsum(ok)])
        for s in range(2, k - 2):
            before, after = n_ok[s], n_ok[k] - n_ok[s]
            if after < 3 or not hit[s]:
                continue
            if n_hit[s] <= quiet * max(before, 1) and \
                    n_hit[k] - n_hit[s] >= steady * after:
                best = s if best is None else min(best, s)
                break
    return best


def _step_misfit(z: np.ndarray) -> float:
    """Least squares of a step (0 before a split, a constant after), best split."""
    k = z.size
    c1 = np.concatenate([[0.0], np.cumsum(z)])
    c2 = np.concatenate([[0.0], np.cumsum(z * z)])
    best = float(c2[k])
    for s in range(k):
        n = k - s
        after = c2[k] - c2[s] - (c1[k] - c1[s]) ** 2 / n
        best = min(best, float(c2[s] + after))
    return best


def _fill(x: np.ndarray) -> np.ndarray:
    """Carry the last known value forward (then the first one backward), per column."""
    out = x.copy()
    for j in range(out.shape[1]):
        col = out[:, j]
        known = np.flatnonzero(np.isfinite(col))
        if known.size == 0:
            continue
        idx = np.maximum.accumulate(np.where(np.isfinite(col), np.arange(col.size), -1))
        col[:] = np.where(idx >= 0, col[np.maximum(idx, 0)], col[known[0]])
    return out


