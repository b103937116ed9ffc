"""What a what-if or a sweep starts from: the plan (the static traffic matrix, links as
inventoried) or the live state (what the network's live twin measures now).

An operator asks "what if this link fails *now*?". The live basis is the live twin's network
now (``LiveTwin.network_now``): link states as observed, the traffic matrix estimated
(tomogravity) from the measured arc rates with the plan's demands and services re-rated, so
every SLA is still checked, and each arc at the capacity the twin holds now (a radio link at
its reported modulation). Its ``traffic_level`` is the least-squares factor between the
plan's arc loads and the measured rates: how busy the network is against the plan.

``auto`` is live when the twin has measured traffic and the plan otherwise (the answer says
which and why); an explicit ``live`` without measurements is refused (409).

Bases are kept (``Twin.bases``, a few at most) and made once however many requests ask at
the same time: a plan basis until its network is replaced, a live one until the live twin
takes its next batch of telemetry; none outlives its network's delete. Each carries what
its what-ifs reuse (``api.whatif``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
from fastapi import HTTPException

from nettwin.api.payloads import RecentResults
from nettwin.engine import CompiledNetwork, SimulationResult, compile_network, simulate
from nettwin.live.fidelity import fit_level
from nettwin.model import Network

if TYPE_CHECKING:
    from nettwin.api.service import Twin
    from nettwin.live import LiveTwin

BasisKind = Literal["auto", "live", "plan"]
PLAN_NOTE = "planned traffic matrix, links as inventoried"
MadeBasis = TypeVar("MadeBasis", bound="Basis | None")
_SERIALS = itertools.count(1)


@dataclass(frozen=True, eq=False)
class Basis:
    """A network ready to run, with where it came from."""

    kind: Literal["live", "plan"]
    network: Network
    compiled: CompiledNetwork
    baseline: SimulationResult
    measured_at: float | None = None  # Unix seconds of the live state
    level: float = 1.0  # measured traffic against the plan's
    links_down: tuple[str, ...] = ()
    note: str = PLAN_NOTE
    # which basis this is, within the process (what-if worker processes hold bases by it)
    serial: int = field(default_factory=lambda: next(_SERIALS))
    # made from it on first use and dropped with it: the incremental engine's state and the
    # answers to recent what-ifs (``api.whatif``)
    derived: RecentResults = field(default_factory=lambda: RecentResults(1), repr=False)
    answers: RecentResults = field(default_factory=lambda: RecentResults(64), repr=False)
    # the what-ifs being answered for requests on an event loop, by loop and answer key:
    # equal requests that come meanwhile share the one answer (``api.whatif.answer_once``)
    flights: dict[Hashable, asyncio.Task[Any]] = field(default_factory=dict, repr=False)

    def document(self) -> dict[str, Any]:
        """How an answer says what it was computed on."""
        when = (datetime.fromtimestamp(self.measured_at, UTC).isoformat()
                if self.measured_at is not None else None)
        return {"kind": self.kind, "measured_at": when, "traffic_level": self.level,
                "links_down": list(self.links_down), "note": self.note}


def plan_basis(network: Network, compiled: CompiledNetwork,
               baseline: SimulationResult | None = None, note: str = PLAN_NOTE) -> Basis:
    return Basis("plan", network, compiled, baseline or simulate(compiled), note=note)


def live_basis(lt: LiveTwin) -> Basis | None:
    """The live twin's network now, at the capacities it holds now; None before any rate
    is measured."""
    network = lt.network_now()
    if network is None:
        return None
    st = lt.state
    compiled = compile_network(network)
    capacity = st.arc_capacity_bps
    if capacity.shape == compiled.arc_capacity_bps.shape and not np.array_equal(
            capacity, compiled.arc_capacity_bps):  # radio links at their modulation now
        compiled = dataclasses.replace(compiled, arc_capacity_bps=capacity.copy())
    up = st.arc_up()
    planned = simulate(st.compiled, arc_up=up).arc_load_bps
    level = fit_level(np.where(up, planned, np.nan), st.arc_rate_bps)
    level = level if level is not None and math.isfinite(level) else 1.0
    down = tuple(lid for lid, u in zip(st.link_ids, st.link_up.tolist(), strict=True)
                 if not u)
    note = (f"live state: traffic at {level:.2f} x plan (matrix estimated from the measured "
            f"arc rates); {len(down)} link(s) down")
    when = float(st.time) if math.isfinite(st.time) else None
    return Basis("live", network, compiled, simulate(compiled), when, level, down, note)


def resolve_basis(twin: Twin, nid: str, kind: BasisKind) -> Basis:
    """The basis a request asked for: 'plan'; 'live' (409 without measured traffic); or
    'auto', live when measured and otherwise the plan with a note saying so."""
    b = _resolve(twin, nid, kind, lambda key, make: (True, _kept(twin, nid, key, make)))
    assert b is not None  # every basis is made when asked for
    return b


def kept_basis(twin: Twin, nid: str, kind: BasisKind) -> Basis | None:
    """``resolve_basis``'s answer when nothing has to be made for it (no compile, no
    baseline run, no traffic estimate, none being made by another request): cheap enough
    for the event loop. None: ask ``resolve_basis`` in a thread."""
    if nid not in twin.compiled:
        return None

    def kept(key: Hashable, _make: Callable[[], Basis | None]) -> tuple[bool, Basis | None]:
        made = twin.bases.peek(key)
        if made is None or not made.done():
            return False, None
        return True, made.result()

    return _resolve(twin, nid, kind, kept)


BasisFinder = Callable[[Hashable, Callable[[], "Basis | None"]], tuple[bool, "Basis | None"]]


def _resolve(twin: Twin, nid: str, kind: BasisKind, find: BasisFinder) -> Basis | None:
    """``resolve_basis`` with the kept bases read through ``find(key, make)`` (whether
    there is one, and it); None when ``find`` has none."""
    network, compiled = twin.get(nid)
    if kind != "plan":
        lt = twin.live.twins.get(nid)
        # the live twin itself is in the key (kept alive, so never confused with a later
        # one); its batch count moves with every change of its state
        found, live = (True, None) if lt is None else find(("live", nid, lt, lt.batches),
                                                           lambda: live_basis(lt))
        if not found:
            return None
        if live is not None:
            return live
        if kind == "live":
            raise HTTPException(409, detail=f"network {nid!r} has no measured traffic yet: "
                                            "use basis 'plan' or 'auto', or feed telemetry "
                                            "first")
        note = "no live data for this network: computed on the plan"
    else:
        note = PLAN_NOTE
    # a plan basis holds its network and arrays, so their ids are not reused while it is kept
    _found, plan = find(("plan", nid, id(network), id(compiled), note),
                        lambda: plan_basis(network, compiled, twin.baseline(nid), note))
    return plan


def _kept(twin: Twin, nid: str, key: Hashable, make: Callable[[], MadeBasis]
          ) -> MadeBasis:
    """The basis under ``key`` in ``twin.bases``, made once. One made while its network was
    deleted is dropped and the request answers 404, as any read after the delete: the
    delete may have cleared the cache before it was kept. Checked after keeping it, so a
    delete that begins later finds it in the cache and drops it itself."""
    basis: MadeBasis = twin.bases.get(key, make)
    if not twin.has(nid):
        twin.bases.forget(lambda k: k == key)
        raise HTTPException(404, detail=f"no network {nid!r}")
    return basis


def arc_rows(basis: Basis) -> list[dict[str, Any]]:
    """Per arc, by the dashboard's arc label: load, capacity, utilisation, up."""
    c, r = basis.compiled, basis.baseline
    util = np.where(r.arc_up, r.arc_utilisation, np.nan)
    return [{"arc": c.arc_label(a), "load_bps": load, "capacity_bps": cap,
             "utilisation": None if math.isnan(u) else u, "up": up}
            for a, (load, cap, u, up) in enumerate(zip(
                r.arc_load_bps.tolist(), r.arc_capacity_bps.tolist(), util.tolist(),
                r.arc_up.tolist(), strict=True))]
