"""What a network looks like on the plan or on the live state: the numbers a what-if or a
sweep on that basis starts from (the dashboard paints them before any scenario)."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter

from nettwin.api.auth import Role
from nettwin.api.basis import BasisKind, arc_rows, resolve_basis
from nettwin.api.deps import NetworkId, Viewer, role_route
from nettwin.api.schemas import BasisView
from nettwin.api.service import TwinDep

router = APIRouter(prefix="/api/v1", tags=["networks"])


@router.get("/networks/{nid}/basis", **role_route(Role.VIEWER))
def basis(_: Viewer, twin: TwinDep, nid: NetworkId, kind: BasisKind = "plan") -> BasisView:
    """Utilisation per arc on the plan (static matrix), on the live state (the live twin's
    network now; 409 before any measurement) or auto (live when measured);
    ``basis.kind`` says which one it really is."""
    b = resolve_basis(twin, nid, kind)
    util = np.where(b.baseline.arc_up, b.baseline.arc_utilisation, 0.0)
    lt = twin.live.twins.get(nid)  # asked for the plan: is live traffic there all the same?
    has_live = b.kind == "live" or (
        lt is not None and bool(np.isfinite(lt.state.arc_rate_bps).any()))
    return BasisView.model_validate({
        "basis": b.document() | {"requested": kind, "has_live": has_live},
        "max_utilisation": float(np.nan_to_num(util).max(initial=0.0)),
        "arcs": arc_rows(b)})
