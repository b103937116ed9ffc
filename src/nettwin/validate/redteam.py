"""Red team: an adversarial search for the failure and traffic surge, within a budget, that
hurts a network most — run on the changed network and on the unchanged one.

An attack fails up to ``max_failures`` links and multiplies the traffic of one source node
by ``max_surge``. Harm = max link utilisation + 10 x the fraction of traffic left without a
route (losing 10 % of the traffic weighs like +100 % utilisation). For fixed failures, loads
grow linearly with a source's traffic, so harm never falls as the surge grows: the adversary
always spends the whole surge budget, and the search runs over failures and sources. When the
budget of evaluations covers every attack, all are evaluated (the answer is then exact);
otherwise random attacks, then hill climbing from the best (one element changed at a time),
all from ``seed``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from nettwin.engine import CompiledNetwork
from nettwin.engine.shortest_paths import UNREACHABLE
from nettwin.engine.simulate import route

LOSS_WEIGHT = 10.0


@dataclass(frozen=True)
class Budget:
    max_failures: int = 2
    max_surge: float = 2.0  # factor on one source's traffic


@dataclass(frozen=True, order=True)
class Attack:
    failed_links: tuple[int, ...]  # link positions, sorted
    source: int  # node position, -1: no surge

    def label(self, c: CompiledNetwork, budget: Budget) -> str:
        parts = [f"fail {c.link_ids[i]}" for i in self.failed_links]
        if self.source >= 0:
            parts.append(f"surge x{budget.max_surge:g} from {c.node_ids[self.source]}")
        return " + ".join(parts) or "no attack"


@dataclass(frozen=True)
class AttackOutcome:
    attack: str
    failed_links: tuple[str, ...]
    surge_source: str | None
    surge_factor: float
    harm: float
    max_utilisation: float
    max_utilisation_arc: str
    unroutable_fraction: float


@dataclass(frozen=True)
class RedTeamReport:
    evaluations: int
    exhaustive: bool
    seed: int
    budget: Budget
    worst: AttackOutcome  # on the network searched


class _Evaluator:
    def __init__(self, c: CompiledNetwork, up: np.ndarray, rate: np.ndarray,
                 budget: Budget) -> None:
        self.c, self.up, self.rate, self.budget = c, up, rate, budget
        self.offered = max(float(rate.sum()), 1e-300)
        self.cache: dict[Attack, tuple[float, float, int, float]] = {}
        dest_of = np.full(c.n_nodes, -1, np.int64)
        dest_of[c.destinations] = np.arange(c.destinations.size)
        self.dest_row = dest_of[c.demand_dst]

    def __call__(self, attack: Attack) -> float:
        if attack not in self.cache:
            self.cache[attack] = self._run(attack)
        return self.cache[attack][0]

    def _run(self, attack: Attack) -> tuple[float, float, int, float]:
        c = self.c
        ok = self.up.copy()
        for i in attack.failed_links:
            ok[2 * i] = ok[2 * i + 1] = False
        rate = self.rate
        if attack.source >= 0:
            rate = rate.copy()
            rate[c.demand_src == attack.source] *= self.budget.max_surge
        state = route(c, ok, rate)
        util = np.where(ok, state.load_bps / c.arc_capacity_bps, 0.0)
        top = int(np.argmax(util)) if util.size else -1
        cut = (state.dist[self.dest_row, c.demand_src] == UNREACHABLE) & (
            c.demand_src != c.demand_dst)
        lost = float(rate[cut].sum()) / max(float(rate.sum()), 1e-300)
        peak = float(util[top]) if top >= 0 else 0.0
        return peak + LOSS_WEIGHT * lost, peak, top, lost

    def outcome(self, attack: Attack) -> AttackOutcome:
        self(attack)
        harm, peak, top, lost = self.cache[attack]
        c = self.c
        return AttackOutcome(
            attack.label(c, self.budget), tuple(c.link_ids[i] for i in attack.failed_links),
            c.node_ids[attack.source] if attack.source >= 0 else None,
            self.budget.max_surge if attack.source >= 0 else 1.0, harm, peak,
            c.arc_label(top) if top >= 0 else "-", lost)


def _space(links: np.ndarray, sources: np.ndarray, k: int) -> int:
    from math import comb

    return sum(comb(links.size, j) for j in range(k + 1)) * (sources.size + 1)


def search_worst(c: CompiledNetwork, up: np.ndarray, rate: np.ndarray, evaluations: int,
                 seed: int, budget: Budget | None = None) -> RedTeamReport:
    """The most harmful attack found in ``evaluations`` evaluations."""
    budget = budget or Budget()
    ev = _Evaluator(c, np.asarray(up, bool), np.asarray(rate, np.float64), budget)
    links = np.flatnonzero(up[0::2] & up[1::2])
    sources = np.unique(c.demand_src[rate > 0]).astype(np.int64)
    k = min(budget.max_failures, links.size)
    surge = budget.max_surge > 1.0
    if not surge:
        sources = sources[:0]
    if _space(links, sources, k) <= max(evaluations, 1):
        attacks = [Attack(tuple(int(x) for x in combo), int(s))
                   for j in range(k + 1) for combo in itertools.combinations(links.tolist(), j)
                   for s in [-1, *sources.tolist()]]
        best = max(attacks, key=lambda a: (ev(a), [-x for x in a.failed_links], -a.source))
        return RedTeamReport(len(attacks), True, seed, budget, ev.outcome(best))
    rng = np.random.default_rng(seed)

    def random_attack() -> Attack:
        j = int(rng.integers(0, k + 1)) if k else 0
        failed = tuple(sorted(int(x) for x in rng.choice(links, size=j, replace=False)))
        s = int(rng.choice(sources)) if sources.size and rng.random() < 0.9 else -1
        return Attack(failed, s)

    def mutate(a: Attack) -> Attack:
        failed = list(a.failed_links)
        move = rng.integers(0, 3)
        if move == 0 and sources.size:
            return Attack(a.failed_links, int(rng.choice(sources)))
        if move == 1 and failed:
            failed.pop(int(rng.integers(len(failed))))
        if len(failed) < k:
            spare = np.setdiff1d(links, failed)
            if spare.size:
                failed.append(int(rng.choice(spare)))
        return Attack(tuple(sorted(set(failed))), a.source)

    explore = max(1, evaluations // 2)
    best = Attack((), -1)
    ev(best)
    used, stale, tries = 1, 0, 0
    space = _space(links, sources, k)
    while used < evaluations and len(ev.cache) < space and tries < 50 * evaluations:
        tries += 1
        a = random_attack() if used < explore or stale > 20 else mutate(best)
        fresh = a not in ev.cache
        if ev(a) > ev(best):
            best = a
        if fresh:
            used, stale = used + 1, 0
        else:
            stale += 1
    return RedTeamReport(len(ev.cache), False, seed, budget, ev.outcome(best))


def evaluate_attack(c: CompiledNetwork, up: np.ndarray, rate: np.ndarray,
                    failed_links: tuple[str, ...], source: str | None,
                    budget: Budget) -> AttackOutcome | None:
    """The same attack on another network (by ids); None when it lacks an element."""
    pos = {lid: i for i, lid in enumerate(c.link_ids)}
    if any(lid not in pos for lid in failed_links) or (
            source is not None and source not in c.node_ids):
        return None
    attack = Attack(tuple(sorted(pos[lid] for lid in failed_links)),
                    c.node_ids.index(source) if source is not None else -1)
    return _Evaluator(c, np.asarray(up, bool), np.asarray(rate, np.float64), budget
                      ).outcome(attack)
