"""Explicit paths (YAML or JSON): demands pinned to a path, as segment routing, RSVP-TE or
static routes pin them; every other demand follows the IGP.

    paths:
      - demand: New-York->Chicago                # the demand's id in the network
        via: [New-York, Washington-DC, Atlanta, Indianapolis, Chicago]

Between two nodes joined by several links the path takes the one with the lowest metric in
that direction (an up one first). Every problem in the file is reported at once.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from nettwin.engine.classes import PinnedPaths
from nettwin.engine.compiled import CompiledNetwork
from nettwin.errors import ValidationError
from nettwin.io.text import read_document
from nettwin.model import Network
from nettwin.model.problems import Problem


class PathEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    demand: str
    via: list[str] = Field(min_length=2)


class PathsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paths: list[PathEntry]


def build_paths(doc: Any, network: Network, net: CompiledNetwork,
                source: str = "paths") -> PinnedPaths:
    """The pinned paths a document describes, as arcs of the compiled network."""
    try:
        spec = PathsFile.model_validate(doc)
    except PydanticError as exc:
        raise ValidationError([Problem(
            f"{source}: {'.'.join(str(p) for p in err['loc']) or 'top level'}", err["msg"],
            fix="each entry needs 'demand' (an id) and 'via' (two or more node ids)")
            for err in exc.errors()], source) from None
    demand_index = {d: i for i, d in enumerate(network.demand_ids)}
    node_ids = net.node_ids
    best: dict[tuple[str, str], int] = {}  # (u, v) -> arc: up first, then lowest metric
    for arc in sorted(range(net.n_arcs), key=lambda a: (not net.arc_up[a], net.arc_metric[a])):
        best.setdefault((node_ids[net.arc_src[arc]], node_ids[net.arc_dst[arc]]), arc)
    problems: list[Problem] = []
    seen: set[int] = set()
    demands: list[int] = []
    arcs: list[list[int]] = []
    for i, entry in enumerate(spec.paths):
        where = f"{source}: paths[{i}] ({entry.demand})"
        d = demand_index.get(entry.demand)
        if d is None:
            problems.append(Problem(where, "no such demand", field="demand",
                                    value=entry.demand,
                                    fix="use a demand id as the network names it "
                                        "(e.g. 'SRC->DST')"))
            continue
        if d in seen:
            problems.append(Problem(where, "the demand is pinned twice", field="demand",
                                    value=entry.demand, fix="keep one path per demand"))
            continue
        src, dst = node_ids[net.demand_src[d]], node_ids[net.demand_dst[d]]
        bad = len(problems)
        if entry.via[0] != src or entry.via[-1] != dst:
            problems.append(Problem(where, f"the path must run from {src} to {dst}",
                                    field="via", value=entry.via,
                                    fix=f"start at {src} and end at {dst}"))
        if len(set(entry.via)) != len(entry.via):
            problems.append(Problem(where, "the path visits a node twice", field="via",
                                    value=entry.via, fix="remove the loop"))
        hops: list[int] = []
        for u, v in itertools.pairwise(entry.via):
            hop = best.get((u, v))
            if hop is None:
                problems.append(Problem(where, f"no link from {u} to {v}", field="via",
                                        value=entry.via,
                                        fix="list nodes that are neighbours, in order"))
            else:
                hops.append(hop)
        if len(problems) == bad:
            seen.add(d)
            demands.append(d)
            arcs.append(hops)
    if problems:
        raise ValidationError(problems, source)
    ptr = np.cumsum([0] + [len(a) for a in arcs]).astype(np.int64)
    flat = np.array([a for hops in arcs for a in hops], dtype=np.int64)
    return PinnedPaths(np.array(demands, dtype=np.int64), ptr, flat)


def load_paths(path: str | Path, network: Network, net: CompiledNetwork) -> PinnedPaths:
    """Read an explicit-paths file (YAML, or JSON by its suffix) for this network."""
    path = Path(path)
    doc = read_document(path)
    return build_paths(doc, network, net, path.name)
