"""What the API answers, as response models: the OpenAPI document says what comes back.

Numbers that can be unbounded or unknown (a delay through an overloaded arc, an arc never
measured) are ``null`` in JSON, so they are typed ``float | None``. Records that carry many
engine outputs keep their documented fields and allow more (``extra="allow"``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    """A record whose listed fields are documented; further fields may come."""

    model_config = ConfigDict(extra="allow")


# --------------------------------------------------------------------------- health
class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    networks: int


# --------------------------------------------------------------------------- networks
class NetworkSummary(Open):
    name: str
    nodes: int
    links: int
    links_up: int
    arcs: int
    demands: int
    offered_bps: float
    services: int
    capacity_bps: float
    traffic_classes: list[str]


class NetworkListItem(NetworkSummary):
    id: str


class NetworkInfo(NetworkSummary):
    id: str
    notes: list[str] = Field(description="What the import assumed or repaired.")


class ValidationReport(NetworkSummary):
    valid: bool
    notes: list[str]


class ArcRecord(Open):
    link: str
    direction: Literal["ab", "ba"]
    src: str
    dst: str
    up: bool
    metric: int
    capacity_bps: float
    load_bps: float
    utilisation: float | None
    delay_s: float | None
    loss: float | None
    overloaded: bool


class ServiceRecord(Open):
    id: str
    name: str
    demands: int
    worst_delay_s: float | None
    max_delay_s: float | None
    worst_loss: float | None
    max_loss: float | None
    unroutable_demands: int
    violated: bool


class SimulationDoc(BaseModel):
    kpis: dict[str, Any] = Field(description="Scenario KPIs (max_utilisation, ...).")
    services: list[ServiceRecord]
    arcs: list[ArcRecord]
    page: dict[str, Any] = Field(description="limit, arcs_total, services_total and "
                                             "next_cursor (null on the last page).")


class WhatIfDoc(Open):
    basis: BasisDoc = Field(description="What the scenario ran on.")
    verdict: str
    max_utilisation_before: float | None
    max_utilisation_after: float | None
    max_utilisation_arc: str | None
    lost_bps: float | None
    arcs_changed: int
    arc_changes: list[dict[str, Any]]
    demands_rerouted: int
    demands_lost: list[str]
    demands_lost_count: int
    demands_restored: list[str]
    services: list[dict[str, Any]]
    services_newly_violated: list[str]


# --------------------------------------------------------------------------- basis
class BasisDoc(BaseModel):
    """What an answer was computed on (``api.basis``)."""

    kind: Literal["live", "plan"] = Field(
        description="'live': the live twin's network now (link states as observed, traffic "
                    "matrix estimated from the measured arc rates, capacities now); 'plan': "
                    "the planning traffic matrix, links as inventoried.")
    measured_at: str | None = Field(description="When the live state was measured (ISO).")
    traffic_level: float = Field(description="Measured traffic against the plan's "
                                             "(least-squares over the measured arcs).")
    links_down: list[str]
    note: str = Field(description="In words, including why 'auto' fell back to the plan.")


class BasisRequested(BasisDoc):
    requested: Literal["auto", "live", "plan"]
    has_live: bool = Field(description="Whether the live twin has measured traffic.")


class BasisArc(BaseModel):
    arc: str
    load_bps: float
    capacity_bps: float
    utilisation: float | None = Field(description="null: the arc is down.")
    up: bool


class BasisView(BaseModel):
    basis: BasisRequested
    max_utilisation: float
    arcs: list[BasisArc]


class Warmup(BaseModel):
    state: Literal["warming", "ready", "failed"]
    done: list[str]
    running: str | None
    steps: list[str]
    elapsed_s: float
    error: str | None


# --------------------------------------------------------------------------- jobs
class JobStatus(BaseModel):
    id: str
    kind: str
    network_id: str
    owner: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    done: int
    total: int
    error: str | None
    created: str
    cancel_requested: bool = False
    finished: str | None = Field(default=None, description="When the job ended (ISO 8601).")
    expires: str | None = Field(default=None, description="When its results are dropped.")
    basis: BasisDoc | None = Field(
        default=None, description="What a sweep runs on (answered when it is submitted).")


class Page(BaseModel):
    total: int
    offset: int
    items: list[dict[str, Any]]
    basis: BasisDoc | None = Field(
        default=None, description="What the job ran on (sweeps).")


# --------------------------------------------------------------------------- live
class LiveArc(BaseModel):
    arc: str
    rate_bps: float | None = Field(description="Measured; null: not measured yet.")
    capacity_bps: float = Field(description="Now (radio links: at their modulation).")
    utilisation: float | None
    drops_pps: float | None = Field(
        default=None, description="Packets discarded per second at the sending port "
        "(the rate of its out_drops counter, like ifOutDiscards); null: not counted.")
    up: bool | None = None


class StandingAlarm(BaseModel):
    object: str
    type: str
    severity: str
    problem: str | None = None


class LiveHeader(BaseModel):
    network_id: str
    time: float | None = Field(description="Time of the latest observation, epoch seconds.")
    time_iso: str | None
    samples: int | None = Field(description="Observations applied (null: rebuilt from "
                                            "the history).")
    note: str | None = Field(default=None, description="Why the state may not be what was "
                                                       "asked for (an instant outside the "
                                                       "history).")
    max_utilisation: float | None
    scale: float | None = Field(description="Traffic level of simulated telemetry (null: "
                                            "measured).")
    links_down: list[str]
    modulation: dict[str, str | None]
    link_modes: dict[str, str | None] = Field(description="The same as modulation.")
    alarms: list[StandingAlarm]


class LiveState(LiveHeader):
    arcs: list[LiveArc]


class TwinSummary(BaseModel):
    network: str
    samples: int
    dead_letters: int
    batches: int
    time: float | None
    latency_p50_s: float | None
    latency_p99_s: float | None


class LiveWithSummary(LiveState):
    summary: TwinSummary


class LinkChange(BaseModel):
    link: str
    up: bool


class DeadLetterRow(BaseModel):
    reason: str
    payload: str


class ObservationReport(BaseModel):
    received: int
    dead_letters: int
    duplicates: int
    rates: int
    link_changes: list[LinkChange]
    problems: list[DeadLetterRow]


class PastState(BaseModel):
    time: float
    max_utilisation: float | None
    links_down: list[str]
    arcs: list[LiveArc]
    modulation: dict[str, str | None]
    alarms: list[StandingAlarm]


class StateDiff(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: float | None = Field(alias="from")
    to: float | None
    links: dict[str, dict[str, bool]]
    modulation: dict[str, dict[str, str | None]]
    alarms_raised: list[str]
    alarms_cleared: list[str]
    arcs: list[dict[str, Any]]


class TmPair(BaseModel):
    src: str
    dst: str
    rate_bps: float
    std_bps: float | None


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


class TrafficMatrix(BaseModel):
    total_bps: float
    fidelity_score: float | None
    prior: Literal["gravity", "history"]  # what the estimate started from
    innovation: float | None  # with a history prior: how surprising the counters are
    # with a history prior: how far the estimate misses the counters, in counter noise
    misfit: float | None = None
    # with a history prior: innovation above the learned alarm level or misfit above its
    # chi-square level (``nettwin.estimate.projection.misfit_level``)
    drift: bool | None
    pairs: list[TmPair]


class TrafficPrior(BaseModel):
    """The live twin's traffic-matrix prior: gravity, or learned from measured matrices
    (the options chosen on the history's own later third, and how well they did there)."""

    prior: Literal["gravity", "history"]
    matrices: int = 0
    time_of_day_bins: int | None = None
    half_life_matrices: float | None = None
    spread_calibration: float | None = None  # kappa: +-1 sd covers ~68 % held out
    validation_error: float | None = None  # median traffic-weighted error held out
    validation_matrices: int | None = None
    alarm_innovation: float | None = None  # the drift alarm level
    drift_every_s: float | None = None  # data time between drift checks
    labels: list[str] = []  # the measured matrices it was learned from, oldest first
    # "request": learned from a PUT; "store": learned again at start from the matrices the
    # store keeps (a restart); None: gravity
    source: Literal["request", "store"] | None = None


# --------------------------------------------------------------------------- TMF
class AlarmedObject(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: str
    referred_type: str = Field(alias="@referredType")


class TmfAlarm(BaseModel):
    """TMF642 Alarm (v4 field names)."""

    model_config = ConfigDict(populate_by_name=True)
    id: str
    href: str
    type_: str = Field(alias="@type")
    alarmType: str  # noqa: N815 - TMF642 names
    perceivedSeverity: str  # noqa: N815
    probableCause: str  # noqa: N815
    specificProblem: str  # noqa: N815
    state: str
    ackState: str  # noqa: N815
    alarmRaisedTime: str  # noqa: N815
    alarmChangedTime: str  # noqa: N815
    alarmClearedTime: str | None = None  # noqa: N815
    ackSystemId: str | None = None  # noqa: N815
    ackUserId: str | None = None  # noqa: N815
    sourceSystemId: str  # noqa: N815
    alarmedObject: AlarmedObject  # noqa: N815


class TmfResource(BaseModel):
    """TMF639 Resource."""

    model_config = ConfigDict(populate_by_name=True)
    id: str
    href: str
    type_: str = Field(alias="@type")
    name: str
    resourceStatus: str  # noqa: N815
    operationalState: str | None = None  # noqa: N815
    administrativeState: str | None = None  # noqa: N815
    resourceCharacteristic: list[dict[str, Any]]  # noqa: N815
    resourceRelationship: list[dict[str, Any]] | None = None  # noqa: N815
    place: list[dict[str, Any]] | None = None


# --------------------------------------------------------------------------- views
class TopoNode(BaseModel):
    id: str
    name: str
    kind: str
    x: float
    y: float
    latitude: float | None
    longitude: float | None


class TopoLink(BaseModel):
    id: str
    a: str
    b: str
    kind: str
    capacity_ab_bps: float
    capacity_ba_bps: float
    up: bool
    arcs: list[str]
    modulation: str | None
    frequency_ghz: float | None


class TopoService(BaseModel):
    id: str
    name: str
    max_delay_s: float | None
    demands: int


class Topology(BaseModel):
    id: str
    name: str
    geographic: bool
    nodes: list[TopoNode]
    links: list[TopoLink]
    services: list[TopoService]


class ElementArc(BaseModel):
    arc: str
    load_bps: float
    capacity_bps: float
    utilisation: float | None
    delay_s: float | None
    up: bool


class ElementHistory(BaseModel):
    times: list[str]
    series: dict[str, list[float]]


class RadioPanel(BaseModel):
    frequency_ghz: float
    length_km: float
    profile: str
    modes: list[str]
    clear_sky_mode: str
    live_mode: str | None


class Element(BaseModel):
    kind: Literal["node", "link"]
    id: str
    attributes: dict[str, Any]
    arcs: list[ElementArc]
    services: list[dict[str, Any]]
    history: ElementHistory
    alarms: list[TmfAlarm]
    radio: RadioPanel | None = None


class StormDoc(BaseModel):
    summary: dict[str, Any]
    worst_minute: float
    links: list[dict[str, Any]]
    arcs: list[dict[str, Any]]
    cells_at_worst: list[dict[str, Any]]
    frames: list[dict[str, Any]] = Field(
        description="Every storm step for the time slider: per arc utilisation and state "
                    "(arc order), per radio link modulation, the rain cells on the map.")


class QosDemand(BaseModel):
    demand: str
    class_: str = Field(alias="class")
    routed: bool
    delay_s: float | None
    jitter_s: float | None
    loss: float | None


class QosDoc(BaseModel):
    classes: list[dict[str, Any]]
    services: list[dict[str, Any]]
    demands: list[QosDemand]
    pinned: int


# --------------------------------------------------------------------------- validate, shadow
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


# --------------------------------------------------------------------------- slices
class SliceRecord(Open):
    id: str
    name: str | None = None
    demands: list[str]
    services: list[str]
    endpoints: list[str]
    traffic_classes: list[str]
    guaranteed_rate_bps: float | None = None
    max_delay_s: float | None = None
    max_loss: float | None = None
    min_availability: float | None = None
    isolation: bool
    priority: int


class SlicesDoc(BaseModel):
    slices: list[SliceRecord]


# --------------------------------------------------------------------------- capacity plan
class CapacityPlanResult(Open):
    """A capacity plan (``feasible``) or why none exists (``explanation``, ``binding``)."""

    feasible: bool
    cost: float | None = Field(default=None, description="Total capex of the plan, all years")
    lp_bound: float | None = Field(default=None, description="LP relaxation bound")
    best_bound: float | None = Field(default=None, description="HiGHS's MILP dual bound")
    gap: float | None = Field(default=None, description="(cost - best_bound) / cost")
    upgrades: list[dict[str, Any]] = Field(default_factory=list, description=(
        "[{link, modules, capacity_bps_before, capacity_bps_after, cost}]"))
    new_links: list[dict[str, Any]] = Field(default_factory=list)
    worst_utilisation_normal: float | None = None
    worst_utilisation_failure: float | None = Field(
        default=None, description="From the final sweep of the planned network")
    worst_failure: str | None = None
    iterations: int | None = None
    seconds: float | None = None
    explanation: str | None = Field(default=None, description="Why no plan exists")
    binding: dict[str, Any] | None = Field(default=None, description="The binding constraint")
    whatif: dict[str, Any] = Field(description="The body of POST .../whatif that applies it")


# --------------------------------------------------------------------------- energy


class EnergyInterval(Open):
    """One interval of an energy schedule, as the engine replayed it."""

    t: int
    label: str
    asleep: list[str] = Field(description="Links asleep (out of the IGP graph)")
    reduced: dict[str, str] = Field(description="Radio links with carriers asleep or a "
                                                "modulation cap: link -> level")
    mlu: float
    mlu_all_awake: float
    power_w: float
    sla_violations: int
    over_limit_arcs: int
    worst_failure_mlu: float | None = Field(default=None, description=(
        "With n-1: worst single failure before the sleepers wake"))


class EnergySchedule(Open):
    """The document of an energy job (``nettwin optimize energy``'s out.json)."""

    network: str
    steps: int
    interval_s: float
    energy_saved_fraction: float
    kwh_saved: float
    kwh_all_awake: float
    sla_violations: int
    over_limit_arcs: int
    survive: Literal["none", "n-1"]
    links: list[dict[str, Any]]
    intervals: list[EnergyInterval]
