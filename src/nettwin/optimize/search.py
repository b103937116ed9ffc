"""Local search over integer IGP metrics (Fortz–Thorup style), seeded and deterministic.

Each step looks at the hottest arc u->v (in the worst failure with ``--survive``) and
proposes the metric values at which routing actually changes: raising u->v until it ties
with, or loses to, u's best alternative toward each destination it carries traffic for, and
lowering u's other arcs until they tie or win. All candidates are evaluated exactly and
incrementally (:mod:`nettwin.optimize.moves`); the best improving one is applied. When none
improves, a random candidate is taken (a kick) and, after a while, the search restarts from
the best setting found with a few random kicks.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nettwin.engine import CompiledNetwork
from nettwin.engine.shortest_paths import UNREACHABLE
from nettwin.optimize.moves import Move, RoutingTable
from nettwin.optimize.objective import Objective, Score, Scorer, Survive, better, utilisation

Progress = Callable[[float, float], None]  # (fraction of the budget used, best primary)

KICK_EVERY = 6  # steps without improvement between kicks
RESTART_AFTER = 30  # steps without a new best before going back to it
RESET_EVERY = 400  # commits between full re-routings (rounding of the incremental loads)
SCREEN = 6  # robust search: candidates per step given a full failure sweep


class Stop(enum.Enum):
    TIME_LIMIT = "time-limit"
    ITERATIONS = "iterations"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class SearchLimits:
    max_metric: int
    symmetric: bool
    max_changes: int | None
    time_limit_s: float
    iterations: int | None
    seed: int
    candidates: int = 48


@dataclass(frozen=True, eq=False)
class SearchOutcome:
    metric: np.ndarray
    key: tuple[float, float]
    score: Score
    evaluations: int
    screened: int  # candidates evaluated under the worst failure only (robust search)
    iterations: int
    stop: Stop


def changed_links(metric: np.ndarray, initial: np.ndarray) -> np.ndarray:
    diff = (metric != initial).reshape(-1, 2).any(axis=1)
    return np.flatnonzero(diff)


def _pivot_values(net: CompiledNetwork, dist: np.ndarray, metric: np.ndarray,
                  arc_up: np.ndarray, hot: int, on: np.ndarray,
                  proposals: dict[int, set[int]]) -> None:
    """At node u = tail of ``hot``, for the destinations ``on`` whose DAG uses ``hot``: the
    values of ``hot`` at which it ties with or loses to u's alternatives, and the values of
    the alternatives at which they tie or win."""
    u, v = int(net.arc_src[hot]), int(net.arc_dst[hot])
    dv, du = dist[on, v], dist[on, u]
    raise_hot = proposals.setdefault(hot, set())
    raise_hot.add(int(metric[hot]) + 1)
    for q in range(net.out_ptr[u], net.out_ptr[u + 1]):
        b = int(net.out_arc[q])
        if b == hot or not arc_up[b]:
            continue
        dy = dist[on, int(net.arc_dst[b])]
        ok = dy != UNREACHABLE
        if not ok.any():
            continue
        tie = dy[ok] + metric[b] - dv[ok]
        raise_hot.update(tie.tolist())
        raise_hot.update((tie + 1).tolist())
        lower = du[ok] - dy[ok]
        alt = proposals.setdefault(b, set())
        alt.update(lower.tolist())
        alt.update((lower - 1).tolist())


def propose_moves(net: CompiledNetwork, dist: np.ndarray, metric: np.ndarray,
                  arc_up: np.ndarray, hot: int, limits: SearchLimits,
                  rng: np.random.Generator, allowed_links: np.ndarray | None) -> list[Move]:
    """Metric changes around the hot arc at which routing changes (see module docstring):
    at its tail and, one hop upstream, at the tails of the DAG arcs that feed it."""
    u, v = int(net.arc_src[hot]), int(net.arc_dst[hot])
    w = int(metric[hot])
    dv, du = dist[:, v], dist[:, u]
    on = (dv != UNREACHABLE) & (du != UNREACHABLE) & (dv + w == du)
    proposals: dict[int, set[int]] = {}
    _pivot_values(net, dist, metric, arc_up, hot, on, proposals)
    raises = {hot}
    for q in range(net.in_ptr[u], net.in_ptr[u + 1]):
        a = int(net.in_arc[q])
        x = int(net.arc_src[a])
        if not arc_up[a] or x == v:
            continue
        dx = dist[:, x]
        feeds = on & (dx != UNREACHABLE) & (du + metric[a] == dx)
        if feeds.any():
            raises.add(a)
            _pivot_values(net, dist, metric, arc_up, a, feeds, proposals)
    proposals[hot].add(int(rng.integers(w + 1, max(w + 2, limits.max_metric + 1))))
    moves: list[Move] = []
    for arc, values in proposals.items():
        link = arc // 2
        if allowed_links is not None and link not in allowed_links:
            continue
        cur = int(metric[arc])
        up = arc in raises
        vals = sorted(x for x in values if 1 <= x <= limits.max_metric and x != cur
                      and (x > cur) == up)
        if len(vals) > 8:  # the nearest values (ties first), then a seeded sample of the rest
            near, rest = (vals[:6], vals[6:]) if up else (vals[-6:], vals[:-6])
            vals = near + sorted(rng.choice(np.array(rest), size=2, replace=False).tolist())
        for x in vals:
            if limits.symmetric:
                moves.append(Move((arc, arc ^ 1), (x, x)))
            else:
                moves.append(Move((arc,), (x,)))
    return moves


def random_moves(net: CompiledNetwork, metric: np.ndarray, arc_up: np.ndarray,
                 limits: SearchLimits, rng: np.random.Generator,
                 allowed_links: np.ndarray | None, count: int) -> list[Move]:
    """Random metric values on random up arcs (diversification when nothing else helps)."""
    arcs = np.flatnonzero(arc_up)
    if allowed_links is not None:
        arcs = arcs[np.isin(arcs // 2, allowed_links)]
    moves = []
    for arc in rng.choice(arcs, size=min(count, arcs.size), replace=False).tolist():
        x = int(rng.integers(1, limits.max_metric + 1))
        if x == metric[arc]:
            continue
        moves.append(Move((arc, arc ^ 1), (x, x)) if limits.symmetric else Move((arc,), (x,)))
    return moves


def _metrics_of(metric: np.ndarray, moves: list[Move]) -> list[np.ndarray]:
    out = []
    for mv in moves:
        m = metric.copy()
        m[list(mv.arcs)] = mv.metrics
        out.append(m)
    return out


def _allowed(metric: np.ndarray, initial: np.ndarray, limits: SearchLimits) -> np.ndarray | None:
    if limits.max_changes is None:
        return None
    changed = changed_links(metric, initial)
    return changed if changed.size >= limits.max_changes else None


def search(table: RoutingTable, scorer: Scorer, limits: SearchLimits,
           progress: Progress | None = None) -> SearchOutcome:
    """Improve ``table``'s metrics within the limits; returns the best setting found."""
    net, arc_up = table.net, table.arc_up
    rng = np.random.default_rng(limits.seed)
    initial = table.metric.copy()
    t0 = time.perf_counter()
    score = scorer.score(table.load[None, :], [table.metric])
    # MLU: steps are accepted on the soft maximum (smooth, like Fortz-Thorup's cost), the
    # best setting is kept on (MLU, soft maximum)
    smooth = scorer.objective is Objective.MLU and scorer.survive is Survive.NONE
    cur = _key(score, 0, smooth)
    best, best_metric, best_score = _key(score, 0, False), table.metric.copy(), score
    worst_arc = int(score.worst_arc[0])
    worst_link = int(score.worst_failure[0])
    stall = since_best = commits = iterations = 0
    failed: tuple[int, RoutingTable] | None = None
    screened = restarts = 0
    stop = Stop.TIME_LIMIT
    try:
        while True:
            elapsed = time.perf_counter() - t0
            if limits.iterations is not None:
                if iterations >= limits.iterations:
                    stop = Stop.ITERATIONS
                    break
                if progress:
                    progress(iterations / limits.iterations, best[0])
            else:
                if elapsed >= limits.time_limit_s:
                    break
                if progress:
                    progress(elapsed / limits.time_limit_s, best[0])
            iterations += 1
            allowed = _allowed(table.metric, initial, limits)
            if scorer.survive is Survive.N1:
                # the worst failure's routing, kept incrementally like the intact one
                if failed is None or failed[0] != worst_link or not np.array_equal(
                        failed[1].metric, table.metric):
                    down = arc_up.copy()
                    if worst_link >= 0:
                        down[[2 * worst_link, 2 * worst_link + 1]] = False
                    failed = (worst_link, RoutingTable(net, table.metric, down, table.rate))
                ftable = failed[1]
                dist, util = ftable.dist, utilisation(net, ftable.arc_up, ftable.load)
                hot = worst_arc if stall == 0 and worst_arc >= 0 else -1
            else:
                dist, util = table.dist, utilisation(net, arc_up, table.load)
                hot = -1
            if hot < 0:
                top = np.argsort(-util)[:1 if stall == 0 else 5]
                top = top[util[top] > 0] if (util[top] > 0).any() else top
                hot = int(top[0] if stall == 0 else rng.choice(top))
            moves = propose_moves(net, dist, table.metric, arc_up, hot, limits, rng, allowed)
            if len(moves) > limits.candidates:
                keep = rng.choice(len(moves), size=limits.candidates, replace=False)
                moves = [moves[i] for i in sorted(keep.tolist())]
            if stall and stall % 3 == 0:
                moves += random_moves(net, table.metric, arc_up, limits, rng, allowed, 4)
            if not moves:
                stall += 1
                continue
            if failed is not None:
                screened += len(moves)
                moves = _screen(failed[1], moves, cur[0], rng)
            loads = table.evaluate(moves)
            sc = scorer.score(loads, _metrics_of(table.metric, moves))
            i = int(np.lexsort((sc.primary, sc.secondary) if smooth
                               else (sc.secondary, sc.primary))[0])
            pick = i if better(_key(sc, i, smooth), cur) else -1
            if pick < 0:
                stall += 1
                since_best += 1
                if since_best >= RESTART_AFTER:
                    # back to the best setting, shaken by a few random changes (more each
                    # time), so that the search does not fall into the same basin again
                    restarts += 1
                    table.set_metrics(best_metric)
                    for _ in range(1 + restarts % 4):  # one at a time: --changes holds
                        allowed = _allowed(table.metric, initial, limits)
                        for mv in random_moves(net, table.metric, arc_up, limits, rng, allowed,
                                               1):
                            table.commit(mv)
                    sc = scorer.score(table.load[None, :], [table.metric])
                    cur, since_best, stall = _key(sc, 0, smooth), 0, 1
                    worst_arc = int(sc.worst_arc[0])
                    worst_link = int(sc.worst_failure[0])
                    continue
                if stall % KICK_EVERY != 0:
                    continue
                pick = int(rng.integers(len(moves)))
            else:
                stall = 0
            table.commit(moves[pick])
            if failed is not None:
                failed[1].commit(moves[pick])
            commits += 1
            if commits % RESET_EVERY == 0:
                table.reset()
            cur = _key(sc, pick, smooth)
            worst_arc = int(sc.worst_arc[pick])
            worst_link = int(sc.worst_failure[pick])
            if better(_key(sc, pick, False), best):
                best, best_metric, since_best = _key(sc, pick, False), table.metric.copy(), 0
                best_score = _row(sc, pick)
    except KeyboardInterrupt:
        stop = Stop.INTERRUPTED
    table.set_metrics(best_metric)
    return SearchOutcome(best_metric, best, best_score, table.evaluations, screened,
                         iterations, stop)


