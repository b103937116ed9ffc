"""Files of capacity planning: module catalogues (``modules.yaml`` or an SNDlib network's
module lists) and candidate new links (``new_links.yaml``).

``modules.yaml``::

    default:                       # links without their own entry
      modules:
        - {name: 100G, capacity_bps: 100e9, cost: 20000, cost_per_km: 15}
      max_modules: 8               # optional: ports/slots per link
    links:
      L1: {modules: [{capacity_bps: 400e9, cost: 60000}], max_modules: 2}

``new_links.yaml``::

    candidates:
      - {id: N1, a: Berlin, b: Hamburg, metric: 10, setup_cost: 50000, length_km: 255,
         modules: [...], max_modules: 4}     # modules default to modules.yaml's default

A module's cost on a link is ``cost + cost_per_km * length_km`` (length from the link or
the node coordinates).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import yaml

from nettwin.errors import ImportFormatError, ValidationError
from nettwin.io.sndlib import read_sndlib_modules
from nettwin.io.text import read_text
from nettwin.model import Network
from nettwin.model.elements import resolve_length_km
from nettwin.model.geo import distance_km
from nettwin.model.problems import Problem
from nettwin.optimize.capacity import Candidate, LinkOffer, Module, ModuleCatalogue


def _yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(read_text(path))
    except yaml.YAMLError as exc:
        raise ImportFormatError(str(path), f"not valid YAML: {exc}") from None


def _number(raw: Any, where: str, name: str, problems: list[Problem], *,
            minimum: float = 0.0, strict: bool = False) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value < minimum or (strict and value <= minimum):
        problems.append(Problem(where, f"{name} must be a number {'>' if strict else '>='} "
                                       f"{minimum:g}", value=raw,
                                fix=f"give {name} as a number, e.g. "
                                    f"{'100e9' if 'bps' in name else '1000'}"))
        return None
    return value


def _offer(raw: Any, where: str, length_km: float | None, problems: list[Problem]
           ) -> LinkOffer | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("modules"), list):
        problems.append(Problem(where, "needs a 'modules' list", value=raw,
                                fix="give modules: [{capacity_bps: 100e9, cost: 1000}]"))
        return None
    modules = []
    for k, m in enumerate(raw["modules"]):
        here = f"{where} module {k + 1}"
        if not isinstance(m, dict):
            problems.append(Problem(here, "is not a mapping", value=m,
                                    fix="give {capacity_bps: ..., cost: ...}"))
            continue
        cap = _number(m.get("capacity_bps"), here, "capacity_bps", problems, strict=True)
        cost = _number(m.get("cost", 0), here, "cost", problems)
        per_km = _number(m.get("cost_per_km", 0), here, "cost_per_km", problems)
        if per_km and length_km is None:
            problems.append(Problem(here, "cost_per_km given but the link has no length",
                                    value=per_km, fix="give the link length_km (or node "
                                                      "coordinates)"))
        if cap is not None and cost is not None and per_km is not None:
            modules.append(Module(cap, cost + per_km * (length_km or 0.0),
                                  str(m.get("name", "")), per_km))
    most = raw.get("max_modules")
    if most is not None and (isinstance(most, bool) or not isinstance(most, int) or most < 0):
        problems.append(Problem(where, "max_modules must be a whole number >= 0", value=most,
                                fix="give e.g. max_modules: 8, or leave it out (no cap)"))
        most = None
    return LinkOffer(tuple(modules), most)


def read_module_catalogue(path: str | Path, network: Network) -> ModuleCatalogue:
    """A ``modules.yaml``: a default offer and per-link offers (link ids must exist)."""
    path = Path(path)
    doc = _yaml(path)
    if not isinstance(doc, dict) or not ({"default", "links"} & set(doc)):
        raise ImportFormatError(str(path), "expected a mapping with 'default' and/or 'links' "
                                           "(see nettwin.io.capacity_files)")
    return parse_module_catalogue(doc, network, path.name)


def parse_module_catalogue(doc: Any, network: Network, source: str = "modules"
                           ) -> ModuleCatalogue:
    """A module catalogue from its parsed form (``modules.yaml``'s content)."""
    problems: list[Problem] = []
    if not isinstance(doc, dict) or not ({"default", "links"} & set(doc)):
        raise ValidationError([Problem(source, "expected a mapping with 'default' and/or "
                                               "'links'", value=doc,
                                       fix="default: {modules: [{capacity_bps: 100e9, "
                                           "cost: 1000}]}")])
    default = None
    if doc.get("default") is not None:
        # per-km costs of the default are applied per link below
        default = _offer(doc["default"], f"{source} default", 0.0, problems)
    per_link: dict[str, LinkOffer] = {}
    raw_default = doc.get("default") or {}
    default_per_km = isinstance(raw_default, dict) and any(
        isinstance(m, dict) and m.get("cost_per_km") for m in raw_default.get("modules") or [])
    links = doc.get("links") or {}
    if not isinstance(links, dict):
        problems.append(Problem(f"{source} links", "must map link ids to offers",
                                value=type(links).__name__, fix="links: {L1: {modules: ...}}"))
        links = {}
    for lid, raw in links.items():
        if str(lid) not in network.links:
            problems.append(Problem(f"{source} links", "no such link in the network",
                                    value=lid, fix="use a link id of the network"))
            continue
        offer = _offer(raw, f"{source} link {lid}", link_length_km(network, str(lid)),
                       problems)
        if offer is not None:
            per_link[str(lid)] = offer
    if default_per_km:
        for lid in network.links:
            if lid not in per_link:
                offer = _offer(raw_default, f"{source} default (link {lid})",
                               link_length_km(network, lid), problems)
                if offer is not None:
                    per_link[lid] = offer
    if problems:
        raise ValidationError(problems, source)
    return ModuleCatalogue(per_link, default)


def link_length_km(network: Network, link_id: str) -> float | None:
    link = network.links[link_id]
    return resolve_length_km(link, network.nodes[link.a], network.nodes[link.b])


def catalogue_from_sndlib(path: str | Path, network: Network) -> ModuleCatalogue:
    """The module lists and costs an SNDlib network file gives per link."""
    path = Path(path)
    per_link = {}
    for lid, entry in read_sndlib_modules(path).items():
        if lid in network.links and entry.modules:
            per_link[lid] = LinkOffer(tuple(Module(cap, cost) for cap, cost in entry.modules))
    if not per_link:
        raise ImportFormatError(str(path), "the SNDlib file lists no modules for any link of "
                                           "the network; give --modules modules.yaml")
    return ModuleCatalogue(per_link)


def sndlib_module_document(path: str | Path, network: Network) -> dict[str, Any] | None:
    """The module lists and costs an SNDlib network file gives per link, as a
    ``modules.yaml`` document (``parse_module_catalogue`` reads it back to the catalogue
    ``catalogue_from_sndlib`` gives), or None when the file lists none: what a service keeps
    beside an uploaded network once the file itself is gone."""
    links = {lid: {"modules": [{"capacity_bps": cap, "cost": cost}
                               for cap, cost in entry.modules]}
             for lid, entry in read_sndlib_modules(Path(path)).items()
             if lid in network.links and entry.modules}
    return {"links": links} if links else None


def read_candidates(path: str | Path, network: Network, catalogue: ModuleCatalogue
                    ) -> tuple[list[Candidate], ModuleCatalogue]:
    """A ``new_links.yaml``: candidate links and the catalogue with their offers added."""
    path = Path(path)
    doc = _yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("candidates"), list):
        raise ImportFormatError(str(path), "expected 'candidates:' with a list of links "
                                           "(id, a, b, metric, setup_cost, ...)")
    return parse_candidates(doc["candidates"], network, catalogue, path.name)


