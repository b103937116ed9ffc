"""The observed window as candidates are compared on it, and the evidence of a candidate:
which symptoms (events, oper status, silent ports, rate changes, drops, radio fades) its
counterfactual explains and which it leaves unexplained."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from nettwin.diagnose.observed import ObservedWindow
from nettwin.diagnose.predict import Prediction
from nettwin.engine import CompiledNetwork
from nettwin.synth.faults import Fault, FaultKind, FaultModel

RSL_SIGNIFICANT_DB = 3.0


@dataclass(frozen=True, eq=False)
class Context:
    """The observed window as the candidates are compared on it (post-onset steps)."""

    obs: ObservedWindow
    post: np.ndarray
    cap: np.ndarray  # [post, m] capacities in force (radio modulation)
    radio_up: np.ndarray  # [m] arcs up by the radio state of the first post step
    radio_down_links: set[str]
    dev: np.ndarray  # [K, r] RSL fade below clear sky
    pre_level: float  # traffic level just before the onset (x the modelled demands)
    dispersion: float = 1.0  # misfit per counter of the no-fault model before the onset

    @cached_property
    def carried(self) -> np.ndarray:
        return np.asarray(self.obs.carried_bps[self.post])

    @cached_property
    def dropped(self) -> np.ndarray:
        return np.asarray(self.obs.dropped_bps[self.post])

    @cached_property
    def obs_down(self) -> np.ndarray:
        """Arcs reported down in most of their post-onset samples."""
        s = self.obs.oper_up[self.post]
        return np.asarray((s == 0).sum(axis=0) > (s == 1).sum(axis=0))

    @cached_property
    def reported(self) -> np.ndarray:
        return np.asarray((self.obs.oper_up[self.post] >= 0).any(axis=0))

    @cached_property
    def silent(self) -> np.ndarray:
        """Ports that reported before the onset and not after it."""
        return np.asarray(self.obs.reported & (self.obs.last_report
                                               < self.obs.times[self.post[0]]))

    @cached_property
    def link_events(self) -> set[str]:
        return {e.object_id for e in self.obs.events if e.event == "link_down"}

    @cached_property
    def node_events(self) -> set[str]:
        return {e.object_id for e in self.obs.events if e.event == "node_down"}



@dataclass
class Scored:
    """One candidate with its cost and prediction."""

    fault: Fault
    cost: float
    pred: Prediction | None
    extra: tuple[Fault, ...] = ()  # cascade trips the candidate brings
    params: dict[str, float] = field(default_factory=dict)
    radio_explained: tuple[str, ...] = ()



def explained_links(f: Fault, pred: Prediction | None, ctx: Context) -> set[str]:
    """The links whose down status and events the candidate accounts for."""
    links = set(pred.down_links) if pred is not None else set(f.links)
    if f.kind in (FaultKind.RAIN_FADE, FaultKind.MISALIGNMENT):
        links |= ctx.radio_down_links if f.kind is FaultKind.RAIN_FADE else \
            ({f.element} & ctx.radio_down_links)
    else:
        links -= ctx.radio_down_links
    return links


def evidence(c: CompiledNetwork, model: FaultModel, s: Scored, ctx: Context,
             none: Prediction | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The symptoms the candidate explains and those it leaves unexplained."""
    pred = s.pred
    yes: list[str] = []
    no: list[str] = []
    links = explained_links(s.fault, pred, ctx)
    for lid in sorted(ctx.link_events):
        (yes if lid in links else no).append(f"link_down event on {lid}")
    for nid in sorted(ctx.node_events):
        ok = s.fault.kind is FaultKind.NODE_DOWN and s.fault.element == nid
        (yes if ok else no).append(f"node_down event on {nid}")
    if pred is not None:
        for a in np.flatnonzero(ctx.obs_down & ctx.radio_up).tolist():
            (yes if not pred.arc_up[a] else no).append(f"oper down {c.arc_label(a)}")
        for node in sorted({c.node_ids[c.arc_src[a]]
                            for a in np.flatnonzero(ctx.silent).tolist()}):
            ok = bool(pred.silent[c.arc_src == model.node_index[node]].all())
            (yes if ok else no).append(f"{node} stopped reporting")
        if none is not None:
            p = max(1, ctx.post.size)
            for a in np.flatnonzero(none.cost / p > 25.0).tolist()[:20]:
                obs = float(np.nanmean(ctx.carried[:, a])) if np.isfinite(
                    ctx.carried[:, a]).any() else 0.0
                ref = float(none.carried_bps[:, a].mean())
                what = f"rate on {c.arc_label(a)} {_pct(obs, ref)} vs no fault"
                (yes if pred.cost[a] / p < max(9.0, 0.25 * none.cost[a] / p)
                 else no).append(what)
        drops = np.nanmean(np.nan_to_num(ctx.dropped), axis=0)
        for a in np.flatnonzero(drops > 1e-3 * np.maximum(
                np.nanmean(np.nan_to_num(ctx.carried), axis=0), 1.0)).tolist():
            ok = float(pred.dropped_bps[:, a].mean()) > 0.5 * float(drops[a])
            (yes if ok else no).append(f"drops on {c.arc_label(a)}")
    if ctx.dev.size:
        for j in np.flatnonzero(ctx.dev.max(axis=0) >= RSL_SIGNIFICANT_DB).tolist():
            lid = ctx.obs.radio_links[j]
            (yes if lid in s.radio_explained else no).append(
                f"RSL {-float(ctx.dev[:, j].max()):.1f} dB on {lid}")
    return tuple(yes[:12]), tuple(no[:12])


def _pct(obs: float, ref: float) -> str:
    if ref <= 0:
        return f"{obs / 1e6:.3g} Mbit/s"
    return f"{100 * (obs / ref - 1):+.0f} %"
