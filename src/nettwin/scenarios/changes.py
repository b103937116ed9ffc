"""What-if changes: each is a small frozen record; a Scenario is a named list of them.
Each element is failed at most once per scenario: a repeat says nothing more and is most
often a typo for another id, so it is refused, like an unknown id. Other changes may repeat
(they apply in order: two scale_traffic compound, the last set_metric wins). The YAML
block closes this docstring (tests read it as a valid scenario).

YAML form (one key per change)::

    name: fiber cut in Denver during a flash crowd
    changes:
      - fail_link: Denver--Kansas-City
      - fail_node: Houston
      - fail_srlg: duct-Indianapolis
      - drain_node: Chicago                      # OSPF max-metric: transit avoids it
      - set_metric: {link: New-York--Chicago, metric: 50, direction: ab}
      - set_capacity: {link: Seattle--Denver, capacity_bps: 100e9}
      - add_link: {id: new, a: Seattle, b: Chicago, capacity_bps: 10e9, metric: 30}
      - remove_link: Atlanta--Indianapolis
      - scale_traffic: {factor: 1.5, node: New-York}   # or service: ..., traffic_class: ...
      - surge: {sources: [Seattle, Denver], target: Atlanta, rate_bps: 4e9}

"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nettwin.errors import ValidationError
from nettwin.model.problems import Problem


class Direction(enum.Enum):
    """Which direction(s) of a link a change applies to."""

    AB = "ab"
    BA = "ba"
    BOTH = "both"


@dataclass(frozen=True)
class FailLink:
    link: str


@dataclass(frozen=True)
class FailNode:
    node: str


@dataclass(frozen=True)
class FailSrlg:
    srlg: str


@dataclass(frozen=True)
class DrainNode:
    """Maintenance drain: the node's outgoing metrics go to the maximum, so traffic that
    only transits it moves away while traffic to and from it still flows."""

    node: str


@dataclass(frozen=True)
class SetMetric:
    link: str
    metric: int
    direction: Direction = Direction.BOTH


@dataclass(frozen=True)
class SetCapacity:
    link: str
    capacity_bps: float
    direction: Direction = Direction.BOTH


@dataclass(frozen=True)
class AddLink:
    record: Mapping[str, Any]


@dataclass(frozen=True)
class RemoveLink:
    link: str


@dataclass(frozen=True)
class ScaleTraffic:
    """Multiply demands by ``factor``: all, or those from/to ``node``, of ``service`` or of
    ``traffic_class`` (filters combine)."""

    factor: float
    node: str | None = None
    service: str | None = None
    traffic_class: str | None = None


@dataclass(frozen=True)
class Surge:
    """Extra traffic from each source toward ``target`` (``rate_bps`` split evenly)."""

    sources: tuple[str, ...]
    target: str
    rate_bps: float
    traffic_class: str = "surge"


Change = (FailLink | FailNode | FailSrlg | DrainNode | SetMetric | SetCapacity | AddLink
          | RemoveLink | ScaleTraffic | Surge)

_KINDS: dict[str, type] = {
    "fail_link": FailLink, "fail_node": FailNode, "fail_srlg": FailSrlg,
    "drain_node": DrainNode, "set_metric": SetMetric, "set_capacity": SetCapacity,
    "add_link": AddLink, "remove_link": RemoveLink, "scale_traffic": ScaleTraffic,
    "surge": Surge,
}


@dataclass(frozen=True)
class Scenario:
    """A named list of changes, applied in order over the baseline."""

    name: str
    changes: tuple[Change, ...] = field(default_factory=tuple)


def _number(value: Any, label: str, name: str, problems: list[Problem], *, positive: bool,
            integer: bool = False) -> Any:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
        if not math.isfinite(number):
            raise OverflowError
        if integer and number != int(number):
            raise ValueError
    except (TypeError, ValueError, OverflowError) as exc:  # Overflow: beyond float, inf, nan
        shown = value if not isinstance(value, int) or value.bit_length() < 200 else \
            f"<integer of {len(str(value))} digits>"
        what = "a finite number" if isinstance(exc, OverflowError) else \
            f"a {'whole ' if integer else ''}number"
        problems.append(Problem(label, f"expected {what}", field=name, value=shown,
                                fix=f"give {name} as a number"))
        return None
    if (positive and number <= 0) or number < 0:
        problems.append(Problem(label, "must be greater than 0" if positive else
                                "must be at least 0", field=name, value=value,
                                fix=f"give a valid {name}"))
        return None
    return int(number) if integer else number


def parse_change(raw: Any, label: str, problems: list[Problem]) -> Change | None:
    """One change from its YAML/JSON form, or None with the problems recorded."""
    if not isinstance(raw, Mapping) or len(raw) != 1:
        problems.append(Problem(label, "each change is a mapping with exactly one key",
                                value=raw, fix=f"use one of: {', '.join(_KINDS)}"))
        return None
    (kind, body), = raw.items()
    if kind not in _KINDS:
        problems.append(Problem(label, "unknown change", value=kind,
                                fix=f"use one of: {', '.join(_KINDS)}"))
        return None
    if kind in ("fail_link", "fail_node", "fail_srlg", "drain_node", "remove_link"):
        if not isinstance(body, str | int) or isinstance(body, bool):
            problems.append(Problem(label, f"{kind} takes an id", value=body,
                                    fix=f"write '{kind}: ID'"))
            return None
        return _KINDS[kind](str(body))  # type: ignore[no-any-return]
    if kind == "add_link":
        if not isinstance(body, Mapping):
            problems.append(Problem(label, "add_link takes a link record", value=body,
                                    fix="give id, a, b, capacity_bps (and metric)"))
            return None
        return AddLink(dict(body))
    if not isinstance(body, Mapping):
        problems.append(Problem(label, f"{kind} takes a mapping", value=body,
                                fix="see the scenario format in the docs"))
        return None
    before = len(problems)
    try:
        if kind in ("set_metric", "set_capacity"):
            name = "metric" if kind == "set_metric" else "capacity_bps"
            value = _number(body.get(name), label, name, problems, positive=True,
                            integer=kind == "set_metric")
            direction = Direction(str(body.get("direction", "both")).lower())
            if len(problems) > before:
                return None
            cls = SetMetric if kind == "set_metric" else SetCapacity
            return cls(str(body["link"]), value, direction)
        if kind == "scale_traffic":
            factor = _number(body.get("factor"), label, "factor", problems, positive=False)
            if factor is None:
                return None
            return ScaleTraffic(factor, body.get("node"), body.get("service"),
                                body.get("traffic_class"))
        rate = _number(body.get("rate_bps"), label, "rate_bps", problems, positive=True)
        sources = body.get("sources")
        if isinstance(sources, str):
            sources = [sources]
        if not sources or not isinstance(sources, list):
            problems.append(Problem(label, "surge needs a list of sources", field="sources",
                                    value=sources, fix="sources: [NODE, ...]"))
            return None
        if rate is None or len(problems) > before:
            return None
        return Surge(tuple(map(str, sources)), str(body["target"]), rate,
                     str(body.get("traffic_class", "surge")))
    except KeyError as exc:
        problems.append(Problem(label, "missing field", field=str(exc.args[0]),
                                fix=f"give {exc.args[0]}"))
    except ValueError:
        problems.append(Problem(label, "direction must be ab, ba or both", field="direction",
                                value=body.get("direction"), fix="direction: ab|ba|both"))
    return None


def repeated_failures(changes: Sequence[Change | None], labels: Sequence[str]) -> list[Problem]:
    """A problem per failure of an element that an earlier change already fails (labels[i]
    names changes[i] for the user): the one check of every failure list that enters."""
    first: dict[Change, int] = {}
    problems: list[Problem] = []
    for i, change in enumerate(changes):
        if not isinstance(change, FailLink | FailNode | FailSrlg):
            continue
        j = first.setdefault(change, i)
        if j != i:
            kind, element = (("link", change.link) if isinstance(change, FailLink) else
                              ("node", change.node) if isinstance(change, FailNode) else
                              ("SRLG", change.srlg))
            problems.append(Problem(labels[i], f"{kind} failed twice, first by {labels[j]}",
                                    value=element, fix=f"fail each {kind} once: drop this "
                                    f"repeat, or give the {kind} id you meant"))
    return problems


def parse_scenario(doc: Any, source: str = "scenario") -> Scenario:
    """A Scenario from its YAML/JSON document; every bad change is reported at once."""
    if isinstance(doc, list):
        doc = {"changes": doc}
    if not isinstance(doc, Mapping) or not isinstance(doc.get("changes", []), list):
        raise ValidationError([Problem(source, "a scenario is a mapping with a 'changes' list",
                                       fix="see 'nettwin whatif --help'")], source)
    problems: list[Problem] = []
    labels = [f"{source} change #{i + 1}" for i in range(len(doc.get("changes", [])))]
    changes = [parse_change(raw, label, problems)
               for raw, label in zip(doc.get("changes", []), labels, strict=True)]
    problems += repeated_failures(changes, labels)
    if problems:
        raise ValidationError(problems, source)
    return Scenario(str(doc.get("name") or source), tuple(c for c in changes if c is not None))


def parse_scenarios(doc: Any, source: str = "scenarios") -> list[Scenario]:
    """One scenario, or a list of them under 'scenarios:'."""
    if isinstance(doc, Mapping) and "scenarios" in doc:
        items: Sequence[Any] = doc["scenarios"] or []
        return [parse_scenario(d, f"{source}[{i}]") for i, d in enumerate(items)]
    return [parse_scenario(doc, source)]