def _key(sc: Score, i: int, smooth: bool) -> tuple[float, float]:
    if smooth:
        return float(sc.secondary[i]), float(sc.primary[i])
    return float(sc.primary[i]), float(sc.secondary[i])


def _screen(ftable: RoutingTable, moves: list[Move], worst: float,
            rng: np.random.Generator) -> list[Move]:
    """Robust search: a full failure sweep only for the few candidates that relieve the
    current worst failure (its MLU bounds the candidate's worst case from below)."""
    util = utilisation(ftable.net, ftable.arc_up, ftable.evaluate(moves)).max(axis=1)
    order = np.argsort(util, kind="stable")
    keep = [int(i) for i in order[:SCREEN] if util[i] <= worst * (1 + 1e-9)]
    if not keep:  # nothing relieves it: one random candidate, for a kick
        keep = [int(rng.integers(len(moves)))]
    return [moves[i] for i in sorted(keep)]


def _row(sc: Score, i: int) -> Score:
    return Score(*(np.asarray(getattr(sc, f.name))[i:i + 1]
                   for f in dataclasses.fields(Score)))


def prune_changes(table: RoutingTable, scorer: Scorer, initial: np.ndarray,
                  key: tuple[float, float]) -> tuple[float, float]:
    """Put back the original metrics of every changed link the result does not need."""
    for link in changed_links(table.metric, initial).tolist():
        arcs = (2 * link, 2 * link + 1)
        move = Move(arcs, (int(initial[arcs[0]]), int(initial[arcs[1]])))
        loads = table.evaluate([move])
        sc = scorer.score(loads, _metrics_of(table.metric, [move]))
        new = (float(sc.primary[0]), float(sc.secondary[0]))
        if not better(key, new) and new[0] <= key[0]:
            table.commit(move)
            key = new
    return key


@dataclass(frozen=True)
class Step:
    """One link's new metrics, in apply order, and the network after it."""

    link: int
    metric_ab: int
    metric_ba: int
    mlu: float
    worst_mlu: float
    primary: float


def order_changes(table: RoutingTable, scorer: Scorer, target: np.ndarray) -> list[Step]:
    """Apply order of the changed links from ``table``'s metrics to ``target``: greedily the
    change that leaves the network best off next (the MLU after each step is exact)."""
    steps: list[Step] = []
    todo = changed_links(target, table.metric).tolist()
    while todo:
        moves = [Move((2 * k, 2 * k + 1), (int(target[2 * k]), int(target[2 * k + 1])))
                 for k in todo]
        loads = table.evaluate(moves)
        sc = scorer.score(loads, _metrics_of(table.metric, moves))
        i = int(np.lexsort((sc.secondary, sc.primary))[0])
        table.commit(moves[i])
        k = todo.pop(i)
        steps.append(Step(k, int(target[2 * k]), int(target[2 * k + 1]), float(sc.mlu[i]),
                          float(sc.worst_mlu[i]), float(sc.primary[i])))
    return steps
