"""Candidate faults from the symptoms of a window: the links with the largest residuals, the
ones observed down or silent or named by events, their nodes and SRLGs, capacity losses where
drops show them, metric changes, traffic surges fitted per destination, and radio faults
where received levels deviate (every element when exhaustive). The ranking replays each."""

from __future__ import annotations

import numpy as np

from nettwin.diagnose.evidence import RSL_SIGNIFICANT_DB, Context
from nettwin.diagnose.predict import Predictor
from nettwin.engine import CompiledNetwork
from nettwin.synth.faults import METRIC_MAX, Fault, FaultKind, FaultModel

TOP_RESIDUAL_LINKS = 8
# a surge is traffic toward a node at least doubling; smaller shifts within a window are the
# ordinary drift of a measured traffic mix (Abilene's 5-minute matrices move a destination's
# traffic by up to ~75 % within an hour), which a "surge" would only overfit
MIN_SURGE_FACTOR = 2.0


def symptom_candidates(c: CompiledNetwork, m: FaultModel, predictor: Predictor, ctx: Context,
                       exhaustive: bool) -> list[Fault]:
    """Candidate faults generated from the symptoms (every element when exhaustive)."""
    none = Fault(FaultKind.NONE, "")
    load, up, _ = predictor.unit_loads((), ctx.radio_up)
    _, _, level, arc_cost = predictor.predict(load, up, ctx.cap, ctx.carried, ctx.dropped)
    link_cost = arc_cost.reshape(-1, 2).sum(axis=1)
    suspect = set(np.argsort(-link_cost)[:TOP_RESIDUAL_LINKS].tolist())
    suspect |= {a // 2 for a in np.flatnonzero(ctx.obs_down | ctx.silent).tolist()}
    suspect |= {m.link_index[e] for e in ctx.link_events if e in m.link_index}
    links = list(range(len(c.link_ids))) if exhaustive else sorted(suspect)
    nodes = set(ctx.node_events) | {c.node_ids[c.arc_src[a]]
                                    for a in np.flatnonzero(ctx.silent).tolist()}
    for li in np.flatnonzero(ctx.obs_down.reshape(-1, 2).any(axis=1)).tolist():
        nodes |= {c.node_ids[c.arc_src[2 * li]], c.node_ids[c.arc_dst[2 * li]]}
    if exhaustive:
        nodes = set(c.node_ids)
    out = [none]
    out += [m.fault(FaultKind.LINK_DOWN, c.link_ids[li]) for li in links]
    out += [m.fault(FaultKind.NODE_DOWN, n) for n in sorted(nodes) if m.node_links[n]]
    names = {c.link_ids[li] for li in links}
    out += [m.fault(FaultKind.SRLG_DOWN, g) for g, members in sorted(m.srlgs.items())
            if exhaustive or names & set(members)]
    out += capacity_candidates(c, m, ctx, links)
    for li in links:
        old = int(c.arc_metric[2 * li])
        for new in sorted({1, old * 10, METRIC_MAX, max(1, old // 10)} - {old}):
            out.append(m.fault(FaultKind.METRIC_CHANGED, c.link_ids[li], metric=new))
    out += surge_candidates(c, m, predictor, ctx, load, up, level)
    strong = np.flatnonzero(ctx.dev.max(axis=0, initial=0.0) >= RSL_SIGNIFICANT_DB) \
        if ctx.dev.size else np.zeros(0, np.int64)
    out += [m.fault(FaultKind.MISALIGNMENT, ctx.obs.radio_links[j])
            for j in strong.tolist()]
    if strong.size:
        worst = int(ctx.dev.max(axis=0).argmax())
        out.append(m.fault(FaultKind.RAIN_FADE, ctx.obs.radio_links[worst]))
    return out


def capacity_candidates(c: CompiledNetwork, m: FaultModel, ctx: Context, links: list[int]
                        ) -> list[Fault]:
    """A capacity loss where drops show it: the capacity is what the arc carries while
    it drops (median over the post-onset steps)."""
    out = []
    d = np.nan_to_num(ctx.dropped)
    r = np.nan_to_num(ctx.carried)
    dropping = (d > 1e-3 * np.maximum(r, 1.0))
    for li in set(links) | {a // 2 for a in np.flatnonzero(dropping.any(axis=0)).tolist()}:
        arcs = [2 * li, 2 * li + 1]
        best = 1.0
        for a in arcs:
            rows = dropping[:, a]
            if rows.any():
                best = min(best, float(np.median(r[rows, a] / ctx.cap[rows, a])))
        if best < 0.999:
            out.append(m.fault(FaultKind.CAPACITY_DEGRADED, c.link_ids[li],
                               capacity_factor=max(best, 1e-3)))
    return out


def surge_candidates(c: CompiledNetwork, m: FaultModel, predictor: Predictor, ctx: Context,
                     load: np.ndarray, up: np.ndarray, level: np.ndarray) -> list[Fault]:
    """Per destination, the surge factor that best explains the extra load (least
    squares of the observed minus the no-fault load on that destination's load)."""
    out = []
    r = np.nan_to_num(ctx.carried)
    p0 = np.where(up, load, 0.0)[None, :]
    sigma = 0.03 * r + 0.002 * ctx.cap
    w = np.where(np.isfinite(ctx.carried), 1.0 / sigma**2, 0.0)
    s00 = (w * p0 * p0).sum(axis=1)
    s0r = (w * p0 * r).sum(axis=1)
    for node in np.unique(c.demand_dst).tolist():
        pd = np.where(up, predictor.sink_loads(node), 0.0)[None, :]
        s11 = (w * pd * pd).sum(axis=1)
        s01 = (w * p0 * pd).sum(axis=1)
        s1r = (w * pd * r).sum(axis=1)
        det = s00 * s11 - s01 * s01
        ok = np.abs(det) > 1e-12 * np.maximum(s00 * s11, 1e-300)
        if not ok.any():
            continue
        a = (s0r * s11 - s1r * s01)[ok] / det[ok]  # per step: r ~ a p0 + b pd
        b = (s00 * s1r - s01 * s0r)[ok] / det[ok]
        beta = float(np.median(b / np.maximum(a, 1e-12)))
        if 1.0 + beta >= MIN_SURGE_FACTOR:
            out.append(m.fault(FaultKind.TRAFFIC_SURGE, c.node_ids[node],
                               surge_factor=1.0 + beta))
    return out
