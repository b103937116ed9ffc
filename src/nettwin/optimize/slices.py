"""Slice admission and mapping: which slices the network can carry with their SLAs, and the
QoS policy (and min-delay paths) that carries them, proven by the per-class engine.

Method, per slice in admission order (priority, higher first, then as listed):

1. Bounds (``slice_bounds``): its rates through the min cut between its endpoints, its
   delay against the fastest path's propagation, its availability against the share of
   time its endpoints stay connected, with ``--survive n-1`` under every single link
   failure too. Breaking one: never admissible, told the binding constraint.
2. Mapping for the admitted slices plus this one: every slice marked as its own traffic
   class (``slice:ID``), WFQ on every port, each slice's weight on a port its worst load
   there (at its guaranteed rate; over the failures it must survive) divided by
   ``TARGET_SHARE``; the traffic outside slices shares what is left (at least
   ``BACKGROUND_SHARE``), by its load. A slice the IGP's paths do not carry is tried
   again on explicit paths, recomputed per failure as an SR policy's headend does: with a
   delay target on min-delay paths (the fastest by propagation), then on the widest paths
   (the most room the slices admitted before leave, demand by demand).
3. Check: the per-class engine re-simulates the network (slices at their guaranteed rates,
   all other traffic as offered) with everything up and with each single link failed. The
   slice is admitted when every admitted slice still meets its SLA (delay, loss, rate;
   under every failure with n-1), its availability target and, where required, isolation:
   with each other slice's traffic at ``SURGE`` times, its SLA still holds (everything up).

Availability: a link's unavailability u_i is MTTR / (MTBF + MTTR) (``scenarios.risk``:
fibre cuts per 1,000 km or link attributes ``mtbf_h`` / ``mttr_h``), links independent. To
first order (the rare-event approximation planners use: terms in u_i u_j dropped) the SLA's
availability is [holds with all up] (1 - sum u_i) + sum of u_i over the links whose failure
alone it survives. ``availability_lower_bound`` counts every state with two or more links
down as violated instead (exact probabilities of the other states).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from nettwin.engine.classes import ClassPolicy, ClassResult, PinnedPaths, simulate_classes
from nettwin.engine.compiled import CompiledNetwork, compile_network
from nettwin.engine.qos import Scheduler
from nettwin.engine.queueing import IMIX_MEAN_PACKET_BYTES, IMIX_PACKET_SCV
from nettwin.engine.simulate import route
from nettwin.model import Network, Slice
from nettwin.optimize.objective import Survive
from nettwin.optimize.slice_bounds import (
    Binding,
    connected_pairs,
    delay_binding,
    fastest_path,
    path_to,
    rate_binding,
    widest_path,
)
from nettwin.optimize.slice_inputs import (
    failure_states,
    link_unavailability,
    resolve_slices,
    select_demands,
)
from nettwin.optimize.slice_plan import (
    BUFFER_PACKETS,
    SURGE,
    Check,
    Evaluation,
    FailureState,
    SliceDemands,
    SliceMapping,
    SlicePlan,
    Steering,
    Verdict,
    policy_document,
    verdict_rows,
)
from nettwin.optimize.tolerance import ARITHMETIC_TOL, clean_figure
from nettwin.optimize.weights import kernel_threads
from nettwin.scenarios.risk import RiskModel

TARGET_SHARE = 0.8  # a slice's weight keeps its worst load at this share of it
BACKGROUND_SHARE = 0.05  # the least share of every port left to traffic outside slices
MIN_SHARE = 1e-3  # a class's weight where it has no reserved load
RATE_TOLERANCE = 1e-3  # a slice's delivered rate may fall this short of its guarantee

Progress = Callable[[float], None]  # fraction of the work done


class _Planner:
    """The state of one admission run: states, per-slice loads, evaluations."""

    def __init__(self, network: Network, net: CompiledNetwork, slices: tuple[SliceDemands, ...],
                 survive: Survive, unavailability: np.ndarray) -> None:
        self.network, self.net, self.slices, self.survive = network, net, slices, survive
        self.states = failure_states(net, unavailability)
        self.must = self.states if survive is Survive.N1 else self.states[:1]
        self.evaluations = 0
        self._loads: dict[tuple[str, Steering], np.ndarray] = {}
        self._pins: dict[tuple[str, Steering, int], tuple[np.ndarray, list[list[int]]]] = {}
        # per state and arc: what the admitted slices leave of the slices' part of a port
        self.room = np.array([net.arc_capacity_bps * st.arc_up for st in self.states]) * (
            1.0 - BACKGROUND_SHARE)

    def pinned_arcs(self, s: SliceDemands, steering: Steering, state: int
                    ) -> tuple[np.ndarray, list[list[int]]]:
        """The slice's demands that have a path in a state and the path of each: the
        fastest (MIN_DELAY) or the widest in the room the admitted slices leave (WIDEST:
        demand by demand, each taking its room from the next)."""
        key = (s.id, steering, state)
        if key not in self._pins:
            up = self.states[state].arc_up
            room = self.room[state].copy()
            demands: list[int] = []
            paths: list[list[int]] = []
            trees: dict[int, Any] = {}
            for d, rate in zip(s.index.tolist(), s.rate_bps.tolist(), strict=True):
                src, dst = int(self.net.demand_src[d]), int(self.net.demand_dst[d])
                if steering is Steering.WIDEST:
                    _room, via = widest_path(self.net, up, src, room)
                    found = bool(via[dst] >= 0)
                else:
                    if src not in trees:
                        trees[src] = fastest_path(self.net, up, src)
                    dist, via = trees[src]
                    found = bool(np.isfinite(dist[dst]))
                if found:
                    demands.append(d)
                    paths.append(path_to(via, self.net, dst))
                    room[paths[-1]] -= rate / TARGET_SHARE
            self._pins[key] = (np.array(demands, np.int64), paths)
        return self._pins[key]

    def admit(self, s: SliceDemands, steering: Steering) -> None:
        """Take the room the slice reserves (its loads / ``TARGET_SHARE``)."""
        self.room -= self.loads(s, steering) / TARGET_SHARE

    def loads(self, s: SliceDemands, steering: Steering) -> np.ndarray:
        """The slice's load on every arc [states, arcs] at its guaranteed rate."""
        key = (s.id, steering)
        if key not in self._loads:
            out = np.zeros((len(self.states), self.net.n_arcs))
            rate = np.zeros(self.net.n_demands)
            rate[s.index] = s.rate_bps
            for i, st in enumerate(self.states):
                if steering is Steering.IGP:
                    out[i] = route(self.net, st.arc_up, rate).load_bps
                else:
                    demands, paths = self.pinned_arcs(s, steering, i)
                    for d, arcs in zip(demands.tolist(), paths, strict=True):
                        out[i, arcs] += rate[d]
            self._loads[key] = out
        return self._loads[key]

    def mapping(self, chosen: Sequence[SliceDemands], steering: Mapping[str, Steering]
                ) -> SliceMapping:
        """Classes, WFQ weights, pins and rates for these slices (see the module doc)."""
        net = self.net
        order = sorted(chosen, key=lambda s: (s.spec.max_delay_s is None,
                                              s.spec.max_delay_s or 0.0))
        background = list(net.class_names)
        names = tuple(s.traffic_class for s in order) + tuple(background)
        cls = net.demand_class.astype(np.int64) + len(order)  # background keeps its class
        rate = net.demand_rate_bps.copy()
        for k, s in enumerate(order):
            cls[s.index] = k
            rate[s.index] = s.rate_bps
        compiled = dataclasses.replace(net, demand_class=cls.astype(np.int16),
                                       class_names=names)
        m, k_all = net.n_arcs, len(names)
        cap = np.maximum(net.arc_capacity_bps, 1e-9)
        must = [i for i, st in enumerate(self.states) if st in self.must]
        share = np.full((m, k_all), MIN_SHARE)
        for k, s in enumerate(order):
            worst = self.loads(s, steering[s.id])[must].max(axis=0)
            share[:, k] = np.maximum(worst / cap / TARGET_SHARE, MIN_SHARE)
        sliced = share[:, :len(order)].sum(axis=1)
        room = 1.0 - BACKGROUND_SHARE
        squeeze = np.where(sliced > room, room / np.maximum(sliced, 1e-300), 1.0)
        share[:, :len(order)] *= squeeze[:, None]
        if background:
            bg = np.zeros((m, len(background)))
            base_rate = np.where(cls >= len(order), rate, 0.0)
            for j in range(len(background)):
                mine = (cls == len(order) + j)
                if mine.any():
                    bg[:, j] = route(net, net.arc_up, np.where(mine, base_rate, 0.0)).load_bps
            left = np.maximum(1.0 - share[:, :len(order)].sum(axis=1), BACKGROUND_SHARE)
            total = bg.sum(axis=1, keepdims=True)
            split = np.where(total > 0, bg / np.maximum(total, 1e-300), 1.0 / len(background))
            share[:, len(order):] = np.maximum(split * left[:, None], MIN_SHARE)
        weights = share / share.sum(axis=1, keepdims=True)
        bits = np.full(k_all, 8.0 * IMIX_MEAN_PACKET_BYTES)
        policy = ClassPolicy(names, np.full(m, int(Scheduler.WFQ)), weights,
                             np.full((m, k_all), float(BUFFER_PACKETS)), bits,
                             bits ** 2 * (1.0 + IMIX_PACKET_SCV))
        pins = []
        for i in range(len(self.states)):
            demands: list[int] = []
            paths: list[list[int]] = []
            for s in order:
                if steering[s.id] is not Steering.IGP:
                    d, p = self.pinned_arcs(s, steering[s.id], i)
                    demands += d.tolist()
                    paths += p
            ptr = np.cumsum([0] + [len(p) for p in paths]).astype(np.int64)
            pins.append(PinnedPaths(np.array(demands, np.int64), ptr,
                                    np.array([a for p in paths for a in p], np.int64)))
        return SliceMapping(compiled, policy, rate, pins, dict(steering))

    def check(self, s: SliceDemands, res: ClassResult, rate: np.ndarray) -> Check:
        idx = s.index
        routed = res.demand_routed[idx]
        delay = float(res.demand_delay_worst_s[idx][routed].max()) if routed.any() else np.inf
        loss = float(res.demand_loss[idx].max())
        delivered = clean_figure(float((rate[idx] * (1.0 - res.demand_loss[idx]) * routed).sum()),
                                 tol=ARITHMETIC_TOL)
        spec = s.spec
        return Check(delay, loss, delivered, bool(routed.all()),
                     spec.max_delay_s is None or delay <= spec.max_delay_s,
                     spec.max_loss is None or loss <= spec.max_loss,
                     delivered >= (1.0 - RATE_TOLERANCE) * float(rate[idx].sum()))

    def simulate(self, mp: SliceMapping, state: int, rate: np.ndarray | None = None
                 ) -> ClassResult:
        self.evaluations += 1
        with np.errstate(invalid="ignore"):  # demands cut off by a failure: inf - inf
            return simulate_classes(mp.compiled, mp.policy, arc_up=self.states[state].arc_up,
                                    demand_rate_bps=mp.rate_bps if rate is None else rate,
                                    pinned=mp.pins[state])

    def evaluate(self, chosen: Sequence[SliceDemands], mp: SliceMapping, *, surge: bool = True,
                 progress: Callable[[float], None] | None = None) -> Evaluation:
        """Every chosen slice in every state; availability; the surge test."""
        checks: dict[str, list[Check]] = {s.id: [] for s in chosen}
        results = []
        for i in range(len(self.states)):
            res = self.simulate(mp, i)
            results.append(res)
            for s in chosen:
                checks[s.id].append(self.check(s, res, mp.rate_bps))
            if progress is not None:
                progress((i + 1) / len(self.states))
        availability = {sid: min(1.0, sum(st.weight for st, c in zip(self.states, cs,
                                                                      strict=True) if c.ok))
                        for sid, cs in checks.items()}
        lower = {sid: float(sum(st.probability for st, c in zip(self.states, cs, strict=True)
                                if c.ok)) for sid, cs in checks.items()}
        broken: dict[str, list[str]] = {s.id: [] for s in chosen}
        if surge and len(chosen) > 1:
            for x in chosen:
                rate = mp.rate_bps.copy()
                rate[x.index] *= SURGE
                res = self.simulate(mp, 0, rate)
                for y in chosen:
                    if y is not x and not self.check(y, res, rate).ok:
                        broken[y.id].append(x.id)
        return Evaluation(checks, availability, lower, broken, results)

    def failures_of(self, s: SliceDemands) -> list[tuple[str, np.ndarray]]:
        return [(st.link, st.arc_up) for st in self.must[1:] if st.link is not None]

    def bound(self, s: SliceDemands) -> tuple[Binding | None, float]:
        """The first bound the slice breaks (None: none) and its fastest-path delay."""
        net, spec = self.net, s.spec
        label = f"slice {spec.id!r}"
        src, dst = net.demand_src[s.index], net.demand_dst[s.index]
        failures = self.failures_of(s)
        found = rate_binding(net, net.arc_up, src, dst, s.rate_bps, failures, label)
        delay_found, fastest = (delay_binding(net, net.arc_up, src, dst, spec.max_delay_s,
                                              failures, label)
                                if spec.max_delay_s is not None else
                                delay_binding(net, net.arc_up, src, dst, np.inf, [], label))
        found = found or delay_found
        if found is None and spec.min_availability is not None:
            best = sum(st.weight for st in self.states
                       if connected_pairs(net, st.arc_up, src, dst))
            if best < spec.min_availability:
                cut = [st.link for st in self.states[1:]
                       if st.link and not connected_pairs(net, st.arc_up, src, dst)]
                found = Binding("availability", f"{label} needs availability "
                                f"{spec.min_availability:.6g}, but its endpoints stay connected "
                                f"only {best:.6g} of the time (single failures that cut them: "
                                f"{', '.join(cut) or 'none'})", best, spec.min_availability,
                                None, tuple(cut))
        return found, fastest


