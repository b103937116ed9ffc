"""The verdict on a change: forwarding checks, performance now and under failures,
guardrails and a red team, reduced to SAFE / RISKY / UNSAFE with the reasons.

``validate_change`` is pure (nothing is written into the network) and returns a frozen
``Verdict``; ``Verdict.document()`` is the JSON form (``out.json`` of ``nettwin validate``)
that a REST route can return as it is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nettwin.engine import (
    CompiledNetwork,
    SimulationOptions,
    SimulationResult,
    compile_network,
    simulate,
)
from nettwin.engine.incremental import prepare_baseline
from nettwin.engine.simulate import queue_arcs
from nettwin.engine.threads import parallel_region
from nettwin.errors import ValidationError
from nettwin.model import Network
from nettwin.model.problems import Problem
from nettwin.scenarios.apply import AppliedScenario, apply_scenario
from nettwin.scenarios.changes import SetMetric
from nettwin.validate.addressing import AddressPlan, plan_addresses
from nettwin.validate.changeset import (
    OSPF_MAX_COST,
    OSPF_MIN_COST,
    ChangeSet,
    SetLinkAdmin,
    StaticRoute,
    apply_static_changes,
)
from nettwin.validate.checks import ForwardingReport, check_forwarding
from nettwin.validate.forwarding import (
    ForwardingState,
    build_forwarding,
    make_probes,
)
from nettwin.validate.guardrails import (
    GuardrailResult,
    NeverIsolate,
    Rule,
    check_references,
    check_rule,
)
from nettwin.validate.performance import (
    OVERLOAD,
    StateFigures,
    SurvivalReport,
    Survive,
    evaluate_survival,
    summarise,
)
from nettwin.validate.redteam import (
    AttackOutcome,
    Budget,
    RedTeamReport,
    evaluate_attack,
    search_worst,
)
from nettwin.validate.steering import Steering, steer

RED_TEAM_MARGIN = 0.05  # harm (utilisation points) the change may add before it counts
SERIAL_BELOW_NODES = 200  # smaller networks run the kernels on one thread (see _threads)


class Grade(enum.Enum):
    SAFE = "SAFE"
    RISKY = "RISKY"
    UNSAFE = "UNSAFE"


@dataclass(frozen=True)
class RedTeamComparison:
    changed: RedTeamReport
    unchanged: RedTeamReport  # the same search on the unchanged network
    unchanged_same_attack: AttackOutcome | None  # the changed network's worst, unchanged


@dataclass(frozen=True)
class Verdict:
    """Everything found about one change set (frozen; ``document()`` for JSON)."""

    grade: Grade
    reasons: tuple[str, ...]
    change: str
    origins: tuple[str, ...]
    forwarding: ForwardingReport
    before: StateFigures
    after: StateFigures
    survival: SurvivalReport
    guardrails: tuple[GuardrailResult, ...]
    red_team: RedTeamComparison | None
    notes: tuple[str, ...]
    timings_s: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def passed(self) -> bool:
        return self.grade is Grade.SAFE

    @property
    def summary(self) -> str:
        head = f"{self.grade.value}: {self.change}"
        return head + (f" — {'; '.join(self.reasons[:3])}" if self.reasons else "")

    def document(self) -> dict[str, Any]:
        """The JSON form: verdict, reasons, forwarding findings, performance, guardrails,
        worst failure and red team (lists cut to 200 entries; counts kept whole)."""
        f = self.forwarding
        rt = self.red_team
        return {
            "verdict": self.grade.value,
            "summary": self.summary,
            "reasons": list(self.reasons),
            "change": self.change,
            "origins": list(self.origins),
            "reachability_lost": [dataclasses.asdict(x) for x in f.reachability_lost],
            "reachability_lost_count": f.reachability_lost_count,
            "reachability_gained": [dataclasses.asdict(x) for x in f.reachability_gained],
            "reachability_gained_count": f.reachability_gained_count,
            "loops": [dataclasses.asdict(x) for x in f.loops],
            "blackholes": [dataclasses.asdict(x) for x in f.blackholes],
            "asymmetric": [dataclasses.asdict(x) for x in f.asymmetric],
            "asymmetric_count": f.asymmetric_count,
            "inactive_static_routes": list(f.inactive_routes),
            "forwarding": {"prefixes": f.probes, "prefixes_changed": f.probes_changed,
                           "pairs_checked": f.pairs_checked,
                           "asymmetry_pairs_checked": f.asymmetry_pairs_checked},
            "performance": {"before": dataclasses.asdict(self.before),
                            "after": dataclasses.asdict(self.after)},
            "survival": {"mode": self.survival.mode.value, "failures": self.survival.failures,
                         "note": self.survival.note,
                         "max_utilisation_before": self.survival.max_utilisation_before,
                         "max_utilisation_after": self.survival.max_utilisation_after,
                         "made_worse": [dataclasses.asdict(x)
                                        for x in self.survival.made_worse[:200]],
                         "made_worse_count": len(self.survival.made_worse)},
            "worst_failure": (dataclasses.asdict(self.survival.worst_failure)
                              if self.survival.worst_failure else None),
            "guardrails": {g.rule: {"passed": g.passed, "evidence": g.evidence}
                           for g in self.guardrails},
            "red_team": None if rt is None else {
                "evaluations": rt.changed.evaluations, "exhaustive": rt.changed.exhaustive,
                "seed": rt.changed.seed,
                "budget": dataclasses.asdict(rt.changed.budget),
                "worst": dataclasses.asdict(rt.changed.worst),
                "unchanged_worst": dataclasses.asdict(rt.unchanged.worst),
                "unchanged_same_attack": (dataclasses.asdict(rt.unchanged_same_attack)
                                          if rt.unchanged_same_attack else None)},
            "notes": list(self.notes),
            "timings_s": dict(self.timings_s),
        }


def check_protocol_ranges(change: ChangeSet) -> None:
    """OSPF costs are 1-65,535: FRR silently replaces anything else, so refuse it here."""
    problems = [Problem(f"change {change.name!r}: set_metric {c.link}",
                        f"OSPF cost out of range {OSPF_MIN_COST}-{OSPF_MAX_COST}",
                        field="metric", value=c.metric,
                        fix=f"use a cost from {OSPF_MIN_COST} to {OSPF_MAX_COST} (FRR would "
                            "reject it and keep the old cost)")
                for c in change.scenario.changes
                if isinstance(c, SetMetric) and not OSPF_MIN_COST <= c.metric <= OSPF_MAX_COST]
    if problems:
        raise ValidationError(problems, f"change {change.name!r}")


def _apply(network: Network, change: ChangeSet,
           compiled: CompiledNetwork | None = None) -> AppliedScenario:
    """The scenario part through the scenario engine, then interfaces shut or brought up."""
    applied = apply_scenario(network, compiled or compile_network(network), change.scenario)
    admin = [c for c in change.config if isinstance(c, SetLinkAdmin)]
    if not admin:
        return applied
    pos = {lid: i for i, lid in enumerate(applied.network.links)}
    missing = [c.link for c in admin if c.link not in pos]
    if missing:
        raise ValidationError([Problem(f"change {change.name!r}", "no such link", value=lid,
                                       fix="use a link id of the network") for lid in missing])
    up = applied.arc_up.copy()
    links = list(applied.network.links.values())
    for c in admin:
        i = pos[c.link]
        up[2 * i] = up[2 * i + 1] = c.up and links[i].oper_up
    return dataclasses.replace(applied, arc_up=up)


def _forwarding_pair(network: Network, compiled: CompiledNetwork, applied: AppliedScenario,
                     running: tuple[StaticRoute, ...], after: tuple[StaticRoute, ...],
                     addresses: AddressPlan | None
                     ) -> tuple[ForwardingState, ForwardingState]:
    plan_b = addresses or plan_addresses(network)
    plan_a = plan_addresses(applied.network, plan_b) if addresses is None else AddressPlan(
        plan_b.owner_prefixes, plan_addresses(applied.network, plan_b).link_end_address)
    probes = make_probes(plan_b, [*running, *after])
    return (build_forwarding(compiled, compiled.arc_up, plan_b, running, probes),
            build_forwarding(applied.compiled, applied.arc_up, plan_a, after, probes))


def applied_state(network: Network, change: ChangeSet) -> AppliedScenario:
    """The network's arrays with ``change`` applied (metrics, links up or down, traffic)."""
    check_protocol_ranges(change)
    return _apply(network, change)


