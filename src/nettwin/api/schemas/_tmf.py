"""TM Forum Open API records: TMF642 alarms and TMF639 resources."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
