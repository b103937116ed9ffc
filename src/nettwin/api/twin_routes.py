"""The live twin over the API: observations in (any source can POST them), mirrored state,
history at an instant or between two, and the traffic matrix estimated from the counters."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, Field

from nettwin.api.auth import Role
from nettwin.api.deps import NetworkId, Operator, Viewer, role_route
from nettwin.live import LiveTwin, Message, Store, diff_states
from nettwin.report import json_safe

if TYPE_CHECKING:
    from nettwin.api.app import Twin


class Observations(BaseModel):
    """Observations as documented in nettwin.live.observations (counter, radio, event, or a
    gNMI notification); each is validated on its own."""

    items: list[Any] = Field(min_length=1, max_length=100_000)  # each judged on its own


def live_twin(twin: Twin, nid: str) -> LiveTwin:
    """The network's live twin, created on first use with the service's history store."""
    network, _c = twin.get(nid)

    def make() -> LiveTwin:
        url = twin.settings.store_url or f"sqlite:///{twin.settings.data_dir / 'twin.db'}"
        twin.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return LiveTwin(network, Store(url), network_id=nid)

    lt: LiveTwin = twin.cached(nid, "live_twin", make)
    return lt


def add_twin_routes(app: FastAPI, twin: Twin) -> None:
    base = "/api/v1/networks/{nid}"

    @app.post(f"{base}/observations", **role_route(Role.OPERATOR))
    def observe(_: Operator, nid: NetworkId, body: Observations) -> dict[str, Any]:
        """Ingest a batch: applied and committed together; bad items are dead letters."""
        lt = live_twin(twin, nid)
        dead_before = lt.dead
        changes = lt.process([Message(item) for item in body.items], "api")
        dead = lt.store.dead_letters(lt.name, lt.dead - dead_before) if lt.store else []
        return {"received": len(body.items), "dead_letters": len(dead),
                "duplicates": changes.duplicates, "rates": len(changes.rates),
                "link_changes": [{"link": lk, "up": up} for _t, lk, up in changes.link_status],
                "problems": [{"reason": d["reason"], "payload": d["payload"][:500]}
                             for d in dead[:20]]}

    @app.get(f"{base}/live", **role_route(Role.VIEWER))
    def live(_: Viewer, nid: NetworkId) -> dict[str, Any]:
        """The mirrored state now (measured rates, link status, modulation, alarms)."""
        lt = live_twin(twin, nid)
        return dict(json_safe(lt.state.snapshot() | {"summary": lt.summary()}))

    @app.get(f"{base}/history", **role_route(Role.VIEWER))
    def history(_: Viewer, nid: NetworkId,
                at: float = Query(ge=0, description="Epoch seconds"),
                to: float | None = Query(default=None, ge=0,
                                         description="Compare with this instant")
                ) -> dict[str, Any]:
        """The state at ``at`` rebuilt from the history, or what changed from ``at`` to
        ``to``."""
        lt = live_twin(twin, nid)
        c = lt.state.compiled
        past = lt.state_at(at)
        if to is not None:
            return dict(json_safe(diff_states(past, lt.state_at(to),
                                              [c.arc_label(a) for a in range(c.n_arcs)],
                                              c.arc_capacity_bps)))
        return dict(json_safe({
            "time": at, "links_down": sorted(k for k, up in past.link_up.items() if not up),
            "arcs": [{"arc": c.arc_label(a), "rate_bps": float(past.arc_rate_bps[a])}
                     for a in range(c.n_arcs) if not math.isnan(past.arc_rate_bps[a])],
            "modulation": past.modulation,
            "alarms": [{"object": o, "type": ty, "severity": sev}
                       for (o, ty), sev in sorted(past.alarms.items())]}))

    @app.get(f"{base}/traffic-matrix", **role_route(Role.VIEWER))
    def traffic_matrix(_: Viewer, nid: NetworkId,
                       limit: int = Query(default=100, ge=1, le=100_000)) -> dict[str, Any]:
        """The matrix estimated from the measured rates (tomogravity), largest pairs first,
        with a standard deviation per pair."""
        lt = live_twin(twin, nid)
        if not np.isfinite(lt.state.arc_rate_bps).any():
            raise HTTPException(409, detail="no measured rates yet: POST observations first")
        est = lt.estimate_tm()
        ids = lt.network.node_ids
        order = np.argsort(-est.rate_bps)[:limit]
        fid = lt.fidelity(est)
        return dict(json_safe({
            "total_bps": float(est.rate_bps.sum()), "fidelity_score": fid.score,
            "pairs": [{"src": ids[est.src[p]], "dst": ids[est.dst[p]],
                       "rate_bps": float(est.rate_bps[p]),
                       "std_bps": None if est.std_bps is None else float(est.std_bps[p])}
                      for p in order.tolist() if est.rate_bps[p] > 0]}))