def _violation(planner: _Planner, s: SliceDemands, ev: Evaluation, mp: SliceMapping,
               candidate: SliceDemands) -> Binding | None:
    """Why ``s`` fails in this evaluation (None: it does not)."""
    spec, label = s.spec, f"slice {s.id!r}"
    who = "its own SLA" if s is candidate else f"admitting {candidate.id!r} breaks {label}"
    for i, (st, c) in enumerate(zip(planner.states, ev.checks[s.id], strict=True)):
        if st not in planner.must or c.ok:
            continue
        under = f" with link {st.link} failed" if st.link else ""
        k = mp.policy.priority.index(s.traffic_class)
        res = ev.results[i]
        used = res.arc_class_load_bps[:, k] > 0
        of_share = res.arc_class_load_bps[:, k] / (mp.policy.weights[:, k]
                                                   * planner.net.arc_capacity_bps)
        hot = int(np.argmax(np.where(used, of_share, -1.0)))
        port = (f"; busiest port {planner.net.arc_label(hot)} at {100 * of_share[hot]:.0f} % "
                "of its share") if used.any() else ""
        if not c.routed:
            what = "a demand has no route"
        elif not c.delay_ok:
            what = f"delay {1e3 * c.worst_delay_s:.3g} ms > {1e3 * (spec.max_delay_s or 0):.3g} ms"
        elif not c.loss_ok:
            what = f"loss {c.max_loss:.2e} > {spec.max_loss:.2e}"
        else:
            what = (f"delivers {c.delivered_bps / 1e9:.4g} of "
                    f"{s.guaranteed_bps / 1e9:.4g} Gbit/s")
        return Binding("sla", f"{who}: {what}{under}{port}",
                       failure=st.link, links=(planner.net.link_ids[hot // 2],))
    if spec.min_availability is not None and ev.availability[s.id] < spec.min_availability:
        down = [st.link for st, c in zip(planner.states, ev.checks[s.id], strict=True)
                if st.link and not c.ok]
        return Binding("availability", f"{who}: availability {ev.availability[s.id]:.6g} < "
                       f"{spec.min_availability:.6g} (SLA missed with {', '.join(down[:5])}"
                       f"{' ...' if len(down) > 5 else ''} failed)", ev.availability[s.id],
                       spec.min_availability, None, tuple(down))
    if spec.isolation and ev.broken_by[s.id]:
        return Binding("isolation", f"{who}: not isolated, a x{SURGE:g} surge of "
                       f"{', '.join(ev.broken_by[s.id])} breaks its SLA", None, None, None, ())
    return None


def plan_slices(network: Network, slices: Sequence[Slice] | None = None, *,
                survive: Survive = Survive.NONE, risk: RiskModel | None = None,
                compiled: CompiledNetwork | None = None, threads: int | None = None,
                progress: Progress | None = None) -> SlicePlan:
    """Admit the slices (the network's own unless ``slices`` is given) in priority order,
    map the admitted ones, and check them with the per-class engine (module doc)."""
    net = compiled or compile_network(network)
    with kernel_threads(net, threads):
        return _plan(network, net, slices, survive, risk, progress)


def _scaled(progress: Progress | None, start: float, width: float) -> Progress | None:
    """A part of the progress: ``f`` in [0, 1] reported as ``start + width * f``."""
    if progress is None:
        return None
    report = progress
    return lambda f: report(start + width * f)


def _plan(network: Network, net: CompiledNetwork, slices: Sequence[Slice] | None,
          survive: Survive, risk: RiskModel | None, progress: Progress | None) -> SlicePlan:
    t0 = time.perf_counter()
    resolved = resolve_slices(network, slices)
    ordered = sorted(enumerate(resolved), key=lambda t: (-t[1].spec.priority, t[0]))
    planner = _Planner(network, net, resolved, survive, link_unavailability(network, risk))
    admitted: list[SliceDemands] = []
    steering: dict[str, Steering] = {}
    outcome: dict[str, dict[str, Any]] = {}
    done: tuple[SliceMapping, Evaluation] | None = None  # of the slices admitted so far
    for step, (_pos, s) in enumerate(ordered):
        binding, fastest = planner.bound(s)
        outcome[s.id] = {"order": step, "fastest": fastest}
        if binding is not None:
            outcome[s.id] |= {"binding": binding, "never": True}
        else:
            failure: Binding | None = None
            tries = [Steering.IGP, *([Steering.MIN_DELAY] if s.spec.max_delay_s else []),
                     Steering.WIDEST]
            for t, way in enumerate(tries):
                trial = {**steering, s.id: way}
                chosen = [*admitted, s]
                mp = planner.mapping(chosen, trial)
                width = 0.99 / (len(tries) * len(ordered))
                ev = planner.evaluate(chosen, mp, progress=_scaled(
                    progress, width * (step * len(tries) + t), width))
                failure = next((b for b in (_violation(planner, x, ev, mp, s) for x in chosen)
                                if b is not None), None)
                if failure is None:
                    admitted.append(s)
                    planner.admit(s, way)
                    steering = trial
                    done = (mp, ev)
                    break
            if failure is not None:
                tried = ", ".join(w.value for w in tries)
                outcome[s.id] |= {"never": False, "binding": dataclasses.replace(
                    failure, message=f"{failure.message} (steering tried: {tried}; the "
                                     f"figures are the last's)")}
        if progress is not None:
            progress(0.99 * (step + 1) / max(len(ordered), 1))
    mp, ev = done or (planner.mapping([], {}), Evaluation({}, {}, {}, {}, []))
    verdicts = []
    for s in resolved:
        o = outcome[s.id]
        if s in admitted:
            cs = ev.checks[s.id]
            fails = cs[1:]
            worst = (max(range(len(fails)), key=lambda i: (not fails[i].ok,
                                                           fails[i].worst_delay_s))
                     if fails else None)
            verdicts.append(Verdict(
                s.id, True, o["order"], int(s.index.size), s.offered_bps, s.guaranteed_bps,
                steering=steering[s.id], normal=cs[0],
                worst_failure=planner.states[worst + 1].link if worst is not None else None,
                worst_failure_check=fails[worst] if worst is not None else None,
                failures_violating=tuple(st.link for st, c in zip(planner.states[1:], fails,
                                                                  strict=True)
                                         if not c.ok and st.link),
                availability=ev.availability[s.id],
                availability_lower_bound=ev.availability_lower_bound[s.id],
                isolated=not ev.broken_by[s.id],
                broken_by_surge_of=tuple(ev.broken_by[s.id]),
                bound_fastest_delay_s=o["fastest"]))
        else:
            verdicts.append(Verdict(s.id, False, o["order"], int(s.index.size), s.offered_bps,
                                    s.guaranteed_bps, never_admissible=o["never"],
                                    binding=o["binding"], bound_fastest_delay_s=o["fastest"]))
    if progress is not None:
        progress(1.0)
    return SlicePlan(network, resolved, tuple(verdicts), mp, tuple(planner.states), survive,
                     time.perf_counter() - t0, planner.evaluations)


__all__ = ["SURGE", "Binding", "Check", "FailureState", "SliceDemands", "SliceMapping",
           "SlicePlan", "Steering", "Verdict", "failure_states", "link_unavailability",
           "plan_slices", "policy_document", "resolve_slices", "select_demands",
           "simulate_plan", "verdict_rows"]


def simulate_plan(plan: SlicePlan, *, state: int = 0, rate_bps: np.ndarray | None = None,
                  threads: int | None = None) -> ClassResult:
    """The per-class engine on the plan's mapping in one failure state (0: everything up)."""
    mp = plan.mapping
    with kernel_threads(mp.compiled, threads), np.errstate(invalid="ignore"):
        return simulate_classes(mp.compiled, mp.policy, arc_up=plan.states[state].arc_up,
                                demand_rate_bps=mp.rate_bps if rate_bps is None else rate_bps,
                                pinned=mp.pins[state])