def parse_candidates(items: Any, network: Network, catalogue: ModuleCatalogue,
                     source: str = "candidates") -> tuple[list[Candidate], ModuleCatalogue]:
    """Candidate links from their parsed form (the list under ``candidates:``)."""
    if not isinstance(items, list):
        raise ValidationError([Problem(source, "expected a list of candidate links",
                                       value=items, fix="[{id: N1, a: X, b: Y, metric: 10}]")])
    problems: list[Problem] = []
    out: list[Candidate] = []
    per_link = dict(catalogue.per_link)
    seen = set(network.links)
    for k, raw in enumerate(items):
        where = f"{source} candidate {k + 1}"
        if not isinstance(raw, dict):
            problems.append(Problem(where, "is not a mapping", value=raw,
                                    fix="give {id: N1, a: X, b: Y, metric: 10}"))
            continue
        cid = str(raw.get("id", ""))
        where = f"{source} candidate {cid or k + 1}"
        bad = [(f, raw.get(f)) for f in ("a", "b") if str(raw.get(f)) not in network.nodes]
        for f, v in bad:
            problems.append(Problem(where, f"end {f!r} is not a node of the network", value=v,
                                    fix="use a node id of the network"))
        if not cid or cid in seen:
            problems.append(Problem(where, "needs an id unused by links and other candidates",
                                    value=cid or None, fix="give a new id"))
        metric = raw.get("metric")
        if isinstance(metric, bool) or not isinstance(metric, int) or metric < 1:
            problems.append(Problem(where, "metric must be a whole number >= 1 (the IGP "
                                           "metric the new link will get)", value=metric,
                                    fix="give e.g. metric: 10"))
            metric = None
        setup = _number(raw.get("setup_cost", 0), where, "setup_cost", problems)
        length = raw.get("length_km")
        if length is not None:
            length = _number(length, where, "length_km", problems)
        elif not bad:
            na, nb = network.nodes[str(raw["a"])], network.nodes[str(raw["b"])]
            length = distance_km(na.latitude, na.longitude, nb.latitude, nb.longitude)
        if "modules" in raw:
            offer = _offer(raw, where, length, problems)
            if offer is not None:
                per_link[cid] = offer
        elif catalogue.default is not None and any(
                m.cost_per_km for m in catalogue.default.modules):
            # the default's per-km costs at this candidate's own length
            if length is None or not math.isfinite(length):
                problems.append(Problem(where, "the default modules cost per km but the "
                                               "candidate has no length", value=length,
                                        fix="give its length_km (or node coordinates)"))
            else:
                per_link[cid] = LinkOffer(tuple(
                    dataclasses.replace(m, cost=m.cost + m.cost_per_km * length)
                    for m in catalogue.default.modules), catalogue.default.max_modules)
        srlgs = raw.get("srlgs") or []
        if bad or not cid or cid in seen or metric is None or setup is None:
            continue
        seen.add(cid)
        out.append(Candidate(cid, str(raw["a"]), str(raw["b"]), int(metric), setup, length,
                             tuple(str(g) for g in srlgs)))
    if problems:
        raise ValidationError(problems, source)
    return out, ModuleCatalogue(per_link, catalogue.default)


def load_plan_traffic(network: Network, spec: str | Path) -> tuple[Network, str]:
    """Traffic to plan for: one matrix file, or a folder/glob of measured matrices reduced
    to the peak of each demand over all of them (what a link must carry at the busiest
    interval of any pair). Returns the network and a line saying what was used."""

    from nettwin.io.formats import load_traffic
    from nettwin.io.traffic_series import read_traffic_series, traffic_files

    files = traffic_files(spec)
    if len(files) == 1:
        return load_traffic(network, files[0]), f"traffic from {files[0].name}"
    net, series = read_traffic_series(network, files)
    peak = series.rate_bps.max(axis=0)
    table = dataclasses.replace(net.demands, rate_bps=peak.astype(float))
    return net.with_demands(table), (f"peak per demand over {len(files)} measured matrices "
                                     f"({files[0].name} .. {files[-1].name})")
