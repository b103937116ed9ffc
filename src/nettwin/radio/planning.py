"""Planning views: which radio links limit each service's availability, and what an upgrade
(wider channel, bigger dishes, more power) changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nettwin.engine import CompiledNetwork, compile_network, simulate
from nettwin.errors import ValidationError
from nettwin.model import Network
from nettwin.model.fields import RADIO_FIELDS, coerce_record
from nettwin.model.problems import Problem, unknown_id_fix
from nettwin.radio.budget import BudgetResult


def service_availability(network: Network, budget: BudgetResult,
                         compiled: CompiledNetwork | None = None) -> list[dict[str, Any]]:
    """Per service: the radio links its traffic crosses (routing without failures) and the
    availability of that chain of links, assuming a link down takes the service down (no
    rerouting: the planner's conservative view). The limiting link is the least available."""
    compiled = compiled or compile_network(network)
    radio = budget.radio
    lowest = np.array([int(np.flatnonzero(np.isfinite(radio.threshold_dbm[i]))[0])
                       for i in range(radio.n)], dtype=np.int64)
    down = budget.unavailability_percent[np.arange(radio.n), lowest] / 100
    extrapolated = budget.rain_extrapolated[np.arange(radio.n), lowest]
    rows = []
    for s, sid in enumerate(compiled.service_ids):
        members = compiled.service_demand[compiled.service_ptr[s]:compiled.service_ptr[s + 1]]
        rate = np.zeros(compiled.n_demands)
        rate[members] = 1.0  # unit traffic marks the arcs the service uses
        load = simulate(compiled, demand_rate_bps=rate).arc_load_bps
        used = (load[2 * radio.link_index] > 0) | (load[2 * radio.link_index + 1] > 0)
        idx = np.flatnonzero(used)
        availability = float(np.prod(1 - down[idx])) if idx.size else 1.0
        limiting = radio.link_ids[int(idx[np.argmax(down[idx])])] if idx.size else None
        target = network.services[sid].min_availability
        rows.append({"service": sid, "radio_links": len(idx), "availability": availability,
                     "target": target, "meets_target": None if target is None
                     else availability >= target, "limiting_link": limiting,
                     "limiting_link_outage_min_per_year": float(
                         down[idx].max() * 525_960) if idx.size else 0.0,
                     # rain below P.530's 0.001 % on some link: an extrapolated figure
                     "extrapolated": bool(extrapolated[idx].any())})
    return rows


def parse_upgrades(specs: Sequence[str]) -> dict[str, dict[str, str]]:
    """'LINK:field=value' strings, grouped by link."""
    out: dict[str, dict[str, str]] = {}
    problems = []
    for spec in specs:
        link, sep, rest = spec.partition(":")
        name, eq, value = rest.partition("=")
        if not sep or not eq or not link or not name:
            problems.append(Problem("--upgrade", "expected LINK:field=value", value=spec,
                                    fix="e.g. --upgrade 'A--B:dish_diameter_m=1.2'"))
            continue
        out.setdefault(link, {})[name.strip()] = value.strip()
    if problems:
        raise ValidationError(problems)
    return out


def apply_upgrades(network: Network, upgrades: Mapping[str, Mapping[str, str]],
                   capacity_of: Mapping[str, float] | None = None) -> Network:
    """The network with radio fields of some links changed (validated like any input)."""
    problems: list[Problem] = []
    links = dict(network.links)
    for lid, fields in upgrades.items():
        link = links.get(lid)
        if link is None or link.radio is None:
            radios = [k for k, lk in network.links.items() if lk.radio is not None]
            fix = (f"{lid} has no radio block: name a microwave link, e.g. "
                   f"{', '.join(radios[:3])}" if link is not None
                   else unknown_id_fix("radio link", lid, radios))  # a typo: the closest
            problems.append(Problem(f"--upgrade {lid}", "no such radio link", value=lid,
                                    fix=fix))
            continue
        record = {f.name: getattr(link.radio, f.name) for f in dataclasses.fields(link.radio)}
        record = {k: (v.value if hasattr(v, "value") else v) for k, v in record.items()}
        record.update(fields)
        values, found = coerce_record("radio", f"--upgrade {lid}", record, RADIO_FIELDS)
        problems += found
        if found:
            continue
        radio = dataclasses.replace(link.radio, **values)
        cap = (capacity_of or {}).get(radio.profile)
        upgraded = dataclasses.replace(link, radio=radio)
        if cap:  # a new profile: the IP capacity follows its top mode
            upgraded = dataclasses.replace(upgraded, capacity_ab_bps=cap, capacity_ba_bps=cap)
        links[lid] = upgraded
    if problems:
        raise ValidationError(problems)
    return dataclasses.replace(network, links=links)
