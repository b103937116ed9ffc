"""Run a scenario against its baseline and say what changed, in one line and in detail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationOptions, SimulationResult, simulate
from nettwin.model import Network
from nettwin.scenarios.apply import AppliedScenario, apply_scenario
from nettwin.scenarios.changes import Scenario


@dataclass(frozen=True)
class ArcChange:
    arc: str  # 'LINK (A->B)'
    utilisation_before: float | None  # None: the arc did not exist
    utilisation_after: float | None


@dataclass(frozen=True)
class ServiceChange:
    service: str
    worst_delay_before_s: float
    worst_delay_after_s: float
    violated_before: bool
    violated_after: bool


@dataclass(frozen=True, eq=False)
class ScenarioDiff:
    """Scenario versus baseline, matched by link and demand ids."""

    arcs_changed: tuple[ArcChange, ...]
    demands_rerouted: Sequence[str]  # a tuple, or ids made on reading (api.whatif)
    demands_lost: tuple[str, ...]
    demands_restored: tuple[str, ...]
    lost_bps: float
    services: tuple[ServiceChange, ...]
    max_utilisation_before: float
    max_utilisation_after: float
    max_utilisation_arc: str

    @property
    def services_newly_violated(self) -> tuple[str, ...]:
        return tuple(s.service for s in self.services
                     if s.violated_after and not s.violated_before)

    def verdict(self) -> str:
        """One line an operator can act on."""
        bad = []
        if self.demands_lost:
            bad.append(f"{len(self.demands_lost)} demands unroutable "
                       f"({self.lost_bps / 1e9:.3g} Gbit/s)")
        if self.services_newly_violated:
            bad.append(f"SLA broken for {', '.join(self.services_newly_violated)}")
        if self.max_utilisation_after > 1.0:
            bad.append(f"overload {100 * self.max_utilisation_after:.0f} % on "
                       f"{self.max_utilisation_arc}")
        tail = (f"max utilisation {100 * self.max_utilisation_before:.0f} % -> "
                f"{100 * self.max_utilisation_after:.0f} %, "
                f"{len(self.demands_rerouted)} demands rerouted")
        return ("FAIL: " + "; ".join(bad) + f" ({tail})") if bad else f"OK: {tail}"


@dataclass(frozen=True, eq=False)
class WhatIfResult:
    scenario: Scenario
    applied: AppliedScenario
    baseline: SimulationResult
    result: SimulationResult
    diff: ScenarioDiff


def _arc_keys(net: CompiledNetwork) -> list[str]:
    return [net.arc_label(a) for a in range(net.n_arcs)]


def compare(base_net: Network, base_c: CompiledNetwork, base: SimulationResult,
            new_net: Network, new_c: CompiledNetwork, new: SimulationResult,
            *, utilisation_step: float = 0.01) -> ScenarioDiff:
    """Everything that differs between two results, matched by ids (never by position)."""
    before = dict(zip(_arc_keys(base_c), np.where(base.arc_up, base.arc_utilisation, 0.0),
                      strict=True))
    after = dict(zip(_arc_keys(new_c), np.where(new.arc_up, new.arc_utilisation, 0.0),
                     strict=True))
    changes = []
    for key in dict.fromkeys([*before, *after]):
        b, a = before.get(key), after.get(key)
        if b is None or a is None or abs(a - b) >= utilisation_step:
            changes.append(ArcChange(key, None if b is None else float(b),
                                     None if a is None else float(a)))
    changes.sort(key=lambda c: -abs((c.utilisation_after or 0) - (c.utilisation_before or 0)))

    if base_net.demands is new_net.demands:  # same matrix: compare position by position
        old_idx = np.arange(len(base_net.demands))
        new_idx = old_idx
    else:
        old_pos = {d: i for i, d in enumerate(base_net.demand_ids)}
        pairs = [(old_pos[d], j) for j, d in enumerate(new_net.demand_ids) if d in old_pos]
        old_idx = np.array([i for i, _ in pairs], np.int64)
        new_idx = np.array([j for _, j in pairs], np.int64)
    was = base.demand_routed[old_idx]
    now = new.demand_routed[new_idx]
    moved = ~np.isclose(base.demand_path_signature[old_idx],
                        new.demand_path_signature[new_idx], rtol=0, atol=1e-12)
    ids = new_net.demand_ids
    lost_at = new_idx[was & ~now]
    lost = [ids[j] for j in lost_at.tolist()]
    restored = [ids[j] for j in new_idx[now & ~was].tolist()]
    rerouted = [ids[j] for j in new_idx[was & now & moved].tolist()]
    lost_bps = float(new.demand_rate_bps[lost_at].sum())
    services = []
    old_svc = {sid: i for i, sid in enumerate(base.services.ids)}
    for j, sid in enumerate(new.services.ids):
        i = old_svc.get(sid)
        if i is None:
            continue
        services.append(ServiceChange(
            sid, float(base.services.worst_delay_s[i]), float(new.services.worst_delay_s[j]),
            bool(base.services.violated[i]), bool(new.services.violated[j])))
    util_after = np.where(new.arc_up, new.arc_utilisation, -1.0)
    top = int(np.argmax(util_after)) if util_after.size else 0
    return ScenarioDiff(
        tuple(changes), tuple(rerouted), tuple(lost), tuple(restored), lost_bps,
        tuple(services),
        float(np.where(base.arc_up, base.arc_utilisation, 0.0).max(initial=0.0)),
        float(max(util_after.max(initial=0.0), 0.0)),
        new_c.arc_label(top) if util_after.size else "-")


def run_whatif(network: Network, scenario: Scenario, options: SimulationOptions | None = None,
               *, compiled: CompiledNetwork | None = None,
               baseline: SimulationResult | None = None) -> WhatIfResult:
    """Simulate the baseline (unless given) and the scenario, and compare them. Without
    ``options``, a given ``baseline``'s are used: the two runs compared are queued alike."""
    from nettwin.engine import compile_network

    compiled = compiled or compile_network(network)
    if options is None and baseline is not None:
        options = baseline.options
    baseline = baseline or simulate(compiled, options)
    applied = apply_scenario(network, compiled, scenario)
    result = simulate(applied.compiled, options, arc_up=applied.arc_up,
                      demand_rate_bps=applied.demand_rate_bps)
    diff = compare(network, compiled, baseline, applied.network, applied.compiled, result)
    return WhatIfResult(scenario, applied, baseline, result, diff)


def diff_document(diff: ScenarioDiff, limit: int = 50) -> dict[str, Any]:
    """JSON-ready form of a diff (lists cut to ``limit`` entries, counts kept whole)."""
    return {
        "verdict": diff.verdict(),
        "max_utilisation_before": diff.max_utilisation_before,
        "max_utilisation_after": diff.max_utilisation_after,
        "max_utilisation_arc": diff.max_utilisation_arc,
        "lost_bps": diff.lost_bps,
        "arcs_changed": len(diff.arcs_changed),
        "arc_changes": [vars(c) for c in diff.arcs_changed[:limit]],
        "demands_rerouted": len(diff.demands_rerouted),
        "demands_lost": list(diff.demands_lost[:limit]),
        "demands_lost_count": len(diff.demands_lost),
        "demands_restored": list(diff.demands_restored[:limit]),
        "services": [vars(s) for s in diff.services],
        "services_newly_violated": list(diff.services_newly_violated),
    }
