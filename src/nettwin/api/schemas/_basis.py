"""What an answer was computed on: the live twin's network now, or the plan."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


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