def predict_forwarding(network: Network, change: ChangeSet, *,
                       running_routes: tuple[StaticRoute, ...] = (),
                       addresses: AddressPlan | None = None
                       ) -> tuple[ForwardingState, ForwardingState]:
    """The twin's forwarding before and after ``change`` (what the routers should install)."""
    check_protocol_ranges(change)
    applied = _apply(network, change)
    return _forwarding_pair(network, compile_network(network), applied, running_routes,
                            apply_static_changes(running_routes, change.config), addresses)


def _threads(n_nodes: int) -> contextlib.AbstractContextManager[None]:
    """One numba thread for small networks: a validation runs hundreds of tiny kernels, and
    waking the thread pool costs more than it saves (Abilene routing: 0.07 ms on one thread,
    30 ms with two on a busy 2-core machine)."""
    return parallel_region(1) if n_nodes < SERIAL_BELOW_NODES else contextlib.nullcontext()


def validate_change(network: Network, change: ChangeSet, *,
                    running_routes: tuple[StaticRoute, ...] = (),
                    options: SimulationOptions | None = None,
                    rules: tuple[Rule, ...] = (), survive: Survive = Survive.N1,
                    red_team: int = 0, seed: int = 0, budget: Budget | None = None,
                    max_pairs: int = 20_000, addresses: AddressPlan | None = None) -> Verdict:
    """Run every check on ``change`` against ``network`` (with its traffic): forwarding
    before and after, performance, every failure of ``survive``, the guardrails ``rules``
    and, with ``red_team`` > 0 evaluations, an adversarial search from ``seed``.
    ``addresses`` replaces the twin's address plan (a lab's, for instance)."""
    with _threads(len(network.nodes)):
        return _validate_body(network, change, running_routes=running_routes,
                              options=options, rules=rules, survive=survive, red_team=red_team,
                              seed=seed, budget=budget, max_pairs=max_pairs,
                              addresses=addresses)


