"""Trust before touch over REST: ``POST .../validate`` (a change through the twin: the
verdict document of ``nettwin validate``) and shadow mode (``POST .../proposals``: an agent's
change judged on the live state at that instant, recorded, never applied; ``GET
.../proposals``: each record beside what would have happened with the traffic that came and
what did happen; ``GET .../proposals/scorecard``: per agent)."""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from nettwin.api.auth import Role
from nettwin.api.basis import Basis, BasisKind, resolve_basis
from nettwin.api.deps import NetworkId, Operator, Planner, Viewer, role_route
from nettwin.api.schemas import (
    ProposalList,
    ProposalRecord,
    Scorecards,
    ShadowAgentDoc,
    ShadowAgentList,
    VerdictDoc,
)
from nettwin.api.service import Twin, TwinDep
from nettwin.errors import NettwinError, ValidationError
from nettwin.model import Network
from nettwin.model.problems import Problem
from nettwin.report import json_safe
from nettwin.validate import ChangeSet, Survive, merge_change_sets, parse_guardrails
from nettwin.validate.redteam import Budget
from nettwin.validate.shadow import Hindsight, ShadowRecord, judge, repredict, scorecard

router = APIRouter(prefix="/api/v1", tags=["validate"])

MAX_SNIPPET_CHARS = 100_000


class Snippet(BaseModel):
    router: str | None = Field(default=None, max_length=200, description=(
        "The router the snippet configures (or a 'hostname' line in the text)"))
    text: str = Field(min_length=1, max_length=MAX_SNIPPET_CHARS, description=(
        "FRR configuration: interface X / ip ospf cost N / shutdown / no shutdown, "
        "ip route P/LEN NEXTHOP [DISTANCE], router ospf / max-metric router-lsa"))


class ChangeRequest(BaseModel):
    name: str = Field(default="api change", max_length=200)
    changes: list[dict[str, Any]] = Field(default_factory=list, max_length=10_000,
                                          description="Scenario changes, as in a what-if")
    snippets: list[Snippet] = Field(default_factory=list, max_length=1000)
    guardrails: list[dict[str, Any]] = Field(default_factory=list, max_length=1000,
                                             description="Rules, as in a guardrails file")
    survive: Literal["none", "n-1", "n-2"] = "n-1"
    red_team: int = Field(default=0, ge=0, le=100_000, description="Red-team evaluations")
    max_failures: int = Field(default=2, ge=0, le=4)
    max_surge: float = Field(default=2.0, ge=1.0, le=100.0)
    seed: int = Field(default=0, ge=0, le=2**31)

    @model_validator(mode="after")
    def _something(self) -> ChangeRequest:
        if not self.changes and not self.snippets:
            raise ValueError("nothing to validate: give 'changes' (scenario changes) and/or "
                             "'snippets' (FRR configuration)")
        return self


class ValidateRequest(ChangeRequest):
    basis: BasisKind = Field(default="auto", description=(
        "The live state (auto: when measured), or the plan"))


class ProposalRequest(ChangeRequest):
    agent: str = Field(min_length=1, max_length=200, pattern=r"^[\w .:@/+-]+$",
                       description="Who proposes (the scorecard is per agent)")


def change_set_of(body: ChangeRequest, network: Network) -> ChangeSet:
    """The body's scenario changes, then its snippets (which may name links the changes
    add), as one change set; bad elements are reported by place (422)."""
    from nettwin.io.frr_config import parse_frr_config
    from nettwin.scenarios.apply import apply_scenario
    from nettwin.scenarios.changes import AddLink, RemoveLink, Scenario, parse_scenario

    parts = []
    current = network
    if body.changes:
        scenario = parse_scenario({"name": body.name, "changes": body.changes}, "changes")
        parts.append(ChangeSet(body.name, scenario, (), (f"changes: {body.name}",)))
        topology = tuple(c for c in scenario.changes if isinstance(c, AddLink | RemoveLink))
        if topology:
            current = apply_scenario(network, None, Scenario(body.name, topology)).network
    unknown = [Problem(f"snippets[{i}]", "no such router", field="router", value=s.router,
                       fix="name a node of the network")
               for i, s in enumerate(body.snippets)
               if s.router is not None and s.router not in current.nodes]
    if unknown:
        raise ValidationError(unknown, "snippets")
    parts += [parse_frr_config(s.text, current, f"snippets[{i}]", s.router)
              for i, s in enumerate(body.snippets)]
    merged = merge_change_sets(parts)
    return ChangeSet(body.name, merged.scenario, merged.config, merged.origins)


