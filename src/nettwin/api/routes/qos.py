"""Per-class QoS over the API: a scheduling policy (and explicit paths) in, delay, jitter and
loss per class, per service and for the worst demands out."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from nettwin.api.auth import Role
from nettwin.api.deps import NetworkId, Planner, role_route
from nettwin.api.schemas import QosDoc
from nettwin.api.service import TwinDep
from nettwin.engine.classes import simulate_classes
from nettwin.io.explicit_paths import build_paths
from nettwin.io.qos_policy import build_policy
from nettwin.report import json_safe

router = APIRouter(prefix="/api/v1", tags=["qos"])


class QosRequest(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)
    policy: dict[str, Any] = Field(
        description="As a QoS policy file: 'classes' in service order, 'default' (scheduler "
                    "fifo|sp|wfq|drr, weights, buffer_packets), 'nodes', 'ports', 'packets'.",
        examples=[{"classes": ["best-effort"], "default": {"scheduler": "wfq"}}])
    paths: list[dict[str, Any]] | None = Field(
        default=None, max_length=100_000,
        description="Explicit paths: {demand: id, via: [node, ...]}; the rest follow the IGP.")
    scale: float = Field(default=1.0, ge=0.0, le=1e6, description="Traffic factor")


@router.post("/networks/{nid}/qos", **role_route(Role.PLANNER))
def qos(_: Planner, twin: TwinDep, nid: NetworkId, body: QosRequest,
        limit: Annotated[int, Query(ge=1, le=100_000, description=(
            "Worst demands listed"))] = 20) -> QosDoc:
    """Per-class queueing under the policy: each class routed (or pinned), queued per
    class and port, SLAs checked on each service's own class."""
    network, compiled = twin.get(nid)
    policy = build_policy(body.policy, compiled, "body.policy")
    pinned = (build_paths({"paths": body.paths}, network, compiled, "body.paths")
              if body.paths else None)
    rate = compiled.demand_rate_bps * body.scale
    res = simulate_classes(compiled, policy, demand_rate_bps=rate, pinned=pinned)
    worst = np.argsort(-np.where(res.demand_routed, res.demand_delay_mean_s, np.inf),
                       kind="stable")[:limit]
    ids = network.demand_ids
    demands = [{"demand": ids[d], "class": res.priority[res.demand_class[d]],
                "routed": bool(res.demand_routed[d]),
                "delay_s": float(res.demand_delay_mean_s[d]),
                "jitter_s": float(res.demand_jitter_s[d]),
                "loss": float(res.demand_loss[d])} for d in worst.tolist()]
    return QosDoc.model_validate(json_safe({
        "classes": res.class_rows(rate), "services": res.service_rows(), "demands": demands,
        "pinned": 0 if pinned is None else int(pinned.demand.size)}))
