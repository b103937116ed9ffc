"""Performance of a change: utilisation, delay, loss and SLAs before and after, and under
every single failure (or pair) of the changed network against the same failure of the
unchanged one, evaluated with the exact incremental sweep."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationOptions, SimulationResult
from nettwin.engine.failure_sets import SetOutcome, evaluate_failure_sets
from nettwin.engine.incremental import Baseline, failure_loads
from nettwin.model import Network
from nettwin.scenarios.services import check_services
from nettwin.scenarios.sweep import (
    ElementKind,
    Failure,
    SweepResult,
    link_failures,
    plan_link_pairs,
    srlg_failures,
)
from nettwin.validate.bounds import ends_still_joined, utilisation_bounds

OVERLOAD = 1.0
LOST_TOLERANCE = 1e-9  # of the offered traffic: below this, "no traffic lost"
FULL_BEFORE_WORK = 500_000  # failures x nodes up to which the unchanged network is swept whole


class Survive(enum.Enum):
    """Which failures the changed network must survive."""

    NONE = "none"
    N1 = "n-1"  # every single link and SRLG
    N2 = "n-2"  # and pairs of links


@dataclass(frozen=True)
class ServiceFigures:
    service: str
    worst_delay_s: float
    worst_loss: float
    violated: bool


@dataclass(frozen=True)
class StateFigures:
    """Headline performance of one state of the network."""

    max_utilisation: float
    max_utilisation_arc: str
    mean_utilisation: float
    mean_delay_s: float
    offered_bps: float
    unroutable_bps: float
    queue_lost_bps: float
    overloaded_arcs: int
    services: tuple[ServiceFigures, ...]


def summarise(c: CompiledNetwork, result: SimulationResult) -> StateFigures:
    k = result.kpis()
    util = np.where(result.arc_up, result.arc_utilisation, -1.0)
    top = int(np.argmax(util)) if util.size else -1
    s = result.services
    return StateFigures(
        k["max_utilisation"], c.arc_label(top) if top >= 0 else "-", k["mean_utilisation"],
        k["mean_delay_s"], k["offered_bps"], k["unroutable_bps"], k["queue_lost_bps"],
        k["overloaded_arcs"],
        tuple(ServiceFigures(sid, float(s.worst_delay_s[i]), float(s.worst_loss[i]),
                             bool(s.violated[i])) for i, sid in enumerate(s.ids)))


@dataclass(frozen=True)
class FailureImpact:
    """One failure, on the unchanged and on the changed network."""

    failure: str
    max_utilisation_before: float
    max_utilisation_after: float
    max_utilisation_arc_after: str
    lost_bps_before: float
    lost_bps_after: float
    services_broken_before: tuple[str, ...]
    services_broken_after: tuple[str, ...]
    worse: tuple[str, ...]  # what the change makes worse under this failure


@dataclass(frozen=True)
class SurvivalReport:
    mode: Survive
    failures: int
    made_worse: tuple[FailureImpact, ...]  # failures the change makes worse, worst first
    worst_failure: FailureImpact | None  # the most damaging failure of the changed network
    max_utilisation_before: float | None  # over every failure (None: not swept in full)
    max_utilisation_after: float
    service_worst_delay_s: dict[str, float]  # changed network, over every failure
    isolating: dict[str, tuple[str, ...]]  # node -> failures that cut it off (changed net)
    note: str


def _match(failures: list[Failure], network: Network) -> list[np.ndarray]:
    """The same failures (by link id) on another network; links it lacks are skipped."""
    pos = {lid: i for i, lid in enumerate(network.links)}
    out = []
    for f in failures:
        if f.kind is ElementKind.SRLG:
            arcs = [a for i, lk in enumerate(network.links.values()) if f.ids[0] in lk.srlgs
                    for a in (2 * i, 2 * i + 1)]
        else:
            arcs = [a for lid in f.ids if lid in pos for a in (2 * pos[lid], 2 * pos[lid] + 1)]
        out.append(np.array(arcs, np.int64))
    return out


def _broken(base: Baseline, sets: list[np.ndarray], options: SimulationOptions
            ) -> tuple[np.ndarray, np.ndarray]:
    """Per failure: which services break, and each service's worst delay."""
    c = base.net
    s = len(c.service_ids)
    broken = np.zeros((len(sets), s), bool)
    delay = np.zeros((len(sets), s))
    if not s:
        return broken, delay
    for i, arcs in enumerate(sets):
        load, _ = failure_loads(base, arcs)
        up = base.arc_up.copy()
        up[arcs] = False
        check = check_services(c, options, up, load, base.demand_rate_bps)
        broken[i] = check.violated
        delay[i] = check.worst_delay_s
    return broken, delay


