"""What a what-if or a sweep starts from: the plan (the static traffic matrix, links as
inventoried) or the live state (the traffic level and link states measured now).

An operator asks "what if this link fails *now*?": the live basis scales the planned matrix
to the measured traffic level (a least-squares fit of the planned arc loads to the measured
arc rates, or the level a telemetry feed reported) and takes the link states and radio
capacities as observed. Services and classes stay those of the plan, so SLAs still apply.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import FastAPI

from nettwin.api.auth import Role
from nettwin.api.deps import NetworkId, Viewer, role_route
from nettwin.engine import CompiledNetwork, SimulationResult, compile_network, simulate
from nettwin.model import Network

if TYPE_CHECKING:
    from nettwin.api.app import Twin
    from nettwin.radio.budget import RadioArrays


class BasisKind(enum.Enum):
    LIVE = "live"
    PLAN = "plan"


@dataclass(frozen=True)
class LiveInputs:
    """The measured state a live basis is built from (arrays in arc order)."""

    time: float  # Unix seconds of the measurement
    arc_up: np.ndarray  # bool[m]
    level: float | None = None  # traffic level reported by a feed (x the plan), if known
    arc_rate_bps: np.ndarray | None = None  # float[m], NaN where not measured
    link_modes: dict[str, str] = dataclasses.field(default_factory=dict)  # radio modulation


@dataclass(frozen=True, eq=False)
class Basis:
    """A network ready to run, with where it came from."""

    kind: BasisKind
    network: Network
    compiled: CompiledNetwork
    baseline: SimulationResult
    measured_at: float | None = None
    level: float = 1.0
    links_down: tuple[str, ...] = ()
    note: str = ""

    def document(self) -> dict[str, Any]:
        """How the response says what it was computed on."""
        when = (datetime.fromtimestamp(self.measured_at, UTC).isoformat()
                if self.measured_at is not None else None)
        return {"kind": self.kind.value, "measured_at": when, "traffic_level": self.level,
                "links_down": list(self.links_down), "note": self.note}


def fit_level(planned_bps: np.ndarray, measured_bps: np.ndarray) -> float | None:
    """The factor s minimising sum (s * planned - measured)^2 over the measured arcs."""
    ok = np.isfinite(measured_bps) & np.isfinite(planned_bps)
    p, m = planned_bps[ok], measured_bps[ok]
    denom = float(p @ p)
    return float(p @ m) / denom if denom > 0 else None


def _mode_capacities(radio: RadioArrays | None, modes: dict[str, str],
                     compiled: CompiledNetwork) -> np.ndarray:
    """Arc capacities with each radio link at its reported modulation ('down': 0)."""
    capacity = compiled.arc_capacity_bps.copy()
    if radio is None or not modes:
        return capacity
    position = {lid: i for i, lid in enumerate(compiled.link_ids)}
    for i, lid in enumerate(radio.link_ids):
        name = modes.get(lid)
        if name is None or lid not in position or name not in radio.mode_names[i]:
            continue
        bps = float(radio.capacity_bps[i, radio.mode_names[i].index(name)])
        capacity[[2 * position[lid], 2 * position[lid] + 1]] = bps
    return capacity


def plan_basis(network: Network, compiled: CompiledNetwork,
               baseline: SimulationResult | None = None) -> Basis:
    return Basis(BasisKind.PLAN, network, compiled, baseline or simulate(compiled),
                 note="planned traffic matrix, links as inventoried")


def live_basis(network: Network, compiled: CompiledNetwork, live: LiveInputs,
               radio: RadioArrays | None = None) -> Basis:
    """The plan scaled to the measured level, with the observed link states and capacities."""
    up = np.asarray(live.arc_up, bool)
    link_up: np.ndarray = np.asarray(up.reshape(-1, 2).all(axis=1))
    capacity = _mode_capacities(radio, live.link_modes, compiled)
    level = live.level
    how = "reported by the telemetry feed"
    if level is None and live.arc_rate_bps is not None:
        planned = simulate(compiled, arc_up=up).arc_load_bps
        level = fit_level(np.where(up, planned, np.nan), live.arc_rate_bps)
        how = "fitted to the measured arc rates"
    if level is None or not math.isfinite(level):
        level, how = 1.0, "unknown (no rates measured): plan level"
    links = {lid: (dataclasses.replace(lk, oper_up=False) if not link_up[i] and lk.is_up
                   else lk) for i, (lid, lk) in enumerate(network.links.items())}
    t = network.demands
    demands = dataclasses.replace(t, rate_bps=t.rate_bps * level)
    shaped = dataclasses.replace(network, links=links, demands=demands)
    live_compiled = compile_network(shaped)
    if not np.array_equal(capacity, compiled.arc_capacity_bps):
        live_compiled = dataclasses.replace(live_compiled, arc_capacity_bps=capacity)
    down = tuple(lid for i, lid in enumerate(network.links) if not link_up[i])
    note = (f"live state: traffic at {level:.2f} x plan ({how}); "
            f"{len(down)} link(s) down")
    return Basis(BasisKind.LIVE, shaped, live_compiled, simulate(live_compiled),
                 live.time, float(level), down, note)


def arc_rows(basis: Basis) -> list[dict[str, Any]]:
    """Per arc, by the dashboard's arc label: load, capacity, utilisation, up."""
    c, r = basis.compiled, basis.baseline
    util = np.where(r.arc_up, r.arc_utilisation, np.nan)
    return [{"arc": c.arc_label(a), "load_bps": load, "capacity_bps": cap,
             "utilisation": None if math.isnan(u) else u, "up": up}
            for a, (load, cap, u, up) in enumerate(zip(
                r.arc_load_bps.tolist(), r.arc_capacity_bps.tolist(), util.tolist(),
                r.arc_up.tolist(), strict=True))]


