"""What the API answers, as response models: the OpenAPI document says what comes back.

Numbers that can be unbounded or unknown (a delay through an overloaded arc, an arc never
measured) are ``null`` in JSON, so they are typed ``float | None``. Records that carry many
engine outputs keep their documented fields and allow more (``extra="allow"``).

One private module per resource; import the models from here."""

from nettwin.api.schemas._basis import BasisArc, BasisDoc, BasisRequested, BasisView
from nettwin.api.schemas._jobs import JobStatus, Page
from nettwin.api.schemas._live import (
    DeadLetterRow,
    LinkChange,
    LiveArc,
    LiveHeader,
    LiveState,
    LiveWithSummary,
    ObservationReport,
    PastState,
    StandingAlarm,
    StateDiff,
    TmPair,
    TrafficMatrix,
    TrafficPrior,
    TwinSummary,
)
from nettwin.api.schemas._networks import (
    ArcRecord,
    NetworkInfo,
    NetworkListItem,
    NetworkSummary,
    ServiceRecord,
    SimulationDoc,
    ValidationReport,
    WhatIfDoc,
)
from nettwin.api.schemas._open import Open
from nettwin.api.schemas._planning import (
    CapacityPlanResult,
    EnergyInterval,
    EnergySchedule,
    SliceRecord,
    SlicesDoc,
)
from nettwin.api.schemas._service import Health, Ready, Warmup, WhatIfWorker
from nettwin.api.schemas._shadow import (
    AgentScorecard,
    HindsightDoc,
    PredictedEffect,
    ProposalList,
    ProposalRecord,
    Scorecards,
    ShadowAgentDoc,
    ShadowAgentList,
    VerdictDoc,
)
from nettwin.api.schemas._tmf import AlarmedObject, TmfAlarm, TmfResource
from nettwin.api.schemas._views import (
    Element,
    ElementArc,
    ElementHistory,
    QosDemand,
    QosDoc,
    RadioPanel,
    StormDoc,
    TopoLink,
    Topology,
    TopoNode,
    TopoService,
)

__all__ = [
    "AgentScorecard",
    "AlarmedObject",
    "ArcRecord",
    "BasisArc",
    "BasisDoc",
    "BasisRequested",
    "BasisView",
    "CapacityPlanResult",
    "DeadLetterRow",
    "Element",
    "ElementArc",
    "ElementHistory",
    "EnergyInterval",
    "EnergySchedule",
    "Health",
    "HindsightDoc",
    "JobStatus",
    "LinkChange",
    "LiveArc",
    "LiveHeader",
    "LiveState",
    "LiveWithSummary",
    "NetworkInfo",
    "NetworkListItem",
    "NetworkSummary",
    "ObservationReport",
    "Open",
    "Page",
    "PastState",
    "PredictedEffect",
    "ProposalList",
    "ProposalRecord",
    "QosDemand",
    "QosDoc",
    "RadioPanel",
    "Ready",
    "Scorecards",
    "ServiceRecord",
    "ShadowAgentDoc",
    "ShadowAgentList",
    "SimulationDoc",
    "SliceRecord",
    "SlicesDoc",
    "StandingAlarm",
    "StateDiff",
    "StormDoc",
    "TmPair",
    "TmfAlarm",
    "TmfResource",
    "TopoLink",
    "TopoNode",
    "TopoService",
    "Topology",
    "TrafficMatrix",
    "TrafficPrior",
    "TwinSummary",
    "ValidationReport",
    "VerdictDoc",
    "Warmup",
    "WhatIfDoc",
    "WhatIfWorker",
]
