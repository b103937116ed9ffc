"""Slices of a network (read, replaced as a whole, validated like a file) and slice admission
as a job: the verdict per slice, the QoS policy and the min-delay paths that carry the
admitted ones (``nettwin.optimize.slices``), with progress and cancel like the other
optimisations; ``GET /jobs/{id}/result`` returns it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from nettwin.api.auth import Role
from nettwin.api.deps import NetworkId, Planner, Viewer, role_route
from nettwin.api.schemas import JobStatus, SlicesDoc
from nettwin.api.service import TwinDep
from nettwin.io.native import element_document
from nettwin.model import Network
from nettwin.report import json_safe

router = APIRouter(prefix="/api/v1", tags=["slices"])

STEPS = 1000  # progress granularity reported to the job
MAX_SLICES = 1000


class SlicesBody(BaseModel):
    slices: list[dict[str, Any]] = Field(max_length=MAX_SLICES, description=(
        "Slices in the native fields: id, name, demands / services / endpoints / "
        "traffic_classes, guaranteed_rate_bps, max_delay_s, max_loss, min_availability, "
        "isolation, priority"))


class SliceJobRequest(BaseModel):
    survive: Literal["none", "n-1"] = Field(default="none", description=(
        "n-1: admitted slices keep their SLA under every single link failure"))
    slices: list[dict[str, Any]] | None = Field(default=None, max_length=MAX_SLICES,
                                                description=(
        "Plan these slices instead of the network's own (not stored)"))


def _slices_doc(network: Network) -> SlicesDoc:
    return SlicesDoc.model_validate(
        {"slices": [element_document(s) for s in network.slices.values()]})


@router.get("/networks/{nid}/slices", **role_route(Role.VIEWER))
def get_slices(_: Viewer, twin: TwinDep, nid: NetworkId) -> SlicesDoc:
    """The network's slices, every field (defaults filled in)."""
    network, _c = twin.get(nid)
    return _slices_doc(network)


@router.put("/networks/{nid}/slices", **role_route(Role.PLANNER))
def put_slices(_: Planner, twin: TwinDep, nid: NetworkId, body: SlicesBody) -> SlicesDoc:
    """Replace the network's slices (all of them; an empty list removes them). A bad slice
    is a 422 naming the slice, the field, the value and the fix; nothing is changed then."""
    network, _c = twin.get(nid)
    updated = network.with_slices(body.slices, "slices")
    twin.replace_network(nid, updated)  # the compiled arrays do not depend on slices
    return _slices_doc(updated)


@router.post("/networks/{nid}/optimize/slices", status_code=202, **role_route(Role.PLANNER))
def optimise_slices(who: Planner, twin: TwinDep, nid: NetworkId, body: SliceJobRequest
                    ) -> JobStatus:
    """Slice admission (a job: poll it, then GET its result): ``document`` holds the verdict
    per slice (admitted, reason and binding constraint, delay, loss, availability,
    isolation) and ``qos_policy``, the policy ``POST .../qos`` takes; ``paths`` the
    explicit paths of min-delay slices. No metric changes: ``whatif`` is empty."""
    from nettwin.optimize.objective import Survive
    from nettwin.optimize.slices import plan_slices, resolve_slices

    network, compiled = twin.get(nid)
    if body.slices is not None:
        network = network.with_slices(body.slices, "slices")
    if not network.slices:
        raise HTTPException(422, detail=f"network {nid!r} has no slices: PUT .../slices "
                                        "first, or give 'slices' in the body")
    resolve_slices(network)  # a slice that selects nothing is a 422 now, not a failed job

    def work(report: Callable[[int, int], None]) -> dict[str, Any]:
        plan = plan_slices(network, survive=Survive(body.survive), compiled=compiled,
                           progress=lambda f: report(min(STEPS, int(f * STEPS)), STEPS))
        doc = json_safe(plan.to_document() | {"qos_policy": plan.policy_document()})
        return {"document": doc, "paths": plan.paths_document(),
                "whatif": {"name": f"slices on {network.name}: no metric changes",
                           "changes": []}}

    job = twin.jobs.submit("optimize-slices", nid, who.name, work)
    return JobStatus.model_validate(job.status(twin.settings.job_ttl_s))
