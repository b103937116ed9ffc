"""Anomaly detection against the twin's own prediction, with a normal band learned from
history.

Per sample instant the twin predicts every arc's load from its traffic matrix routed over the
topology as reported (the model with the links reported down removed), scaled by one traffic
level fitted per instant (the load-weighted median of measured over predicted: a few odd
arcs do not move it). Three residuals are watched, each against a band (median and robust
spread, MAD x 1.4826) learned from observations of normal operation:

- per arc, the log ratio of the measured to the predicted carried rate, and the measured
  dropped fraction beyond the predicted one (the engine's queueing at the model capacity);
- per node, the flow balance: measured inflow carried minus outflow offered (carried plus
  dropped) is, by flow conservation, the traffic the node terminates minus what it
  originates, whatever the routing. Rerouting, metric and capacity errors leave it alone;
  a change of demand moves it. Against the twin's demands it is the per-demand check that
  needs no traffic matrix estimate per instant (the demands behind a node's alarm are then
  estimated by tomogravity over the alarm's span);
- per radio link, the received level against its learned clear-sky level.

An element is anomalous when its residual stays beyond ``threshold`` spreads for ``persist``
samples. Anomalies are classed as **physics** (a radio link's level fell: rain,
misalignment; counter anomalies while a radio link fades follow from it), **traffic** (a
node's balance moved beyond its band: demand changed) or **topology** (the twin's state is
wrong: links reported down, ports gone silent, counters or drops away from the prediction
while every demand balance holds: a cut, a metric or capacity the twin does not know).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from nettwin.diagnose.observed import ObservedWindow
from nettwin.engine import CompiledNetwork, compile_network
from nettwin.engine.simulate import route
from nettwin.errors import NettwinError
from nettwin.forecast.radio_health import dilate, true_runs
from nettwin.model import Network
from nettwin.synth.faults import FaultKind

FLOOR_FRACTION = 0.002  # absolute floor of a rate residual, as a fraction of capacity
MIN_WIDTH = {"arc": 0.01, "node": 0.005, "drop": 0.002, "rsl": 0.3}
MIN_FADE_DB = 3.0  # a radio level below its band by less than this is not an anomaly


class AnomalyClass(StrEnum):
    TRAFFIC = "traffic"
    TOPOLOGY = "topology"
    PHYSICS = "physics"


# the class a root cause shows up as (what the evaluation expects of each labelled kind)
EXPECTED_CLASS: dict[FaultKind, AnomalyClass] = {
    FaultKind.LINK_DOWN: AnomalyClass.TOPOLOGY, FaultKind.NODE_DOWN: AnomalyClass.TOPOLOGY,
    FaultKind.SRLG_DOWN: AnomalyClass.TOPOLOGY,
    FaultKind.CAPACITY_DEGRADED: AnomalyClass.TOPOLOGY,
    FaultKind.METRIC_CHANGED: AnomalyClass.TOPOLOGY,
    FaultKind.TRAFFIC_SURGE: AnomalyClass.TRAFFIC, FaultKind.RAIN_FADE: AnomalyClass.PHYSICS,
    FaultKind.MISALIGNMENT: AnomalyClass.PHYSICS,
}


class AnomalyError(NettwinError):
    """Too little history to learn a normal band from."""


@dataclass(frozen=True)
class Alarm:
    """One anomaly: its class, the element, when, how far outside the band, and why."""

    cls: AnomalyClass
    element: str  # link id (arcs, radio), node id (balance, silence)
    start: float
    end: float
    score: float  # the largest excursion, in band spreads
    evidence: tuple[str, ...] = ()
    raised: float = math.nan  # when it is raised: ``start`` once it has persisted

    def to_json(self) -> dict[str, Any]:
        return {"class": self.cls.value, "element": self.element, "start": self.start,
                "raised": self.raised, "end": self.end, "score": self.score,
                "evidence": list(self.evidence)}


@dataclass(frozen=True, eq=False)
class Residuals:
    """Per sample instant the residuals against the twin (nan where not measured)."""

    times: np.ndarray  # [K]
    level: np.ndarray  # [K] fitted traffic level (x the twin's demands)
    arc: np.ndarray  # [K, m] log(measured / predicted carried)
    drop: np.ndarray  # [K, m] measured minus predicted dropped fraction
    node: np.ndarray  # [K, n] flow balance misfit / the node's predicted throughput
    rsl: np.ndarray  # [K, r] received level (dBm)
    down: np.ndarray  # [K, m] bool: reported down where the model has it up
    silent: np.ndarray  # [K, m] bool: a port that reported before and no longer does


@dataclass(frozen=True, eq=False)
class Bands:
    """The learned normal: centre and spread of each residual."""

    arc: tuple[np.ndarray, np.ndarray]
    drop: tuple[np.ndarray, np.ndarray]
    node: tuple[np.ndarray, np.ndarray]
    rsl: tuple[np.ndarray, np.ndarray]
    samples: int

    def to_json(self) -> dict[str, Any]:
        return {"samples": self.samples} | {
            name: {"centre": getattr(self, name)[0].tolist(),
                   "spread": getattr(self, name)[1].tolist()}
            for name in ("arc", "drop", "node", "rsl")}


class AnomalyDetector:
    """Residuals of a network's observations against its twin, judged on learned bands."""

    def __init__(self, network: Network, compiled: CompiledNetwork | None = None,
                 threshold: float = 5.0, persist: int = 2) -> None:
        self.network = network
        self.c = compiled or compile_network(network)
        self.threshold = threshold
        self.persist = persist
        self.bands: Bands | None = None
        # per reported topology: arc loads of the twin's demands and each node's balance
        # (terminated minus originated traffic of the demands it can route)
        self._routes: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

    # ------------------------------------------------------------------ residuals
    def _load(self, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = np.packbits(up).tobytes()
        if key not in self._routes:
            c = self.c
            load = np.asarray(route(c, up, c.demand_rate_bps).load_bps)
            balance = np.zeros(c.n_nodes)
            np.add.at(balance, c.arc_dst, load)
            np.add.at(balance, c.arc_src, -load)
            self._routes[key] = (load, balance)
        return self._routes[key]

    def residuals(self, obs: ObservedWindow) -> Residuals:
        c = self.c
        k, m = obs.n_steps, c.n_arcs
        carried, dropped = obs.carried_bps, obs.dropped_bps
        reported_down = _carry_forward(obs.oper_up) == 0
        # a link is down when either end says so (a dead router's own ports say nothing)
        down = np.repeat(reported_down.reshape(k, -1, 2).any(axis=2), 2, axis=1) \
            & c.arc_up[None, :]
        cap = c.arc_capacity_bps
        floor = FLOOR_FRACTION * cap
        level = np.zeros(k)
        pred = np.zeros((k, m))
        balance = np.zeros((k, c.n_nodes))
        for s in range(k):
            load, balance[s] = self._load(c.arc_up & ~down[s])
            meas = np.isfinite(carried[s]) & (load > 0) & ~down[s]
            if meas.any():
                level[s] = _weighted_median(carried[s, meas] / load[meas], load[meas])
            pred[s] = level[s] * load
        pred_carried = np.minimum(pred, cap[None, :])
        pred_drop = np.where(pred > cap, 1 - cap / np.maximum(pred, cap), 0.0)
        arc = np.log((carried + floor) / (pred_carried + floor))
        offered = carried + np.nan_to_num(dropped)
        drop = np.where(np.isfinite(carried) & np.isfinite(dropped),
                        np.nan_to_num(dropped) / np.maximum(offered, floor) - pred_drop,
                        np.nan)
        # flow balance per node, the unmeasured arcs taken at the prediction
        c_in = np.where(np.isfinite(carried), carried, pred_carried)
        o_out = np.where(np.isfinite(offered), offered, pred)
        bal = np.zeros((k, c.n_nodes))
        through = np.zeros((k, c.n_nodes))
        for arr, nodes, sign in ((c_in, c.arc_dst, 1.0), (o_out, c.arc_src, -1.0)):
            np.add.at(bal.T, nodes, sign * arr.T)
        for nodes in (c.arc_dst, c.arc_src):
            np.add.at(through.T, nodes, pred.T)
        node = (bal - level[:, None] * balance) / \
            np.maximum(through, level[:, None] * np.abs(balance) + 1.0)
        seen = obs.reported & (obs.last_report > -math.inf)
        silent = seen[None, :] & (obs.times[:, None] > obs.last_report[None, :]) & \
            ~np.isfinite(carried)
        return Residuals(obs.times, level, arc, drop, node, obs.rsl_dbm, down, silent)

    # ------------------------------------------------------------------ bands
    def fit(self, windows: list[ObservedWindow]) -> Bands:
        """Learn the normal band of every residual from windows of normal operation."""
        rs = [self.residuals(w) for w in windows]
        if not rs or sum(r.times.size for r in rs) < 8:
            raise AnomalyError("need at least 8 samples of normal operation to learn the "
                               "bands from: give a longer history (--train)")

        def band(name: str, key: str) -> tuple[np.ndarray, np.ndarray]:
            x = np.concatenate([getattr(r, name) for r in rs], axis=0)
            if x.shape[1] == 0:
                return np.zeros(0), np.zeros(0)
            has = np.isfinite(x).any(axis=0)
            centre = np.zeros(x.shape[1])
            spread = np.full(x.shape[1], MIN_WIDTH[key])
            if has.any():
                centre[has] = np.nanmedian(x[:, has], axis=0)
                mad = np.nanmedian(np.abs(x[:, has] - centre[has]), axis=0)
                spread[has] = np.maximum(1.4826 * mad, MIN_WIDTH[key])
            return centre, spread

        self.bands = Bands(band("arc", "arc"), band("drop", "drop"), band("node", "node"),
                           band("rsl", "rsl"), sum(r.times.size for r in rs))
        return self.bands

    # ------------------------------------------------------------------ alarms
    def detect(self, obs: ObservedWindow) -> list[Alarm]:
        """The anomalies of the window, classed, earliest first."""
        if self.bands is None:
            raise AnomalyError("learn the bands first (fit) from normal operation")
        b, r, c = self.bands, self.residuals(obs), self.c
        thr = self.threshold
        t = obs.times

        def up_at(s: int, e: int, n: int | None = None) -> float:
            """When a run from sample s is raised: once it has lasted ``persist`` samples."""
            return float(t[min(s + (self.persist if n is None else n) - 1, e)])

        def z(x: np.ndarray, band: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
            return np.asarray(np.nan_to_num((x - band[0][None, :]) / band[1][None, :]))

        z_arc = z(r.arc, b.arc)
        z_drop = z(r.drop, b.drop)
        z_node = z(r.node, b.node)
        z_rsl = -z(r.rsl, b.rsl)  # a fade is positive
        fade_db = np.nan_to_num(b.rsl[0][None, :] - r.rsl) if r.rsl.size else r.rsl
        drops_now = np.nansum(np.nan_to_num(obs.dropped_bps), axis=1) > 0
        phys = _persistent((z_rsl > thr) & (fade_db >= MIN_FADE_DB), self.persist)
        # a balance falling while the network drops is the dropped traffic, not demand
        node_hit = _persistent((np.abs(z_node) > thr) & ~((z_node < 0) & drops_now[:, None]),
                               self.persist)
        arc_hit = _persistent((np.abs(z_arc) > thr) | (z_drop > thr), self.persist)
        status = _persistent(r.down, 1) | _persistent(r.silent, self.persist)
        physics_on = dilate(np.asarray(phys.any(axis=1)), 2)
        traffic_on = dilate(np.asarray(node_hit.any(axis=1)), 2)
        alarms: list[Alarm] = []
        for j, lid in enumerate(obs.radio_links):
            for s, e in true_runs(phys[:, j]):
                alarms.append(Alarm(AnomalyClass.PHYSICS, lid, float(t[s]), float(t[e]),
                                    float(z_rsl[s:e + 1, j].max()),
                                    (f"RSL {-float(fade_db[s:e + 1, j].max()):.1f} dB below "
                                     f"its clear-sky band on {lid}",), up_at(s, e)))
        for n in range(c.n_nodes):
            for s, e in true_runs(node_hit[:, n]):
                if physics_on[s:e + 1].all():
                    continue
                zz = z_node[s:e + 1, n]
                peak = float(zz[np.abs(zz).argmax()])
                what = f"traffic balance of {c.node_ids[n]} {'+' if peak > 0 else '-'}" \
                       f"{abs(peak):.0f} sigma vs the twin's demands"
                alarms.append(Alarm(AnomalyClass.TRAFFIC, c.node_ids[n], float(t[s]),
                                    float(t[e]), abs(peak), (what,), up_at(s, e)))
        by_link: dict[str, list[tuple[int, int, float, str, float]]] = {}
        for a in range(c.n_arcs):
            for s, e in true_runs(arc_hit[:, a]):
                peak = float(np.max(np.maximum(np.abs(z_arc[s:e + 1, a]), z_drop[s:e + 1, a])))
                ratio = math.exp(float(np.nanmedian(r.arc[s:e + 1, a]))) \
                    if np.isfinite(r.arc[s:e + 1, a]).any() else float("nan")
                what = f"rate on {c.arc_label(a)} x{ratio:.2f} of the twin's" + (
                    f", drops {100 * float(np.nanmax(r.drop[s:e + 1, a])):.1f} %"
                    if z_drop[s:e + 1, a].max() > thr else "")
                by_link.setdefault(c.link_ids[a // 2], []).append((s, e, peak, what,
                                                                   up_at(s, e)))
            for s, e in true_runs(status[:, a]):
                down_now = bool(r.down[s:e + 1, a].any())
                what = f"{c.arc_label(a)} reported down" if down_now else \
                    f"{c.node_ids[c.arc_src[a]]} stopped reporting {c.link_ids[a // 2]}"
                by_link.setdefault(c.link_ids[a // 2], []).append(
                    (s, e, 50.0, what, up_at(s, e, 1 if down_now else None)))
        for lid, runs in by_link.items():
            s, e = min(x[0] for x in runs), max(x[1] for x in runs)
            hard = any(x[2] == 50.0 for x in runs)
            cls = AnomalyClass.TOPOLOGY if hard else \
                AnomalyClass.PHYSICS if physics_on[s:e + 1].any() else \
                AnomalyClass.TRAFFIC if traffic_on[s:e + 1].any() else AnomalyClass.TOPOLOGY
            evidence = tuple(dict.fromkeys(x[3] for x in sorted(runs)))[:6]
            alarms.append(Alarm(cls, lid, float(t[s]), float(t[e]),
                                max(x[2] for x in runs), evidence, min(x[4] for x in runs)))
        alarms += self._silent_nodes(r, t)
        alarms.sort(key=lambda a: (a.start, a.cls.value, a.element))
        return alarms

    def _silent_nodes(self, r: Residuals, t: np.ndarray) -> list[Alarm]:
        """A node whose every port stopped reporting: one topology alarm on the node."""
        c, out = self.c, []
        quiet = _persistent(r.silent, self.persist)
        for n in range(c.n_nodes):
            arcs = np.flatnonzero(c.arc_src == n)
            if arcs.size == 0:
                continue
            all_quiet = np.asarray(quiet[:, arcs].all(axis=1))
            for s, e in true_runs(all_quiet):
                what = f"{c.node_ids[n]} stopped reporting on all {arcs.size} ports"
                out.append(Alarm(AnomalyClass.TOPOLOGY, c.node_ids[n], float(t[s]),
                                 float(t[e]), 50.0, (what,),
                                 float(t[min(s + self.persist - 1, e)])))
        return out


# ---------------------------------------------------------------------- evaluation
@dataclass
class Score:
    """Detection against labels, per labelled kind."""

    episodes: int = 0  # with a fault
    quiet_episodes: int = 0  # without ("none"): every alarm there is false
    detected: int = 0  # an alarm of the expected class from the onset on
    on_element: int = 0  # ... on the labelled element (or one it affects)
    delays_s: list[float] = field(default_factory=list)  # raised minus labelled start
    true_alarms: int = 0
    false_alarms: int = 0

    @property
    def recall(self) -> float:
        return self.detected / self.episodes if self.episodes else float("nan")

    @property
    def precision(self) -> float:
        n = self.true_alarms + self.false_alarms
        return self.true_alarms / n if n else float("nan")


def score_episode(score: Score, kind: FaultKind, element: str, elements: tuple[str, ...],
                  start: float, end: float, alarms: list[Alarm], slack_s: float) -> None:
    """Add one labelled episode: an alarm is true when it has the label's expected class
    and starts from ``slack_s`` before the labelled start on; every other alarm is false
    (a "none" episode has no true alarm)."""
    want = EXPECTED_CLASS.get(kind)
    if want is None:
        score.quiet_episodes += 1
        score.false_alarms += len(alarms)
        return
    score.episodes += 1
    true = [a for a in alarms if a.cls is want and start - slack_s <= a.start <= end]
    score.true_alarms += len(true)
    score.false_alarms += len(alarms) - len(true)
    if true:
        score.detected += 1
        score.delays_s.append(max(0.0, min(a.raised for a in true) - start))
        if any(a.element in (element, *elements) for a in true):
            score.on_element += 1


# ---------------------------------------------------------------------- helpers
def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    order = np.argsort(x)
    cum = np.cumsum(w[order])
    return float(x[order][min(int(np.searchsorted(cum, cum[-1] / 2)), x.size - 1)])


def _carry_forward(state: np.ndarray) -> np.ndarray:
    """Oper status per step (-1: not reported) with the last report carried forward."""
    out = state.astype(np.int8).copy()
    for s in range(1, out.shape[0]):
        out[s] = np.where(out[s] < 0, out[s - 1], out[s])
    return out


def _persistent(hit: np.ndarray, n: int) -> np.ndarray:
    """True where ``hit`` holds in a run of at least ``n`` consecutive steps."""
    if n <= 1 or hit.size == 0:
        return hit.astype(bool)
    h = hit.astype(bool)
    out = np.zeros_like(h)
    run = np.zeros(h.shape[1:], np.int64)
    for s in range(h.shape[0]):
        run = np.where(h[s], run + 1, 0)
        done = run >= n
        out[s] |= done
        for back in range(1, min(n, s + 1)):  # the run's first steps belong to it too
            out[s - back] |= done
    return out
