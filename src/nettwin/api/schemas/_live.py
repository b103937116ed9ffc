"""The live twin: its state now and at past instants, ingestion reports, the traffic
matrix and its prior."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
    commit_failures: int = 0  # store commits that failed (each retried or the run ended)
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
    # the weight of past matrices of the other day type (weekday / weekend, days of the
    # time zone below) than the estimated one's; 1: days not weighed (no dates, or one
    # day type only)
    day_type_weight: float | None = None
    # the operator's IANA time zone times of day and days of the week are read in
    timezone: str = "UTC"
    drift_every_s: float | None = None  # data time between drift checks
    labels: list[str] = []  # the measured matrices it was learned from, oldest first
    # "request": learned from a PUT; "store": learned again at start from the matrices the
    # store keeps (a restart); None: gravity
    source: Literal["request", "store"] | None = None