def _validate_body(network: Network, change: ChangeSet, *,
                    running_routes: tuple[StaticRoute, ...] = (),
                    options: SimulationOptions | None = None,
                    rules: tuple[Rule, ...] = (), survive: Survive = Survive.N1,
                    red_team: int = 0, seed: int = 0, budget: Budget | None = None,
                    max_pairs: int = 20_000, addresses: AddressPlan | None = None) -> Verdict:
    options = options or SimulationOptions()
    timings: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        timings[name] = now - t
        t = now

    check_protocol_ranges(change)
    check_references(rules, network.node_ids, tuple(network.services))
    compiled = compile_network(network)
    applied = _apply(network, change, compiled)
    after_c = applied.compiled
    routes_after = apply_static_changes(running_routes, change.config)
    lap("apply_s")

    fwd_b, fwd_a = _forwarding_pair(network, compiled, applied, running_routes, routes_after,
                                     addresses)
    forwarding = check_forwarding(fwd_b, fwd_a)
    lap("forwarding_s")

    sim_b = simulate(compiled, options)
    sim_a = simulate(after_c, options, arc_up=applied.arc_up,
                     demand_rate_bps=applied.demand_rate_bps)
    before = _steered(summarise(compiled, sim_b), compiled, options, sim_b,
                      steer(fwd_b, compiled.demand_rate_bps) if running_routes else None)
    after = _steered(summarise(after_c, sim_a), after_c, options, sim_a,
                     steer(fwd_a, applied.demand_rate_bps) if routes_after else None)
    lap("performance_s")

    watch = tuple(r.node for r in rules if isinstance(r, NeverIsolate))
    if survive is Survive.NONE:
        survival = SurvivalReport(survive, 0, (), None, 0.0, 0.0, {}, {},
                                  "no failures evaluated (--survive none)")
    else:
        survival = evaluate_survival(
            survive, network, prepare_baseline(compiled), applied.network,
            prepare_baseline(after_c, applied.arc_up, applied.demand_rate_bps), options,
            watch_nodes=watch, max_pairs=max_pairs)
    lap("survival_s")

    guard = tuple(check_rule(r, change, fwd_a, after, survival) for r in rules)
    lap("guardrails_s")

    comparison = None
    if red_team > 0:
        budget = budget or Budget()
        changed = search_worst(after_c, applied.arc_up, applied.demand_rate_bps, red_team, seed,
                               budget)
        unchanged = search_worst(compiled, compiled.arc_up, compiled.demand_rate_bps, red_team,
                                 seed, budget)
        same = evaluate_attack(compiled, compiled.arc_up, compiled.demand_rate_bps,
                               changed.worst.failed_links, changed.worst.surge_source, budget)
        comparison = RedTeamComparison(changed, unchanged, same)
        lap("red_team_s")

    notes = _notes(fwd_a.static, fwd_a.probes, routes_after)
    grade, reasons = _grade(forwarding, before, after, survival, guard, comparison)
    timings["total_s"] = sum(timings.values())
    return Verdict(grade, tuple(reasons), change.name, change.origins, forwarding, before, after,
                   survival, guard, comparison, tuple(notes), timings)