def _isolation(c: CompiledNetwork, up: np.ndarray, sets: list[np.ndarray],
               labels: list[str], nodes: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """For each watched node, the failures after which some other node cannot reach it."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    pos = [c.node_ids.index(x) for x in nodes if x in c.node_ids]
    out: dict[str, list[str]] = {c.node_ids[v]: [] for v in pos}
    if not pos:
        return {}
    for arcs, label in zip(sets, labels, strict=True):
        ok = up.copy()
        ok[arcs] = False
        sel = np.flatnonzero(ok)
        g = csr_matrix((np.ones(sel.size), (c.arc_src[sel], c.arc_dst[sel])),
                       shape=(c.n_nodes, c.n_nodes))
        n_comp, comp = connected_components(g, directed=True, connection="strong")
        if n_comp == 1:
            continue
        for v in pos:
            if (comp != comp[v]).any():
                out[c.node_ids[v]].append(label)
    return {k: tuple(v) for k, v in out.items()}


def evaluate_survival(mode: Survive, before_net: Network, base_before: Baseline,
                      after_net: Network, base_after: Baseline, options: SimulationOptions,
                      *, watch_nodes: tuple[str, ...] = (), max_pairs: int = 20_000,
                      prune: bool = True) -> SurvivalReport:
    """Every failure of ``mode`` on both networks; what the change makes worse. With
    ``prune``, failures that provably change no figure of the report are not swept on
    large networks (``validate.bounds``; the report is the same either way)."""
    if mode is Survive.NONE:
        return SurvivalReport(mode, 0, (), None, 0.0, 0.0, {}, {}, "no failures evaluated")
    ca = base_after.net
    failures = link_failures(after_net) + srlg_failures(after_net)
    note = f"{len(failures)} single failures (links and SRLGs)"
    if mode is Survive.N2:
        singles = [f for f in failures if f.kind is ElementKind.LINK]
        out = evaluate_failure_sets(base_after, [f.arcs for f in singles])
        ranking = SweepResult(after_net, ca, base_after, singles, out,
                              np.zeros((len(singles), 0), bool)).criticality().tolist()
        plan = plan_link_pairs(len(singles), ranking, max_pairs)
        failures += [Failure(ElementKind.LINK_PAIR, (singles[i].ids[0], singles[j].ids[0]),
                             np.concatenate([singles[i].arcs, singles[j].arcs]))
                     for i, j in plan.pairs]
        note += f" and {len(plan.pairs)} link pairs ({plan.rule}; {plan.skipped} skipped)"
    sets_after = [f.arcs for f in failures]
    sets_before = _match(failures, before_net)
    # the unchanged network matters only where the changed one loses traffic, overloads or
    # breaks an SLA (nothing else can be "worse"): on large networks only those are swept
    full = len(failures) * ca.n_nodes <= FULL_BEFORE_WORK
    oa, skipped = _sweep_changed(base_after, sets_after, prune and not full
                                 and mode is Survive.N1 and not ca.service_ids
                                 and not watch_nodes)
    if skipped:
        note += (f"; {skipped} failures bounded below the worst one (no overload, nothing "
                 "cut off) without a sweep")
    broken_a, delay_a = _broken(base_after, sets_after, options)
    offered = max(float(base_after.demand_rate_bps.sum()), 1.0)
    harm = np.lexsort((-oa.max_utilisation, -broken_a.sum(axis=1), -oa.lost_bps))
    needed = ((oa.lost_bps > LOST_TOLERANCE * offered) | (oa.max_utilisation > OVERLOAD)
              | broken_a.any(axis=1))
    if harm.size:
        needed[harm[0]] = True
    idx = np.arange(len(failures)) if full else np.flatnonzero(needed)
    sub = evaluate_failure_sets(base_before, [sets_before[i] for i in idx])
    ob = SetOutcome(np.full(len(failures), np.nan), np.full(len(failures), -1),
                    np.full(len(failures), np.nan), np.zeros(len(failures), np.int64),
                    sub.arc_worst_utilisation, sub.arc_worst_set)
    ob.max_utilisation[idx], ob.lost_bps[idx] = sub.max_utilisation, sub.lost_bps
    broken_b = np.zeros((len(failures), len(base_before.net.service_ids)), bool)
    broken_b[idx] = _broken(base_before, [sets_before[i] for i in idx], options)[0]
    if not full:
        note += (f"; the unchanged network swept for the {idx.size} failures that could be "
                 "worse")
    impacts = [_impact(failures[i], i, ob, oa, broken_b, broken_a, ca,
                       base_before.net.service_ids, offered) for i in idx.tolist()]
    worse = sorted((x for x in impacts if x.worse), key=_harm, reverse=True)
    worst = max(impacts, key=_harm) if impacts else None
    svc_delay = {sid: float(delay_a[:, i].max()) if len(failures) else 0.0
                 for i, sid in enumerate(ca.service_ids)}
    isolating = _isolation(ca, base_after.arc_up, sets_after, [f.label for f in failures],
                           watch_nodes) if watch_nodes else {}
    return SurvivalReport(mode, len(failures), tuple(worse), worst,
                          float(ob.max_utilisation.max(initial=0.0)) if full else None,
                          float(oa.max_utilisation.max(initial=0.0)), svc_delay, isolating,
                          note)


def _sweep_changed(base: Baseline, sets: list[np.ndarray], prune: bool
                   ) -> tuple[SetOutcome, int]:
    """The changed network's outcome of every failure set; with ``prune``, the sets that
    cannot overload, cut anything off or be the worst (``validate.bounds``) are left out
    (max utilisation -inf, nothing lost): returns how many."""
    if not prune or not np.array_equal(base.arc_up[0::2], base.arc_up[1::2]):
        return evaluate_failure_sets(base, sets), 0
    bound = utilisation_bounds(base, sets)
    maybe = (bound <= OVERLOAD) & ends_still_joined(base, sets)
    k, m = len(sets), base.net.n_arcs
    out = SetOutcome(np.full(k, -np.inf), np.full(k, -1, np.int64), np.zeros(k),
                     np.zeros(k, np.int64), base.load_bps / base.net.arc_capacity_bps,
                     np.full(m, -1, np.int64))
    worst = -np.inf

    def sweep(idx: np.ndarray) -> None:
        nonlocal worst
        o = evaluate_failure_sets(base, [sets[i] for i in idx])
        out.max_utilisation[idx], out.max_utilisation_arc[idx] = (o.max_utilisation,
                                                                  o.max_utilisation_arc)
        out.lost_bps[idx], out.overloaded_arcs[idx] = o.lost_bps, o.overloaded_arcs
        worst = max(worst, float(o.max_utilisation.max()))
        better = o.arc_worst_utilisation > out.arc_worst_utilisation
        out.arc_worst_utilisation[better] = o.arc_worst_utilisation[better]
        out.arc_worst_set[better] = idx[o.arc_worst_set[better]]

    if (~maybe).any():
        sweep(np.flatnonzero(~maybe))
    # then the others, highest bound first, until the bound falls below the worst found
    rest = np.flatnonzero(maybe)
    rest = rest[np.argsort(-bound[rest], kind="stable")]
    step = max(16, rest.size // 20)
    for start in range(0, rest.size, step):
        chunk = rest[start:start + step]
        chunk = chunk[bound[chunk] >= worst]
        if not chunk.size:
            break
        sweep(chunk)
    return out, int(k - np.isfinite(out.max_utilisation).sum())


def _harm(x: FailureImpact) -> tuple[float, int, float]:
    return (x.lost_bps_after, len(x.services_broken_after), x.max_utilisation_after)


def _impact(f: Failure, i: int, ob: SetOutcome, oa: SetOutcome, broken_b: np.ndarray,
            broken_a: np.ndarray, ca: CompiledNetwork, services_before: tuple[str, ...],
            offered: float) -> FailureImpact:
    sb = tuple(services_before[s] for s in np.flatnonzero(broken_b[i]))
    sa = tuple(ca.service_ids[s] for s in np.flatnonzero(broken_a[i]))
    worse = []
    if oa.lost_bps[i] > ob.lost_bps[i] + LOST_TOLERANCE * offered:
        worse.append(f"unroutable traffic {ob.lost_bps[i] / 1e9:.3g} -> "
                     f"{oa.lost_bps[i] / 1e9:.3g} Gbit/s")
    if oa.max_utilisation[i] > OVERLOAD >= ob.max_utilisation[i]:
        worse.append(f"overload: max utilisation {100 * ob.max_utilisation[i]:.0f} % -> "
                     f"{100 * oa.max_utilisation[i]:.0f} %")
    new = sorted(set(sa) - set(sb))
    if new:
        worse.append(f"SLA broken for {', '.join(new)}")
    arc = int(oa.max_utilisation_arc[i])
    return FailureImpact(f.label, float(ob.max_utilisation[i]), float(oa.max_utilisation[i]),
                         ca.arc_label(arc) if arc >= 0 else "-", float(ob.lost_bps[i]),
                         float(oa.lost_bps[i]), sb, sa, tuple(worse))