def network_of(b: Basis) -> Network:
    """The basis's network at the capacities it runs at (a radio link of the live state at
    its reported modulation), so the verdict sees what the basis sees."""
    links = list(b.network.links.values())
    cap = b.compiled.arc_capacity_bps
    if len(cap) != 2 * len(links) or all(
            cap[2 * i] == lk.capacity_ab_bps and cap[2 * i + 1] == lk.capacity_ba_bps
            for i, lk in enumerate(links)):
        return b.network
    return dataclasses.replace(b.network, links={lk.id: dataclasses.replace(
        lk, capacity_ab_bps=float(cap[2 * i]), capacity_ba_bps=float(cap[2 * i + 1]))
        for i, lk in enumerate(links)})


def _checks(body: ChangeRequest) -> dict[str, Any]:
    rules = parse_guardrails(body.guardrails, "guardrails") if body.guardrails else ()
    return {"rules": rules, "survive": Survive(body.survive), "red_team": body.red_team,
            "seed": body.seed, "budget": Budget(body.max_failures, body.max_surge)}


@router.post("/networks/{nid}/validate", **role_route(Role.PLANNER))
def validate(_: Planner, twin: TwinDep, nid: NetworkId, body: ValidateRequest) -> VerdictDoc:
    """The change through the twin (forwarding, performance, failures, guardrails, red team)
    on the live state or the plan: the verdict document of ``nettwin validate --json``.
    Nothing is applied."""
    from nettwin.validate import validate_change

    b = resolve_basis(twin, nid, body.basis)
    network = network_of(b)
    verdict = validate_change(network, change_set_of(body, network), **_checks(body))
    return VerdictDoc.model_validate(json_safe(verdict.document() | {"basis": b.document()}))


@router.post("/networks/{nid}/proposals", status_code=201, **role_route(Role.OPERATOR))
def propose(who: Operator, twin: TwinDep, nid: NetworkId, body: ProposalRequest
            ) -> ProposalRecord:
    """Shadow mode: the proposal judged on the live state at this instant (the plan when the
    network has no measured traffic; ``basis`` says which), recorded with its verdict and
    predicted effect, and never applied."""
    b = resolve_basis(twin, nid, "auto")
    at = b.measured_at if b.measured_at is not None else time.time()
    keep = body.model_dump(exclude={"agent"})
    network = network_of(b)
    record = judge(network, change_set_of(body, network), agent=body.agent, at=at,
                   basis=b.kind, basis_note=b.note, body=keep, **_checks(body))
    doc = json_safe(record.document())
    twin.record_proposal(nid, who.name, doc)
    return ProposalRecord.model_validate(doc | {"hindsight": None,
                                                "hindsight_note": "just proposed"})


HorizonQuery = Annotated[float | None, Query(gt=0, le=365 * 86_400, description=(
    "Judge each proposal against the state this many seconds after it (default: the "
    "latest state)"))]
AgentQuery = Annotated[str | None, Query(max_length=200)]


def _hindsight(twin: Twin, nid: str, record: ShadowRecord, horizon_s: float | None,
               seen: dict[float, tuple[Network, float | None]]
               ) -> tuple[Hindsight | None, str]:
    """The record re-predicted on the live twin's network at the later instant, with the
    measured maximum utilisation then; None (and why) when that instant has not come.
    ``seen`` keeps the network and measurement of each instant for the next record."""
    lt = twin.live.twins.get(nid)
    if lt is None or not twin.live.has_state(nid):
        return None, "no live data for this network: nothing to compare with"
    latest = float(lt.state.time)
    later = latest if horizon_s is None else record.time + horizon_s
    if not math.isfinite(latest) or later > latest:
        return None, f"the state {horizon_s or 0:g} s after the proposal has not come yet"
    if later <= record.time:
        return None, "no state after the proposal yet"
    if later not in seen:
        c = lt.state.compiled
        seen[later] = (lt.network_at(later), lt.state_at(later).snapshot(
            [c.arc_label(a) for a in range(c.n_arcs)], c.arc_capacity_bps)["max_utilisation"])
    network_then, measured = seen[later]
    try:
        change = change_set_of(ChangeRequest.model_validate(record.body), network_then)
        return (repredict(network_then, change, later, measured),
                "re-predicted with later traffic")
    except (NettwinError, PydanticValidationError) as exc:  # e.g. a link since removed
        return None, f"cannot be re-predicted on the later network: {str(exc)[:300]}"


