"""The notebook API: one call from a network to result tables, with failures named by id.

Like pandapower's ``pp.runpp(net); net.res_line`` but pure (nothing is written into the
network) and like pyNTM's ``fail_interface`` but by link and node ids::

    >>> import nettwin
    >>> net = nettwin.examples.abilene()
    >>> res = nettwin.run(net, fail_links=["Denver--Kansas-City"], scale=1.5)
    >>> res
    <RunResult abilene: 11 nodes, 14 links (1 down), 110 demands, max utilisation 110.9 %>
    >>> res.arcs.num_rows, res.arcs.column_names[:4]
    (28, ['link', 'direction', 'src', 'dst'])
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationOptions, SimulationResult, simulate
from nettwin.errors import SimulationError, ValidationError
from nettwin.model import DemandTable, Network
from nettwin.model.problems import Problem, unknown_id_fix
from nettwin.report.tables import arc_records, arc_table, demand_table, service_table, top_arcs
from nettwin.scenarios.apply import apply_scenario
from nettwin.scenarios.changes import (
    FailLink,
    FailNode,
    FailSrlg,
    ScaleTraffic,
    Scenario,
    repeated_failures,
)


def check_ids(kind: str, wanted: Iterable[str], known: Iterable[str],
              argument: str) -> list[Problem]:
    """A problem per unknown id, naming the closest valid ids (typos are the usual cause)."""
    pool = list(known)
    pool_set = set(pool)
    problems = []
    for value in wanted:
        if value in pool_set:
            continue
        problems.append(Problem(argument, f"no such {kind}",
                                fix=unknown_id_fix(kind, value, pool), value=value))
    return problems


@dataclass(frozen=True, eq=False)
class RunResult:
    """One simulation, with its inputs; tables are pyarrow Tables (``.to_pandas()``; they
    need ``pip install nettwin[arrow]``)."""

    network: Network
    compiled: CompiledNetwork
    result: SimulationResult
    failed_links: tuple[str, ...] = ()
    failed_nodes: tuple[str, ...] = ()
    failed_srlgs: tuple[str, ...] = ()
    scale: float = 1.0
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def _table(self, name: str) -> Any:
        if name not in self._cache:
            if name == "arcs":
                self._cache[name] = arc_table(self.compiled, self.result)
            elif name == "demands":
                self._cache[name] = demand_table(self.network, self.result)
            else:
                self._cache[name] = service_table(self.network, self.result)
        return self._cache[name]

    @property
    def arcs(self) -> Any:
        """Per arc (link direction): load, utilisation, delay, loss, up/overloaded."""
        return self._table("arcs")

    @property
    def demands(self) -> Any:
        """Per demand: rate, routed, mean and worst delay, loss, mean hops."""
        return self._table("demands")

    @property
    def services(self) -> Any:
        """Per service: worst delay and loss against the SLA targets, violated or not."""
        return self._table("services")

    @property
    def kpis(self) -> dict[str, Any]:
        """The headline numbers (max utilisation, lost and unroutable traffic, violations)."""
        return self.result.kpis()

    def __repr__(self) -> str:
        down = int((~self.result.arc_up.reshape(-1, 2)).any(axis=1).sum())
        up = self.result.arc_up
        peak = float(self.result.arc_utilisation[up].max(initial=0.0)) if up.any() else 0.0
        name = self.network.name or "network"
        return (f"<RunResult {name}: {len(self.network.nodes)} nodes, "
                f"{len(self.network.links)} links ({down} down), "
                f"{len(self.network.demands)} demands, max utilisation {100 * peak:.1f} %>")

    def _repr_html_(self) -> str:
        """A notebook cell shows the summary and the five busiest arcs."""
        import html

        # from the arrays, not the Arrow table: the summary shows without nettwin[arrow]
        arcs = arc_records(self.compiled, self.result,
                           [int(a) for a in top_arcs(self.result, 5)])
        rows = "".join(
            f"<tr><td>{html.escape(str(r['link']))}</td><td>{r['src']} → {r['dst']}</td>"
            f"<td>{r['load_bps'] / 1e9:.2f} Gbit/s</td><td>{100 * r['utilisation']:.1f} %</td>"
            f"</tr>" for r in arcs)
        return (f"<p>{html.escape(repr(self))}</p><table><tr><th>link</th><th>arc</th>"
                f"<th>load</th><th>utilisation</th></tr>{rows}</table>")


def _traffic(network: Network, traffic: str | Path | DemandTable | Network | None) -> Network:
    if traffic is None:
        return network
    if isinstance(traffic, Network):
        return network.with_demands(traffic.demands, traffic.services)
    if isinstance(traffic, DemandTable):
        return network.with_demands(traffic, {})
    from nettwin.io import load_traffic

    return load_traffic(network, traffic)


def simulation_options(fields: Mapping[str, Any]) -> SimulationOptions:
    """SimulationOptions from a dict of its fields, enum fields given by value ("md1").

    Every field is checked here: an unknown name, an enum value that is not one, or a value
    SimulationOptions refuses becomes a ValidationError naming the field and the fix. A
    string left unconverted would be silently wrong (``arrival_model="bursty"`` is not
    ``ArrivalModel.BURSTY``, so the engine would queue every arc as Poisson).
    """
    defaults = {f.name: getattr(SimulationOptions(), f.name)
                for f in dataclasses.fields(SimulationOptions)}
    problems: list[Problem] = []
    opts: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in defaults:
            problems.append(Problem("options", "no such simulation option",
                                    fix=unknown_id_fix("option", name, defaults), value=name))
            continue
        kind = type(defaults[name])
        if isinstance(defaults[name], enum.Enum) and not isinstance(value, kind):
            valid = [m.value for m in kind]
            if value not in valid:
                problems.append(Problem("options", f"not a valid {name}", field=name,
                                        fix=f"use one of {', '.join(map(repr, valid))}",
                                        value=value))
                continue
            value = kind(value)
        opts[name] = value
    if problems:
        raise ValidationError(problems, "nettwin.run")
    try:
        return SimulationOptions(**opts)
    except SimulationError as exc:
        raise ValidationError([Problem("options", str(exc),
                                       fix="see SimulationOptions for each field's range")],
                              "nettwin.run") from exc


def run(network: Network | str | Path, *, fail_links: Iterable[str] = (),
        fail_nodes: Iterable[str] = (), fail_srlgs: Iterable[str] = (), scale: float = 1.0,
        traffic: str | Path | DemandTable | Network | None = None,
        options: SimulationOptions | Mapping[str, Any] | None = None) -> RunResult:
    """Simulate ``network`` with links, nodes or SRLGs failed (by id) and traffic scaled.

    ``network`` may be a path (any supported format); ``traffic`` a traffic file, a
    DemandTable or a network whose demands to use; ``options`` a SimulationOptions or its
    fields as a dict (e.g. ``{"queue_model": "md1"}``). Unknown ids, and an id listed twice,
    raise ValidationError naming each one (and the closest valid ids).
    """
    if not isinstance(network, Network):
        from nettwin.io import load_network

        network = load_network(network)
    network = _traffic(network, traffic)
    links, nodes, srlgs = tuple(fail_links), tuple(fail_nodes), tuple(fail_srlgs)
    for arg, value in (("fail_links", fail_links), ("fail_nodes", fail_nodes),
                       ("fail_srlgs", fail_srlgs)):
        if isinstance(value, str):
            raise ValidationError([Problem(arg, "expects a list of ids, not one string",
                                           fix=f"write {arg}=[{value!r}]", value=value)])
    problems = (check_ids("link", links, network.links, "fail_links")
                + check_ids("node", nodes, network.nodes, "fail_nodes")
                + check_ids("SRLG", srlgs, {g for lk in network.links.values()
                                            for g in lk.srlgs}, "fail_srlgs"))
    changes: list[Any] = [FailLink(x) for x in links] + [FailNode(x) for x in nodes]
    changes += [FailSrlg(x) for x in srlgs]
    problems += repeated_failures(changes, [f"{arg}[{i}]" for arg, ids in (
        ("fail_links", links), ("fail_nodes", nodes), ("fail_srlgs", srlgs))
        for i in range(len(ids))])
    if not (np.isfinite(scale) and scale >= 0):
        problems.append(Problem("scale", "must be a finite number >= 0",
                                fix="e.g. scale=1.2 for 20 % more traffic", value=scale))
    if problems:
        raise ValidationError(problems, "nettwin.run")
    if scale != 1.0:
        changes.append(ScaleTraffic(float(scale)))
    applied = apply_scenario(network, None, Scenario("nettwin.run", tuple(changes)))
    if isinstance(options, Mapping):
        options = simulation_options(options)
    result = simulate(applied.compiled, options, arc_up=applied.arc_up,
                      demand_rate_bps=applied.demand_rate_bps)
    return RunResult(applied.network, applied.compiled, result, links, nodes, srlgs,
                     float(scale))
