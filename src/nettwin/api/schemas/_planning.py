"""Planning jobs' documents: network slices, capacity plans, energy schedules."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from nettwin.api.schemas._open import Open


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
