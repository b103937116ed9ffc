"""Change verdicts and shadow mode: agents, their proposals, hindsight and scorecards."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from nettwin.api.schemas._basis import BasisDoc
from nettwin.api.schemas._open import Open


class VerdictDoc(Open):
    """The verdict on a change (``nettwin validate --json``), with the basis it ran on."""

    verdict: Literal["SAFE", "RISKY", "UNSAFE"]
    summary: str
    reasons: list[str]
    change: str
    reachability_lost: list[dict[str, Any]]
    loops: list[dict[str, Any]]
    blackholes: list[dict[str, Any]]
    guardrails: dict[str, dict[str, Any]]
    worst_failure: dict[str, Any] | None
    red_team: dict[str, Any] | None
    performance: dict[str, Any]
    basis: BasisDoc


class PredictedEffect(BaseModel):
    max_utilisation_before: float
    max_utilisation_after: float
    delta_max_utilisation: float
    sla_violated_before: int
    sla_violated_after: int


class HindsightDoc(BaseModel):
    time: float = Field(description="Unix seconds of the later state")
    predicted: PredictedEffect = Field(description="The change with the traffic that came")
    measured_max_utilisation: float | None = Field(description="What the network did")


class ProposalRecord(BaseModel):
    id: str
    agent: str
    time: float = Field(description="Unix seconds of the state it was judged on")
    basis: Literal["live", "plan"]
    basis_note: str
    verdict: Literal["SAFE", "RISKY", "UNSAFE"]
    reasons: list[str]
    change: str
    predicted: PredictedEffect
    applied: bool = Field(description="Always false: shadow mode never applies")
    body: dict[str, Any]
    verdict_document: dict[str, Any]
    hindsight: HindsightDoc | None
    hindsight_note: str


class ProposalList(BaseModel):
    network_id: str
    proposals: list[ProposalRecord]


class AgentScorecard(BaseModel):
    agent: str
    proposals: int
    safe: int
    risky: int
    unsafe: int
    unsafe_caught: int
    predicted_gain: float | None = Field(description=(
        "Mean maximum-utilisation points the safe proposals take off (predicted)"))
    with_hindsight: int
    realised_vs_predicted_error: float | None
    model_vs_measured_error: float | None


class Scorecards(BaseModel):
    network_id: str
    agents: list[AgentScorecard]


class ShadowAgentDoc(BaseModel):
    """A policy in continuous shadow mode on a network: its schedule and record so far."""

    network_id: str
    name: str
    policy: str
    every_s: float
    survive: str
    owner: str
    runs: int
    proposals: int
    last_run: float | None
    last_error: str | None


class ShadowAgentList(BaseModel):
    network_id: str
    agents: list[ShadowAgentDoc]