def _steered(fig: StateFigures, c: CompiledNetwork, options: SimulationOptions,
             sim: SimulationResult, st: Steering | None) -> StateFigures:
    """Figures with the loads static routes really cause (see ``steering``)."""
    if st is None or not st.destinations:
        return fig
    load = np.maximum(sim.arc_load_bps + st.load_delta_bps, 0.0)
    q, _ = queue_arcs(c, options, load)
    util = np.where(sim.arc_up, q.utilisation, -1.0)
    top = int(np.argmax(util))
    return dataclasses.replace(
        fig, max_utilisation=float(util[top]), max_utilisation_arc=c.arc_label(top),
        mean_utilisation=float(util[sim.arc_up].mean()) if sim.arc_up.any() else 0.0,
        unroutable_bps=fig.unroutable_bps + max(st.dropped_delta_bps, 0.0) + st.looping_bps,
        overloaded_arcs=int((q.overloaded & sim.arc_up).sum()))


def _notes(static: np.ndarray, probes: tuple[Any, ...],
           routes: tuple[StaticRoute, ...]) -> list[str]:
    if not routes:
        return []
    steered = sum(1 for j, p in enumerate(probes) if p.owner >= 0 and p.prefix.length == 32
                  and static[j].any())
    if not steered:
        return []
    return [f"static routes steer traffic to {steered} router(s): forwarding checks, "
            "utilisation and unroutable traffic follow them; delay, SLA, failure and red-team "
            "figures follow OSPF"]


def _grade(fwd: ForwardingReport, before: StateFigures, after: StateFigures,
           survival: SurvivalReport, guard: tuple[GuardrailResult, ...],
           red: RedTeamComparison | None) -> tuple[Grade, list[str]]:
    unsafe: list[str] = []
    risky: list[str] = []
    if fwd.new_loops:
        lp = fwd.new_loops[0]
        unsafe.append(f"{len(fwd.new_loops)} forwarding loop(s), e.g. {lp.prefix} around "
                      f"{' > '.join(lp.cycle)}")
    if fwd.reachability_lost_count:
        pf = fwd.reachability_lost[0]
        unsafe.append(f"reachability lost for {fwd.reachability_lost_count} router/prefix "
                      f"pair(s), e.g. {pf.source} -> {pf.prefix} ({pf.destination}) via "
                      f"{' > '.join(pf.path_after)}")
    if fwd.new_blackholes:
        bh = fwd.new_blackholes[0]
        unsafe.append(f"{len(fwd.new_blackholes)} new blackhole(s), e.g. {bh.prefix} dropped "
                      f"at {', '.join(bh.routers[:3])}")
    unsafe += [f"guardrail failed: {g.rule} ({g.evidence})" for g in guard if not g.passed]
    was = {s.service: s.violated for s in before.services}
    broken = [s.service for s in after.services if s.violated and not was.get(s.service)]
    if broken:
        unsafe.append(f"SLA broken after the change: {', '.join(broken)}")
    if after.max_utilisation > OVERLOAD >= before.max_utilisation:
        unsafe.append(f"overload after the change: {100 * after.max_utilisation:.0f} % on "
                      f"{after.max_utilisation_arc}")
    if after.unroutable_bps > before.unroutable_bps * (1 + 1e-9) + 1e-6:
        unsafe.append(f"unroutable traffic {before.unroutable_bps / 1e9:.3g} -> "
                      f"{after.unroutable_bps / 1e9:.3g} Gbit/s")
    if survival.made_worse:
        fi = survival.made_worse[0]
        risky.append(f"{len(survival.made_worse)} failure(s) hurt more with the change, "
                     f"worst {fi.failure}: {'; '.join(fi.worse)}")
    if fwd.asymmetric_count:
        am = fwd.asymmetric[0]
        risky.append(f"{fwd.asymmetric_count} router pair(s) now route asymmetrically, e.g. "
                     f"{' > '.join(am.path_ab)} but back {' > '.join(am.path_ba)}")
    if red is not None and red.changed.worst.harm > red.unchanged.worst.harm + RED_TEAM_MARGIN:
        risky.append(f"red team: worst attack harms more with the change "
                     f"({red.unchanged.worst.harm:.2f} -> {red.changed.worst.harm:.2f}: "
                     f"{red.changed.worst.attack})")
    if unsafe:
        return Grade.UNSAFE, unsafe + risky
    if risky:
        return Grade.RISKY, risky
    return Grade.SAFE, []