def add_basis_routes(app: FastAPI, twin: Twin) -> None:
    @app.get("/api/v1/networks/{nid}/basis", **role_route(Role.VIEWER))
    def basis(_: Viewer, nid: NetworkId, kind: BasisKind = BasisKind.PLAN) -> dict[str, Any]:
        """Utilisation per arc on the plan (static matrix) or on the live state (measured
        level and link states); ``basis.kind`` says which one it really is."""
        b = resolve_basis(twin, nid, kind)
        fell_back = kind is BasisKind.LIVE and b.kind is BasisKind.PLAN
        return {"basis": b.document() | {"requested": kind.value, "has_live": not fell_back},
                "max_utilisation": float(np.nan_to_num(np.where(
                    b.baseline.arc_up, b.baseline.arc_utilisation, 0.0)).max(initial=0.0)),
                "arcs": arc_rows(b)}


def live_inputs(twin: Twin, nid: str) -> LiveInputs | None:
    """The newest measured state of a network: the telemetry feed's tick, else the live
    twin's mirrored counters; None when nothing was ever measured."""
    latest = twin.live.latest.get(nid)
    if latest is not None:
        up = np.array([a["up"] for a in latest["arcs"]], bool)
        when = datetime.fromisoformat(latest["time"]).timestamp()
        return LiveInputs(when, up, float(latest["scale"]),
                          link_modes=dict(latest.get("link_modes") or {}))
    lt = twin._cache.get((nid, "live_twin"))  # only a twin that exists: creating one opens a store
    if lt is None or not lt.state.samples:
        return None
    modes = {k: v for k, v in lt.state.modulation.items() if v}
    return LiveInputs(float(lt.state.time), lt.state.arc_up(), None,
                      lt.state.arc_rate_bps.copy(), modes)


def resolve_basis(twin: Twin, nid: str, kind: BasisKind | str) -> Basis:
    """The basis a request asked for; 'live' without any measurement falls back to the
    plan and says so in the note."""
    network, compiled = twin.get(nid)
    kind = BasisKind(kind)
    if kind is BasisKind.LIVE:
        live = live_inputs(twin, nid)
        if live is not None:
            return live_basis(network, compiled, live, twin.radio(nid))
        plan = plan_basis(network, compiled, twin.baseline(nid))
        return dataclasses.replace(plan, note="no live data for this network: "
                                               "computed on the plan")
    return plan_basis(network, compiled, twin.baseline(nid))
