"""Guardrails: the operator's rules a change must keep, each checked with its evidence.

YAML form (``nettwin.io.guardrails.load_guardrails`` reads the file)::

    rules:
      - max_utilisation: {limit: 0.8, under: any-failure}   # or: now (after the change)
      - max_delay: {service: voice-coast-to-coast, limit_ms: 30, under: any-failure}
      - never_isolate: Denver                                # a node id (or a list)
      - max_links_changed: 2
      - max_unroutable_bps: {limit: 0, under: now}

``under: any-failure`` means every failure of ``--survive`` (N-1 by default with a policy).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nettwin.errors import ValidationError
from nettwin.model.problems import Problem, unknown_id_fix
from nettwin.validate.changeset import ChangeSet
from nettwin.validate.forwarding import ForwardingState, reach_of, trace
from nettwin.validate.performance import StateFigures, SurvivalReport


class Under(enum.Enum):
    """When a rule must hold."""

    NOW = "now"  # the network with the change applied
    ANY_FAILURE = "any-failure"  # and under every failure of the survivability sweep


@dataclass(frozen=True)
class MaxUtilisation:
    limit: float
    under: Under = Under.ANY_FAILURE

    def __str__(self) -> str:
        return f"max_utilisation <= {100 * self.limit:g} % ({self.under.value})"


@dataclass(frozen=True)
class MaxDelay:
    service: str
    limit_ms: float
    under: Under = Under.NOW

    def __str__(self) -> str:
        return f"service {self.service} delay <= {self.limit_ms:g} ms ({self.under.value})"


@dataclass(frozen=True)
class NeverIsolate:
    node: str

    def __str__(self) -> str:
        return f"never isolate {self.node}"


@dataclass(frozen=True)
class MaxLinksChanged:
    count: int

    def __str__(self) -> str:
        return f"at most {self.count} links changed"


@dataclass(frozen=True)
class MaxUnroutable:
    limit_bps: float
    under: Under = Under.NOW

    def __str__(self) -> str:
        return f"unroutable traffic <= {self.limit_bps:g} bit/s ({self.under.value})"


Rule = MaxUtilisation | MaxDelay | NeverIsolate | MaxLinksChanged | MaxUnroutable

RULE_KINDS = ("max_utilisation", "max_delay", "never_isolate", "max_links_changed",
              "max_unroutable_bps")


@dataclass(frozen=True)
class GuardrailResult:
    rule: str
    passed: bool
    evidence: str


def _number(body: Any, key: str, label: str, problems: list[Problem], *,
            minimum: float = 0.0) -> float | None:
    raw = body.get(key) if isinstance(body, Mapping) else body
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        problems.append(Problem(label, "expected a number", field=key, value=raw,
                                fix=f"give {key} as a number"))
        return None
    if value < minimum:
        problems.append(Problem(label, f"must be at least {minimum:g}", field=key, value=raw,
                                fix=f"give a {key} >= {minimum:g}"))
        return None
    return value


def _under(body: Any, label: str, default: Under, problems: list[Problem]) -> Under:
    raw = body.get("under", default.value) if isinstance(body, Mapping) else default.value
    try:
        return Under(str(raw))
    except ValueError:
        problems.append(Problem(label, "unknown condition", field="under", value=raw,
                                fix="under: now | any-failure"))
        return default


def parse_guardrails(doc: Any, source: str = "guardrails") -> tuple[Rule, ...]:
    """Rules from their YAML/JSON document; every bad rule is reported at once."""
    if isinstance(doc, Mapping):
        doc = doc.get("rules")
    if not isinstance(doc, list):
        raise ValidationError([Problem(source, "a guardrails file is a 'rules:' list",
                                       fix=f"one rule per item, of: {', '.join(RULE_KINDS)}")],
                              source)
    problems: list[Problem] = []
    rules: list[Rule] = []
    for i, raw in enumerate(doc):
        label = f"{source} rule #{i + 1}"
        if not isinstance(raw, Mapping) or len(raw) != 1:
            problems.append(Problem(label, "each rule is a mapping with one key", value=raw,
                                    fix=f"use one of: {', '.join(RULE_KINDS)}"))
            continue
        (kind, body), = raw.items()
        before = len(problems)
        if kind == "max_utilisation":
            limit = _number(body, "limit", label, problems)
            under = _under(body, label, Under.ANY_FAILURE, problems)
            if limit is not None and len(problems) == before:
                rules.append(MaxUtilisation(limit, under))
        elif kind == "max_delay":
            if not isinstance(body, Mapping) or "service" not in body:
                problems.append(Problem(label, "max_delay needs a service and limit_ms",
                                        value=body, fix="{service: ID, limit_ms: 30}"))
                continue
            limit = _number(body, "limit_ms", label, problems)
            under = _under(body, label, Under.NOW, problems)
            if limit is not None and len(problems) == before:
                rules.append(MaxDelay(str(body["service"]), limit, under))
        elif kind == "never_isolate":
            nodes = body if isinstance(body, list) else [body]
            if not all(isinstance(x, str | int) and not isinstance(x, bool) for x in nodes):
                problems.append(Problem(label, "never_isolate takes a node id or a list",
                                        value=body, fix="never_isolate: NODE"))
                continue
            rules += [NeverIsolate(str(x)) for x in nodes]
        elif kind == "max_links_changed":
            count = _number(body, "count", label, problems)
            if count is not None and count != int(count):
                problems.append(Problem(label, "expected a whole number", value=body,
                                        fix="max_links_changed: 2"))
            elif count is not None:
                rules.append(MaxLinksChanged(int(count)))
        elif kind == "max_unroutable_bps":
            limit = _number(body, "limit", label, problems)
            under = _under(body, label, Under.NOW, problems)
            if limit is not None and len(problems) == before:
                rules.append(MaxUnroutable(limit, under))
        else:
            problems.append(Problem(label, "unknown rule", value=kind,
                                    fix=f"use one of: {', '.join(RULE_KINDS)}"))
    if problems:
        raise ValidationError(problems, source)
    return tuple(rules)


def check_references(rules: tuple[Rule, ...], node_ids: tuple[str, ...],
                     service_ids: tuple[str, ...], source: str = "guardrails") -> None:
    """Every node and service a rule names exists in the network."""
    problems = []
    for rule in rules:
        if isinstance(rule, NeverIsolate) and rule.node not in node_ids:
            problems.append(Problem(f"{source}: {rule}", "no such node", value=rule.node,
                                    fix=unknown_id_fix("node", rule.node, node_ids)))
        if isinstance(rule, MaxDelay) and rule.service not in service_ids:
            problems.append(Problem(f"{source}: {rule}", "no such service", value=rule.service,
                                    fix="use a service id of the network: "
                                        + (", ".join(service_ids[:8]) or "it has none")))
    if problems:
        raise ValidationError(problems, source)


def _cut_off(state: ForwardingState, z: int) -> str:
    """How node z is cut off from (or cannot reach) some router after the change, or ''."""
    names = state.compiled.node_ids
    reach = reach_of(state, z)  # probe z is z's loopback
    bad = np.flatnonzero(~reach.delivers)
    if bad.size:
        s = int(bad[0])
        path = trace(state, z, s, "loop" if reach.loops[s] else "drop", reach)
        return (f"{names[s]} cannot reach {names[z]}: "
                f"{' > '.join(names[v] for v in path)}")
    for p in range(state.compiled.n_nodes):
        if p == z:
            continue
        reach = reach_of(state, p)
        if not reach.delivers[z]:
            path = trace(state, p, z, "loop" if reach.loops[z] else "drop", reach)
            return (f"{names[z]} cannot reach {names[p]}: "
                    f"{' > '.join(names[v] for v in path)}")
    return ""


def check_rule(rule: Rule, change: ChangeSet, state: ForwardingState, after: StateFigures,
                survival: SurvivalReport) -> GuardrailResult:
    """Whether ``rule`` holds after ``change``, with the figures that show it."""
    any_failure = survival.failures > 0
    if isinstance(rule, MaxUtilisation):
        now = after.max_utilisation
        if rule.under is Under.ANY_FAILURE and any_failure:
            worst = survival.worst_failure
            value = max(now, survival.max_utilisation_after)
            where = (f"under {survival.mode.value} ({survival.failures} failures) the peak is "
                     f"{100 * survival.max_utilisation_after:.1f} %")
            if worst is not None:
                where += f"; most damaging failure {worst.failure}"
            evidence = f"after the change {100 * now:.1f} % on {after.max_utilisation_arc}; " \
                       + where
        else:
            value = now
            evidence = f"after the change {100 * now:.1f} % on {after.max_utilisation_arc}"
            if rule.under is Under.ANY_FAILURE:
                evidence += " (no failures evaluated: --survive none)"
        return GuardrailResult(str(rule), value <= rule.limit + 1e-12, evidence)
    if isinstance(rule, MaxDelay):
        svc = {s.service: s for s in after.services}[rule.service]
        value = svc.worst_delay_s
        evidence = f"worst delay after the change {1e3 * value:.2f} ms"
        if rule.under is Under.ANY_FAILURE and any_failure:
            under = survival.service_worst_delay_s.get(rule.service, 0.0)
            value = max(value, under)
            evidence += f", under {survival.mode.value} up to {1e3 * under:.2f} ms"
        return GuardrailResult(str(rule), 1e3 * value <= rule.limit_ms + 1e-9, evidence)
    if isinstance(rule, NeverIsolate):
        cut = _cut_off(state, state.compiled.node_ids.index(rule.node))
        failures = survival.isolating.get(rule.node, ())
        if cut:
            return GuardrailResult(str(rule), False, f"after the change {cut}")
        if failures:
            return GuardrailResult(str(rule), False,
                                   f"{len(failures)} failure(s) cut it off after the change, "
                                   f"e.g. {failures[0]}")
        return GuardrailResult(str(rule), True,
                               "reachable from every router after the change"
                               + (f" and under all {survival.failures} failures"
                                  if any_failure else ""))
    if isinstance(rule, MaxLinksChanged):
        touched = sorted(change.links_touched)
        return GuardrailResult(str(rule), len(touched) <= rule.count,
                               f"{len(touched)} link(s) changed: {', '.join(touched) or '-'}")
    value = after.unroutable_bps
    evidence = f"after the change {value / 1e9:.4g} Gbit/s unroutable"
    if rule.under is Under.ANY_FAILURE and survival.worst_failure is not None:
        worst = survival.worst_failure
        value += worst.lost_bps_after
        evidence += f"; under {worst.failure} +{worst.lost_bps_after / 1e9:.4g} Gbit/s"
    return GuardrailResult(str(rule), value <= rule.limit_bps + 1e-9, evidence)