def _records(twin: Twin, nid: str, agent: str | None, limit: int
             ) -> list[ShadowRecord]:
    twin.get(nid)  # 404 for an unknown network
    return [ShadowRecord.from_document(d)
            for d in twin.saved.load_proposals(nid, agent, limit)]


@router.get("/networks/{nid}/proposals", **role_route(Role.VIEWER))
def proposals(_: Viewer, twin: TwinDep, nid: NetworkId, agent: AgentQuery = None,
              horizon_s: HorizonQuery = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> ProposalList:
    """The latest shadow records, oldest first, each with what would have happened (the
    change re-predicted with the traffic that came) and what did (measured)."""
    out = []
    seen: dict[float, tuple[Network, float | None]] = {}
    for r in _records(twin, nid, agent, limit):
        h, note = _hindsight(twin, nid, r, horizon_s, seen)
        out.append(r.document() | {"hindsight": None if h is None else h.document(),
                                   "hindsight_note": note})
    return ProposalList.model_validate(json_safe({"network_id": nid, "proposals": out}))


@router.get("/networks/{nid}/proposals/scorecard", **role_route(Role.VIEWER))
def proposals_scorecard(_: Viewer, twin: TwinDep, nid: NetworkId, agent: AgentQuery = None,
                        horizon_s: HorizonQuery = None,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> Scorecards:
    """Per agent: proposals by verdict, unsafe ones caught, mean predicted gain of the safe
    ones, and the realised-vs-predicted error over the latest ``limit`` records."""
    records = _records(twin, nid, agent, limit)
    agents: dict[str, list[ShadowRecord]] = {}
    for r in records:
        agents.setdefault(r.agent, []).append(r)
    cards = []
    seen: dict[float, tuple[Network, float | None]] = {}
    for name, rs in sorted(agents.items()):
        hs = [_hindsight(twin, nid, r, horizon_s, seen)[0] for r in rs]
        cards.append({"agent": name} | scorecard(rs, hs))
    return Scorecards.model_validate(json_safe({"network_id": nid, "agents": cards}))


class ShadowAgentRequest(BaseModel):
    policy: Literal["noop", "random", "greedy", "optimizer"] = Field(description=(
        "A sandbox baseline (a trained model can be scheduled from `nettwin serve --shadow "
        "FILE.npz`: the API opens no file a caller names)"))
    every_s: float = Field(default=60.0, ge=5.0, le=86_400.0, description=(
        "Seconds between runs"))
    name: str | None = Field(default=None, max_length=200, pattern=r"^[\w .:@/+-]+$",
                             description="The agent name its records carry (default "
                                         "shadow:POLICY)")
    survive: Literal["none", "n-1", "n-2"] = "n-1"


@router.get("/networks/{nid}/shadow-agents", **role_route(Role.VIEWER))
def shadow_agents(_: Viewer, twin: TwinDep, nid: NetworkId) -> ShadowAgentList:
    """The policies running in continuous shadow mode on the network, with their runs,
    proposals recorded and last error."""
    twin.get(nid)
    return ShadowAgentList(network_id=nid, agents=[
        ShadowAgentDoc.model_validate(json_safe(a.document())) for a in twin.shadow.of(nid)])


@router.post("/networks/{nid}/shadow-agents", status_code=201, **role_route(Role.OPERATOR))
def add_shadow_agent(who: Operator, twin: TwinDep, nid: NetworkId, body: ShadowAgentRequest
                     ) -> ShadowAgentDoc:
    """Run a policy in continuous shadow mode: every ``every_s`` seconds (the first run
    now) its change on the network's live state is judged and recorded with the proposals
    (``GET .../proposals``, agent = its name), never applied. The same name replaces it."""
    twin.get(nid)
    agent = twin.shadow.add(nid, body.policy, every_s=body.every_s, name=body.name,
                            survive=body.survive, owner=who.name)
    return ShadowAgentDoc.model_validate(json_safe(agent.document()))


@router.delete("/networks/{nid}/shadow-agents/{name:path}", **role_route(Role.OPERATOR))
def remove_shadow_agent(_: Operator, twin: TwinDep, nid: NetworkId, name: str
                        ) -> ShadowAgentList:
    """Stop a shadow agent (its records stay)."""
    twin.get(nid)
    if not twin.shadow.remove(nid, name):
        raise HTTPException(404, detail=f"no shadow agent {name!r} on {nid}: see GET "
                                        f"/api/v1/networks/{nid}/shadow-agents")
    return shadow_agents(_, twin, nid)
